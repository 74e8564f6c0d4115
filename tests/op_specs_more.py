"""Registry entries (tests/op_specs.py) for the ops added to raise PyTorch API coverage
(axonal/ops/pointwise.py, combine.py, stats.py, axonal/linalg.py, axonal/special.py). Each spec
names the PyTorch function it proves; `both` also registers its Tensor-method twin on the same
cases. Same harness: forward against a NumPy formula, float64 finite differences, forward and
backward against PyTorch in float32 and float64 (tests/ops/test_ops.py)."""
import math

import numpy as np
from op_specs import (
    ABOVE_M1,
    AWAY0,
    POS,
    SPREAD,
    UNARY,
    Case,
    In,
    binary_cases,
    fixed,
    mk,
    mk_int,
    np_matmul,
    shp,
    spec,
    unary_cases,
)

MORE = []

_I = lambda *v: np.array(v, dtype=np.int64)


def add(s):
    MORE.append(s)
    return s


def both(name, ref, cases, method=True, fn=True, torch_ns="torch", **kw):
    """`torch.<name>(x, ...)` and (with `method`) `x.<name>(...)` as two specs of the same cases."""
    prefix = "" if torch_ns == "torch" else torch_ns.split(".")[-1] + "_"
    if fn:
        s = spec(f"{prefix}{name}_fn", lambda m, *a, _n=name, **k: getattr(_ns_of(m, torch_ns), _n)(*a, **k),
                 ref, cases, **kw)
        s.names = (f"{torch_ns}.{name}",)
        add(s)
    if method:
        def first_is_tensor(rng, _gen=cases):
            return [c for c in _gen(rng) if c.args and isinstance(c.args[0], In)]

        t = spec(f"{name}_method", lambda m, x, *a, _n=name, **k: getattr(x, _n)(*a, **k),
                 ref, first_is_tensor, **kw)
        t.names = (f"torch.Tensor.{name}",)
        add(t)


def _ns_of(m, path):
    for part in path.split(".")[1:]:
        m = getattr(m, part)
    return m


# -- one input, element-wise -----------------------------------------------------------------------

def IN_1(a):  # (-0.9, 0.9): asin, acos, atanh
    return 0.9 * np.tanh(a)


def ABOVE_1(a):  # acosh
    return np.abs(a) + 1.2


def UNIT(a):  # (0.05, 0.95): logit
    return 0.05 + 0.9 / (1 + np.exp(-a))


def NOT_INT(a):  # frac: away from the integers, where it jumps
    return np.floor(a * 2) + 0.3 + 0.4 * (np.tanh(a) + 1) / 2


_UNARY = [
    ("tan", np.tan, lambda a: 1.2 * np.tanh(a), (-1, 2)),
    ("sinh", np.sinh, None, (-3, 4)), ("cosh", np.cosh, None, (-3, 4)),
    ("asin", np.arcsin, IN_1, (0, 1)), ("arcsin", np.arcsin, IN_1, (0, 1)),
    ("acos", np.arccos, IN_1, (0, 1)), ("arccos", np.arccos, IN_1, (0, 1)),
    ("atan", np.arctan, None, (-3, 4)), ("arctan", np.arctan, None, (-3, 4)),
    ("asinh", np.arcsinh, None, (-3, 4)), ("arcsinh", np.arcsinh, None, (-3, 4)),
    ("acosh", np.arccosh, ABOVE_1, (2, 5)), ("arccosh", np.arccosh, ABOVE_1, (2, 5)),
    ("atanh", np.arctanh, IN_1, (0, 1)), ("arctanh", np.arctanh, IN_1, (0, 1)),
    ("expm1", np.expm1, None, (-3, 4)), ("exp2", np.exp2, None, (-3, 4)),
    ("log2", np.log2, POS, (1, 5)), ("log10", np.log10, POS, (1, 5)),
    ("deg2rad", np.deg2rad, None, (-3, 4)), ("rad2deg", np.rad2deg, None, (-3, 4)),
    ("logit", lambda x: np.log(x / (1 - x)), UNIT, None),
    ("negative", np.negative, None, (-3, 4)), ("absolute", np.abs, AWAY0, (-3, 4)),
    ("sgn", np.sign, AWAY0, (-3, 4)), ("fix", np.trunc, NOT_INT, (-3, 4)),
    ("frac", lambda x: x - np.trunc(x), NOT_INT, None),
]
for _name, _ref, _dom, _ints in _UNARY:
    both(_name, _ref, unary_cases(_dom, ints=_ints))

both("positive", lambda x: x, unary_cases(ints=None))
add(spec("logit_eps", lambda m, x, eps: m.logit(x, eps), lambda x, eps: np.log(
    np.clip(x, eps, 1 - eps) / (1 - np.clip(x, eps, 1 - eps))),
    fixed((lambda r: (mk(r, (3, 4), "T", UNIT),), {"eps": 0.2}, "T"),
          (lambda r: (mk(r, (5,), "c", UNIT),), {"eps": 0.2}, "5")),
    names=("torch.logit",)))


