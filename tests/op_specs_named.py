"""Registry entries (tests/op_specs.py) that prove PyTorch names Axonal already had without a
tagged parity test: sorting, selections, matrix products, element-wise functions, index
functions and PyTorch's aliases, each as function and (where PyTorch has it) Tensor method, on the
harness of tests/ops/test_ops.py."""
import numpy as np
from op_specs import (
    AWAY0,
    INTEGRAL,
    SPREAD,
    Case,
    In,
    binary_cases,
    mk,
    mk_bool,
    mk_int,
    np_matmul,
    np_std,
    np_var,
    spec,
    unary_cases,
)
from op_specs_more import NOT_INT, _cases, add, both

_I = lambda *v: np.array(v, dtype=np.int64)


def _np_sort(x, dim=-1, descending=False):
    idx = np.argsort(-x if descending else x, axis=dim, kind="stable")
    return np.take_along_axis(x, idx, dim), idx


_SORTED = _cases(("dim-1", [((3, 4), "c", SPREAD)], {}),
                 ("T_dim0_desc", [((3, 4), "T", SPREAD)], {"dim": 0, "descending": True}),
                 ("s", [((2, 3, 4), "s", SPREAD)], {"dim": 1}))
both("sort", _np_sort, _SORTED)
both("argsort", lambda x, **kw: _np_sort(x, **kw)[1], _SORTED, differentiable=False)
both("msort", lambda x: np.sort(x, axis=0), _cases(("2d", [((3, 4), "c", SPREAD)], {}),
                                                   ("T", [((4, 2), "T", SPREAD)], {})))


def _np_topk(x, k, dim=-1, largest=True):
    v, i = _np_sort(x, dim, descending=largest)
    return np.take(v, range(k), axis=dim), np.take(i, range(k), axis=dim)


both("topk", _np_topk, _cases(("k2", [((3, 5), "c", SPREAD), 2], {}),
                              ("T_small", [((3, 4), "T", SPREAD), 3], {"dim": 0, "largest": False}),
                              ("s", [((2, 3, 4), "s", SPREAD), 1], {"dim": 1})))
for _name, _f in (("std_mean", lambda x, **kw: (np_std(x, **kw), np.mean(
        x, axis=kw.get("dim"), keepdims=kw.get("keepdim", False)))),
                  ("var_mean", lambda x, **kw: (np_var(x, **kw), np.mean(
                      x, axis=kw.get("dim"), keepdims=kw.get("keepdim", False))))):
    both(_name, _f, _cases(("full", [((3, 4), "c")], {}),
                           ("T_dim1", [((3, 4), "T")], {"dim": 1, "correction": 0}),
                           ("s_keep", [((2, 3, 4), "s")], {"dim": (0, 2), "keepdim": True})),
         method=False)
both("count_nonzero", lambda x, dim=None: np.count_nonzero(x, axis=dim),
     _cases(("full", [((3, 4), "c", INTEGRAL)], {}), ("T", [((3, 4), "T", INTEGRAL)], {"dim": 1}),
            ("s", [((2, 5), "s", INTEGRAL)], {"dim": 0})), differentiable=False)


def _special(rng):
    return In(np.array([[0.0, np.nan, np.inf], [-np.inf, 1.5, -2.0]]))


for _name, _npf in (("isfinite", np.isfinite), ("isnan", np.isnan), ("isinf", np.isinf)):
    both(_name, _npf, lambda r: [Case((_special(r),), {}, "special"),
                                 Case((mk(r, (3, 4), "T"),), {}, "T"),
                                 Case((mk_int(r, (4,)),), {}, "int")], differentiable=False)
both("isclose", lambda a, b: np.isclose(a, b, rtol=1e-5, atol=1e-8),
     lambda r: [Case((mk(r, (2, 3), "c", INTEGRAL), mk(r, (2, 3), "T", INTEGRAL)), {}, "same"),
                Case((mk(r, (2, 3), "s", INTEGRAL), mk(r, (3,), "c", INTEGRAL)), {}, "bcast")],
     differentiable=False)
for _name, _npf, _dom in (("reciprocal", np.reciprocal, AWAY0), ("square", np.square, None),
                          ("floor", np.floor, NOT_INT), ("ceil", np.ceil, NOT_INT),
                          ("round", np.round, NOT_INT), ("trunc", np.trunc, NOT_INT)):
    both(_name, _npf, unary_cases(_dom, ints=None))
# (torch.remainder is differentiable, Axonal's is not yet: it stays unproved)
for _name, _npf, _doms in (("divide", np.divide, (None, AWAY0)),
                           ("true_divide", np.divide, (None, AWAY0)),
                           ("multiply", np.multiply, (None, None)),
                           ("subtract", np.subtract, (None, None))):
    both(_name, _npf, binary_cases(domains=_doms, scalars=()))
both("floor_divide", lambda a, b: np.floor(a / b),
     binary_cases(domains=(NOT_INT, AWAY0), scalars=()), differentiable=False)
for _name, _npf in (("bitwise_and", np.bitwise_and), ("bitwise_or", np.bitwise_or),
                    ("bitwise_xor", np.bitwise_xor)):
    both(_name, _npf, lambda r: [Case((mk_int(r, (2, 3)), mk_int(r, (3,))), {}, "int_bcast"),
                                 Case((In(r.integers(-3, 4, (3, 2)), "T"), mk_int(r, (2, 3))), {},
                                      "T"),
                                 Case((mk_bool(r, (2, 3)), mk_bool(r, (1, 3))), {}, "bool")],
         differentiable=False)
