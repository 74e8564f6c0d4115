"""The op registry: one `OpSpec` per op drives every parametrized op test in tests/ops/test_ops.py
(forward vs a NumPy formula, backward vs float64 finite differences, forward+backward vs PyTorch)
and the gradgradcheck selection in tests/autograd/test_autograd.py.

An `OpSpec` holds
  * `ax` / `th`: the op called the Axonal way and the PyTorch way. Most ops are written once as
    `f(m, *args, **kw)` with `m` the library module (`axonal` or `torch`); PyTorch is imported only
    when a torch test runs.
  * `ref`: an independent NumPy formula, evaluated in float64.
  * `cases(rng)`: the input generator. Each `Case` lists its positional args - `In` (an array input,
    maybe realized as a non-contiguous view), Python scalars or static values - plus static keyword
    args (dims, index keys...). NumPy arrays inside keyword args (index tensors, masks) are turned
    into tensors of the library under test. Shapes cover broadcasting pairs, size-0 and size-1 dims,
    0-d tensors, transposed / strided / negatively strided views and a few large inputs.
  * `diff`: which positional args are differentiable (default: every floating `In`),
    `differentiable=False` for ops whose outputs never require grad (comparisons, argmax, detach),
  * tolerances (`rtol`/`atol` for float32 against NumPy and PyTorch) and domain constraints (applied
    by the case generators: positive inputs for log/sqrt, denominators away from zero ...).

A case with `fd=False` is not finite-differenced: it sits on a kink or a tie (abs at 0, max with
ties...), where only PyTorch's convention is a meaningful oracle.
"""
import dataclasses
import functools
import itertools
import math
import zlib
from typing import Any, Callable

import numpy as np

import axonal

# -- inputs ---------------------------------------------------------------------------------------

_VIEWS = {
    "c": lambda a: a,                                    # contiguous
    "T": lambda a: a.T,                                  # transposed (all axes reversed)
    "s": lambda a: a[..., ::2],                          # strided (every other element)
    "f": lambda a: a[..., ::-1],                         # negative strides
}


@dataclasses.dataclass(frozen=True)
class In:
    """An array input. `base` is float64 (cast to the test dtype) or int64/bool (kept);
    `view` makes the realized array non-contiguous without changing its values."""

    base: np.ndarray
    view: str = "c"

    def realize(self, dtype=None):
        a = self.base
        if dtype is not None and a.dtype.kind == "f":
            a = a.astype(dtype)
        return _VIEWS[self.view](a)

    @property
    def is_float(self):
        return self.base.dtype.kind == "f"


@dataclasses.dataclass
class Case:
    args: tuple
    kwargs: dict = dataclasses.field(default_factory=dict)
    label: str = ""
    fd: bool = True  # finite differences meaningful (no kinks/ties within eps)
    torch: bool = True  # False where PyTorch itself cannot run the case (noted at the case)


@dataclasses.dataclass
class OpSpec:
    name: str
    ax: Callable
    ref: Callable
    th: Callable
    cases: Callable  # rng -> list[Case]
    diff: Any = None  # indices of differentiable positional args; None -> all floating In args
    differentiable: bool = True
    rtol: float = 2e-5  # float32 forward against the float64 NumPy formula
    atol: float = 2e-6
    th_rtol: float = 1e-4  # float32 forward and gradients against PyTorch
    th_atol: float = 1e-5
    gg: bool = False  # part of the gradgradcheck selection (test_autograd)
    names: tuple = ()  # the PyTorch names this spec proves (tests/_parity.py), set by `prove`
    src: Any = None  # (f, th_f) as given to `spec`, for `method_twin`

    def diff_args(self, case):
        if not self.differentiable:
            return ()
        if self.diff is not None:
            return tuple(self.diff)
        return tuple(i for i, a in enumerate(case.args) if isinstance(a, In) and a.is_float)

    def get_cases(self):
        rng = np.random.default_rng(zlib.crc32(self.name.encode()))
        cases = self.cases(rng)
        seen = {}
        for c in cases:  # unique, readable labels for pytest ids
            n = seen.get(c.label, 0)
            seen[c.label] = n + 1
            if n:
                c.label = f"{c.label}#{n}"
        return cases


def _torch():
    import torch

    return torch


def spec(name, f, ref, cases, th=None, **kw):
    """An OpSpec from `f(m, *args, **kwargs)`; `th` overrides the torch call where APIs differ."""
    ax = functools.partial(f, axonal)
    th_f = th if th is not None else f

    def th_call(*args, **kwargs):
        return th_f(_torch(), *args, **kwargs)

    return OpSpec(name, ax, ref, th_call, cases, src=(f, th_f), **kw)


# -- domains and shape sets -----------------------------------------------------------------------

def POS(a):
    return np.abs(a) + 0.5


def AWAY0(a):
    return np.where(a >= 0, 1.0, -1.0) * (np.abs(a) + 0.2)


def ABOVE_M1(a):  # log1p
    return np.abs(a) - 0.6


def INTEGRAL(a):  # floats with exact ties, for comparisons
    return np.round(a * 1.5)


def SPREAD(a):
    """Distinct values at least 0.3 apart (no ties within finite-difference eps)."""
    ranks = np.argsort(np.argsort(a.ravel(), kind="stable"), kind="stable").reshape(a.shape)
    return (ranks - a.size / 2) * 0.3 + 0.01 * np.tanh(a)


def mk(rng, shape, view="c", domain=None):
    shape = tuple(shape)
    if view == "T" and len(shape) >= 2:
        base = rng.standard_normal(shape[::-1])
    elif view == "s" and len(shape) >= 1:
        base = rng.standard_normal(shape[:-1] + (2 * shape[-1],))
    else:
        base = rng.standard_normal(shape)
        view = "f" if view == "f" and len(shape) >= 1 else "c"
    if domain is not None:
        base = np.asarray(domain(base), dtype=np.float64)
    return In(base, view)


def mk_bool(rng, shape):
    return In(np.asarray(rng.random(shape) < 0.5))


def mk_int(rng, shape, lo=-3, hi=4):
    return In(rng.integers(lo, hi, size=shape).astype(np.int64))


def shp(shape, view="c"):
    s = "x".join(map(str, shape)) if shape else "scalar"
    return s if view == "c" else f"{s}-{view}"


UNARY = [((), "c"), ((1,), "c"), ((5,), "c"), ((2, 3), "c"), ((0, 3), "c"), ((3, 1, 2), "c"),
         ((3, 4), "T"), ((2, 3), "s"), ((2, 3), "f")]
BIG = (48, 70)  # larger than any small-array fast path threshold of the kernel layer

BINARY = [(((2, 3), "c"), ((2, 3), "c")), (((2, 3), "c"), ((3,), "c")),
          (((2, 1), "c"), ((1, 3), "c")), (((), "c"), ((2, 3), "c")),
          (((2, 3), "c"), ((), "c")), (((3, 1, 2), "c"), ((4, 1), "c")),
          (((0, 3), "c"), ((1, 3), "c")), (((2, 0), "c"), ((2, 1), "c")),
          (((1,), "c"), ((4,), "c")), (((3, 2), "T"), ((3, 2), "s")),
          (((2, 3), "f"), ((2, 3), "T"))]


def unary_cases(domain=None, big=False, kinks=None, ints=(-3, 4), **kwargs):
    def gen(rng):
        cases = [Case((mk(rng, s, v, domain),), dict(kwargs), shp(s, v)) for s, v in UNARY]
        if ints is not None:  # integer input: float ops compute in the default float dtype
            cases.append(Case((mk_int(rng, (2, 3), *ints),), dict(kwargs), "int64"))
        if big:
            cases.append(Case((mk(rng, BIG, "c", domain),), dict(kwargs), "big", fd=False))
        if kinks is not None:
            cases.append(Case((In(np.asarray(kinks, dtype=np.float64)),), dict(kwargs), "kinks",
                              fd=False))
        return cases

    return gen


def binary_cases(domains=(None, None), scalars=(2.5, -1.5), big=False, extra=None):
    def gen(rng):
        cases = [Case((mk(rng, sa, va, domains[0]), mk(rng, sb, vb, domains[1])), {},
                      f"{shp(sa, va)}_{shp(sb, vb)}") for (sa, va), (sb, vb) in BINARY]
        for s in scalars:  # tensor op Python scalar, and scalar op tensor
            ok_right = domains[1] is None or domains[1](np.asarray(s)) == s
            ok_left = domains[0] is None or domains[0](np.asarray(s)) == s
            if ok_right:
                cases.append(Case((mk(rng, (2, 3), "c", domains[0]), s), {}, f"2x3_py{s}"))
            if ok_left:
                cases.append(Case((s, mk(rng, (2, 3), "c", domains[1])), {}, f"py{s}_2x3"))
        if big:
            cases.append(Case((mk(rng, BIG, "c", domains[0]), mk(rng, BIG[1:], "c", domains[1])),
                              {}, "big", fd=False))
        if extra is not None:
            cases.extend(extra(rng))
        return cases

    return gen