def _nan_cases(rng):
    special = In(np.array([[np.nan, 1.5, np.inf], [-np.inf, -0.5, 2.0]]))
    cases = [Case((mk(rng, s, v),), {}, shp(s, v)) for s, v in UNARY]
    cases += [Case((special,), {}, "special", False),
              Case((special,), {"nan": 1.0, "posinf": 9.0, "neginf": -9.0}, "special_values",
                   False),
              Case((mk_int(rng, (2, 3)),), {}, "int64")]
    return cases


def _np_nan_to_num(x, nan=0.0, posinf=None, neginf=None):
    if x.dtype.kind != "f":
        return x
    return np.nan_to_num(x, nan=nan, posinf=posinf, neginf=neginf)


# finite inputs in float64 vs NumPy (its defaults are float64's max), so the special values run
# against PyTorch only, in the test dtype, where they meet the dtype's own max
both("nan_to_num", lambda x, **kw: _np_nan_to_num(x, **{"posinf": np.finfo(np.float32).max,
                                                       "neginf": np.finfo(np.float32).min, **kw}),
     _nan_cases)

for _name, _npf in (("signbit", np.signbit), ("isposinf", np.isposinf),
                    ("isneginf", np.isneginf), ("isreal", np.isreal)):
    both(_name, _npf, fixed(
        (lambda r: (In(np.array([[0.0, -0.0, np.inf], [-np.inf, np.nan, -2.0]])),), {}, "special"),
        (lambda r: (mk(r, (3, 4), "T"),), {}, "T"), (lambda r: (mk(r, (2, 3), "s"),), {}, "s"),
        (lambda r: (mk_int(r, (4,)),), {}, "int")), differentiable=False)


# -- two inputs, element-wise ----------------------------------------------------------------------

def _np_xlogy(x, y):
    with np.errstate(all="ignore"):
        zero = (x == 0) & ~np.isnan(y)
        return np.where(zero, 0.0, x * np.log(np.where(zero, 1.0, y)))


def _np_logaddexp(a, b):
    return np.logaddexp(a, b)


_BINARY = [
    ("atan2", np.arctan2, (None, AWAY0)), ("arctan2", np.arctan2, (None, AWAY0)),
    ("hypot", np.hypot, (None, None)), ("logaddexp", _np_logaddexp, (None, None)),
    ("logaddexp2", np.logaddexp2, (None, None)), ("xlogy", _np_xlogy, (None, POS)),
    ("copysign", np.copysign, (AWAY0, AWAY0)), ("fmod", np.fmod, (NOT_INT, AWAY0)),
    ("fmax", np.fmax, (None, None)), ("fmin", np.fmin, (None, None)),
    ("ldexp", lambda a, b: a * np.exp2(b), (None, None)),
]
for _name, _ref, _doms in _BINARY:
    both(_name, _ref, binary_cases(domains=_doms, scalars=()))

add(spec("xlogy_zeros", lambda m, a, b: m.xlogy(a, b), _np_xlogy,
         fixed((lambda r: (In(np.array([0.0, 0.0, 1.5, 0.0])), In(np.array([0.0, 2.0, 3.0, np.nan]))),
                {}, "zeros", False))))
add(spec("hypot_zero", lambda m, a, b: m.hypot(a, b), np.hypot,
         fixed((lambda r: (In(np.array([0.0, 3.0])), In(np.array([0.0, 4.0]))), {}, "zero", False))))
add(spec("fmax_nan", lambda m, a, b: m.fmax(a, b), np.fmax,
         fixed((lambda r: (In(np.array([np.nan, 1.0, np.nan])), In(np.array([2.0, np.nan, np.nan]))),
                {}, "nan", False))))
add(spec("rsub", lambda m, a, b: m.rsub(a, b, alpha=2), lambda a, b: b - 2 * a,
         binary_cases(scalars=()), names=("torch.rsub",)))


# -- multiply-adds -------------------------------------------------------------------------------

def _fma_cases(shapes, kws=({}, {"beta": 0.5, "alpha": 2.0}, {"beta": 0, "alpha": -1.0})):
    def gen(rng):
        cases = []
        for k, (label, sh) in enumerate(shapes):
            kw = kws[k % len(kws)]
            cases.append(Case(tuple(mk(rng, s, v) for s, v in sh), dict(kw), f"{label}_{k}"))
        return cases

    return gen


def _np_fma(prod):
    def ref(inp, a, b, beta=1, alpha=1):
        p = prod(a, b)
        return alpha * p if beta == 0 else beta * inp + alpha * p

    return ref


both("addmm", _np_fma(np_matmul), _fma_cases([
    ("2x3", (((2, 3), "c"), ((2, 4), "c"), ((4, 3), "c"))),
    ("row", (((3,), "c"), ((2, 4), "T"), ((4, 3), "s"))),
    ("col", (((2, 1), "c"), ((2, 4), "c"), ((4, 3), "T")))]))