both("bitwise_not", np.invert, lambda r: [Case((mk_int(r, (2, 3)),), {}, "int"),
                                          Case((In(r.integers(-3, 4, (3, 2)), "T"),), {}, "T"),
                                          Case((mk_bool(r, (4,)),), {}, "bool")],
     differentiable=False)

# matrix products
both("mm", np_matmul, _cases(("2x3", [((2, 4), "c"), ((4, 3), "c")], {}),
                             ("T_s", [((3, 4), "T"), ((4, 2), "s")], {})))
both("bmm", np_matmul, _cases(("b", [((2, 3, 4), "c"), ((2, 4, 5), "c")], {}),
                              ("T_s", [((2, 3, 4), "s"), ((2, 4, 2), "T")], {})))
both("mv", np_matmul, _cases(("2x4", [((2, 4), "c"), ((4,), "c")], {}),
                             ("T", [((3, 4), "T"), ((4,), "f")], {})))
both("dot", np.dot, _cases(("4", [((4,), "c"), ((4,), "s")], {}), ("f", [((3,), "f"), ((3,), "c")], {})))
both("outer", np.outer, _cases(("2x3", [((2,), "c"), ((3,), "c")], {}),
                               ("s_f", [((4,), "s"), ((2,), "f")], {})))

# shapes
both("t", lambda x: x.T, _cases(("2d", [((2, 3), "c")], {}), ("1d", [((3,), "s")], {}),
                                ("T", [((3, 4), "T")], {})))
both("movedim", lambda x, s, d: np.moveaxis(x, s, d),
     _cases(("one", [((2, 3, 4), "c"), 0, 2], {}), ("T", [((3, 4), "T"), 1, 0], {})))
both("unbind", lambda x, dim=0: tuple(np.moveaxis(x, dim, 0)),
     _cases(("dim0", [((3, 2), "c")], {}), ("T_dim1", [((3, 4), "T")], {"dim": 1})))
both("narrow", lambda x, d, s, n: np.take(x, range(s, s + n), axis=d),
     _cases(("d0", [((4, 3), "c"), 0, 1, 2], {}), ("T_d1", [((3, 5), "T"), 1, 2, 3], {})))
both("select", lambda x, d, i: np.take(x, i, axis=d),
     _cases(("d0", [((4, 3), "c"), 0, 1], {}), ("T_d1", [((3, 5), "T"), 1, -1], {})))
both("broadcast_to", lambda x, shape: np.broadcast_to(x, shape),
     _cases(("row", [((3,), "c"), (2, 3)], {}), ("s", [((2, 1), "s"), (3, 2, 4)], {})))
both("clone", lambda x: x.copy(), unary_cases(ints=None))
both("unflatten", lambda x, dim, sizes: x.reshape(x.shape[:dim] + sizes + x.shape[dim + 1:]),
     _cases(("d1", [((2, 6), "c"), 1, (2, 3)], {}), ("T", [((6, 2), "T"), 0, (3, 2)], {})))
for _name, _how in (("expand_as", lambda x, o: np.broadcast_to(x, o.shape)),
                    ("view_as", lambda x, o: x.reshape(o.shape)),
                    ("reshape_as", lambda x, o: x.reshape(o.shape))):
    add(spec(f"{_name}_m", lambda m, x, o, _n=_name: getattr(x, _n)(o), _how,
             _cases(("a", [((2, 1), "c"), ((2, 3), "c")], {}) if _name == "expand_as" else
                    ("a", [((2, 3), "c"), ((3, 2), "c")], {}),
                    ("T", [((1, 4), "s"), ((3, 4), "s")], {}) if _name == "expand_as" else
                    ("T", [((3, 4), "T"), ((2, 6), "s")], {})
                    if _name != "view_as" else ("b", [((6,), "c"), ((3, 1, 2), "T")], {})),
             diff=(0,), names=(f"torch.Tensor.{_name}",)))
add(spec("where_method", lambda m, c, a, b: a.where(c, b), np.where, lambda r: [
    Case((mk_bool(r, (2, 3)), mk(r, (2, 3)), mk(r, (3,))), {}, "bcast"),
    Case((mk_bool(r, (3, 2)), mk(r, (3, 2), "T"), mk(r, (3, 2), "s")), {}, "noncontig")],
    names=("torch.Tensor.where",)))
for _name in ("concat", "concatenate"):
    add(spec(_name, lambda m, *xs, _n=_name, dim=0: getattr(m, _n)(list(xs), dim=dim),
             lambda *xs, dim=0: np.concatenate(xs, dim),
             _cases(("d0", [((2, 3), "c"), ((1, 3), "T")], {}),
                    ("d1", [((2, 3), "s"), ((2, 2), "c")], {"dim": 1})), names=(f"torch.{_name}",)))
both("clip", lambda x, min=None, max=None: np.clip(x, min, max),
     _cases(("both", [((3, 4), "c")], {"min": -0.5, "max": 0.5}),
            ("T_min", [((4, 2), "T")], {"min": -0.2})))
both("clamp_min", lambda x, v: np.maximum(x, v), _cases(("c", [((3, 4), "c"), -0.3], {}),
                                                        ("s", [((2, 3), "s"), 0.1], {})))
both("clamp_max", lambda x, v: np.minimum(x, v), _cases(("c", [((3, 4), "c"), -0.3], {}),
                                                        ("s", [((2, 3), "s"), 0.1], {})))