def fixed(*cases):
    """A generator from a list of (args_builder(rng), kwargs, label[, fd])."""
    def gen(rng):
        out = []
        for c in cases:
            build, kw, label = c[:3]
            out.append(Case(tuple(build(rng)), dict(kw), label, *(c[3:])))
        return out

    return gen


# -- NumPy reference helpers ---------------------------------------------------------------------

def _axis(dim):
    return tuple(dim) if isinstance(dim, (list, tuple)) else dim


def np_matmul(a, b):
    """Matrix product via einsum (NumPy's matmul is what Axonal itself calls)."""
    a, b = np.asarray(a), np.asarray(b)
    if a.ndim == 1 and b.ndim == 1:
        return np.einsum("i,i->", a, b)
    if a.ndim == 1:
        return np.einsum("i,...ij->...j", a, b)
    if b.ndim == 1:
        return np.einsum("...ij,j->...i", a, b)
    batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    a = np.broadcast_to(a, batch + a.shape[-2:])
    b = np.broadcast_to(b, batch + b.shape[-2:])
    return np.einsum("...ij,...jk->...ik", a, b)


def np_softmax(x, dim):
    e = np.exp(x - x.max(axis=dim, keepdims=True))
    return e / e.sum(axis=dim, keepdims=True)


def np_logsumexp(x, dim=None, keepdim=False):
    axis = _axis(dim)
    m = np.max(x, axis=axis, keepdims=True, initial=-np.inf)
    m = np.where(np.isfinite(m), m, 0.0)
    with np.errstate(divide="ignore"):
        out = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
    if keepdim:
        return out
    return out.reshape(()) if axis is None else np.squeeze(out, axis=axis)


def np_norm(x, p="fro", dim=None, keepdim=False):
    axis = _axis(dim) if dim is not None else None
    a = np.abs(x)
    if p in ("fro", 2):
        return np.sqrt(np.sum(a * a, axis=axis, keepdims=keepdim))
    if p == 1:
        return np.sum(a, axis=axis, keepdims=keepdim)
    if p == float("inf"):
        return np.max(a, axis=axis, keepdims=keepdim)
    return np.sum(a ** p, axis=axis, keepdims=keepdim) ** (1.0 / p)