both("addmv", _np_fma(np_matmul), _fma_cases([
    ("2", (((2,), "c"), ((2, 4), "c"), ((4,), "c"))),
    ("bcast", (((1,), "c"), ((2, 4), "T"), ((4,), "s"))),
    ("T", (((3,), "f"), ((3, 4), "T"), ((4,), "c")))]))
both("addr", _np_fma(np.outer), _fma_cases([
    ("2x3", (((2, 3), "c"), ((2,), "c"), ((3,), "c"))),
    ("bcast", (((3,), "c"), ((2,), "s"), ((3,), "f"))),
    ("T", (((2, 3), "T"), ((2,), "c"), ((3,), "c")))]))
both("baddbmm", _np_fma(np_matmul), _fma_cases([
    ("b", (((2, 3, 4), "c"), ((2, 3, 5), "c"), ((2, 5, 4), "c"))),
    ("bcast", (((3, 4), "T"), ((2, 3, 5), "s"), ((2, 5, 4), "c"))),
    ("T", (((1, 3, 1), "c"), ((2, 3, 5), "T"), ((2, 5, 4), "T")))]))
both("addbmm", _np_fma(lambda a, b: np_matmul(a, b).sum(0)), _fma_cases([
    ("b", (((3, 4), "c"), ((2, 3, 5), "c"), ((2, 5, 4), "c"))),
    ("bcast", (((4,), "c"), ((2, 3, 5), "s"), ((2, 5, 4), "c"))),
    ("T", (((3, 4), "T"), ((2, 3, 5), "T"), ((2, 5, 4), "T")))]))


def _addc_cases(rng):
    return [Case((mk(rng, (2, 3)), mk(rng, (2, 3)), mk(rng, (2, 3), domain=AWAY0)), {}, "same"),
            Case((mk(rng, (3,)), mk(rng, (2, 1), "s"), mk(rng, (2, 3), "T", AWAY0)),
                 {"value": 0.5}, "bcast"),
            Case((mk(rng, (2, 3), "T"), mk(rng, ()), mk(rng, (3,), domain=AWAY0)),
                 {"value": -2}, "scalar")]


both("addcmul", lambda x, a, b, value=1: x + value * a * b, _addc_cases)
both("addcdiv", lambda x, a, b, value=1: x + value * a / b, _addc_cases)
both("lerp", lambda s, e, w: s + w * (e - s), lambda r: [
    Case((mk(r, (2, 3)), mk(r, (2, 3)), mk(r, (2, 3))), {}, "same"),
    Case((mk(r, (3,)), mk(r, (2, 1), "s"), mk(r, (2, 3), "T")), {}, "bcast"),
    Case((mk(r, (2, 3), "T"), mk(r, (3,)), 0.3), {}, "float_weight")])


# -- matrices and shapes ---------------------------------------------------------------------------

def _cases(*rows):
    """Cases from (label, [(shape, view, domain) or a static value, ...], kwargs)."""
    def gen(rng):
        out = []
        for label, args, kw in rows:
            built = tuple(mk(rng, *a) if isinstance(a, tuple) and a and isinstance(a[0], tuple)
                          else a for a in args)
            out.append(Case(built, dict(kw), label))
        return out

    return gen


both("trace", lambda x: np.trace(x), _cases(("3x3", [((3, 3), "c")], {}),
                                            ("T", [((2, 4), "T")], {}),
                                            ("s", [((3, 2), "s")], {})))
both("kron", np.kron, _cases(("2x3_2x2", [((2, 3), "c"), ((2, 2), "c")], {}),
                             ("1d_2d", [((3,), "c"), ((2, 2), "T")], {}),
                             ("T_s", [((2, 2), "T"), ((3, 2), "s")], {})))


def _np_cross(a, b, dim=None):
    a, b = np.broadcast_arrays(a, b)
    if dim is None:
        dim = next(d for d, s in enumerate(a.shape) if s == 3)
    return np.cross(a, b, axis=dim)


both("cross", _np_cross, _cases(("4x3", [((4, 3), "c"), ((4, 3), "c")], {"dim": 1}),
                                ("bcast", [((1, 3), "c"), ((2, 3), "T")], {"dim": -1}),
                                ("dim0", [((3, 2), "s"), ((3, 2), "c")], {"dim": 0})))
add(spec("linalg_cross", lambda m, a, b: m.linalg.cross(a, b), lambda a, b: _np_cross(a, b, -1),
         _cases(("4x3", [((4, 3), "c"), ((4, 3), "T")], {}),
                ("bcast", [((1, 3), "c"), ((2, 3), "s")], {})), names=("torch.linalg.cross",)))
