"""Adam and AdamW: bias-corrected moving averages of the gradient and of its square."""
import numbers

from ._functional import adam_update
from .optimizer import Optimizer, check_compat, check_number


class Adam(Optimizer):
    """Adam (Kingma and Ba, 2015) in PyTorch's formulation, with AMSGrad and optional decoupled
    weight decay (which turns it into AdamW).

        g_t <- -g_t (maximize)
        weight decay: theta <- theta (1 - gamma lambda) if decoupled, else g_t <- g_t + lambda theta
        m_t = beta1 m_{t-1} + (1 - beta1) g_t
        v_t = beta2 v_{t-1} + (1 - beta2) g_t^2
        amsgrad: v^max_t = max(v^max_{t-1}, v_t), used in place of v_t below
        m^_t = m_t / (1 - beta1^t),  v^_t = v_t / (1 - beta2^t)
        theta_t = theta_{t-1} - gamma m^_t / (sqrt(v^_t) + eps)

    The bias corrections undo the pull of the zero initial averages towards 0 in early steps.

    Args:
        params: Tensors or parameter groups.
        lr: gamma (default 1e-3).
        betas: (beta1, beta2), each in [0, 1) (default (0.9, 0.999)).
        eps: added to the denominator (default 1e-8).
        weight_decay: lambda (default 0): an L2 penalty on the gradient unless decoupled.
        amsgrad: use the running maximum of v_t (Reddi et al., 2018).
        maximize: ascend the objective instead of descending it.
        decoupled_weight_decay: decay the weights directly (AdamW).

    State per parameter: `step`, `exp_avg` (m_t), `exp_avg_sq` (v_t), `max_exp_avg_sq` (amsgrad).
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 amsgrad=False, *, foreach=None, maximize=False, capturable=False,
                 differentiable=False, fused=None, decoupled_weight_decay=False):
        name = type(self).__name__
        check_compat(name, differentiable=differentiable, foreach=foreach,
                     capturable=capturable, fused=fused)
        defaults = {"lr": lr, "betas": _betas(name, betas), "eps": eps,
                    "weight_decay": weight_decay, "amsgrad": amsgrad, "maximize": maximize,
                    "decoupled_weight_decay": decoupled_weight_decay}
        super().__init__(params, defaults)

    def _validate(self, group):
        name = type(self).__name__
        check_number(name, "lr", group["lr"], low=0.0, message="Invalid learning rate")
        check_number(name, "eps", group["eps"], low=0.0, message="Invalid epsilon value")
        beta1, beta2 = group["betas"] = _betas(name, group["betas"])
        check_number(name, "betas[0]", beta1, low=0.0, high=1.0, high_open=True,
                     message="Invalid beta parameter at index 0")
        check_number(name, "betas[1]", beta2, low=0.0, high=1.0, high_open=True,
                     message="Invalid beta parameter at index 1")
        check_number(name, "weight_decay", group["weight_decay"], low=0.0)

    def _update(self, param, grad, group):
        state = self.state[param]
        if len(state) == 0:
            state["step"] = self._step_tensor()
            state["exp_avg"] = self._state_buffer(param)
            state["exp_avg_sq"] = self._state_buffer(param)
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = self._state_buffer(param)
        if group["amsgrad"] and "max_exp_avg_sq" not in state:
            state["max_exp_avg_sq"] = self._state_buffer(param)
        state["step"]._data += 1
        beta1, beta2 = group["betas"]
        max_sq = state.get("max_exp_avg_sq") if group["amsgrad"] else None
        adam_update(param._data, grad, state["exp_avg"]._data, state["exp_avg_sq"]._data,
                    None if max_sq is None else max_sq._data, float(state["step"]._data),
                    lr=group["lr"], beta1=beta1, beta2=beta2, eps=group["eps"],
                    weight_decay=group["weight_decay"], amsgrad=group["amsgrad"],
                    maximize=group["maximize"],
                    decoupled_weight_decay=group["decoupled_weight_decay"])


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov and Hutter, 2019): the weights shrink by
    gamma lambda theta each step, independently of the adaptive scaling, so the decay acts like
    true weight decay instead of an L2 penalty divided by sqrt(v).

    Same arguments as `Adam`, but weight_decay defaults to 1e-2 and decoupling is always on.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False, *, maximize=False, foreach=None, capturable=False,
                 differentiable=False, fused=None):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, foreach=foreach,
                         maximize=maximize, capturable=capturable,
                         differentiable=differentiable, fused=fused,
                         decoupled_weight_decay=True)


def _betas(owner, betas):
    """betas as a tuple of two real numbers (lists from a JSON checkpoint are accepted)."""
    if not isinstance(betas, (tuple, list)) or len(betas) != 2 or not all(
            isinstance(b, numbers.Real) and not isinstance(b, bool) for b in betas):
        raise TypeError(f"{owner}: betas must be a pair of real numbers (beta1, beta2), got "
                        f"{betas!r}")
    return tuple(float(b) for b in betas)