def np_pad(x, pad, value=0.0):
    """F.pad semantics: (before, after) pairs from the last dim; negative widths crop."""
    widths = [(0, 0)] * x.ndim
    for i in range(len(pad) // 2):
        widths[x.ndim - 1 - i] = (pad[2 * i], pad[2 * i + 1])
    out = np.pad(x, [(max(a, 0), max(b, 0)) for a, b in widths], constant_values=value)
    crop = tuple(slice(-min(a, 0), out.shape[i] + min(b, 0)) for i, (a, b) in enumerate(widths))
    return out[crop]


def np_split_sizes(n, size_or_sections):
    if isinstance(size_or_sections, int):
        return [size_or_sections] * (n // size_or_sections) + \
            ([n % size_or_sections] if n % size_or_sections else [])
    return list(size_or_sections)


def np_split(x, size_or_sections, dim=0):
    sizes = np_split_sizes(x.shape[dim], size_or_sections)
    return tuple(np.split(x, np.cumsum(sizes)[:-1], axis=dim))


def np_chunk(x, chunks, dim=0):
    n = x.shape[dim]
    return np_split(x, max(-(-n // chunks), 1), dim)


def _grid(index, dim):
    grid = list(np.indices(index.shape, sparse=True))
    grid[dim] = index
    return tuple(grid)


def np_gather(x, dim, index):
    return x[_grid(index, dim)]


def np_scatter(x, dim, index, src):
    out = x.copy()
    src = src[tuple(slice(0, s) for s in index.shape)] if isinstance(src, np.ndarray) else src
    out[_grid(index, dim)] = src
    return out


def np_index_put(x, v, indices, accumulate=False):
    out = x.copy()
    if accumulate:
        np.add.at(out, indices, v)
    else:
        out[indices] = v
    return out


def np_var(x, dim=None, unbiased=None, keepdim=False, correction=None):
    if correction is None:
        correction = 0 if unbiased is False else 1
    axis = _axis(dim)
    n = x.size if axis is None else int(np.prod([x.shape[d] for d in np.atleast_1d(axis)]))
    mu = x.mean(axis=axis, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        return ((x - mu) ** 2).sum(axis=axis, keepdims=keepdim) / max(n - correction, 0)


def np_std(x, **kw):
    return np.sqrt(np_var(x, **kw))


def np_repeat(x, *reps):
    return np.tile(x.reshape((1,) * (len(reps) - x.ndim) + x.shape), reps)


def kw_dim(dim=None, keepdim=None):
    d = {}
    if dim is not None:
        d["dim"] = dim
    if keepdim is not None:
        d["keepdim"] = keepdim
    return d


# -- the registry -------------------------------------------------------------------------------

SPECS = []


def add(s):
    SPECS.append(s)
    return s


# arithmetic --------------------------------------------------------------------------------------
add(spec("add", lambda m, a, b: a + b, np.add, binary_cases(big=True), gg=True))
add(spec("add_fn_alpha", lambda m, a, b: m.add(a, b, alpha=2), lambda a, b: a + 2 * b,
         binary_cases(scalars=())))
add(spec("sub", lambda m, a, b: a - b, np.subtract, binary_cases()))
add(spec("sub_fn", lambda m, a, b: m.sub(a, b), np.subtract, binary_cases(scalars=())))
add(spec("mul", lambda m, a, b: a * b, np.multiply, binary_cases(big=True), gg=True))
add(spec("mul_fn", lambda m, a, b: m.mul(a, b), np.multiply, binary_cases(scalars=())))
add(spec("div", lambda m, a, b: a / b, np.divide, binary_cases(domains=(None, AWAY0)), gg=True))
add(spec("div_fn", lambda m, a, b: m.div(a, b), np.divide,
         binary_cases(domains=(None, AWAY0), scalars=())))
add(spec("pow_tensor", lambda m, a, b: a ** b, np.power,
         binary_cases(domains=(POS, None), scalars=(2.0, 0.5)), gg=True))


def _pow_scalar_cases(rng):
    cases = []
    for e, dom in ((2, None), (3, None), (0.5, POS), (-1.5, POS), (0, None), (1, None),
                   (2.5, POS)):
        for s, v in (((2, 3), "c"), ((3, 2), "T"), ((), "c"), ((0, 2), "c")):
            cases.append(Case((mk(rng, s, v, dom), e), {}, f"{shp(s, v)}_pow{e}"))
    cases.append(Case((In(np.array([0.0, 1.0, -2.0])), 2), {}, "zero_base_pow2", False))
    return cases


add(spec("pow_scalar", lambda m, a, e: a ** e, np.power, _pow_scalar_cases, gg=True))
add(spec("pow_fn", lambda m, a, e: m.pow(a, e), np.power,
         binary_cases(domains=(POS, None), scalars=(3.0,))))


def _rpow_cases(rng):
    return [Case((base, mk(rng, s, v)), {}, f"{base}_{shp(s, v)}")
            for base in (2.0, 0.5) for s, v in UNARY]


add(spec("rpow_scalar", lambda m, b, x: b ** x, np.power, _rpow_cases))
add(spec("neg", lambda m, x: -x, np.negative, unary_cases()))
add(spec("neg_fn", lambda m, x: m.neg(x), np.negative, unary_cases()))
add(spec("abs", lambda m, x: m.abs(x), np.abs, unary_cases(AWAY0, kinks=[0.0, -1.0, 2.0, -0.0]),
         gg=True))
add(spec("sign", lambda m, x: m.sign(x), np.sign, unary_cases(AWAY0, kinks=[0.0, -1.5, 2.0])))
add(spec("exp", lambda m, x: m.exp(x), np.exp, unary_cases(big=True), gg=True))
add(spec("log", lambda m, x: m.log(x), np.log, unary_cases(POS, big=True, ints=(1, 5)), gg=True))
add(spec("log1p", lambda m, x: m.log1p(x), np.log1p, unary_cases(ABOVE_M1, ints=(0, 5))))
add(spec("sqrt", lambda m, x: m.sqrt(x), np.sqrt, unary_cases(POS, ints=(0, 5)), gg=True))
add(spec("rsqrt", lambda m, x: m.rsqrt(x), lambda x: 1 / np.sqrt(x),
         unary_cases(POS, ints=(1, 5)), gg=True))
add(spec("sin", lambda m, x: m.sin(x), np.sin, unary_cases(), gg=True))
add(spec("erf", lambda m, x: m.erf(x), np.vectorize(math.erf, otypes=[np.float64]), unary_cases(),
         gg=True))
add(spec("cos", lambda m, x: m.cos(x), np.cos, unary_cases(), gg=True))
add(spec("tanh", lambda m, x: m.tanh(x), np.tanh, unary_cases(big=True), gg=True))
add(spec("sigmoid", lambda m, x: m.sigmoid(x), lambda x: 1 / (1 + np.exp(-x)),
         unary_cases(big=True, kinks=[-100.0, -30.0, 0.0, 30.0, 100.0]), gg=True))
add(spec("relu", lambda m, x: m.relu(x), lambda x: np.maximum(x, 0),
         unary_cases(AWAY0, big=True, kinks=[0.0, -1.0, 2.0]), gg=True))


def _clamp_cases(rng):
    cases = []
    for s, v in UNARY:
        cases.append(Case((mk(rng, s, v),), {"min": -0.5, "max": 0.6}, f"{shp(s, v)}_both"))
    cases.append(Case((mk(rng, (2, 3)),), {"min": -0.2}, "min_only"))
    cases.append(Case((mk(rng, (2, 3)),), {"max": 0.3}, "max_only"))
    cases.append(Case((In(np.array([-0.5, 0.6, 0.0, -2.0, 2.0])),), {"min": -0.5, "max": 0.6},
                      "at_bounds", False))
    return cases


add(spec("clamp", lambda m, x, **kw: m.clamp(x, **kw), lambda x, min=None, max=None:
         np.clip(x, min, max), _clamp_cases))


def _clamp_t_cases(rng):
    lo = lambda a: -np.abs(a) - 0.1  # noqa: E731
    hi = lambda a: np.abs(a) + 0.1  # noqa: E731
    return [Case((mk(rng, (2, 3)), mk(rng, (2, 3), domain=lo), mk(rng, (3,), domain=hi)), {},
                 "2x3_2x3_3"),
            Case((mk(rng, (3, 2), "T"), mk(rng, (1,), domain=lo), mk(rng, (3, 1), domain=hi)),
                 {}, "T_broadcast")]


add(spec("clamp_tensor", lambda m, x, lo, hi: m.clamp(x, min=lo, max=hi),
         lambda x, lo, hi: np.minimum(np.maximum(x, lo), hi), _clamp_t_cases))


def _ties(rng):
    return [Case((In(np.array([1.0, 2.0, -3.0, 0.5])), In(np.array([1.0, 0.0, -3.0, 0.7]))), {},
                 "ties", False)]


add(spec("maximum", lambda m, a, b: m.maximum(a, b), np.maximum,
         binary_cases(scalars=(), extra=_ties), gg=True))
add(spec("minimum", lambda m, a, b: m.minimum(a, b), np.minimum,
         binary_cases(scalars=(), extra=_ties)))


def _where_cases(rng):
    cases = []
    for (sc, sa, sb) in (((2, 3), (2, 3), (2, 3)), ((2, 1), (1, 3), (2, 3)), ((3,), (2, 3), ()),
                         ((0, 3), (1, 3), (3,)), ((), (2,), (2,))):
        cases.append(Case((mk_bool(rng, sc), mk(rng, sa), mk(rng, sb)), {},
                          f"{shp(sc)}_{shp(sa)}_{shp(sb)}"))
    cases.append(Case((mk_bool(rng, (3, 2)), mk(rng, (3, 2), "T"), mk(rng, (3, 2), "s")), {},
                      "noncontig"))
    cases.append(Case((mk_bool(rng, (2, 3)), mk(rng, (2, 3)), 0.0), {}, "scalar_other"))
    return cases


add(spec("where", lambda m, c, a, b: m.where(c, a, b), np.where, _where_cases, gg=True))

# comparisons and logic: forward only -------------------------------------------------------------


def _cmp_cases(rng):
    cases = [Case((mk(rng, sa, va, INTEGRAL), mk(rng, sb, vb, INTEGRAL)), {},
                  f"{shp(sa, va)}_{shp(sb, vb)}") for (sa, va), (sb, vb) in BINARY]
    cases.append(Case((mk(rng, (2, 3), "c", INTEGRAL), 0.0), {}, "2x3_py0.0"))
    cases.append(Case((mk(rng, (2, 3), "c", INTEGRAL), 1), {}, "2x3_py1"))
    cases.append(Case((mk_int(rng, (2, 3)), mk_int(rng, (3,))), {}, "int_int"))
    cases.append(Case((mk_int(rng, (2, 3)), mk(rng, (2, 3), "c", INTEGRAL)), {}, "int_float"))
    return cases


for _name, _op, _npf in (("eq", "__eq__", np.equal), ("ne", "__ne__", np.not_equal),
                         ("lt", "__lt__", np.less), ("le", "__le__", np.less_equal),
                         ("gt", "__gt__", np.greater), ("ge", "__ge__", np.greater_equal)):
    add(spec(_name, lambda m, a, b, _n=_name: getattr(m, _n)(a, b), _npf, _cmp_cases,
             differentiable=False))
    add(spec(_op, lambda m, a, b, _o=_op: getattr(a, _o)(b), _npf, _cmp_cases,
             differentiable=False))


def _logic_cases(rng):
    return [Case((mk_bool(rng, (2, 3)), mk_bool(rng, (2, 3))), {}, "2x3_2x3"),
            Case((mk_bool(rng, (2, 1)), mk_bool(rng, (3,))), {}, "broadcast"),
            Case((mk_bool(rng, (0, 2)), mk_bool(rng, (2,))), {}, "empty"),
            Case((mk(rng, (2, 3), "c", INTEGRAL), mk(rng, (2, 3), "c", INTEGRAL)), {}, "floats"),
            Case((In(rng.random((3, 2)) < 0.5, "T"), mk(rng, (2, 3), "s", INTEGRAL)), {},
                 "T_strided")]


for _name, _npf in (("logical_and", np.logical_and), ("logical_or", np.logical_or),
                    ("logical_xor", np.logical_xor)):
    add(spec(_name, lambda m, a, b, _n=_name: getattr(m, _n)(a, b), _npf, _logic_cases,
             differentiable=False))
add(spec("logical_not", lambda m, a: m.logical_not(a), np.logical_not,
         fixed((lambda r: (mk_bool(r, (2, 3)),), {}, "bool"),
               (lambda r: (mk(r, (2, 3), "c", INTEGRAL),), {}, "float"),
               (lambda r: (In(r.random((4, 3)) < 0.5, "T"),), {}, "bool_T"),
               (lambda r: (mk(r, (2, 3), "s", INTEGRAL),), {}, "float_strided")),
         differentiable=False))
add(spec("detach", lambda m, x: x.detach(), lambda x: x, unary_cases(), differentiable=False))

# matmul ------------------------------------------------------------------------------------------

MATMUL = [(((4,), "c"), ((4,), "c")), (((2, 4), "c"), ((4,), "c")), (((4,), "c"), ((4, 3), "c")),
          (((2, 4), "c"), ((4, 3), "c")), (((2, 3, 4), "c"), ((4, 2), "c")),
          (((3, 4), "c"), ((2, 4, 2), "c")), (((2, 1, 2, 3), "c"), ((3, 3, 2), "c")),
          (((3,), "c"), ((2, 3, 2), "c")), (((2, 2, 3), "c"), ((3,), "c")),
          (((0, 3), "c"), ((3, 2), "c")), (((2, 0), "c"), ((0, 3), "c")),
          (((1, 1), "c"), ((1, 1), "c")), (((3, 4), "T"), ((4, 2), "s")),
          (((2, 3, 4), "T"), ((4, 3), "f"))]


def _matmul_cases(rng):
    cases = [Case((mk(rng, sa, va), mk(rng, sb, vb)), {}, f"{shp(sa, va)}_{shp(sb, vb)}")
             for (sa, va), (sb, vb) in MATMUL]
    cases.append(Case((mk(rng, (40, 64)), mk(rng, (64, 48))), {}, "big", False))
    return cases


add(spec("matmul", lambda m, a, b: m.matmul(a, b), np_matmul, _matmul_cases, gg=True,
         rtol=1e-5, atol=1e-5))
add(spec("__matmul__", lambda m, a, b: a @ b, np_matmul, _matmul_cases, atol=1e-5))

# reductions --------------------------------------------------------------------------------------

RED = [((), (2, 3, 4), "c"), (dict(dim=1), (2, 3, 4), "c"),
       (dict(dim=-1, keepdim=True), (2, 3, 4), "c"),
       (dict(dim=(0, 2)), (2, 3, 4), "c"), (dict(dim=(-1, 0), keepdim=True), (2, 3, 4), "T"),
       (dict(dim=0), (3, 4), "s"), ((), (), "c"), (dict(dim=0), (), "c"), (dict(dim=0), (1,), "c"),
       (dict(dim=1), (2, 3), "f"), (dict(dim=()), (2, 3), "c")]


def red_cases(red=RED, domain=None, single_dim=False, empty=True, big=False, extra=None):
    def gen(rng):
        cases = []
        for kw, s, v in red:
            kw = dict(kw)
            if single_dim and isinstance(kw.get("dim"), tuple):
                continue
            cases.append(Case((mk(rng, s, v, domain),), kw, f"{shp(s, v)}_{kw}"))
        if empty:
            cases.append(Case((mk(rng, (0, 3)),), {"dim": 0}, "0x3_dim0"))
            cases.append(Case((mk(rng, (2, 0)),), {"dim": 0}, "2x0_dim0"))
        if big:
            cases.append(Case((mk(rng, BIG, "c", domain),), {"dim": -1}, "big_dim-1", False))
            cases.append(Case((mk(rng, BIG, "c", domain),), {}, "big_full", False))
        if extra is not None:
            cases.extend(extra(rng))
        return cases

    return gen


def np_red(fn):
    def ref(x, dim=None, keepdim=False):
        if x.ndim == 0 or dim == ():  # dim 0 of a 0-d tensor, and dim=() mean all dims in torch
            dim = None
        return fn(x, axis=_axis(dim), keepdims=keepdim)

    return ref


add(spec("sum", lambda m, x, **kw: m.sum(x, **kw), np_red(np.sum),
         red_cases(big=True, extra=lambda r: [Case((mk(r, (0,)),), {}, "empty_full")]), gg=True))
add(spec("sum_method", lambda m, x, **kw: x.sum(**kw), np_red(np.sum), red_cases()))
add(spec("mean", lambda m, x, **kw: m.mean(x, **kw), np_red(np.mean), red_cases(big=True),
         gg=True))


def _prod_extra(rng):
    return [Case((In(np.array([[1.5, 0.0, 2.0], [0.5, -1.0, 3.0]])),), {"dim": 1}, "one_zero"),
            Case((In(np.array([[1.5, 0.0, 0.0], [0.0, -1.0, 3.0]])),), {"dim": 1}, "two_zeros"),
            Case((In(np.array([[1.5, 0.0], [0.5, -1.0]])),), {}, "full_one_zero")]


add(spec("prod", lambda m, x, **kw: m.prod(x, **kw), np_red(np.prod),
         red_cases(single_dim=True, extra=_prod_extra), gg=True))


def _max_full(rng):
    cases = [Case((mk(rng, s, v, SPREAD),), {}, shp(s, v)) for s, v in
             (((), "c"), ((1,), "c"), ((5,), "c"), ((2, 3), "T"), ((2, 3), "s"))]
    cases.append(Case((In(np.array([[1.0, 3.0, 3.0], [3.0, 0.0, -1.0]])),), {}, "ties", False))
    return cases


def _max_dim(rng):
    cases = []
    for kw, s, v in ((dict(dim=1), (2, 3), "c"), (dict(dim=0, keepdim=True), (3, 2), "T"),
                     (dict(dim=-1), (2, 3, 4), "s"), (dict(dim=0), (1,), "c"),
                     (dict(dim=0), (), "c"), (dict(dim=1), (0, 3), "c")):
        cases.append(Case((mk(rng, s, v, SPREAD),), kw, f"{shp(s, v)}_{kw}"))
    cases.append(Case((In(np.array([[1.0, 3.0, 3.0], [2.0, 2.0, -1.0]])),), {"dim": 1}, "ties",
                      False))
    return cases


add(spec("max_full", lambda m, x: m.max(x), np.max, _max_full))
add(spec("min_full", lambda m, x: x.min(), np.min, _max_full))
add(spec("max_dim", lambda m, x, **kw: m.max(x, **kw),
         lambda x, dim, keepdim=False: (np.max(x, dim, keepdims=keepdim),
                                        np.argmax(x, dim, keepdims=keepdim)), _max_dim, gg=True))
add(spec("min_dim", lambda m, x, **kw: x.min(**kw),
         lambda x, dim, keepdim=False: (np.min(x, dim, keepdims=keepdim),
                                        np.argmin(x, dim, keepdims=keepdim)), _max_dim))


def _amax_cases(rng):
    cases = []
    for kw, s, v in ((dict(), (2, 3), "c"), (dict(dim=1), (2, 3), "c"),
                     (dict(dim=(0, 2), keepdim=True), (2, 3, 2), "c"), (dict(dim=-1), (3, 2), "T"),
                     (dict(dim=0), (1,), "c"), (dict(dim=()), (2, 2), "s"), (dict(), (), "c")):
        cases.append(Case((mk(rng, s, v, SPREAD),), kw, f"{shp(s, v)}_{kw}"))
    cases.append(Case((In(np.array([[1.0, 3.0, 3.0], [3.0, 0.0, -1.0]])),), {}, "ties", False))
    cases.append(Case((In(np.array([[1.0, 3.0, 3.0], [2.0, 2.0, -1.0]])),), {"dim": 1}, "ties_dim",
                      False))
    return cases


add(spec("amax", lambda m, x, **kw: m.amax(x, **kw), np_red(np.max), _amax_cases, gg=True))
add(spec("amin", lambda m, x, **kw: m.amin(x, **kw), np_red(np.min), _amax_cases))


def _arg_cases(rng):
    cases = [Case((mk(rng, s, v, SPREAD),), kw, f"{shp(s, v)}_{kw}") for kw, s, v in
             ((dict(), (2, 3), "c"), (dict(dim=1), (2, 3), "T"), (dict(dim=0, keepdim=True),
                                                                   (3, 2), "s"),
              (dict(dim=-1), (2, 3, 4), "c"), (dict(), (), "c"), (dict(dim=0), (1,), "c"))]
    cases.append(Case((In(np.array([[1.0, 3.0, 3.0], [2.0, 2.0, -1.0]])),), {"dim": 1}, "ties"))
    cases.append(Case((mk_int(rng, (2, 5)),), {"dim": 1}, "int"))
    return cases


add(spec("argmax", lambda m, x, **kw: m.argmax(x, **kw), np_red(np.argmax), _arg_cases,
         differentiable=False))
add(spec("argmin", lambda m, x, **kw: x.argmin(**kw), np_red(np.argmin), _arg_cases,
         differentiable=False))


def _var_cases(rng):
    cases = []
    for kw, s, v in ((dict(), (2, 3), "c"), (dict(dim=1), (2, 3), "c"),
                     (dict(dim=0, unbiased=False), (3, 2), "T"),
                     (dict(dim=(0, 2), keepdim=True), (2, 3, 2), "c"),
                     (dict(dim=-1, correction=0), (2, 4), "s"),
                     (dict(dim=1, correction=2), (2, 4), "c"),
                     (dict(dim=1, keepdim=True), (3, 4), "f")):
        cases.append(Case((mk(rng, s, v),), kw, f"{shp(s, v)}_{kw}"))
    cases.append(Case((mk(rng, (2, 1)),), {"dim": 1}, "single_unbiased_nan", False))
    return cases


add(spec("var", lambda m, x, **kw: m.var(x, **kw), np_var, _var_cases, gg=True))
add(spec("std", lambda m, x, **kw: x.std(**kw), np_std, _var_cases, gg=True))


def _lse_cases(rng):
    cases = []
    for kw, s, v in ((dict(dim=1), (2, 3), "c"), (dict(dim=0, keepdim=True), (3, 2), "T"),
                     (dict(dim=(0, 1)), (2, 3), "s"), (dict(dim=-1), (2, 3, 4), "c"),
                     (dict(dim=0), (1,), "c"), (dict(dim=1), (2, 0), "c"),
                     (dict(dim=0), (0, 2), "c")):
        cases.append(Case((mk(rng, s, v),), kw, f"{shp(s, v)}_{kw}"))
    cases.append(Case((In(np.array([[1000.0, 1001.0], [-1000.0, -1002.0]])),), {"dim": 1},
                      "large_magnitude", False))
    cases.append(Case((In(np.array([[-np.inf, -np.inf], [0.0, -np.inf]])),), {"dim": 1},
                      "neg_inf", False))
    cases.append(Case((mk(rng, BIG),), {"dim": -1}, "big", False))
    return cases


add(spec("logsumexp", lambda m, x, **kw: m.logsumexp(x, **kw), np_logsumexp, _lse_cases, gg=True))


def _cumsum_cases(rng):
    return [Case((mk(rng, s, v),), {"dim": d}, f"{shp(s, v)}_dim{d}") for s, v, d in
            (((5,), "c", 0), ((2, 3), "c", 1), ((2, 3), "T", 0), ((2, 3, 2), "s", -1),
             ((0, 3), "c", 0), ((), "c", 0), ((2, 3), "f", -1))]


add(spec("cumsum", lambda m, x, dim: m.cumsum(x, dim), lambda x, dim: np.cumsum(x, axis=dim)
         if x.ndim else x, _cumsum_cases, gg=True))


def _triangle_cases(rng):
    # square, wide, tall and batched matrices; diagonals inside, on the edge of and past the matrix
    return [Case((mk(rng, s, v),), {"diagonal": k}, f"{shp(s, v)}_k{k}") for s, v, k in
            (((4, 4), "c", 0), ((3, 5), "c", 1), ((5, 3), "T", -2), ((2, 3, 4), "s", 0),
             ((2, 3, 3), "f", -1), ((3, 4), "c", 7), ((3, 4), "c", -9), ((0, 3), "c", 0))]


add(spec("tril", lambda m, x, diagonal: m.tril(x, diagonal), lambda x, diagonal: np.tril(x, diagonal),
         _triangle_cases, gg=True))
add(spec("triu", lambda m, x, diagonal: x.triu(diagonal), lambda x, diagonal: np.triu(x, diagonal),
         _triangle_cases, gg=True))


def _norm_cases(rng):
    cases = []
    for p in (2, 1, float("inf"), "fro", 3):
        for kw, s, v in ((dict(), (2, 3), "c"), (dict(dim=1), (2, 3), "T"),
                         (dict(dim=-1, keepdim=True), (2, 4), "s"), (dict(dim=(0, 1)), (2, 3, 2),
                                                                     "c")):
            if p == "fro" and "dim" in kw and not isinstance(kw["dim"], tuple):
                continue
            cases.append(Case((mk(rng, s, v, SPREAD if p == float("inf") else AWAY0),),
                              dict(kw, p=p), f"p{p}_{shp(s, v)}_{kw}"))
    cases.append(Case((In(np.zeros((2, 3))),), {"p": 2, "dim": 1}, "zero_vector", False))
    return cases


add(spec("norm", lambda m, x, **kw: m.norm(x, **kw), np_norm, _norm_cases, gg=True))

# shape ops ---------------------------------------------------------------------------------------


def _reshape_cases(rng):
    return [Case((mk(rng, s, v),), {"shape": t}, f"{shp(s, v)}_to_{t}") for s, v, t in
            (((2, 3), "c", (3, 2)), ((6,), "c", (-1, 2)), ((2, 3), "T", (6,)), ((1,), "c", ()),
             ((), "c", (1, 1)), ((0, 3), "c", (3, 0)), ((2, 3, 2), "s", (4, -1)),
             ((2, 3), "c", (2, 3)), ((2, 3), "f", (3, 1, 2)))]


add(spec("reshape", lambda m, x, shape: m.reshape(x, shape), np.reshape, _reshape_cases, gg=True))
add(spec("view", lambda m, x, shape: x.view(*shape) if shape else x.view(shape), np.reshape,
         lambda r: [c for c in _reshape_cases(r) if c.args[0].view == "c"] + [
             # non-contiguous inputs that a view can still describe (no copy needed)
             Case((mk(r, (3, 4), "T"),), {"shape": (3, 1, 4)}, "T_unsqueezed"),
             Case((mk(r, (2, 3), "s"),), {"shape": (2, 1, 3)}, "strided_unsqueezed")]))


def _flatten_cases(rng):
    return [Case((mk(rng, s, v),), kw, f"{shp(s, v)}_{kw}") for kw, s, v in
            ((dict(), (2, 3, 2), "c"), (dict(start_dim=1), (2, 3, 2), "T"),
             (dict(start_dim=0, end_dim=1), (2, 3, 2), "s"), (dict(), (), "c"),
             (dict(start_dim=1), (2, 0, 3), "c"), (dict(start_dim=-2, end_dim=-1), (1, 2, 2), "c"))]


add(spec("flatten", lambda m, x, **kw: m.flatten(x, **kw),
         lambda x, start_dim=0, end_dim=-1: x.reshape(
             x.shape[:start_dim % max(x.ndim, 1)] + (-1,) + x.shape[end_dim % max(x.ndim, 1) + 1:])
         if x.ndim else x.reshape(1), _flatten_cases))


def _squeeze_cases(rng):
    return [Case((mk(rng, s, v),), kw, f"{shp(s, v)}_{kw}") for kw, s, v in
            ((dict(), (2, 1, 3, 1), "c"), (dict(dim=1), (2, 1, 3), "c"), (dict(dim=0), (2, 3), "c"),
             (dict(dim=(1, 3)), (2, 1, 3, 1), "c"), (dict(dim=-1), (3, 1), "T"),
             (dict(), (1,), "c"), (dict(dim=1), (2, 1, 3), "s"),
             (dict(), (), "c"), (dict(dim=0), (1, 0), "c"))]


def np_squeeze(x, dim=None):
    if dim is None:
        return np.squeeze(x)
    dims = dim if isinstance(dim, tuple) else (dim,)
    dims = tuple(d % max(x.ndim, 1) for d in dims if x.ndim and x.shape[d] == 1)
    return np.squeeze(x, axis=dims) if dims else x


add(spec("squeeze", lambda m, x, **kw: m.squeeze(x, **kw), np_squeeze, _squeeze_cases))
add(spec("unsqueeze", lambda m, x, dim: x.unsqueeze(dim), lambda x, dim: np.expand_dims(x, dim),
         fixed((lambda r: (mk(r, (2, 3)),), {"dim": 0}, "dim0"),
               (lambda r: (mk(r, (2, 3), "T"),), {"dim": -1}, "dim-1"),
               (lambda r: (mk(r, (2, 3)),), {"dim": 1}, "dim1"),
               (lambda r: (mk(r, ()),), {"dim": 0}, "scalar"),
               (lambda r: (mk(r, (0, 2)),), {"dim": 2}, "empty"))))


def _permute_cases(rng):
    return [Case((mk(rng, s, v),), {"dims": d}, f"{shp(s, v)}_{d}") for s, v, d in
            (((2, 3, 4), "c", (2, 0, 1)), ((2, 3, 4), "T", (1, 0, 2)), ((2, 3), "c", (-1, 0)),
             ((2, 3, 2), "s", (0, 1, 2)), ((0, 2, 3), "c", (2, 1, 0)), ((3,), "c", (0,)))]


add(spec("permute", lambda m, x, dims: x.permute(*dims), lambda x, dims: np.transpose(x, dims),
         _permute_cases, gg=True))
add(spec("permute_fn", lambda m, x, dims: m.permute(x, dims), lambda x, dims: np.transpose(x, dims),
         _permute_cases))


def _transpose_cases(rng):
    return [Case((mk(rng, s, v),), {"d0": a, "d1": b}, f"{shp(s, v)}_{a}_{b}") for s, v, a, b in
            (((2, 3), "c", 0, 1), ((2, 3, 4), "T", -1, -3), ((2, 3, 4), "s", 1, 1),
             ((0, 3), "c", 1, 0), ((3,), "c", 0, -1))]


add(spec("transpose", lambda m, x, d0, d1: m.transpose(x, d0, d1),
         lambda x, d0, d1: np.swapaxes(x, d0, d1), _transpose_cases))
add(spec("T", lambda m, x: x.T, lambda x: x.T,
         fixed((lambda r: (mk(r, (2, 3)),), {}, "2x3"), (lambda r: (mk(r, (3, 2), "T"),), {}, "T"),
               (lambda r: (mk(r, (0, 4)),), {}, "0x4"))))
add(spec("mT", lambda m, x: x.mT, lambda x: np.swapaxes(x, -1, -2),
         fixed((lambda r: (mk(r, (2, 3, 4)),), {}, "2x3x4"),
               (lambda r: (mk(r, (3, 2), "s"),), {}, "s"))))


def _expand_cases(rng):
    return [Case((mk(rng, s, v),), {"sizes": t}, f"{shp(s, v)}_to_{t}") for s, v, t in
            (((3, 1), "c", (3, 4)), ((1,), "c", (2, 3)), ((3, 1), "c", (2, -1, 4)),
             ((), "c", (2, 2)), ((2, 1), "T", (2, 3)), ((1, 3), "c", (0, 3)),
             ((2, 3), "c", (2, 3)), ((2, 1), "s", (3, 2, 4)))]


add(spec("expand", lambda m, x, sizes: x.expand(*sizes),
         lambda x, sizes: np.broadcast_to(x, tuple(
             x.shape[i - (len(sizes) - x.ndim)] if s == -1 else s for i, s in enumerate(sizes))),
         _expand_cases, gg=True))


def _repeat_cases(rng):
    return [Case((mk(rng, s, v),), {"reps": t}, f"{shp(s, v)}_{t}") for s, v, t in
            (((2, 3), "c", (2, 1)), ((2, 3), "T", (2, 1, 3)), ((3,), "c", (2,)), ((), "c", (3,)),
             ((2, 1), "s", (1, 2)), ((0, 2), "c", (2, 2)), ((2, 3), "c", (1, 1)))]


add(spec("repeat", lambda m, x, reps: x.repeat(*reps), lambda x, reps: np_repeat(x, *reps),
         _repeat_cases, gg=True))


def _cat_cases(rng):
    return [Case(tuple(mk(rng, s, v) for s, v in ins), {"dim": d},
                 f"{'_'.join(shp(s, v) for s, v in ins)}"
                                                                    f"_dim{d}")
            for ins, d in (((((2, 3), "c"), ((1, 3), "c")), 0),
                           ((((2, 3), "c"), ((2, 1), "T"), ((2, 2), "s")), 1),
                           ((((2, 3), "c"), ((0, 3), "c")), 0),
                           ((((2, 3, 2), "c"), ((2, 1, 2), "c")), -2),
                           ((((3,), "c"), ((2,), "f")), 0),
                           ((((2, 3), "c"),), 0))]


add(spec("cat", lambda m, *xs, dim=0: m.cat(list(xs), dim),
         lambda *xs, dim=0: np.concatenate(xs, dim),
         _cat_cases, gg=True))


def _stack_cases(rng):
    return [Case(tuple(mk(rng, s, v) for v in views), {"dim": d},
                 f"{shp(s)}_{''.join(views)}_dim{d}")
            for s, views, d in (((2, 3), "cc", 0), ((2, 3), "cTs", 1), ((3,), "cf", -1),
                                ((), "cc", 0), ((0, 2), "cc", 1))]


add(spec("stack", lambda m, *xs, dim=0: m.stack(list(xs), dim),
         lambda *xs, dim=0: np.stack(xs, dim),
         _stack_cases))


def _split_cases(rng):
    return [Case((mk(rng, s, v),), {"sections": sec, "dim": d}, f"{shp(s, v)}_{sec}_dim{d}")
            for s, v, sec, d in (((5, 2), "c", 2, 0), ((2, 6), "T", 3, 1),
                                 ((2, 6), "c", [1, 2, 3], 1), ((4, 3), "s", [4], 0),
                                 ((4,), "c", 1, 0), ((4, 3), "c", [0, 3, 1], 0),
                                 ((2, 3), "c", 5, -1))]


add(spec("split", lambda m, x, sections, dim: m.split(x, sections, dim),
         lambda x, sections, dim: np_split(x, sections, dim), _split_cases,
         gg=True))


def _chunk_cases(rng):
    return [Case((mk(rng, s, v),), {"chunks": c, "dim": d}, f"{shp(s, v)}_{c}_dim{d}")
            for s, v, c, d in (((5, 2), "c", 3, 0), ((2, 6), "T", 4, 1), ((6,), "c", 3, 0),
                               ((2, 3), "s", 1, 1), ((2, 2), "c", 5, -1))]


add(spec("chunk", lambda m, x, chunks, dim: x.chunk(chunks, dim), np_chunk, _chunk_cases))


def _flip_cases(rng):
    return [Case((mk(rng, s, v),), {"dims": d}, f"{shp(s, v)}_{d}") for s, v, d in
            (((2, 3), "c", (0,)), ((2, 3), "T", (0, 1)), ((2, 3, 2), "s", (-1,)), ((4,), "f", (0,)),
             ((0, 2), "c", (1,)))]


add(spec("flip", lambda m, x, dims: m.flip(x, dims), lambda x, dims: np.flip(x, dims), _flip_cases))


def _pad_cases(rng):
    return [Case((mk(rng, s, v),), {"pad": p, "value": val}, f"{shp(s, v)}_{p}_{val}")
            for s, v, p, val in (((2, 3), "c", (1, 2), 0.0), ((2, 3), "T", (1, 1, 0, 2), 1.5),
                                 ((2, 3, 2), "s", (0, 1, 2, 0, 1, 1), 0.0),
                                 ((2, 4), "c", (-1, 1), 0.0),
                                 ((0, 2), "c", (1, 1), 0.0), ((3,), "f", (2, 0), -1.0))]


add(spec("pad", lambda m, x, pad, value: m.pad(x, pad, value=value), np_pad, _pad_cases, gg=True,
         th=lambda m, x, pad, value: m.nn.functional.pad(x, pad, value=value)))

# indexing ----------------------------------------------------------------------------------------

_I = lambda *v: np.array(v, dtype=np.int64)  # noqa: E731
KEYS = [
    ("int", 1), ("neg_int", -1), ("slice", slice(1, None)),
    ("int_slice_step", (1, slice(None, None, 2))),
    ("none_ellipsis_int", (None, Ellipsis, 0)), ("ellipsis_none", (Ellipsis, None)),
    ("int_array_repeats", _I(0, 2, 0, 0)), ("slice_then_array", (slice(None), _I(3, 3, 0))),
    ("two_arrays", (_I(0, 2, 1), _I(1, 1, 3))), ("2d_int_array", _I(0, 2, 1, 0).reshape(2, 2)),
    ("array_none_slice", (_I(2, 0), None, slice(0, 3))), ("list", [0, 2, 2]),
    ("int_and_array", (1, _I(0, 3, 0))), ("empty_array", _I()), ("neg_index_array", _I(-1, -3)),
]


def _getitem_cases(rng):
    cases = [Case((mk(rng, (3, 4)),), {"key": k}, name) for name, k in KEYS]
    cases.append(Case((mk(rng, (4, 3), "T"),), {"key": (_I(0, 0, 2), slice(1, 3))}, "T_array"))
    cases.append(Case((mk(rng, (3, 4), "s"),), {"key": (Ellipsis, _I(1, 1))}, "strided_array"))
    mask = rng.random((3, 4)) < 0.5
    cases.append(Case((mk(rng, (3, 4)),), {"key": mask}, "bool_mask_full"))
    cases.append(Case((mk(rng, (3, 4)),), {"key": np.array([True, False, True])}, "bool_mask_dim0"))
    cases.append(Case((mk(rng, (3, 4)),),
                      {"key": (slice(None), np.array([False, True, True, False]))},
                      "bool_mask_dim1"))
    cases.append(Case((mk(rng, (2, 3, 4)),), {"key": (0, slice(None), _I(1, 2))},
                      "3d_int_slice_arr"))
    cases.append(Case((mk(rng, (2, 3, 4)),), {"key": (_I(1, 0, 1), slice(None), -1)},
                      "3d_arr_slice_int"))
    cases.append(Case((mk(rng, (2, 3, 4)),), {"key": (None, 1, Ellipsis, _I(0, 2))},
                      "3d_none_int_ellipsis_arr"))
    cases.append(Case((mk(rng, (2, 3, 4)),), {"key": (_I(0, 1), slice(None), _I(1, 2))},
                      "3d_separated_arrays"))
    cases.append(Case((mk(rng, ()),), {"key": None}, "scalar_none"))
    cases.append(Case((mk(rng, ()),), {"key": Ellipsis}, "scalar_ellipsis"))
    cases.append(Case((mk(rng, (0, 3)),), {"key": (slice(None), 1)}, "empty_rows"))
    return cases


def np_getitem(x, key):
    """NumPy indexing with PyTorch's rule for ints mixed with index arrays: the ints are applied
    first, as basic indexing (NumPy would treat them as advanced indices)."""
    if not isinstance(key, tuple):
        key = (key,)
    is_int = [isinstance(k, int) and not isinstance(k, bool) for k in key]
    if any(is_int) and any(isinstance(k, np.ndarray) for k in key):
        x = x[tuple(slice(None) if isinstance(k, np.ndarray) else k for k in key)]
        key = tuple(k if isinstance(k, np.ndarray) or k is Ellipsis else slice(None)
                    for k, i in zip(key, is_int) if not i)
    return x[key]


add(spec("getitem", lambda m, x, key: x[key], np_getitem, _getitem_cases, gg=True))


def _index_put_cases(rng):
    return [
        Case((mk(rng, (4, 3)), mk(rng, (2, 3))), {"indices": (_I(2, 0),), "accumulate": False},
             "rows"),
        Case((mk(rng, (4, 3)), mk(rng, (4, 3))), {"indices": (_I(2, 0, 2, 2),), "accumulate": True},
             "rows_repeats_accumulate"),
        Case((mk(rng, (4, 3)), mk(rng, (3,))), {"indices": (_I(1, 3, 0), _I(2, 2, 0)),
                                                "accumulate": False}, "elements"),
        Case((mk(rng, (4, 3)), mk(rng, (3,))), {"indices": (_I(1, 1, 0), _I(2, 2, 0)),
                                                "accumulate": True}, "elements_repeats_accumulate"),
        Case((mk(rng, (4, 3), "T"), mk(rng, (1,))), {"indices": (_I(1, 2),), "accumulate": False},
             "broadcast_values_T"),
        Case((mk(rng, (2, 3)), mk(rng, (3,))), {"indices": (np.array([[True, False, True],
                                                                      [False, True, False]]),),
                                                "accumulate": False}, "bool_mask"),
        Case((mk(rng, (2, 3)), mk(rng, (3,))), {"indices": (np.array([True, False]),),
                                                "accumulate": True}, "bool_rows_accumulate"),
    ]


add(spec("index_put", lambda m, x, v, indices, accumulate: x.index_put(indices, v, accumulate),
         np_index_put, _index_put_cases, gg=True))


def _gather_cases(rng):
    return [Case((mk(rng, s, v),), {"dim": d, "index": idx}, label) for s, v, d, idx, label in
            (((3, 4), "c", 1, rng.integers(0, 4, (3, 5)), "dim1_repeats"),
             ((3, 4), "T", 0, rng.integers(0, 3, (2, 4)), "dim0_T"),
             ((3, 4), "c", -1, rng.integers(0, 4, (2, 2)), "smaller_index"),
             ((2, 3, 2), "s", 1, rng.integers(0, 3, (2, 4, 2)), "3d_strided"),
             ((3, 4), "c", 1, np.zeros((3, 0), np.int64), "empty_index"),
             ((4,), "c", 0, _I(3, 3, 0), "1d"))]


add(spec("gather", lambda m, x, dim, index: m.gather(x, dim, index), np_gather, _gather_cases,
         gg=True))


def _perm_rows(rng, rows, n, k):
    return np.stack([rng.permutation(n)[:k] for _ in range(rows)]).astype(np.int64)


def _scatter_cases(rng):
    return [
        Case((mk(rng, (3, 5)), mk(rng, (3, 2))), {"dim": 1, "index": _perm_rows(rng, 3, 5, 2)},
             "dim1"),
        Case((mk(rng, (4, 3), "T"), mk(rng, (3, 3))),
             {"dim": 0, "index": _perm_rows(rng, 3, 4, 3).T.copy()}, "dim0_T"),
        Case((mk(rng, (2, 4)), mk(rng, (2, 3), "s")),
             {"dim": -1, "index": _perm_rows(rng, 2, 4, 3)},
             "strided_src"),
        # src larger than index is allowed (only src[:index.shape] is read), but PyTorch's own
        # backward then fails ("ScatterBackward0 returned an invalid gradient"): no torch oracle
        Case((mk(rng, (3, 5)), mk(rng, (3, 4))), {"dim": 1, "index": _perm_rows(rng, 2, 5, 2)},
             "src_larger_than_index", torch=False),
        Case((mk(rng, (2, 4)), mk(rng, (2, 4), "s")),
             {"dim": -1, "index": _perm_rows(rng, 2, 4, 3)},
             "strided_src_larger", torch=False),
    ]


add(spec("scatter", lambda m, x, src, dim, index: x.scatter(dim, index, src),
         lambda x, src, dim, index: np_scatter(x, dim, index, src), _scatter_cases, gg=True))
add(spec("scatter_value", lambda m, x, dim, index: x.scatter(dim, index, 2.5),
         lambda x, dim, index: np_scatter(x, dim, index, 2.5),
         fixed((lambda r: (mk(r, (3, 5)),), {"dim": 1, "index": _perm_rows(np.random.default_rng(1),
                                                                             3, 5, 2)}, "dim1"))))


def _index_select_cases(rng):
    return [Case((mk(rng, s, v),), {"dim": d, "index": idx}, label) for s, v, d, idx, label in
            (((4, 3), "c", 0, _I(3, 0, 3), "dim0_repeats"), ((4, 3), "T", 1, _I(2, 1), "dim1_T"),
             ((4, 3), "c", -1, _I(), "empty"), ((5,), "s", 0, _I(4, 4, 1), "1d_strided"))]


add(spec("index_select", lambda m, x, dim, index: m.index_select(x, dim, index),
         lambda x, dim, index: np.take(x, index, axis=dim), _index_select_cases, gg=True))


def _masked_fill_cases(rng):
    cases = [Case((mk(rng, s, v),), {"mask": rng.random(ms) < 0.5, "value": val}, label)
            for s, v, ms, val, label in (((2, 3), "c", (2, 3), -1.5, "same"),
                                         ((2, 3), "T", (1, 3), 0.0, "broadcast_T"),
                                         ((2, 3, 2), "s", (2,), 3.0, "last_dim_mask"),
                                         ((0, 3), "c", (3,), 1.0, "empty"),
                                         ((2, 3), "c", (2, 3), float("-inf"), "neg_inf"))]
    cases[-1].fd = False  # x + eps - inf is nan: finite differences are meaningless there
    return cases


add(spec("masked_fill", lambda m, x, mask, value: x.masked_fill(mask, value),
         lambda x, mask, value: np.where(mask, value, x), _masked_fill_cases))

# softmax ---------------------------------------------------------------------------------------


def _softmax_cases(rng):
    cases = [Case((mk(rng, s, v),), {"dim": d}, f"{shp(s, v)}_dim{d}") for s, v, d in
             (((2, 3), "c", -1), ((2, 3), "T", 0), ((2, 3, 4), "s", 1), ((4,), "c", 0),
              ((2, 1), "c", 1), ((0, 3), "c", -1), ((), "c", 0))]
    cases.append(Case((In(np.array([[1000.0, 1001.0, -5.0], [-800.0, 2.0, 3.0]])),), {"dim": 1},
                      "large_magnitude"))
    cases.append(Case((mk(rng, BIG),), {"dim": -1}, "big", False))
    return cases


add(spec("softmax", lambda m, x, dim: m.softmax(x, dim), np_softmax, _softmax_cases, gg=True))
add(spec("log_softmax", lambda m, x, dim: m.log_softmax(x, dim),
         lambda x, dim: np.log(np_softmax(x, dim)) if x.size == 0 or np.abs(x).max() < 100 else
         (x - x.max(dim, keepdims=True)) - np.log(np.exp(x - x.max(dim, keepdims=True))
                                                   .sum(dim, keepdims=True)),
         _softmax_cases, gg=True))
add(spec("softmax_method", lambda m, x, dim: x.softmax(dim), np_softmax,
         lambda r: _softmax_cases(r)[:3]))

# issue 15: diag, einsum, repeat_interleave, meshgrid, unique -----------------------------------


def np_diag(x, diagonal=0):
    return np.diag(x, diagonal)


def _diag_cases(rng):
    # a vector onto a diagonal (main, above, below); the diagonal of square, wide, tall and
    # transposed / strided / flipped matrices, including one past the matrix (empty)
    return [Case((mk(rng, s, v),), {"diagonal": k}, f"{shp(s, v)}_k{k}") for s, v, k in
            (((4,), "c", 0), ((3,), "s", 2), ((3,), "f", -1), ((0,), "c", 1), ((4, 4), "c", 0),
             ((3, 5), "c", 1), ((5, 3), "T", -2), ((3, 4), "s", 2), ((3, 3), "f", -1),
             ((3, 4), "c", 7))]


add(spec("diag", lambda m, x, diagonal: m.diag(x, diagonal), np_diag, _diag_cases, gg=True))
add(spec("diag_method", lambda m, x, diagonal: x.diag(diagonal), np_diag,
         lambda r: _diag_cases(r)[:6]))

EINSUMS = [("ij,jk->ik", [(3, 4), (4, 5)], "cT"), ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)], "cs"),
           ("i,i->", [(5,), (5,)], "fc"), ("ij->j", [(3, 4)], "T"), ("ij->ji", [(3, 4)], "s"),
           ("ij,kl->ijkl", [(2, 3), (4, 2)], "cc"),
           ("...ij,jk->...ik", [(2, 3, 3, 4), (4, 2)], "cT"), ("ij,jk", [(3, 4), (4, 2)], "cc"),
           ("bhqd,bhkd->bhqk", [(2, 2, 3, 4), (2, 2, 5, 4)], "cs"),
           ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 2)], "ccc"),
           ("...i,...i->...", [(1, 3, 4), (2, 1, 4)], "cc"), ("ij,ij->i", [(3, 4), (1, 4)], "cc"),
           ("ijk->", [(2, 3, 4)], "f"), ("ij,j->i", [(3, 4), (4,)], "Tc")]


