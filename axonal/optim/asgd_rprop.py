"""ASGD and Rprop (PyTorch's formulas, `_single_tensor_asgd` / `_single_tensor_rprop`).

ASGD (Polyak and Juditsky 1992; Bottou 2012's schedule) is SGD with a decaying step and a running
average of the iterates, ax, which is the model to evaluate:

    theta <- theta (1 - lambda eta_t) - eta_t g_t
    ax    <- theta if mu_t = 1 else ax + mu_t (theta - ax)
    eta_{t+1} = gamma / (1 + lambda gamma t)^alpha,   mu_{t+1} = 1 / max(1, t - t0)

eta and mu are float32 scalar tensors in the state, as in PyTorch (so eta is rounded to float32).

Rprop (Riedmiller and Braun 1993) uses only the sign of the gradient: each coordinate's step
grows by eta+ while the gradient keeps its sign, shrinks by eta- when it flips (and that step is
skipped: the stored gradient is set to 0), clamped to [step_min, step_max]:

    theta <- theta - sign(g) * step_size
"""
import numpy as np

from .. import backend
from .optimizer import Optimizer, check_compat, check_number


def asgd_update(param, grad, ax, eta, mu, step, *, lr=1e-2, lambd=1e-4, alpha=0.75, t0=1e6,
                weight_decay=0.0, maximize=False):
    """`eta` and `mu` are the 0-d float32 state arrays, updated in place."""
    if maximize:
        grad = -grad
    if weight_decay != 0:
        grad = grad + weight_decay * param
    eta_value = float(eta)
    param *= 1 - lambd * eta_value
    param -= eta_value * grad
    if float(mu) != 1:
        ax += (param - ax) * float(mu)
    else:
        ax[...] = param
    eta[...] = lr / ((1 + lambd * lr * step) ** alpha)
    mu[...] = 1 / max(1, step - t0)


def rprop_update(param, grad, prev, step_size, *, etaminus=0.5, etaplus=1.2, step_size_min=1e-6,
                 step_size_max=50.0, maximize=False):
    xp = backend.xp_of(param)
    if maximize:
        grad = -grad
    sign = xp.sign(grad * prev)
    factor = xp.where(sign > 0, etaplus, xp.where(sign < 0, etaminus, 1.0)).astype(param.dtype)
    step_size *= factor
    xp.clip(step_size, step_size_min, step_size_max, out=step_size)
    grad = xp.where(sign < 0, 0, grad).astype(param.dtype)  # a flipped sign: skip this step
    param -= xp.sign(grad) * step_size
    prev[...] = grad


def _scalar(value):
    from ..tensor import Tensor
    return Tensor(np.float32(value), dtype="float32")


class ASGD(Optimizer):
    """Averaged SGD. State per parameter: `step`, `eta`, `mu`, `ax` (the averaged parameters)."""

    def __init__(self, params, lr=1e-2, lambd=1e-4, alpha=0.75, t0=1e6, weight_decay=0,
                 foreach=None, maximize=False, differentiable=False, capturable=False):
        check_compat("ASGD", differentiable=differentiable, foreach=foreach,
                     capturable=capturable)
        super().__init__(params, {"lr": lr, "lambd": lambd, "alpha": alpha, "t0": t0,
                                  "weight_decay": weight_decay, "maximize": maximize})

    def _validate(self, group):
        check_number("ASGD", "lr", group["lr"], low=0.0, message="Invalid learning rate")
        check_number("ASGD", "weight_decay", group["weight_decay"], low=0.0,
                     message="Invalid weight_decay value")

    def _update(self, param, grad, group):
        state = self.state[param]
        if len(state) == 0:
            state["step"] = self._step_tensor()
            state["eta"] = _scalar(group["lr"])
            state["mu"] = _scalar(1.0)
            state["ax"] = self._state_buffer(param)
        state["step"]._data += 1
        asgd_update(param._data, grad, state["ax"]._data, state["eta"]._data,
                    state["mu"]._data, float(state["step"]._data), lr=group["lr"],
                    lambd=group["lambd"], alpha=group["alpha"], t0=group["t0"],
                    weight_decay=group["weight_decay"], maximize=group["maximize"])


class Rprop(Optimizer):
    """Resilient backpropagation. State per parameter: `step`, `prev`, `step_size`."""

    def __init__(self, params, lr=1e-2, etas=(0.5, 1.2), step_sizes=(1e-6, 50), *,
                 capturable=False, foreach=None, maximize=False, differentiable=False):
        check_compat("Rprop", differentiable=differentiable, foreach=foreach,
                     capturable=capturable)
        super().__init__(params, {"lr": lr, "etas": tuple(etas), "step_sizes": tuple(step_sizes),
                                  "maximize": maximize})

    def _validate(self, group):
        check_number("Rprop", "lr", group["lr"], low=0.0, message="Invalid learning rate")
        etaminus, etaplus = group["etas"] = tuple(group["etas"])
        group["step_sizes"] = tuple(group["step_sizes"])
        if not 0.0 < etaminus < 1.0 < etaplus:
            raise ValueError(f"Rprop: Invalid eta values: {etaminus}, {etaplus}")

    def _update(self, param, grad, group):
        state = self.state[param]
        if len(state) == 0:
            state["step"] = self._step_tensor()
            state["prev"] = self._state_buffer(param)
            state["step_size"] = self._state_buffer(param, group["lr"])
        state["step"]._data += 1
        etaminus, etaplus = group["etas"]
        lo, hi = group["step_sizes"]
        rprop_update(param._data, grad, state["prev"]._data, state["step_size"]._data,
                     etaminus=etaminus, etaplus=etaplus, step_size_min=lo, step_size_max=hi,
                     maximize=group["maximize"])
