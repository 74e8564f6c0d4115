"""L1 and L2 penalties on parameters, as differentiable scalars to add to a loss.

    loss = criterion(model(x), y) + 1e-4 * l1_penalty(model.parameters())

Conventions (chosen so the gradients are the textbook ones):

* `l1_penalty(params) = sum_i |w_i|`, whose (sub)gradient is sign(w) (0 at w = 0, as `abs`
  differentiates). Under plain SGD it pulls every weight towards 0 by a constant lr * alpha per
  step, which drives small weights exactly to (around) zero: a sparsity prior (Laplace).
* `l2_penalty(params) = 1/2 sum_i w_i^2`, whose gradient is w. So `alpha * l2_penalty(params)`
  added to the loss gives exactly the gradient term of `weight_decay=alpha` in SGD, Adagrad,
  RMSprop and Adam (coupled decay), and the same SGD trajectory. It is a Gaussian prior, and
  shrinks each weight by the factor (1 - lr * alpha) per SGD step.

Both are built from axonal ops (abs, mul, sum), so they flow through autograd like any loss term.
"""
from ..tensor import Tensor


def _as_list(fn, params):
    if isinstance(params, Tensor):
        params = [params]
    elif isinstance(params, dict):  # a state dict or named parameters
        params = list(params.values())
    try:
        params = list(params)
    except TypeError:
        raise TypeError(f"{fn}: expected a Tensor or an iterable of Tensors, got "
                        f"{type(params).__name__}") from None
    if not params:
        raise ValueError(f"{fn}: got an empty parameter list")
    for p in params:
        if not isinstance(p, Tensor):
            raise TypeError(f"{fn}: every parameter must be a Tensor, got {type(p).__name__}")
        if not p.is_floating_point():
            raise TypeError(f"{fn}: parameters must be floating point, got dtype {p.dtype} "
                            f"with shape {tuple(p.shape)}")
    return params


def l1_penalty(params):
    """sum over all parameters of |w| (a 0-d Tensor, differentiable).

    Args:
        params: a Tensor, an iterable of Tensors (e.g. `model.parameters()`), or a dict of them.
    """
    total = None
    for p in _as_list("l1_penalty", params):
        term = p.abs().sum()
        total = term if total is None else total + term
    return total


def l2_penalty(params):
    """1/2 * sum over all parameters of w^2 (a 0-d Tensor, differentiable); its gradient is w.

    Args:
        params: a Tensor, an iterable of Tensors (e.g. `model.parameters()`), or a dict of them.
    """
    total = None
    for p in _as_list("l2_penalty", params):
        term = (p * p).sum()
        total = term if total is None else total + term
    return total * 0.5