def _einsum_cases(rng):
    return [Case((eq, *(mk(rng, s, v) for s, v in zip(shapes, views))), {},
                 f"{eq.replace('...', 'E').replace(',', '_').replace('->', '_to_')}")
            for eq, shapes, views in EINSUMS]


add(spec("einsum", lambda m, eq, *xs: m.einsum(eq, *xs), lambda eq, *xs: np.einsum(eq, *xs),
         _einsum_cases, gg=True, diff=None))


def _repeat_interleave_cases(rng):
    return [Case((mk(rng, (3,)), 2), {}, "flat_int"),
            Case((mk(rng, (2, 3), "T"), 3), {"dim": 1}, "T_dim1"),
            Case((mk(rng, (3, 2), "s"), np.array([1, 0, 2])), {"dim": 0}, "s_counts"),
            Case((mk(rng, (2, 3)), np.array([2])), {"dim": -1}, "one_count"),
            Case((mk(rng, (2, 2), "f"), 2), {}, "f_flattened"),
            Case((mk(rng, (1, 3)), 2), {"dim": 0}, "one_row"),
            Case((mk(rng, (0, 3)), 2), {"dim": 0}, "empty")]


def np_repeat_interleave(x, repeats, dim=None):
    return np.repeat(x, repeats, axis=dim) if dim is not None else np.repeat(x.reshape(-1), repeats)


