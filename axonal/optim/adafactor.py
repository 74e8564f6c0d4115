"""Adafactor (Shazeer and Stern 2018) in PyTorch's formulation (`torch.optim.Adafactor`).

The second moment of a matrix-shaped gradient G (the last two dims) is kept factored, as a row
mean R and a column mean C, so its memory is O(rows + cols):

    beta2_t = 1 - t^beta2_decay (the lerp weight is t^beta2_decay)
    R <- lerp(R, mean_cols(G^2)),  C <- lerp(C, mean_rows(G^2)),  V = R C / max(mean(R), eps1)
    (a vector gradient keeps the full V <- lerp(V, G^2))
    U = G / sqrt(max(V, eps1^2))
    rho_t = min(lr, 1 / sqrt(t)),  alpha = max(eps2, RMS(theta)) rho_t
    theta <- theta (1 - lr lambda);  theta <- theta - alpha / max(1, RMS(U) / d) U

eps = (eps1, eps2); eps1=None means the machine epsilon of the parameter's dtype.
"""

from .. import backend
from ..tensor import Tensor, constant
from .optimizer import Optimizer, check_compat

__all__ = ["Adafactor", "adafactor_update"]


def _lerp_(start, end, weight):
    if weight < 0.5:
        start += weight * (end - start)
    else:
        start[...] = end - (end - start) * (1 - weight)


def adafactor_update(param, grad, row_var, col_var, variance, step, *, lr=1e-2, beta2_decay=-0.8,
                     eps1=None, eps2=1e-3, d=1.0, weight_decay=0.0, maximize=False):
    """One step on arrays; row_var/col_var for >= 2-D parameters, variance for vectors."""
    xp = backend.xp_of(param)
    if maximize:
        grad = -grad
    if eps1 is None:
        eps1 = float(xp.finfo(param.dtype).eps)
    one_minus_beta2 = step ** beta2_decay
    rho = min(lr, 1 / (step ** 0.5))
    alpha = max(eps2, xp.sqrt((param * param).sum()).item() / (param.size ** 0.5)) * rho
    if weight_decay != 0:
        param *= 1 - lr * weight_decay
    if grad.ndim > 1:
        row_mean = xp.sqrt((grad * grad).sum(axis=-1, keepdims=True)) ** 2 / grad.shape[-1]
        _lerp_(row_var, row_mean, one_minus_beta2)
        col_mean = xp.sqrt((grad * grad).sum(axis=-2, keepdims=True)) ** 2 / grad.shape[-2]
        _lerp_(col_var, col_mean, one_minus_beta2)
        var = row_var @ col_var
        var /= xp.maximum(row_var.mean(axis=-2, keepdims=True), eps1)
    else:
        _lerp_(variance, grad * grad, one_minus_beta2)
        var = variance.copy()
    update = 1 / xp.sqrt(xp.maximum(var, eps1 * eps1))
    update *= grad
    denom = max(1.0, xp.sqrt((update * update).sum()).item() / ((update.size ** 0.5) * d))
    param -= (alpha / denom) * update


class Adafactor(Optimizer):
    """State per parameter: `step`, and `row_var` + `col_var` (>= 2-D) or `variance` (1-D)."""

    def __init__(self, params, lr=1e-2, beta2_decay=-0.8, eps=(None, 1e-3), d=1.0,
                 weight_decay=0.0, *, foreach=None, maximize=False):
        check_compat("Adafactor", foreach=foreach)
        super().__init__(params, {"lr": lr, "beta2_decay": beta2_decay, "eps": tuple(eps),
                                  "d": d, "weight_decay": weight_decay, "maximize": maximize})

    def _validate(self, group):
        lr, decay, (e1, e2), d = group["lr"], group["beta2_decay"], group["eps"], group["d"]
        group["eps"] = (e1, e2)
        if not 0.0 <= lr:
            raise ValueError(f"Adafactor: Learning rate should be >= 0 but is: {lr}")
        if not 0.0 >= decay:
            raise ValueError(f"Adafactor: beta2_decay should be <= 0 but is: {decay}")
        if e1 is not None and not 0.0 <= e1:
            raise ValueError(f"Adafactor: epsilon1 should be >= 0 but is: {e1}")
        if not 0.0 <= e2:
            raise ValueError(f"Adafactor: epsilon2 should be >= 0 but is: {e2}")
        if not 1.0 <= d:
            raise ValueError(f"Adafactor: Clipping threshold d should be >= 1 but is: {d}")
        if not 0.0 <= group["weight_decay"]:
            raise ValueError(f"Adafactor: weight_decay should be >= 0 but is: "
                             f"{group['weight_decay']}")

    def _update(self, param, grad, group):
        state = self.state[param]
        if len(state) == 0:
            state["step"] = self._step_tensor()
            if grad.ndim > 1:
                state["row_var"] = self._state_buffer(param)[..., :1].clone()
                state["col_var"] = self._state_buffer(param)[..., :1, :].clone()
            else:
                state["variance"] = self._state_buffer(param)
        state["step"]._data += 1
        eps1, eps2 = group["eps"]  # eps1=None: this parameter's machine epsilon (PyTorch takes
        # the first parameter's for its whole group: the same unless a group mixes dtypes)
        var = state.get("variance")
        adafactor_update(param._data, grad,
                         state["row_var"]._data if "row_var" in state else None,
                         state["col_var"]._data if "col_var" in state else None,
                         None if var is None else var._data, float(state["step"]._data),
                         lr=group["lr"], beta2_decay=group["beta2_decay"], eps1=eps1, eps2=eps2,
                         d=group["d"], weight_decay=group["weight_decay"],
                         maximize=group["maximize"])



    def load_state_dict(self, state_dict):
        """As Optimizer.load_state_dict; the factored row_var / col_var (whose shapes are not the
        parameter's) are cast to the parameter's dtype and device here."""
        factored = {}
        state = {}
        for key, value in state_dict["state"].items():
            value = dict(value)
            factored[key] = {k: value.pop(k) for k in ("row_var", "col_var") if k in value}
            state[key] = value
        super().load_state_dict({**state_dict, "state": state})
        saved = [i for g in state_dict["param_groups"] for i in g["params"]]
        mine = [p for g in self.param_groups for p in g["params"]]
        for index, param in zip(saved, mine):
            for k, v in factored.get(index, {}).items():
                arr = v._data if isinstance(v, Tensor) else v
                dev = backend.device_of(param._data)
                arr = backend.to_device(arr, dev)
                self.state[param][k] = constant(
                    backend.xp_for(dev).array(arr, dtype=param._data.dtype, copy=True))
