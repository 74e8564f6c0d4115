"""Adadelta: step sizes from the ratio of two running RMS values, no hand-tuned rate needed."""
from ._functional import adadelta_update
from .optimizer import Optimizer, check_compat, check_number


class Adadelta(Optimizer):
    """Adadelta (Zeiler, 2012) in PyTorch's formulation.

        g_t <- -g_t (maximize);  g_t <- g_t + lambda theta_{t-1} (weight_decay)
        v_t = rho v_{t-1} + (1 - rho) g_t^2
        dx_t = sqrt(u_{t-1} + eps) / sqrt(v_t + eps) * g_t
        u_t = rho u_{t-1} + (1 - rho) dx_t^2
        theta_t = theta_{t-1} - gamma dx_t

    The ratio RMS[dx] / RMS[g] has the units of theta (a second-order-like correction), which is
    why the paper needs no learning rate; PyTorch keeps gamma as a multiplier, default 1.0.

    Args:
        params: Tensors or parameter groups.
        lr: gamma (default 1.0).
        rho: decay of both running averages (default 0.9).
        eps: added inside both square roots (default 1e-6).
        weight_decay: L2 penalty lambda (default 0).
        maximize: ascend the objective instead of descending it.

    State per parameter: `step`, `square_avg` (v_t), `acc_delta` (u_t).
    """

    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, foreach=None, *,
                 capturable=False, maximize=False, differentiable=False):
        check_compat("Adadelta", differentiable=differentiable, foreach=foreach,
                     capturable=capturable)
        defaults = {"lr": lr, "rho": rho, "eps": eps, "weight_decay": weight_decay,
                    "maximize": maximize}
        super().__init__(params, defaults)

    def _validate(self, group):
        check_number("Adadelta", "lr", group["lr"], low=0.0, message="Invalid learning rate")
        check_number("Adadelta", "rho", group["rho"], low=0.0, high=1.0)
        check_number("Adadelta", "eps", group["eps"], low=0.0, message="Invalid epsilon value")
        check_number("Adadelta", "weight_decay", group["weight_decay"], low=0.0)

    def _update(self, param, grad, group):
        state = self.state[param]
        if len(state) == 0:
            state["step"] = self._step_tensor()
            state["square_avg"] = self._state_buffer(param)
            state["acc_delta"] = self._state_buffer(param)
        state["step"]._data += 1
        adadelta_update(param._data, grad, state["square_avg"]._data, state["acc_delta"]._data,
                        lr=group["lr"], rho=group["rho"], eps=group["eps"],
                        weight_decay=group["weight_decay"], maximize=group["maximize"])