add(spec("repeat_interleave", lambda m, x, repeats, **kw: m.repeat_interleave(
    x, m.tensor(repeats) if isinstance(repeats, np.ndarray) else repeats, **kw),
    np_repeat_interleave, _repeat_interleave_cases, gg=True, diff=(0,)))
add(spec("repeat_interleave_method", lambda m, x, repeats, **kw: x.repeat_interleave(
    m.tensor(repeats) if isinstance(repeats, np.ndarray) else repeats, **kw),
    np_repeat_interleave, lambda r: _repeat_interleave_cases(r)[:4], diff=(0,)))


def _meshgrid_cases(rng):
    two = [Case((mk(rng, (3,)), mk(rng, (4,), "s")), {"indexing": ix}, f"two_{ix}")
           for ix in ("ij", "xy")]
    three = [Case((mk(rng, (2,), "f"), mk(rng, (3,)), mk(rng, (4,))), {"indexing": ix},
                  f"three_{ix}") for ix in ("ij", "xy")]
    return two + three + [Case((mk(rng, (3,)),), {"indexing": "ij"}, "one"),
                          Case((mk(rng, (0,)), mk(rng, (2,))), {"indexing": "xy"}, "empty")]


add(spec("meshgrid", lambda m, *xs, indexing: m.meshgrid(*xs, indexing=indexing),
         lambda *xs, indexing: np.meshgrid(*xs, indexing=indexing), _meshgrid_cases, gg=True))