add(spec("tensordot", lambda m, a, b, dims: m.tensordot(a, b, dims),
         lambda a, b, dims: np.tensordot(a, b, dims),
         _cases(("int", [((2, 3, 4), "c"), ((3, 4, 5), "c")], {"dims": 2}),
                ("lists", [((3, 4), "T"), ((2, 3), "s")], {"dims": ([0], [1])}),
                ("outer", [((2,), "c"), ((3,), "c")], {"dims": 0})),
         names=("torch.tensordot",)))
both("inner", np.inner, _cases(("2d", [((2, 3), "c"), ((4, 3), "T")], {}),
                               ("1d", [((3,), "c"), ((3,), "f")], {}),
                               ("3d", [((2, 2, 3), "s"), ((3,), "c")], {})))
both("vdot", np.vdot, _cases(("4", [((4,), "c"), ((4,), "s")], {}),
                             ("f", [((5,), "f"), ((5,), "c")], {})))
add(spec("chain_matmul", lambda m, *xs: m.chain_matmul(*xs),
         lambda *xs: np.linalg.multi_dot(xs),
         _cases(("three", [((2, 3), "c"), ((3, 4), "T"), ((4, 2), "s")], {}),
                ("two", [((3, 3), "c"), ((3, 1), "c")], {})), names=("torch.chain_matmul",)))
add(spec("linalg_multi_dot", lambda m, *xs: m.linalg.multi_dot(list(xs)),
         lambda *xs: np.linalg.multi_dot(xs),
         _cases(("three", [((2, 3), "c"), ((3, 4), "T"), ((4, 2), "s")], {}),
                ("vecs", [((3,), "c"), ((3, 3), "c"), ((3,), "f")], {})),
         names=("torch.linalg.multi_dot",)))


def _np_block_diag(*xs):
    mats = [np.reshape(x, (1, -1)) if x.ndim < 2 else x for x in xs]
    out = np.zeros((sum(m.shape[0] for m in mats), sum(m.shape[1] for m in mats)))
    r = c = 0
    for m in mats:
        out[r:r + m.shape[0], c:c + m.shape[1]] = m
        r, c = r + m.shape[0], c + m.shape[1]
    return out


add(spec("block_diag", lambda m, *xs: m.block_diag(*xs), _np_block_diag,
         _cases(("mats", [((2, 2), "c"), ((1, 3), "T"), ((2, 1), "s")], {}),
                ("mixed", [((), "c"), ((3,), "f"), ((2, 2), "c")], {})),
         names=("torch.block_diag",)))
add(spec("cartesian_prod", lambda m, *xs: m.cartesian_prod(*xs),
         lambda *xs: np.stack([g.ravel() for g in np.meshgrid(*xs, indexing="ij")], 1),
         _cases(("two", [((3,), "c"), ((2,), "f")], {}),
                ("three", [((2,), "s"), ((2,), "c"), ((3,), "c")], {})),
         names=("torch.cartesian_prod",)))


def _np_rot90(x, k=1, dims=(0, 1)):
    return np.rot90(x, k, dims)


both("rot90", _np_rot90, _cases(("k1", [((2, 3), "c")], {}),
                                ("k2", [((2, 3, 4), "T"), 2, (1, 2)], {}),
                                ("k3", [((3, 2), "s"), 3, (0, 1)], {}),
                                ("k-1", [((2, 3), "f"), -1, (1, 0)], {})))


def _np_roll(x, shifts, dims=None):
    return np.roll(x, shifts, dims)


both("roll", _np_roll, _cases(("flat", [((2, 3), "c"), 2], {}),
                              ("dim", [((3, 4), "T"), -1, 1], {}),
                              ("dims", [((2, 3, 4), "s"), (1, 5), (0, 2)], {})))
both("fliplr", np.fliplr, _cases(("2x3", [((2, 3), "c")], {}), ("T", [((3, 4, 2), "T")], {})))
both("flipud", np.flipud, _cases(("3", [((3,), "c")], {}), ("s", [((3, 4), "s")], {})))


def _np_diag_embed(x, offset=0, dim1=-2, dim2=-1):
    n = x.shape[-1] + abs(offset)
    out = np.zeros(x.shape[:-1] + (n, n))
    i = np.arange(x.shape[-1])
    r, c = (i, i + offset) if offset >= 0 else (i - offset, i)
    out[..., r, c] = x
    return np.moveaxis(out, (-2, -1), (dim1, dim2))


both("diag_embed", _np_diag_embed, _cases(("3", [((3,), "c")], {}),
                                          ("off1", [((2, 3), "T")], {"offset": 1}),
                                          ("off-2", [((2, 3), "s")], {"offset": -2}),
                                          ("dims", [((2, 3), "c")], {"dim1": 0, "dim2": 2})))
both("diagflat", lambda x, offset=0: np.diagflat(x, offset),
     _cases(("2x2", [((2, 2), "c")], {}), ("T", [((2, 3), "T")], {"offset": -1}),
            ("s", [((3,), "s")], {"offset": 2})))