def _np_index_add(x, dim, index, source, alpha=1):
    out = x.copy()
    np.add.at(np.moveaxis(out, dim, 0), index, alpha * np.moveaxis(source, dim, 0))
    return out


def _np_index_copy(x, dim, index, source):
    out = x.copy()
    np.moveaxis(out, dim, 0)[index] = np.moveaxis(source, dim, 0)
    return out


def _np_index_fill(x, dim, index, value):
    out = x.copy()
    np.moveaxis(out, dim, 0)[index] = value
    return out


def _index_op(name, ref, rows):
    """torch.<name>(x, dim, index, source-or-value) and x.<name>(...): the index is a keyword
    of the case (turned into a tensor of the library under test), the rest positional."""
    for label, call in (("fn", lambda m, x, dim, src, _n=name, **k: getattr(m, _n)(
            x, dim, k.pop("index"), src, **k)),
                        ("method", lambda m, x, dim, src, _n=name, **k: getattr(x, _n)(
                            dim, k.pop("index"), src, **k))):
        add(spec(f"{name}_{label}", call, lambda x, dim, src, index, **k: ref(x, dim, index, src,
                                                                             **k),
                 _cases(*rows), names=(f"torch.{name}" if label == "fn" else
                                       f"torch.Tensor.{name}",)))


_index_op("index_add", _np_index_add, (
    ("d0", [((4, 3), "c"), 0, ((3, 3), "c")], {"index": _I(0, 2, 0)}),
    ("T_d1", [((3, 4), "T"), 1, ((3, 2), "s")], {"index": _I(3, 1), "alpha": 2.0})))
_index_op("index_copy", _np_index_copy, (
    ("d0", [((4, 3), "c"), 0, ((2, 3), "c")], {"index": _I(3, 1)}),
    ("T_d1", [((3, 4), "T"), 1, ((3, 2), "s")], {"index": _I(0, 2)})))
_index_op("index_fill", _np_index_fill, (
    ("d0", [((4, 3), "c"), 0, -1.5], {"index": _I(3, 1)}),
    ("T_d1", [((3, 4), "T"), 1, 2.0], {"index": _I(0, 2)})))



# -- cumulative ops and the remaining aliases (axonal/ops/scan.py) -------------------------------

def _with_zeros(a):
    return np.where(np.abs(a) < 0.4, 0.0, a)


both("cumprod", lambda x, dim: np.cumprod(x, axis=dim), _cases(
    ("d1", [((3, 4), "c"), 1], {}), ("T_d0", [((3, 4), "T"), 0], {}),
    ("s", [((2, 3, 4), "s"), -1], {}), ("zeros", [((3, 5), "c", _with_zeros), 1], {}),
    ("one_zero", [In(np.array([[1.5, 0.0, 2.0, -0.5], [0.0, 0.0, 1.2, 3.0]])), 1], {})))


def _np_cum_extreme(take_max):
    def ref(x, dim):
        run = (np.maximum if take_max else np.minimum).accumulate(x, axis=dim)
        shape = [1] * x.ndim
        shape[dim] = x.shape[dim]
        pos = np.arange(x.shape[dim]).reshape(shape)
        return run, np.maximum.accumulate(np.where(x == run, pos, -1), axis=dim)

    return ref


for _name, _take in (("cummax", True), ("cummin", False)):
    both(_name, _np_cum_extreme(_take), _cases(
        ("d1", [((3, 4), "c", SPREAD), 1], {}), ("T_d0", [((3, 4), "T", SPREAD), 0], {}),
        ("s", [((2, 3, 4), "s", SPREAD), 2], {})))


def _np_logcumsumexp(x, dim):
    return np.logaddexp.accumulate(x, axis=dim)


both("logcumsumexp", _np_logcumsumexp, _cases(
    ("d1", [((3, 4), "c"), 1], {}), ("T_d0", [((3, 4), "T"), 0], {}),
    ("s", [((2, 3, 4), "s"), -1], {}),
    ("wide", [In(np.array([[-200.0, 0.0, 1.0], [3.0, -150.0, 2.0]])), 1], {})))
for _name, _npf in (("greater", np.greater), ("greater_equal", np.greater_equal),
                    ("less", np.less), ("less_equal", np.less_equal),
                    ("not_equal", np.not_equal)):
    both(_name, _npf, lambda r: [
        Case((mk(r, (2, 3), "c", INTEGRAL), mk(r, (3,), "c", INTEGRAL)), {}, "bcast"),
        Case((mk(r, (3, 2), "T", INTEGRAL), mk(r, (3, 2), "s", INTEGRAL)), {}, "noncontig")],
        differentiable=False)
both("ravel", np.ravel, _cases(("2d", [((2, 3), "c")], {}), ("T", [((3, 4), "T")], {})))
both("tile", lambda x, dims: np.tile(x, dims), _cases(
    ("short", [((2, 3), "c"), (2,)], {}), ("T", [((3, 2), "T"), (2, 1, 2)], {})))
both("sinc", np.sinc, unary_cases(ints=None, kinks=[0.0, 1.0, -0.5]))
add(spec("vander", lambda m, x, **kw: m.vander(x, **kw), lambda x, N=None, increasing=False:
         np.vander(x, N, increasing=increasing),
         _cases(("4", [((4,), "c")], {}), ("s_N", [((3,), "s")], {"N": 5}),
                ("inc", [((3,), "f")], {"increasing": True})), names=("torch.vander",),
         # forward only: PyTorch 2.13's own backward of torch.vander raises ("modified by an
         # inplace operation"), so there is no PyTorch gradient to compare with
         differentiable=False))