def np_unique(x, return_inverse=False, return_counts=False, dim=None):
    values, inverse, counts = np.unique(x, return_inverse=True, return_counts=True, axis=dim)
    inverse = inverse.reshape(x.shape) if dim is None else inverse.reshape(-1)
    out = [values] + [inverse] * return_inverse + [counts] * return_counts
    return out[0] if len(out) == 1 else tuple(out)


def _unique_cases(rng):
    ints = In(rng.integers(-2, 3, size=(4, 5)).astype(np.int64))
    floats = In(np.round(rng.standard_normal((3, 4)) * 2), "T")
    rows = In(np.array([[1.0, 2.0], [0.5, 1.0], [1.0, 2.0]]))
    return [Case((ints,), {}, "int"), Case((ints,), {"return_inverse": True, "return_counts": True},
                                           "int_inverse_counts"),
            Case((floats,), {"return_inverse": True}, "float_T_inverse"),
            Case((In(np.zeros((0,))),), {"return_counts": True}, "empty"),
            Case((rows,), {"dim": 0, "return_inverse": True, "return_counts": True}, "rows")]


add(spec("unique", lambda m, x, **kw: m.unique(x, **kw), np_unique, _unique_cases,
         differentiable=False))
add(spec("unique_method", lambda m, x, **kw: x.unique(**kw), np_unique,
         lambda r: _unique_cases(r)[:3], differentiable=False))