for _k, _npf in ((1, np.atleast_1d), (2, np.atleast_2d), (3, np.atleast_3d)):
    add(spec(f"atleast_{_k}d", lambda m, x, _k=_k: getattr(m, f"atleast_{_k}d")(x), _npf,
             _cases(("0d", [((), "c")], {}), ("1d", [((3,), "f")], {}),
                    ("2d", [((2, 3), "T")], {}), ("3d", [((2, 1, 3), "s")], {})),
             names=(f"torch.atleast_{_k}d",)))
for _name, _npf, _shapes in (
        ("hstack", np.hstack, [((2, 3), "c"), ((2, 1), "T"), ((2, 2), "s")]),
        ("vstack", np.vstack, [((3,), "c"), ((2, 3), "T"), ((1, 3), "c")]),
        ("row_stack", np.vstack, [((3,), "f"), ((2, 3), "c")]),
        ("dstack", np.dstack, [((2, 3), "c"), ((2, 3), "T"), ((2, 3, 2), "s")]),
        ("column_stack", np.column_stack, [((3,), "c"), ((3, 2), "T"), ((3,), "s")])):
    add(spec(_name, lambda m, *xs, _n=_name: getattr(m, _n)(list(xs)), lambda *xs, _f=_npf: _f(xs),
             _cases(("mixed", [*_shapes], {}), ("two", [_shapes[0], _shapes[0]], {})),
             names=(f"torch.{_name}",)))


def _np_tensor_split(x, ios, dim=0):
    return tuple(np.array_split(x, ios, axis=dim))


both("tensor_split", _np_tensor_split,
     _cases(("sections", [((7,), "c"), 3], {}), ("indices", [((3, 6), "T"), [1, 4]], {"dim": 1}),
            ("more", [((2, 5), "s"), 4], {"dim": 1})))
both("hsplit", lambda x, s: tuple(np.hsplit(x, s)),
     _cases(("2d", [((3, 4), "c"), 2], {}), ("idx", [((2, 6), "T"), [1, 3]], {})))
both("vsplit", lambda x, s: tuple(np.vsplit(x, s)),
     _cases(("2d", [((4, 3), "c"), 2], {}), ("idx", [((5, 2), "s"), [2]], {})))
both("dsplit", lambda x, s: tuple(np.dsplit(x, s)),
     _cases(("3d", [((2, 3, 4), "c"), 2], {}), ("T", [((4, 3, 2), "T"), [1]], {})))
both("take", lambda x, index: np.take(x, index),
     _cases(("2d", [((3, 4), "c")], {"index": _I(0, 5, 11, 5)}),
            ("T", [((4, 2), "T")], {"index": np.array([[1, 2], [7, 0]])})))
both("take_along_dim", lambda x, indices, dim=None: np.take_along_axis(
    x, indices, dim) if dim is not None else np.take(x, indices),
    _cases(("dim1", [((3, 4), "c")], {"indices": np.array([[0, 3], [1, 1], [2, 0]]), "dim": 1}),
           ("bcast", [((3, 4), "T")], {"indices": np.array([[2, 0]]), "dim": 1}),
           ("flat", [((2, 3), "s")], {"indices": _I(5, 0, 2)})))


def _np_diff(x, n=1, dim=-1, prepend=None, append=None):
    kw = {k: v for k, v in (("prepend", prepend), ("append", append)) if v is not None}
    return np.diff(x, n, axis=dim, **kw)


both("diff", _np_diff, _cases(("1", [((5,), "c")], {}), ("n2", [((3, 5), "T")], {"n": 2}),
                              ("dim0", [((4, 3), "s")], {"dim": 0}),
                              ("pre_app", [((2, 3), "c")], {"prepend": np.ones((2, 1), np.float32),
                                                            "append": np.zeros((2, 2), np.float32)})))


def _masked_cases(rng):
    return [Case((mk(rng, (2, 3)),), {"mask": rng.random((2, 3)) < 0.5}, "same"),
            Case((mk(rng, (2, 3), "T"),), {"mask": np.array([True, False, True])}, "bcast"),
            Case((mk(rng, (1, 3), "s"),), {"mask": rng.random((2, 3)) < 0.5}, "bcast_input")]


both("masked_select", lambda x, mask: np.broadcast_to(x, np.broadcast_shapes(
    x.shape, mask.shape))[np.broadcast_to(mask, np.broadcast_shapes(x.shape, mask.shape))],
    _masked_cases)
both("argwhere", np.argwhere, _cases(("2d", [((2, 3), "c", np.round)], {}),
                                     ("T", [((3, 4), "T", np.round)], {})),
     differentiable=False)
for _name in ("swapaxes", "swapdims"):
    add(spec(_name, lambda m, x, a, b, _n=_name: getattr(m, _n)(x, a, b),
             lambda x, a, b: np.swapaxes(x, a, b),
             _cases(("2d", [((2, 3), "c"), 0, 1], {}), ("3d", [((2, 3, 4), "T"), 0, -1], {})),
             names=(f"torch.{_name}",)))
