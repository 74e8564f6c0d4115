"""Gradient checking by central finite differences (use float64 inputs).

For f: R^n -> R^m the numerical Jacobian column j is (f(x + eps e_j) - f(x - eps e_j)) / (2 eps),
with error O(eps^2). The analytical Jacobian row i is the vector-Jacobian product with the unit
vector e_i, computed by `autograd.grad`. `gradgradcheck` applies the same test to the function
(inputs, v) -> grad(f(inputs), inputs, v, create_graph=True), i.e. to second derivatives.
"""
import numpy as np

from .._config import enable_grad, no_grad
from ..backend import to_numpy, xp_of
from ..tensor import Tensor, constant
from ._grad import grad


class GradcheckError(AssertionError):
    pass


def _outputs(fn, inputs):
    out = fn(*inputs)
    return (out,) if isinstance(out, Tensor) else tuple(out)


def _numerical(fn, inputs, k, eps):
    """d outputs / d inputs[k] as a list of (out_size, in_size) arrays, one per output."""
    x = inputs[k]
    if not x._data.flags.c_contiguous:
        x._data = xp_of(x._data).ascontiguousarray(x._data)  # so the flat view below writes through
    flat = x._data.reshape(-1)
    sizes = [o._data.size for o in _outputs(fn, inputs)]
    jac = [np.zeros((n, flat.size)) for n in sizes]
    for j in range(flat.size):
        orig = flat[j].item()
        with no_grad():
            flat[j] = orig + eps
            plus = [to_numpy(o._data).astype(np.float64).ravel() for o in _outputs(fn, inputs)]
            flat[j] = orig - eps
            minus = [to_numpy(o._data).astype(np.float64).ravel() for o in _outputs(fn, inputs)]
        flat[j] = orig
        for i, (p, m) in enumerate(zip(plus, minus)):
            jac[i][:, j] = (p - m) / (2 * eps)
    return jac


def _analytical(fn, inputs, diff_idx):
    """Jacobians from reverse mode: one vector-Jacobian product per output element."""
    outs = [o for o in _outputs(fn, inputs)]
    jac = {(i, k): np.zeros((o._data.size, inputs[k]._data.size))
           for i, o in enumerate(outs) for k in diff_idx}
    diff_inputs = [inputs[k] for k in diff_idx]
    for i, o in enumerate(outs):
        if not o.requires_grad:
            continue
        xp = xp_of(o._data)
        for r in range(o._data.size):
            seed = xp.zeros(o._data.size, dtype=o._data.dtype)
            seed[r] = 1
            seed_t = constant(seed.reshape(o._data.shape))
            gs = grad([o], diff_inputs, [seed_t], retain_graph=True, allow_unused=True)
            for k, g in zip(diff_idx, gs):
                if g is not None:
                    jac[(i, k)][r] = to_numpy(g._data).astype(np.float64).ravel()
    return outs, jac


def gradcheck(fn, inputs, *, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True,
              nondet_tol=0.0):
    """Compare autograd's Jacobian of `fn` with finite differences; True if they agree."""
    inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
    diff_idx = [k for k, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    if not diff_idx:
        raise ValueError("gradcheck: no input requires grad")
    for k in diff_idx:
        if inputs[k]._data.dtype != np.float64:
            import warnings

            warnings.warn(f"gradcheck: input {k} is {inputs[k].dtype}, not float64; finite "
                          "differences will be imprecise", stacklevel=2)
    outs, jac = _analytical(fn, inputs, diff_idx)
    for k in diff_idx:
        numeric = _numerical(fn, inputs, k, eps)
        for i in range(len(outs)):
            a, n = jac[(i, k)], numeric[i]
            if not np.allclose(a, n, atol=atol, rtol=rtol):
                if not raise_exception:
                    return False
                worst = np.unravel_index(np.argmax(np.abs(a - n)), a.shape) if a.size else ()
                raise GradcheckError(
                    f"gradcheck: Jacobian mismatch for output {i} w.r.t. input {k}; largest "
                    f"difference at {worst}: analytical {a[worst] if a.size else None} vs "
                    f"numerical {n[worst] if n.size else None}\nanalytical:\n{a}\nnumerical:\n{n}")
    return True


def gradgradcheck(fn, inputs, grad_outputs=None, *, eps=1e-6, atol=1e-5, rtol=1e-3,
                  raise_exception=True, gen_seed=0):
    """gradcheck of the backward pass itself (second-order derivatives)."""
    inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
    diff_idx = [k for k, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    outs = _outputs(fn, inputs)
    if grad_outputs is None:
        rng = np.random.default_rng(gen_seed)
        grad_outputs = [Tensor._make(xp_of(o._data).asarray(rng.standard_normal(o._data.shape)
                                                           .astype(o._data.dtype)), True, None, 0)
                        for o in outs]
    grad_outputs = list(grad_outputs)
    n_in = len(inputs)

    def backward_fn(*args):
        xs, vs = args[:n_in], args[n_in:]
        with enable_grad():  # the finite differences run under no_grad; this needs a graph
            out = _outputs(fn, xs)
            gs = grad(list(out), [xs[k] for k in diff_idx], list(vs), create_graph=True,
                      allow_unused=True)
        return tuple(g for g in gs if g is not None)

    return gradcheck(backward_fn, tuple(inputs) + tuple(grad_outputs), eps=eps, atol=atol,
                     rtol=rtol, raise_exception=raise_exception)