SPEC_BY_NAME = {s.name: s for s in SPECS}

assert len(SPEC_BY_NAME) == len(SPECS), "duplicate OpSpec names"

# The PyTorch names each spec proves, and the specs run by tests/ops/test_ops.py only: the method
# twins and the ops added for API coverage (tests/op_parity.py, tests/op_specs_more.py; both
# import this module, which is complete up to here). They stay out of SPECS, which the in-place,
# forward-AD and device registries also sweep, until those classify them.
import op_specs_more  # noqa: E402, I001
import op_specs_named  # noqa: E402, F401
import op_parity  # noqa: E402

PARITY_ONLY = op_parity.install() + op_specs_more.MORE
for _s in PARITY_ONLY:
    assert _s.name not in SPEC_BY_NAME, f"duplicate OpSpec name {_s.name}"
    SPEC_BY_NAME[_s.name] = _s


def all_cases(specs=None):
    """(spec, case) pairs over the registry (or `specs`), in a stable order."""
    return list(itertools.chain.from_iterable(((s, c) for c in s.get_cases())
                                              for s in (SPECS if specs is None else specs)))


# -- a case as Axonal arguments (shared by tests/ops and tests/autograd) ------------------------

def _ax_array(a):
    return axonal.tensor(a) if isinstance(a, np.ndarray) else a