both("moveaxis", lambda x, s, d: np.moveaxis(x, s, d),
     _cases(("one", [((2, 3, 4), "c"), 0, 2], {}), ("two", [((2, 4, 3), "s"), (0, 1), (2, 0)], {})))


# -- reductions and statistics -------------------------------------------------------------------

def WITH_NAN(a):
    return np.where(np.abs(a) > 1.2, np.nan, a)


def _nan_red_cases(rng):
    return [Case((mk(rng, (3, 4), "c", WITH_NAN),), {}, "full"),
            Case((mk(rng, (3, 4), "T", WITH_NAN),), {"dim": 1}, "T_dim1"),
            Case((mk(rng, (2, 3, 4), "s", WITH_NAN),), {"dim": (0, 2), "keepdim": True}, "s_dims"),
            Case((mk(rng, (5,)),), {"dim": 0}, "no_nan")]


both("nansum", lambda x, dim=None, keepdim=False: np.nansum(x, axis=dim, keepdims=keepdim),
     _nan_red_cases)
both("nanmean", lambda x, dim=None, keepdim=False: np.nanmean(x, axis=dim, keepdims=keepdim),
     lambda r: [c for c in _nan_red_cases(r) if c.label != "full"] + [
         Case((mk(r, (3, 4), "c", lambda a: np.where(a > 1.0, np.nan, a)),), {}, "full")])


def _np_aminmax(x, dim=None, keepdim=False):
    return np.min(x, axis=dim, keepdims=keepdim), np.max(x, axis=dim, keepdims=keepdim)


both("aminmax", _np_aminmax, _cases(("full", [((3, 4), "c", SPREAD)], {}),
                                    ("dim", [((3, 4), "T", SPREAD)], {"dim": 1}),
                                    ("keep", [((2, 5), "s", SPREAD)], {"dim": 0, "keepdim": True})))


def _np_select(x, k, dim, keepdim):
    idx = np.take(np.argsort(x, axis=dim, kind="stable"), [k], axis=dim)
    vals = np.take_along_axis(x, idx, dim)
    return (vals, idx) if keepdim else (np.squeeze(vals, dim), np.squeeze(idx, dim))


