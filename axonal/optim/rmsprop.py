"""RMSprop: divide the gradient by a running RMS of recent gradients."""
from ._functional import rmsprop_update
from .optimizer import Optimizer, check_compat, check_number


class RMSprop(Optimizer):
    """RMSprop (Hinton's lecture 6e) in PyTorch's formulation.

        g_t <- -g_t (maximize);  g_t <- g_t + lambda theta_{t-1} (weight_decay)
        v_t = alpha v_{t-1} + (1 - alpha) g_t^2
        centered: m_t = alpha m_{t-1} + (1 - alpha) g_t,  v~_t = v_t - m_t^2  (a variance)
        else:     v~_t = v_t
        momentum mu > 0: b_t = mu b_{t-1} + g_t / (sqrt(v~_t) + eps),  theta_t -= gamma b_t
        otherwise:       theta_t = theta_{t-1} - gamma g_t / (sqrt(v~_t) + eps)

    eps is added outside the square root (TensorFlow adds it inside).

    Args:
        params: Tensors or parameter groups.
        lr: gamma (default 1e-2).
        alpha: smoothing constant of the running averages (default 0.99).
        eps: added to the denominator (default 1e-8).
        weight_decay: L2 penalty lambda (default 0).
        momentum: mu (default 0).
        centered: normalize by the estimated variance instead of the second moment.
        maximize: ascend the objective instead of descending it.

    State per parameter: `step`, `square_avg`, plus `momentum_buffer` (momentum > 0) and
    `grad_avg` (centered).
    """

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0,
                 centered=False, capturable=False, foreach=None, maximize=False,
                 differentiable=False):
        check_compat("RMSprop", differentiable=differentiable, foreach=foreach,
                     capturable=capturable)
        defaults = {"lr": lr, "momentum": momentum, "alpha": alpha, "eps": eps,
                    "centered": centered, "weight_decay": weight_decay, "maximize": maximize}
        super().__init__(params, defaults)

    def _validate(self, group):
        check_number("RMSprop", "lr", group["lr"], low=0.0, message="Invalid learning rate")
        check_number("RMSprop", "eps", group["eps"], low=0.0, message="Invalid epsilon value")
        check_number("RMSprop", "momentum", group["momentum"], low=0.0)
        check_number("RMSprop", "weight_decay", group["weight_decay"], low=0.0)
        check_number("RMSprop", "alpha", group["alpha"], low=0.0)

    def _update(self, param, grad, group):
        state = self.state[param]
        if len(state) == 0:
            state["step"] = self._step_tensor()
            state["square_avg"] = self._state_buffer(param)
            if group["momentum"] > 0:
                state["momentum_buffer"] = self._state_buffer(param)
            if group["centered"]:
                state["grad_avg"] = self._state_buffer(param)
        state["step"]._data += 1
        # a schedule may switch momentum on (OneCycleLR) or a group be re-centered after the
        # state was created: create the missing buffer at zero, as a fresh start would
        if group["momentum"] > 0 and "momentum_buffer" not in state:
            state["momentum_buffer"] = self._state_buffer(param)
        if group["centered"] and "grad_avg" not in state:
            state["grad_avg"] = self._state_buffer(param)
        buf = state.get("momentum_buffer")
        grad_avg = state.get("grad_avg")
        rmsprop_update(param._data, grad, state["square_avg"]._data,
                       None if grad_avg is None else grad_avg._data,
                       None if buf is None else buf._data,
                       lr=group["lr"], alpha=group["alpha"], eps=group["eps"],
                       weight_decay=group["weight_decay"], momentum=group["momentum"],
                       centered=group["centered"], maximize=group["maximize"])