def convert_static(value, to_tensor):
    """Static keyword values: arrays (index tensors, masks) become tensors, recursively."""
    if isinstance(value, np.ndarray):
        return to_tensor(value)
    if isinstance(value, tuple):
        return tuple(convert_static(v, to_tensor) for v in value)
    return value


def ax_inputs(spec, case, dtype, requires_grad=True):
    """Axonal args (from_numpy keeps the non-contiguous views), the differentiable ones, kwargs."""
    diff = spec.diff_args(case) if requires_grad else ()
    args = []
    for i, a in enumerate(case.args):
        if isinstance(a, In):
            t = axonal.from_numpy(a.realize(dtype))
            if i in diff:
                t.requires_grad_(True)
            args.append(t)
        else:
            args.append(a)
    kwargs = {k: convert_static(v, _ax_array) for k, v in case.kwargs.items()}
    return args, [args[i] for i in diff], kwargs


def as_list(out):
    return list(out) if isinstance(out, (tuple, list)) else [out]


def as_function_of_diff_args(spec, case, dtype):
    """(fn, diff): the op as a function of its differentiable inputs only (the other arguments
    fixed), returning its floating outputs, and those inputs, for gradcheck / gradgradcheck."""
    args, diff, kwargs = ax_inputs(spec, case, dtype)
    idx = spec.diff_args(case)

    def fn(*xs):
        full = list(args)
        for i, x in zip(idx, xs):
            full[i] = x
        return tuple(o for o in as_list(spec.ax(*full, **kwargs)) if o.dtype.is_floating_point)

    return fn, diff
