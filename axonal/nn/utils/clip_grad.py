"""Gradient clipping, applied in place to `.grad` after backward() and before the optimizer step.

clip_grad_norm_ treats all gradients as one vector g and rescales it when ||g||_p > max_norm:

    ||g||_p = || (||g_1||_p, ..., ||g_k||_p) ||_p,   g <- g * min(1, max_norm / (||g||_p + 1e-6))

(the 1e-6 is PyTorch's guard against division by zero), returning ||g||_p as a 0-d Tensor.
"""
import math

from ... import backend
from ..._config import no_grad
from ...tensor import Tensor, constant


def _grads(parameters):
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    return [p.grad for p in parameters if p.grad is not None]


def _norm_of(arr, norm_type):
    xp = backend.xp_of(arr)
    a = xp.abs(arr)
    if math.isinf(norm_type):
        return a.max() if a.size else xp.zeros((), arr.dtype)
    if norm_type == 2:
        return xp.sqrt((a * a).sum())
    return (a ** norm_type).sum() ** (1.0 / norm_type)


def get_total_norm(tensors, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """The p-norm of all the given tensors together, as a 0-d Tensor."""
    norm_type = float(norm_type)
    arrays = [t._data for t in ([tensors] if isinstance(tensors, Tensor) else tensors)]
    if not arrays:
        return Tensor(0.0)
    xp = backend.xp_of(arrays[0])
    norms = xp.stack([_norm_of(a, norm_type).astype(arrays[0].dtype) for a in arrays])
    total = _norm_of(norms, norm_type)
    if error_if_nonfinite and not bool(xp.isfinite(total)):
        raise RuntimeError(f"The total norm of order {norm_type} for gradients from `parameters` "
                           "is "
                           "non-finite, so it cannot be clipped. To disable this error and scale "
                           "the gradients by the non-finite norm anyway, set "
                           "`error_if_nonfinite=False`")
    return constant(xp.asarray(total))


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """Rescale the gradients in place so that their joint p-norm is at most max_norm; returns the
    norm before clipping."""
    grads = _grads(parameters)
    if not grads:
        return Tensor(0.0)
    total = get_total_norm(grads, norm_type, error_if_nonfinite)
    if backend.is_cupy_array(total._data):  # on a GPU the coefficient stays there: no host sync
        coef = backend.xp_of(total._data).minimum(float(max_norm) / (total._data + 1e-6), 1.0)
        with no_grad():
            for g in grads:
                g._data *= coef.astype(g._data.dtype)
        return total
    coef = min(float(max_norm) / (float(total.item()) + 1e-6), 1.0)
    if coef < 1.0 or math.isnan(coef):
        with no_grad():
            for g in grads:
                g._data *= g._data.dtype.type(coef)
    return total


def clip_grad_value_(parameters, clip_value, foreach=None):
    """Clamp every gradient element into [-clip_value, clip_value] in place."""
    c = float(clip_value)
    with no_grad():
        for g in _grads(parameters):
            xp = backend.xp_of(g._data)
            xp.clip(g._data, -c, c, out=g._data)


def clip_grads_with_norm_(parameters, max_norm, total_norm, foreach=None):
    """Scale the gradients in place by min(1, max_norm / (total_norm + 1e-6)), with a total norm
    computed beforehand (e.g. by get_total_norm)."""
    grads = _grads(parameters)
    if not grads:
        return
    total = total_norm._data if isinstance(total_norm, Tensor) else total_norm
    xp = backend.xp_of(grads[0]._data)
    coef = xp.minimum(float(max_norm) / (xp.asarray(total) + 1e-6), 1.0)
    with no_grad():
        for g in grads:
            g._data *= coef.astype(g._data.dtype)


def clip_grad_norm(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """The deprecated name of clip_grad_norm_ (with PyTorch's FutureWarning)."""
    import warnings
    warnings.warn("`torch.nn.utils.clip_grad_norm` is now deprecated in favor of "
                  "`torch.nn.utils.clip_grad_norm_`.", FutureWarning, stacklevel=2)
    return clip_grad_norm_(parameters, max_norm, norm_type, error_if_nonfinite, foreach)
