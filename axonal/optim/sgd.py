"""Stochastic gradient descent with optional momentum, Nesterov momentum and weight decay."""
from ..tensor import constant
from ._functional import sgd_update
from .optimizer import Optimizer, check_compat, check_number


class SGD(Optimizer):
    """Stochastic gradient descent, optionally with momentum (PyTorch's formulation).

        g_t <- -g_t (maximize);  g_t <- g_t + lambda theta_{t-1} (weight_decay)
        b_1 = g_1,  b_t = mu b_{t-1} + (1 - tau) g_t         (momentum mu, dampening tau)
        d_t = g_t + mu b_t (nesterov) or b_t (momentum) or g_t (plain)
        theta_t = theta_{t-1} - gamma d_t

    The learning rate multiplies the buffer (not the gradient inside it), as in PyTorch; Sutskever
    et al. fold it into the velocity instead, which differs when the learning rate changes.

    Args:
        params: Tensors or parameter groups.
        lr: learning rate gamma (default 1e-3).
        momentum: momentum factor mu (default 0).
        dampening: dampening tau for momentum (default 0).
        weight_decay: L2 penalty lambda (default 0), i.e. the gradient of lambda/2 ||theta||^2.
        nesterov: use Nesterov momentum (needs momentum > 0 and dampening = 0).
        maximize: ascend the objective instead of descending it.
    """

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False,
                 *, maximize=False, foreach=None, differentiable=False, fused=None):
        check_compat("SGD", differentiable=differentiable, foreach=foreach, fused=fused)
        defaults = {"lr": lr, "momentum": momentum, "dampening": dampening,
                    "weight_decay": weight_decay, "nesterov": nesterov, "maximize": maximize}
        super().__init__(params, defaults)

    def _validate(self, group):
        check_number("SGD", "lr", group["lr"], low=0.0, message="Invalid learning rate")
        check_number("SGD", "momentum", group["momentum"], low=0.0,
                     message="Invalid momentum value")
        check_number("SGD", "dampening", group["dampening"])
        check_number("SGD", "weight_decay", group["weight_decay"], low=0.0,
                     message="Invalid weight_decay value")
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError(f"SGD: Nesterov momentum requires a momentum and zero dampening "
                             f"(got momentum={group['momentum']}, "
                             f"dampening={group['dampening']})")

    def _update(self, param, grad, group):
        momentum = group["momentum"]
        state = self.state[param] if momentum != 0 else None
        buf = state.get("momentum_buffer") if state is not None else None
        new_buf = sgd_update(param._data, grad, None if buf is None else buf._data,
                             lr=group["lr"], momentum=momentum, dampening=group["dampening"],
                             weight_decay=group["weight_decay"], nesterov=group["nesterov"],
                             maximize=group["maximize"])
        if state is not None and buf is None:
            state["momentum_buffer"] = constant(new_buf)