# -- copies, split variants, adjoint, trapezoid rules (axonal/ops/copies.py) -------------------------

for _name, _ref, _rows in (
        ("permute_copy", lambda x, dims: np.transpose(x, dims),
         [("3d", [((2, 3, 4), "c"), (2, 0, 1)], {}), ("T", [((3, 4), "T"), (1, 0)], {})]),
        ("t_copy", lambda x: x.T, [("2d", [((2, 3), "c")], {}), ("s", [((3, 2), "s")], {})]),
        ("transpose_copy", lambda x, a, b: np.swapaxes(x, a, b),
         [("3d", [((2, 3, 4), "c"), 0, 2], {}), ("T", [((3, 4), "T"), 0, 1], {})]),
        ("unsqueeze_copy", lambda x, d: np.expand_dims(x, d),
         [("d0", [((2, 3), "c"), 0], {}), ("T", [((3, 4), "T"), -1], {})]),
        ("squeeze_copy", lambda x, d: np.squeeze(x, d),
         [("d1", [((2, 1, 3), "c"), 1], {}), ("s", [((1, 3), "s"), 0], {})]),
        ("expand_copy", lambda x, size: np.broadcast_to(x, size),
         [("row", [((3,), "c"), (2, 3)], {}), ("s", [((2, 1), "s"), (2, 4)], {})]),
        ("view_copy", lambda x, size: x.reshape(size),
         [("2d", [((2, 3), "c"), (3, 2)], {}), ("T", [((3, 4), "T"), (3, 1, 4)], {})]),
        ("alias_copy", lambda x: x, [("2d", [((2, 3), "c")], {}), ("T", [((3, 4), "T")], {})]),
        ("select_copy", lambda x, d, i: np.take(x, i, axis=d),
         [("d0", [((4, 3), "c"), 0, 1], {}), ("T", [((3, 5), "T"), 1, -1], {})]),
        ("narrow_copy", lambda x, d, s, n: np.take(x, range(s, s + n), axis=d),
         [("d0", [((4, 3), "c"), 0, 1, 2], {}), ("T", [((3, 5), "T"), 1, 2, 3], {})]),
        ("slice_copy", lambda x, dim=0, start=None, end=None, step=1: np.take(
            x, range(*slice(start, end, step).indices(x.shape[dim])), axis=dim),
         [("d0", [((5, 3), "c")], {"dim": 0, "start": 1, "end": 4}),
          ("T_step", [((3, 6), "T")], {"dim": 1, "start": 0, "end": 6, "step": 2})]),
        ("split_copy", lambda x, s, dim=0: tuple(np.split(x, range(s, x.shape[dim], s), dim)),
         [("d0", [((5, 3), "c"), 2], {}), ("T", [((3, 4), "T"), 2], {"dim": 1})]),
        ("split_with_sizes", lambda x, s, dim=0: tuple(np.split(x, np.cumsum(s)[:-1], dim)),
         [("d0", [((5, 3), "c"), [2, 3]], {}), ("T", [((3, 4), "T"), [1, 3]], {"dim": 1})]),
        ("split_with_sizes_copy", lambda x, s, dim=0: tuple(np.split(x, np.cumsum(s)[:-1], dim)),
         [("d0", [((5, 3), "c"), [2, 3]], {}), ("T", [((3, 4), "T"), [1, 3]], {"dim": 1})]),
        ("unbind_copy", lambda x, dim=0: tuple(np.moveaxis(x, dim, 0)),
         [("d0", [((3, 2), "c")], {}), ("T", [((3, 4), "T")], {"dim": 1})]),
        ("unsafe_split", lambda x, s, dim=0: tuple(np.split(x, range(s, x.shape[dim], s), dim)),
         [("d0", [((5, 3), "c"), 2], {}), ("T", [((3, 4), "T"), 2], {"dim": 1})]),
        ("unsafe_split_with_sizes", lambda x, s, dim=0: tuple(np.split(x, np.cumsum(s)[:-1], dim)),
         [("d0", [((5, 3), "c"), [2, 3]], {}), ("T", [((3, 4), "T"), [1, 3]], {"dim": 1})]),
        ("unsafe_chunk", lambda x, c, dim=0: tuple(np.array_split(x, c, dim)),
         [("d0", [((4, 3), "c"), 2], {}), ("T", [((3, 4), "T"), 2], {"dim": 1})]),
        ("adjoint", lambda x: np.swapaxes(x, -1, -2),
         [("2d", [((2, 3), "c")], {}), ("3d", [((2, 3, 4), "s")], {})])):
    both(_name, _ref, _cases(*_rows), method=_name in (
        "split_with_sizes", "unsafe_split", "unsafe_split_with_sizes", "unsafe_chunk", "adjoint",
        "narrow_copy"))
for _name in ("H", "mH"):
    add(spec(f"{_name}_attr", lambda m, x, _n=_name: getattr(x, _n), lambda x: np.swapaxes(x, -1, -2),
             _cases(("2d", [((2, 3), "c")], {}), ("T", [((3, 4), "T")], {})) if _name == "H" else
             _cases(("3d", [((2, 3, 4), "c")], {}), ("T", [((3, 4), "T")], {})),
             names=(f"torch.Tensor.{_name}",)))


def _np_trapz(y, x=None, dx=None, dim=-1):
    return np.trapezoid(y, x, dx=1.0 if dx is None else dx, axis=dim) if hasattr(
        np, "trapezoid") else np.trapz(y, x, dx=1.0 if dx is None else dx, axis=dim)


