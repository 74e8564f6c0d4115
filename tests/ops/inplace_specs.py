"""The in-place twin of each registry op (tests/op_specs.py) that has one in PyTorch, and the
helpers that realise a registry case as one program for either library.

`INPLACE[name](x, *rest, **kwargs)` calls the `_` method on the op's first positional argument
with the op's other arguments, e.g. `add_fn_alpha` -> `x.add_(b, alpha=2)`. Registry ops whose
PyTorch method has no `_` twin (matmul, sum, where, reshape, ...) are not listed; the list of
those left out is kept explicit (`NO_TWIN`) so that a new registry op must be placed in one or the
other (test_inplace_registry.py::test_every_registry_op_is_classified).
"""
import numpy as np
from op_specs import SPECS, In, as_list, convert_static


def _method(name):
    return lambda x, *rest, **kw: getattr(x, name)(*rest, **kw)


INPLACE = {
    "add": _method("add_"), "add_fn_alpha": lambda a, b: a.add_(b, alpha=2),
    "sub": _method("sub_"), "sub_fn": _method("sub_"), "mul": _method("mul_"),
    "mul_fn": _method("mul_"), "div": _method("div_"), "div_fn": _method("div_"),
    "pow_tensor": _method("pow_"), "pow_scalar": _method("pow_"), "pow_fn": _method("pow_"),
    "neg": _method("neg_"), "neg_fn": _method("neg_"),
    **{n: _method(n + "_") for n in ("abs", "sign", "exp", "log", "log1p", "sqrt", "rsqrt", "sin",
                                     "erf", "cos", "tanh", "sigmoid", "relu")},
    "clamp": _method("clamp_"), "clamp_tensor": lambda x, lo, hi: x.clamp_(min=lo, max=hi),
    **{n: _method(n + "_") for n in ("eq", "ne", "lt", "le", "gt", "ge", "logical_and",
                                     "logical_or", "logical_xor", "logical_not")},
    **{f"__{n}__": _method(n + "_") for n in ("eq", "ne", "lt", "le", "gt", "ge")},
    "detach": _method("detach_"),
    "cumsum": lambda x, dim: x.cumsum_(dim),
    "tril": lambda x, diagonal: x.tril_(diagonal), "triu": lambda x, diagonal: x.triu_(diagonal),
    "squeeze": _method("squeeze_"), "unsqueeze": lambda x, dim: x.unsqueeze_(dim),
    "transpose": lambda x, d0, d1: x.transpose_(d0, d1), "T": lambda x: x.t_(),
    "index_put": lambda x, v, indices, accumulate: x.index_put_(indices, v, accumulate),
    "scatter": lambda x, src, dim, index: x.scatter_(dim, index, src),
    "scatter_value": lambda x, dim, index: x.scatter_(dim, index, 2.5),
    "masked_fill": lambda x, mask, value: x.masked_fill_(mask, value),
}

NO_TWIN = {"rpow_scalar", "maximum", "minimum", "where", "matmul", "__matmul__", "sum",
           "sum_method", "mean", "prod", "max_full", "min_full", "max_dim", "min_dim", "amax",
           "amin", "argmax", "argmin", "var", "std", "logsumexp", "norm", "reshape", "view",
           "flatten", "permute", "permute_fn", "mT", "expand", "repeat", "cat", "stack", "split",
           "chunk", "flip", "pad", "getitem", "gather", "index_select", "softmax", "log_softmax",
           "softmax_method", "diag", "diag_method", "einsum", "repeat_interleave",
           "repeat_interleave_method", "meshgrid", "unique", "unique_method"}

# the non-contiguous realisations of op_specs' In views, written with library ops so that the
# tensor under test is a view (or, for "f", a flipped copy: PyTorch has no negative strides)
VIEW_OPS = {
    "c": lambda t: t,
    "T": lambda t: t.permute(*reversed(range(t.ndim))),
    "s": lambda t: t[..., ::2],
    "f": lambda t: t.flip(-1),
}


def weight(lib, shape, dtype, salt=0):
    """A fixed, non-uniform weight for the loss sum(w * out) of a given shape."""
    n = int(np.prod(shape, dtype=np.int64))
    w = np.cos(np.arange(n) * 0.7 + 0.3 + salt).reshape(tuple(shape))
    return lib.tensor(w.astype(np.float64)).to(dtype)


def build_args(lib, spec, case, diff_clone=True):
    """(args, leaves, kwargs): `case` as `lib` tensors in float64. Differentiable inputs are
    non-leaf clones of leaves that require grad, with the case's view applied in the graph."""
    diff = spec.diff_args(case)
    args, leaves = [], []
    for i, a in enumerate(case.args):
        if not isinstance(a, In):
            args.append(a)
            continue
        base = np.array(a.base, copy=True)
        t = lib.tensor(base)
        if i in diff:
            t.requires_grad_(True)
            leaves.append(t)
            if diff_clone:
                t = t.clone()
        args.append(VIEW_OPS[a.view](t))
    kwargs = {k: convert_static(v, lambda arr: lib.tensor(np.array(arr, copy=True)))
              for k, v in case.kwargs.items()}
    return args, leaves, kwargs


def registry_op(lib, spec):
    return spec.th if lib.__name__ == "torch" else spec.ax


def float_outputs(out):
    return [o for o in as_list(out) if o.dtype.is_floating_point]


def inplace_specs():
    return [s for s in SPECS if s.name in INPLACE]
