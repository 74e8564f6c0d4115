"""Adagrad: per-coordinate learning rates from the accumulated squared gradients."""
from ._functional import adagrad_update
from .optimizer import Optimizer, check_compat, check_number


class Adagrad(Optimizer):
    """Adagrad (Duchi, Hazan and Singer, 2011) in PyTorch's formulation.

        gamma_t = gamma / (1 + (t - 1) eta)            (eta = lr_decay)
        g_t <- -g_t (maximize);  g_t <- g_t + lambda theta_{t-1} (weight_decay)
        s_t = s_{t-1} + g_t^2,  s_0 = initial_accumulator_value
        theta_t = theta_{t-1} - gamma_t g_t / (sqrt(s_t) + eps)

    Coordinates with large past gradients take small steps; the sum only grows, so the effective
    step size decays (which is why Adadelta and RMSprop replace it by a moving average).

    Args:
        params: Tensors or parameter groups.
        lr: learning rate gamma (default 1e-2).
        lr_decay: eta (default 0).
        weight_decay: L2 penalty lambda (default 0).
        initial_accumulator_value: s_0 (default 0).
        eps: added to the denominator (default 1e-10).
        maximize: ascend the objective instead of descending it.

    State per parameter: `step` (float32 0-d Tensor) and `sum` (s_t). Like PyTorch, the state is
    created for every parameter at construction.
    """

    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0,
                 eps=1e-10, foreach=None, *, maximize=False, differentiable=False, fused=None):
        check_compat("Adagrad", differentiable=differentiable, foreach=foreach, fused=fused)
        defaults = {"lr": lr, "lr_decay": lr_decay, "eps": eps, "weight_decay": weight_decay,
                    "initial_accumulator_value": initial_accumulator_value,
                    "maximize": maximize}
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                self._init_state(p, group)

    def _validate(self, group):
        check_number("Adagrad", "lr", group["lr"], low=0.0, message="Invalid learning rate")
        check_number("Adagrad", "lr_decay", group["lr_decay"], low=0.0)
        check_number("Adagrad", "weight_decay", group["weight_decay"], low=0.0)
        check_number("Adagrad", "initial_accumulator_value",
                     group["initial_accumulator_value"], low=0.0)
        check_number("Adagrad", "eps", group["eps"], low=0.0, message="Invalid epsilon value")

    def _init_state(self, p, group):
        state = self.state[p]
        state["step"] = self._step_tensor()
        state["sum"] = self._state_buffer(p, group["initial_accumulator_value"])
        return state

    def _update(self, param, grad, group):
        state = self.state[param]
        if len(state) == 0:  # a group added after construction
            state = self._init_state(param, group)
        state["step"]._data += 1
        adagrad_update(param._data, grad, state["sum"]._data, float(state["step"]._data),
                       lr=group["lr"], lr_decay=group["lr_decay"],
                       weight_decay=group["weight_decay"], eps=group["eps"],
                       maximize=group["maximize"])