def _np_cumtrapz(y, x=None, dx=None, dim=-1):
    n = y.shape[dim]
    return np.stack([_np_trapz(np.take(y, range(k + 2), axis=dim), None if x is None else
                               np.take(x, range(k + 2), axis=-1 if x.ndim == 1 else dim),
                               dx, dim) for k in range(n - 1)], axis=dim % y.ndim)


_TRAPZ = _cases(("dx", [((3, 4), "c")], {"dx": 0.5}), ("x1d", [((4, 3), "T"), ((3,), "c")], {}),
                ("x_same", [((2, 5), "s"), ((2, 5), "c")], {"dim": 1}),
                ("dim0", [((4, 3), "c")], {"dim": 0}))
for _name in ("trapezoid", "trapz"):
    both(_name, _np_trapz, _TRAPZ, method=False)
both("cumulative_trapezoid", _np_cumtrapz, _TRAPZ, method=False)


# -- torch.* names of nn.functional forms (aliases in axonal/__init__.py) ---------------------------

def _windows(x, k, stride, axes):
    """Sliding windows of size k (per axis) with the given stride over the trailing `axes`."""
    w = np.lib.stride_tricks.sliding_window_view(x, k, axis=axes)
    sl = [slice(None)] * x.ndim
    for a, s in zip(axes, stride):
        sl[a] = slice(None, None, s)
    return w[tuple(sl)]


def _np_conv(x, w, b=None, stride=1, padding=0):
    nd = w.ndim - 2
    st = (stride,) * nd if isinstance(stride, int) else stride
    pd = (padding,) * nd if isinstance(padding, int) else padding
    x = np.pad(x, [(0, 0), (0, 0)] + [(p, p) for p in pd])
    axes = tuple(range(2, 2 + nd))
    win = _windows(x, w.shape[2:], st, axes)  # N, C, *out, *k
    letters = "xyz"[:nd]
    out = np.einsum(f"nc{letters}{letters.upper()},oc{letters.upper()}->no{letters}", win, w)
    return out if b is None else out + b.reshape((1, -1) + (1,) * nd)


def _np_conv_t(x, w, b=None, stride=1, padding=0):
    """Transposed convolution: every input element scatters x * w into the output."""
    nd = w.ndim - 2
    st = (stride,) * nd if isinstance(stride, int) else stride
    pd = (padding,) * nd if isinstance(padding, int) else padding
    n = x.shape[0]
    ks = w.shape[2:]
    full = [(i - 1) * s + k for i, s, k in zip(x.shape[2:], st, ks)]
    out = np.zeros((n, w.shape[1], *full))
    for idx in np.ndindex(*x.shape[2:]):
        sl = tuple(slice(i * s, i * s + k) for i, s, k in zip(idx, st, ks))
        out[(slice(None), slice(None)) + sl] += np.einsum(
            "nc,co...->no...", x[(slice(None), slice(None)) + idx], w)
    crop = tuple(slice(p, f - p) for p, f in zip(pd, full))
    out = out[(slice(None), slice(None)) + crop]
    return out if b is None else out + b.reshape((1, -1) + (1,) * nd)


_SELU_A, _SELU_S = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946
for _name, _ref, _kw in (
        ("celu", lambda x, alpha=1.0: np.maximum(x, 0) + np.minimum(0, alpha * (np.exp(
            x / alpha) - 1)), {"alpha": 0.7}),
        ("selu", lambda x: _SELU_S * (np.maximum(x, 0) + np.minimum(0, _SELU_A * (
            np.exp(x) - 1))), {})):
    both(_name, _ref, unary_cases(AWAY0, ints=None, **_kw), method=False)
both("threshold", lambda x, t, v: np.where(x > t, x, v),
     _cases(("c", [((3, 4), "c", AWAY0), 0.0, -2.0], {}), ("T", [((4, 2), "T", AWAY0), 0.5, 1.0],
                                                          {})), method=False)
both("prelu", lambda x, w: np.where(x >= 0, x, w.reshape((1, -1) + (1,) * (x.ndim - 2)) * x),
     _cases(("ncl", [((2, 3, 4), "c", AWAY0), ((3,), "c")], {}),
            ("T", [((4, 3), "T", AWAY0), ((1,), "c")], {})), method=False)
both("conv1d", _np_conv, _cases(
    ("plain", [((2, 3, 7), "c"), ((4, 3, 3), "c")], {}),
    ("bias_stride_pad", [((2, 3, 8), "s"), ((2, 3, 2), "T"), ((2,), "c")],
     {"stride": 2, "padding": 1})), method=False, rtol=1e-4, atol=1e-5)
both("conv2d", _np_conv, _cases(
    ("plain", [((2, 3, 5, 6), "c"), ((4, 3, 3, 2), "c")], {}),
    ("bias_stride_pad", [((1, 2, 6, 5), "s"), ((3, 2, 2, 2), "T"), ((3,), "c")],
     {"stride": (2, 1), "padding": 1})), method=False, rtol=1e-4, atol=1e-5)
both("conv_transpose1d", _np_conv_t, _cases(
    ("plain", [((2, 3, 5), "c"), ((3, 4, 3), "c")], {}),
    ("bias_stride_pad", [((1, 2, 6), "s"), ((2, 3, 2), "T"), ((3,), "c")],
     {"stride": 2, "padding": 1})), method=False, rtol=1e-4, atol=1e-5)