def _np_median(x, dim=None, keepdim=False):
    if dim is None:
        return np.sort(x.ravel())[(x.size - 1) // 2]
    return _np_select(x, (x.shape[dim] - 1) // 2, dim, keepdim)


both("median", _np_median, _cases(("full", [((3, 4), "c", SPREAD)], {}),
                                  ("dim", [((3, 4), "T", SPREAD)], {"dim": 1}),
                                  ("even", [((4, 3), "s", SPREAD)], {"dim": 0, "keepdim": True})))
both("kthvalue", lambda x, k, dim=-1, keepdim=False: _np_select(x, k - 1, dim, keepdim),
     _cases(("k1", [((3, 4), "c", SPREAD), 1], {}),
            ("k3", [((3, 4), "T", SPREAD), 3], {"dim": 0}),
            ("keep", [((2, 5), "s", SPREAD), 2], {"dim": 1, "keepdim": True})))
add(spec("median_nan", lambda m, x, **kw: m.median(x, **kw), lambda x: np.float64(np.nan),
    fixed((lambda r: (In(np.array([1.0, np.nan, 0.5, 2.0])),), {}, "nan", False))))


def _np_cdist(a, b, p=2.0):
    d = np.abs(a[..., :, None, :] - b[..., None, :, :])
    if p == np.inf:
        return d.max(-1)
    return (d ** p).sum(-1) ** (1 / p)


def _cdist_cases(rng):
    cases = []
    for k, p in enumerate((2.0, 1.0, 3.0, np.inf)):
        cases.append(Case((mk(rng, (3, 4)), mk(rng, (5, 4), "T")), {"p": p}, f"p{p}"))
    cases.append(Case((mk(rng, (2, 3, 4), "s"), mk(rng, (1, 5, 4))), {}, "batch_bcast"))
    same = rng.standard_normal((3, 2))
    cases.append(Case((In(same), In(same[::-1].copy())), {}, "zero_distance", False))
    return cases


both("cdist", _np_cdist, _cdist_cases, method=False)
both("dist", lambda a, b, p=2: np.linalg.norm(np.ravel(a - b), p),
     lambda r: [Case((mk(r, (2, 3)), mk(r, (3,), "s")), {"p": p}, f"p{p}")
                for p in (2, 1, 3, np.inf)] + [
         Case((mk(r, (3, 2), "T"), mk(r, (3, 2))), {}, "T"),
         Case((In(np.ones((2, 2))), In(np.ones((2, 2)))), {}, "zero", False)])


def _np_cov(x, correction=1):
    return np.cov(x, ddof=correction)


both("cov", _np_cov, _cases(("3x5", [((3, 5), "c")], {}),
                            ("T", [((2, 6), "T")], {"correction": 0}),
                            ("1d", [((5,), "s")], {})))
both("corrcoef", lambda x: np.clip(np.corrcoef(x), -1, 1),
     _cases(("3x5", [((3, 5), "c")], {}), ("T", [((2, 6), "T")], {})))


# -- torch.linalg, and its top-level and method names ---------------------------------------------

def WELL(a):
    """A well-conditioned square (batch): a + n I."""
    n = a.shape[-1]
    return a + n * np.eye(n)


def SPD(a):
    """A symmetric positive definite (batch): a a^T + n I."""
    n = a.shape[-1]
    return a @ np.swapaxes(a, -1, -2) + n * np.eye(n)


def _sq_cases(domain):
    return _cases(("3x3", [((3, 3), "c", domain)], {}), ("T", [((4, 4), "T", domain)], {}),
                  ("batch", [((2, 3, 3), "c", domain)], {}))


def _sym(m, a):
    """The symmetric matrix of a's lower triangle. Cholesky and eigvalsh read one triangle, so
    finite differences of the raw input would see one triangle while the gradient (PyTorch's and
    ours) is symmetric; PyTorch's own gradchecks symmetrize the same way."""
    return a.tril() + a.tril(-1).mT


def _np_slogdet(a):
    s, l = np.linalg.slogdet(a)
    return s, l


def lin(name, ref, cases, method=None, top=None, **kw):
    """torch.linalg.<name>, and the same op as torch.<top> and Tensor.<method> when given."""
    both(name, ref, cases, method=False, torch_ns="torch.linalg", **kw)
    if top:
        both(top, ref, cases, method=False, **kw)
    if method:
        both(method, ref, cases, fn=False, **kw)


lin("inv", np.linalg.inv, _sq_cases(WELL), method="inverse", top="inverse")
lin("det", np.linalg.det, _sq_cases(WELL), method="det", top="det")
lin("slogdet", _np_slogdet, _sq_cases(WELL), method="slogdet", top="slogdet")
both("logdet", lambda a: np.log(np.linalg.det(a)), _sq_cases(SPD))
for _ns, _name, _npf in (("torch.linalg", "cholesky", np.linalg.cholesky),
                         ("torch", "cholesky", np.linalg.cholesky),
                         ("torch.linalg", "eigvalsh", np.linalg.eigvalsh)):
    add(spec(f"{_ns.split('.')[-1]}_{_name}_sym", lambda m, a, _ns=_ns, _n=_name: getattr(
        _ns_of(m, _ns), _n)(_sym(m, a)), _npf, _sq_cases(SPD), names=(f"{_ns}.{_name}",)))
add(spec("cholesky_method_sym", lambda m, a: _sym(m, a).cholesky(), np.linalg.cholesky,
         _sq_cases(SPD), names=("torch.Tensor.cholesky",)))
lin("svdvals", lambda a: np.linalg.svd(a, compute_uv=False),
    _cases(("3x4", [((3, 4), "c", SPREAD)], {}), ("T", [((4, 2), "T", SPREAD)], {}),
           ("batch", [((2, 3, 3), "c", SPREAD)], {})))
lin("matrix_power", lambda a, n: np.linalg.matrix_power(a, n),
    _cases(("n3", [((3, 3), "c", WELL), 3], {}), ("n0", [((2, 2), "T"), 0], {}),
           ("n-2", [((2, 3, 3), "f", WELL), -2], {}), ("n1", [((3, 3), "c"), 1], {})),
    method="matrix_power", top="matrix_power")


def _solve_cases(rng):
    return [Case((mk(rng, (3, 3), "c", WELL), mk(rng, (3, 2))), {}, "mat"),
            Case((mk(rng, (3, 3), "T", WELL), mk(rng, (3,), "s")), {}, "vec"),
            Case((mk(rng, (2, 3, 3), "c", WELL), mk(rng, (3, 4), "T")), {}, "bcast")]


def _np_solve(a, b):
    if b.ndim == 1:
        return np.linalg.solve(a, b[:, None])[..., 0] if a.ndim == 2 else None
    return np.linalg.solve(a, np.broadcast_to(b, a.shape[:-2] + b.shape[-2:]))


lin("solve", _np_solve, _solve_cases)


def _np_solve_tri(a, b, upper):
    return np.linalg.solve(np.triu(a) if upper else np.tril(a), b)


add(spec("linalg_solve_triangular", lambda m, a, b, upper: m.linalg.solve_triangular(
    a, b, upper=upper), _np_solve_tri,
    _cases(("upper", [((3, 3), "c", WELL), ((3, 2), "c")], {"upper": True}),
           ("lower_T", [((3, 3), "T", WELL), ((3, 4), "s")], {"upper": False})),
    names=("torch.linalg.solve_triangular",)))
lin("vector_norm", lambda x, ord=2, dim=None, keepdim=False: np.linalg.norm(
    x.ravel() if dim is None else x, ord, dim, keepdim) if dim is None or isinstance(dim, int)
    else np.sum(np.abs(x) ** ord, axis=dim, keepdims=keepdim) ** (1 / ord),
    _cases(("full", [((3, 4), "c")], {}), ("dim_inf", [((3, 4), "T")], {"ord": np.inf, "dim": 1}),
           ("dims_p3", [((2, 3, 4), "s")], {"ord": 3, "dim": (0, 2), "keepdim": True}),
           ("p1", [((5,), "f")], {"ord": 1, "dim": 0})))
lin("matrix_norm", lambda a, ord="fro": np.linalg.norm(a, ord, axis=(-2, -1)),
    _cases(("fro", [((3, 4), "c")], {}), ("one", [((3, 4), "T", SPREAD)], {"ord": 1}),
           ("inf", [((2, 3, 4), "s", SPREAD)], {"ord": np.inf}),
           ("nuc", [((3, 3), "c", SPREAD)], {"ord": "nuc"}),
           ("two", [((3, 2), "c", SPREAD)], {"ord": 2})))
lin("vecdot", lambda x, y: np.sum(x * y, -1),
    _cases(("same", [((2, 3), "c"), ((2, 3), "T")], {}),
           ("bcast", [((3,), "s"), ((4, 3), "c")], {})))
lin("vander", lambda x: np.vander(x, increasing=True),
    _cases(("4", [((4,), "c")], {}), ("s", [((3,), "s")], {})))

# -- torch.special -------------------------------------------------------------------------------

for _name, _ref, _cs in (
        ("expit", lambda x: 1 / (1 + np.exp(-x)), unary_cases(ints=None)),
        ("logit", lambda x: np.log(x / (1 - x)), unary_cases(UNIT, ints=None)),
        ("erf", np.vectorize(math.erf, otypes=[np.float64]), unary_cases(ints=None)),
        ("exp2", np.exp2, unary_cases(ints=None)), ("expm1", np.expm1, unary_cases(ints=None)),
        ("log1p", np.log1p, unary_cases(ABOVE_M1, ints=None)),
        ("sinc", np.sinc, unary_cases(ints=None, kinks=[0.0, 1.0, -0.5])),
        ("entr", lambda x: np.where(x > 0, -x * np.log(np.where(x > 0, x, 1)),
                                    np.where(x == 0, 0.0, -np.inf)),
         unary_cases(POS, ints=None, kinks=[0.0, -1.0, 0.5])),
        ("round", np.round, unary_cases(NOT_INT, ints=None))):
    both(_name, _ref, _cs, method=False, torch_ns="torch.special")
both("xlogy", _np_xlogy, binary_cases(domains=(None, POS), scalars=()), method=False,
     torch_ns="torch.special")
both("xlog1py", lambda x, y: x * np.log1p(y), binary_cases(domains=(None, ABOVE_M1), scalars=()),
     method=False, torch_ns="torch.special")
for _name, _ref in (("softmax", lambda x, dim: np.exp(x) / np.exp(x).sum(dim, keepdims=True)),
                    ("log_softmax", lambda x, dim: x - np.log(np.exp(x).sum(dim, keepdims=True))),
                    ("logsumexp", lambda x, dim: np.log(np.exp(x).sum(dim)))):
    both(_name, _ref, _cases(("dim1", [((3, 4), "c"), 1], {}), ("T", [((3, 4), "T"), 0], {}),
                             ("s", [((2, 3, 4), "s"), -1], {})),
         method=False, torch_ns="torch.special")


_WELL6 = WELL(np.random.default_rng(6).standard_normal((6, 6)))
for _name, _ref, _cs in (
        ("cond", lambda a: np.linalg.cond(a), _sq_cases(WELL)),
        ("tensorinv", lambda a, ind=2: np.linalg.tensorinv(a, ind), _cases(
            ("2x3x6", [In(_WELL6.reshape(2, 3, 6)), 2], {}),
            ("6x2x3_f", [In(_WELL6.reshape(6, 2, 3), "f"), 1], {}))),
        ("norm", lambda a, ord=None, dim=None: np.linalg.norm(a, ord, dim), _cases(
            ("vec", [((5,), "s")], {}), ("fro", [((3, 4), "c")], {}),
            ("mat1", [((3, 4), "T", SPREAD)], {"ord": 1}),
            ("dim", [((3, 4), "c")], {"ord": 3, "dim": 1}))),
        ("matrix_rank", lambda a: np.linalg.matrix_rank(a), _cases(
            ("full", [((3, 4), "c")], {}), ("T", [((4, 3), "T")], {}),
            ("low", [In(np.outer([1.0, 2.0, 3.0], [1.0, -1.0, 0.5]))], {})))):
    both(_name, _ref, _cs, method=False, torch_ns="torch.linalg",
         differentiable=_name != "matrix_rank")