both("conv_transpose2d", _np_conv_t, _cases(
    ("plain", [((2, 3, 4, 3), "c"), ((3, 2, 2, 3), "c")], {}),
    ("bias_stride_pad", [((1, 2, 3, 4), "s"), ((2, 3, 3, 2), "T"), ((3,), "c")],
     {"stride": 2, "padding": 1})), method=False, rtol=1e-4, atol=1e-5)
both("bilinear", lambda a, b, w, bias=None: np.einsum("bi,oij,bj->bo", a, w, b) + (
    0 if bias is None else bias), _cases(
    ("plain", [((4, 3), "c"), ((4, 2), "c"), ((5, 3, 2), "c")], {}),
    ("bias", [((4, 3), "T"), ((4, 2), "s"), ((5, 3, 2), "c"), ((5,), "c")], {})),
    method=False, rtol=1e-4, atol=1e-5)


def _np_pool(red, nd):
    def ref(x, kernel_size, stride=None, padding=0):
        k = (kernel_size,) * nd if isinstance(kernel_size, int) else kernel_size
        s = k if stride is None else (stride,) * nd if isinstance(stride, int) else stride
        axes = tuple(range(x.ndim - nd, x.ndim))
        win = _windows(x, k, s, axes)
        return red(win, axis=tuple(range(win.ndim - nd, win.ndim)))

    return ref


both("avg_pool1d", _np_pool(np.mean, 1), _cases(
    ("k2", [((2, 3, 6), "c"), 2], {}), ("k3_s1", [((2, 4, 5), "T"), 3], {"stride": 1})),
    method=False)
both("max_pool1d", _np_pool(np.max, 1), _cases(
    ("k2", [((2, 3, 6), "c", SPREAD), 2], {}),
    ("k3_s1", [((2, 4, 5), "s", SPREAD), 3], {"stride": 1})), method=False)
both("max_pool2d", _np_pool(np.max, 2), _cases(
    ("k2", [((1, 2, 4, 6), "c", SPREAD), 2], {}),
    ("k3_s1", [((2, 1, 4, 5), "T", SPREAD), (3, 2)], {"stride": 1})), method=False)


def _np_adaptive_avg(x, out):
    n = x.shape[-1]
    return np.stack([x[..., (i * n) // out: -((-(i + 1) * n) // out)].mean(-1)
                     for i in range(out)], -1)


both("adaptive_avg_pool1d", _np_adaptive_avg, _cases(
    ("even", [((2, 3, 6), "c"), 3], {}), ("uneven", [((2, 3, 7), "s"), 3], {})), method=False)


# -- quantile, unfold, new_* ------------------------------------------------------------------------

def _np_quantile(x, q, dim=None, keepdim=False, interpolation="linear"):
    method = {"linear": "linear", "lower": "lower", "higher": "higher", "nearest": "nearest",
              "midpoint": "midpoint"}[interpolation]
    qv = q if np.ndim(q) else float(q)
    return np.quantile(x, qv, axis=dim, keepdims=keepdim, method=method)


both("quantile", _np_quantile, _cases(
    ("full", [((3, 5), "c", SPREAD), 0.3], {}),
    ("T_dim", [((4, 5), "T", SPREAD), 0.75], {"dim": 1, "keepdim": True}),
    ("s_lower", [((3, 4), "s", SPREAD), 0.4], {"dim": 0, "interpolation": "lower"}),
    ("midpoint", [((2, 6), "c", SPREAD), 0.5], {"dim": 1, "interpolation": "midpoint"}),
    ("q_tensor", [((3, 4), "c", SPREAD), In(np.array([0.1, 0.9]))], {"dim": 1})),
    diff=(0,))
both("unfold", lambda x, d, size, step: np.moveaxis(np.lib.stride_tricks.sliding_window_view(
    x, size, axis=d), d, d)[tuple(slice(None, None, step) if i == d % x.ndim else slice(None)
                                  for i in range(x.ndim))],
    _cases(("d0", [((7,), "c"), 0, 3, 2], {}), ("T_d1", [((3, 6), "T"), 1, 2, 1], {}),
           ("s", [((2, 5), "s"), 0, 2, 1], {})), fn=False)
for _name, _call, _ref in (
        ("new_zeros", lambda x: x.new_zeros((2, 3)), lambda x: np.zeros((2, 3), x.dtype)),
        ("new_ones", lambda x: x.new_ones(4), lambda x: np.ones(4, x.dtype)),
        ("new_full", lambda x: x.new_full((3,), 2.5), lambda x: np.full(3, 2.5, x.dtype)),
        ("new_tensor", lambda x: x.new_tensor([[1.0, 2.0]]), lambda x: np.array(
            [[1.0, 2.0]], x.dtype))):
    add(spec(f"{_name}_m", lambda m, x, _c=_call: _c(x), _ref,
             _cases(("f", [((2, 3), "c")], {}), ("T", [((3, 4), "T")], {}),
                    ("int", [mk_int(np.random.default_rng(0), (3,))], {})),
             differentiable=False, names=(f"torch.Tensor.{_name}",)))


# -- counting, binning, integer functions (axonal/ops/discrete.py) -----------------------------------

def _ints(lo, hi, shape, view="c", seed=0):
    base_shape = shape[::-1] if view == "T" else shape[:-1] + (2 * shape[-1],) if view == "s" \
        else shape
    return In(np.random.default_rng(seed).integers(lo, hi, base_shape).astype(np.int64), view)


def _np_bincount(x, weights=None, minlength=0):
    out = np.bincount(x, weights=weights, minlength=minlength)
    return out if weights is None else out.astype(weights.dtype)


both("bincount", _np_bincount, lambda r: [
    Case((_ints(0, 5, (7,)),), {}, "plain"), Case((_ints(0, 4, (5,), "s", 1),), {"minlength": 6},
                                                  "strided_minlength"),
    Case((_ints(0, 3, (4,), "c", 2), mk(r, (4,))), {}, "weights")], differentiable=False)
both("histc", lambda x, bins=100, min=0, max=0: np.histogram(
    x, bins, (x.min(), x.max()) if min == max else (min, max))[0].astype(x.dtype),
    _cases(("range", [((3, 4), "c")], {"bins": 5, "min": -1.0, "max": 1.0}),
           ("auto_T", [((4, 5), "T")], {"bins": 4}), ("s", [((2, 6), "s")], {"bins": 3})),
    differentiable=False)


def _np_searchsorted(seq, vals, right=False):
    side = "right" if right else "left"
    if seq.ndim == 1:
        return np.searchsorted(seq, vals, side=side)
    return np.stack([np.searchsorted(s, v, side=side) for s, v in zip(seq, vals)])


_SEQ = In(np.array([-1.0, -0.2, 0.3, 1.1]))
add(spec("searchsorted", lambda m, s, v, **kw: m.searchsorted(s, v, **kw), _np_searchsorted,
         lambda r: [Case((_SEQ, mk(r, (2, 3), "T")), {}, "1d"),
                    Case((_SEQ, mk(r, (5,), "s")), {"right": True}, "right"),
                    Case((In(np.sort(r.standard_normal((2, 4)), -1)), mk(r, (2, 3))), {},
                         "batched")],
         differentiable=False, names=("torch.searchsorted",)))
add(spec("bucketize", lambda m, v, b, **kw: m.bucketize(v, b, **kw),
         lambda v, b, right=False: np.searchsorted(b, v, side="right" if right else "left"),
         lambda r: [Case((mk(r, (2, 3), "T"), _SEQ), {}, "T"),
                    Case((mk(r, (5,), "s"), _SEQ), {"right": True}, "right")],
         differentiable=False, names=("torch.bucketize",)))
add(spec("isin", lambda m, a, b, **kw: m.isin(a, b, **kw), lambda a, b, invert=False: np.isin(
    a, b, invert=invert), lambda r: [
    Case((_ints(-3, 4, (2, 3)), _ints(-3, 4, (4,), "c", 1)), {}, "ints"),
    Case((_ints(-3, 4, (3, 2), "T", 2), _ints(0, 3, (2,), "s", 3)), {"invert": True}, "T_invert")],
    differentiable=False, names=("torch.isin",)))
for _name, _npf in (("gcd", np.gcd), ("lcm", np.lcm), ("bitwise_left_shift", np.left_shift),
                    ("bitwise_right_shift", np.right_shift)):
    _hi = 4 if "shift" in _name else 20
    both(_name, _npf, lambda r, _h=_hi, _lo=0 if "shift" in _name else -20: [
        Case((_ints(-20, 20, (2, 3)), _ints(_lo, _h, (3,), "c", 1)), {}, "bcast"),
        Case((_ints(-20, 20, (3, 2), "T", 2), _ints(_lo, _h, (3, 2), "s", 3)), {}, "noncontig")],
        differentiable=False)


# -- detach, type_as, sum_to_size, combinations, unravel_index, unique_consecutive -------------------

add(spec("detach_torch_fn", lambda m, x: m.detach(x), lambda x: x, unary_cases(),
         differentiable=False, names=("torch.detach",)))
add(spec("type_as_m", lambda m, x, o: x.type_as(o), lambda x, o: x.astype(o.dtype),
         lambda r: [Case((mk(r, (2, 3)), In(np.zeros(2, np.float64))), {}, "to_f64"),
                    Case((mk(r, (3, 4), "T"), mk(r, (1,))), {}, "T_same")],
         diff=(0,), names=("torch.Tensor.type_as",)))
add(spec("sum_to_size_m", lambda m, x, size: x.sum_to_size(size),
         lambda x, size: np.sum(x, axis=tuple(range(x.ndim - len(size))) + tuple(
             x.ndim - len(size) + d for d, s in enumerate(size)
             if s == 1 and x.shape[x.ndim - len(size) + d] != 1), keepdims=False).reshape(size),
         _cases(("lead", [((2, 3), "c"), (3,)], {}), ("keep", [((3, 4), "T"), (1, 4)], {}),
                ("s", [((2, 3, 4), "s"), (3, 1)], {})), names=("torch.Tensor.sum_to_size",)))


def _np_combinations(x, r=2, with_replacement=False):
    import itertools

    pick = itertools.combinations_with_replacement if with_replacement else itertools.combinations
    return np.array([[x[i] for i in c] for c in pick(range(len(x)), r)]).reshape(-1, r)


add(spec("combinations", lambda m, x, **kw: m.combinations(x, **kw), _np_combinations,
         _cases(("r2", [((4,), "c")], {}), ("r3_s", [((5,), "s")], {"r": 3}),
                ("repl_f", [((3,), "f")], {"with_replacement": True})),
         names=("torch.combinations",)))
add(spec("unravel_index", lambda m, i, shape: m.unravel_index(i, shape),
         lambda i, shape: tuple(np.unravel_index(i, shape)),
         lambda r: [Case((_ints(0, 24, (2, 3)),), {"shape": (2, 3, 4)}, "3d"),
                    Case((_ints(0, 6, (4,), "s", 1),), {"shape": (6,)}, "1d_s"),
                    Case((_ints(0, 12, (3, 2), "T", 2),), {"shape": (3, 4)}, "T")],
         differentiable=False, names=("torch.unravel_index",)))


def _np_unique_consecutive(x, return_inverse=False, return_counts=False):
    a = x.ravel()
    start = np.ones(a.shape, bool)
    start[1:] = a[1:] != a[:-1]
    run = np.cumsum(start) - 1
    out = [a[start]]
    if return_inverse:
        out.append(run.reshape(x.shape))
    if return_counts:
        out.append(np.bincount(run, minlength=int(start.sum())))
    return out[0] if len(out) == 1 else tuple(out)


both("unique_consecutive", _np_unique_consecutive, lambda r: [
    Case((_ints(0, 3, (3, 4)),), {}, "plain"),
    Case((_ints(0, 2, (4, 3), "T", 1),), {"return_inverse": True, "return_counts": True}, "T_all"),
    Case((In(np.round(r.standard_normal(8)), "s"),), {"return_counts": True}, "float_s")],
    differentiable=False)


# -- names Axonal had: reductions to bool, nonzero, broadcast_tensors, scatter_add, masked_scatter,
# conversions -------------------------------------------------------------------------------------

for _name, _npf in (("all", np.all), ("any", np.any)):
    both(_name, lambda x, dim=None, keepdim=False, _f=_npf: _f(x, axis=dim, keepdims=keepdim),
         lambda r: [Case((mk_bool(r, (3, 4)),), {}, "full"),
                    Case((In(r.random((4, 3)) < 0.7, "T"),), {"dim": 1}, "T_dim"),
                    Case((mk(r, (2, 6), "s", INTEGRAL),), {"dim": 0, "keepdim": True}, "float_s")],
         differentiable=False)
both("nonzero", np.argwhere, _cases(("2d", [((3, 4), "c", INTEGRAL)], {}),
                                    ("T", [((4, 3), "T", INTEGRAL)], {}),
                                    ("1d_s", [((6,), "s", INTEGRAL)], {})), differentiable=False)
add(spec("broadcast_tensors", lambda m, *xs: m.broadcast_tensors(*xs),
         lambda *xs: tuple(np.broadcast_arrays(*xs)),
         _cases(("two", [((2, 1), "c"), ((3,), "c")], {}),
                ("three", [((3, 1), "T"), ((1, 4), "s"), ((), "c")], {})),
         names=("torch.broadcast_tensors",)))


def _np_scatter_add(x, dim, index, src):
    out = x.copy()
    grid = list(np.indices(index.shape, sparse=True))
    grid[dim] = index
    np.add.at(out, tuple(grid), src[tuple(slice(0, s) for s in index.shape)])
    return out


for _label, _call in (("fn", lambda m, x, src, dim, index: m.scatter_add(x, dim, index, src)),
                      ("method", lambda m, x, src, dim, index: x.scatter_add(dim, index, src))):
    add(spec(f"scatter_add_{_label}", _call, lambda x, src, dim, index: _np_scatter_add(
        x, dim, index, src), lambda r: [
        Case((mk(r, (3, 4)), mk(r, (2, 4))), {"dim": 0, "index": np.array(
            [[0, 1, 2, 0], [2, 2, 1, 0]])}, "dim0_repeats"),
        Case((mk(r, (3, 4), "T"), mk(r, (3, 2))), {"dim": 1, "index": np.array(
            [[0, 3], [1, 1], [2, 0]])}, "dim1_T")],
        names=("torch.scatter_add" if _label == "fn" else "torch.Tensor.scatter_add",)))


def _np_masked_scatter(x, mask, src):
    out = np.broadcast_to(x, np.broadcast_shapes(x.shape, mask.shape)).copy()
    m = np.broadcast_to(mask, out.shape)
    out[m] = src.ravel()[:m.sum()]
    return out


for _label, _call in (("fn", lambda m, x, src, mask: m.masked_scatter(x, mask, src)),
                      ("method", lambda m, x, src, mask: x.masked_scatter(mask, src))):
    add(spec(f"masked_scatter_{_label}", _call, lambda x, src, mask: _np_masked_scatter(
        x, mask, src), lambda r: [
        Case((mk(r, (2, 3)), mk(r, (6,))), {"mask": r.random((2, 3)) < 0.5}, "same"),
        Case((mk(r, (2, 3), "T"), mk(r, (2, 4), "s")), {"mask": np.array([True, False, True])},
             "bcast_mask")],
        names=("torch.masked_scatter" if _label == "fn" else "torch.Tensor.masked_scatter",)))
# (the forward test expects the default float dtype and int64: the conversions to other dtypes
# run against PyTorch in tests/test_tensor_attributes_parity.py's style, not here)
for _name, _np_dtype in (("long", np.int64), ("bool", np.bool_)):
    add(spec(f"{_name}_m", lambda m, x, _n=_name: getattr(x, _n)(),
             lambda x, _d=_np_dtype: x.astype(_d),
             unary_cases(lambda a: np.round(np.abs(a) * 3), ints=None),
             differentiable=False, names=(f"torch.Tensor.{_name}",)))
add(spec("contiguous_m", lambda m, x: x.contiguous(), lambda x: x, unary_cases(ints=None),
         names=("torch.Tensor.contiguous",)))
add(spec("cpu_m", lambda m, x: x.cpu(), lambda x: x, unary_cases(ints=None),
         names=("torch.Tensor.cpu",)))
