"""Forward-mode automatic differentiation with dual tensors (PyTorch's `torch.autograd.forward_ad`).

Inside `with dual_level():`, `make_dual(x, t)` gives a tensor that carries a tangent t (a
direction dx) next to its value. Every op computes the tangent of its output IN the forward pass,
from its `jvp` rule - the Jacobian-vector product dy = J dx, with no backward pass at all:

    with dual_level():
        y = f(make_dual(x, v))
        value, jvp = unpack_dual(y)        # f(x) and J_f(x) @ v

How it runs: a dual level pushes a transform layer (`_config._state.layers`); while one is active,
`Function.apply(cls, ...)` hands each op call to the innermost layer (see
`autograd.function._through_layers`). The layer runs the op (its forward and, if needed, the reverse
graph recording, as usual) and then `cls.jvp(ctx, *input_tangents)` on the same ctx. Tangents live
in the tensor's instance `__dict__` under `_fw_grads`, keyed by level, so ordinary tensors pay
nothing. Several levels nest (what `axonal.func.jvp` inside `jacfwd` needs): a level's jvp rule runs
while the outer levels are still active, so its tangent gets their tangents too (forward over
forward). The public `dual_level` refuses to nest, as PyTorch does.

The rule contract (PyTorch's custom `Function.jvp`): `jvp(ctx, *tangents)` gets one tangent per
forward argument and returns one tangent per output. User-defined Functions receive zeros for tensor
inputs without a tangent (and None for non-tensors), as in PyTorch, and read `ctx.saved_tensors` as
saved by `ctx.save_for_forward`. Axonal's own ops (modules `axonal.*`) receive None for a missing
tangent and may read the forward's arguments and outputs with `jvp_inputs` / `jvp_output`; an op
linear in its tensor arguments uses `linear_jvp` (the op applied to the tangents), an op whose
kernel can be recomputed with ops uses `jvp_by_ops`. The rules live beside the ops' families, in
`ops/_jvp.py` and `nn/functional/_jvp.py` (this module may not import ops).

Limits: a transform layer that is not forward AD (vmap) below a dual level is refused when a
tangent reaches an op; in-place writes bypass `Function.apply`, so they must hand the result's
tangent to the written tensor with `after_inplace` (and, for a view, the base's tangent must follow).
"""
import threading
import weakref
from collections import namedtuple

from .. import _config
from ..backend import xp_of
from ..tensor import Tensor, constant
from .function import Function

__all__ = ["UnpackedDualTensor", "dual_level", "enter_dual_level", "exit_dual_level", "make_dual",
           "unpack_dual"]

UnpackedDualTensor = namedtuple("UnpackedDualTensor", ["primal", "tangent"])
_KEY = "_fw_grads"  # in a Tensor's instance __dict__: {level: tangent}


class _Level:
    """One active forward-AD level: its layer and the tensors given a tangent at it (weakly), so
    that leaving the level strips those tangents (a dual tensor is plain again after the level)."""

    __slots__ = ("index", "layer", "public", "tensors")

    def __init__(self, index, public):
        self.index, self.public, self.tensors = index, public, []


class _PerThread(threading.local):
    def __init__(self):
        self.levels = []  # active levels, innermost last
        self.ctx = None  # the ctx of the op call a forward-AD layer below just ran


_local = _PerThread()


# -- levels ------------------------------------------------------------------------------------
def _enter(public):
    level = _Level(len(_local.levels), public)
    level.layer = _make_layer(level)
    _local.levels.append(level)
    _config._state.layers = (*_config._state.layers, level.layer)
    return level


def _exit(level):
    state = _config._state
    state.layers = tuple(la for la in state.layers if la is not level.layer)
    _local.levels.remove(level)
    for ref in level.tensors:
        t = ref()
        if t is not None:
            grads = t.__dict__.get(_KEY)
            if grads:
                grads.pop(level, None)
    level.tensors = []


def _public_levels():
    return [lv for lv in _local.levels if lv.public]


def enter_dual_level():
    """Start a forward-AD level and return its index (0). Levels do not nest (as in PyTorch)."""
    if _public_levels():
        raise RuntimeError("Nested forward mode AD is not supported at the moment")
    return _enter(True).index


def exit_dual_level(*, level=None):
    """End the current forward-AD level; its dual tensors lose their tangents."""
    levels = _public_levels()
    if not levels:
        raise RuntimeError("Trying to exit a forward AD level but no level is active")
    current = levels[-1]
    if level is not None and level != current.index:
        raise RuntimeError("Trying to exit a forward AD level that was not the last one that was "
                           "created. This is not supported.")
    _exit(current)


class dual_level:
    """Context manager for a forward-AD level: `with dual_level(): ...` (returns the level index)."""

    def __enter__(self):
        self._level = enter_dual_level()
        return self._level

    def __exit__(self, *exc):
        exit_dual_level(level=self._level)
        return False


def _resolve(level, op):
    levels = _public_levels()
    if level is None:
        if not levels:
            if op == "make_dual":
                raise RuntimeError("Trying to create a dual Tensor for forward AD but no level "
                                   "exists, make sure to enter_dual_level() first.")
            return None
        return levels[-1]
    for lv in levels:
        if lv.index == level:
            return lv
    raise RuntimeError(f"{op}: forward AD level {level} is not active")


# -- dual tensors --------------------------------------------------------------------------------
def _tangent(t, level):
    grads = t.__dict__.get(_KEY)
    return grads.get(level) if grads else None


def _set_tangent(t, level, tangent):
    grads = t.__dict__.get(_KEY)
    if grads is None:
        grads = t.__dict__[_KEY] = {}
    grads[level] = tangent
    level.tensors.append(weakref.ref(t))


class _Alias(Function):
    """A new Tensor on the same array, differentiable (make_dual's and unpack_dual's view)."""

    @staticmethod
    def forward(ctx, x):
        return x._data

    @staticmethod
    def backward(ctx, g):
        return g

    @staticmethod
    def jvp(ctx, t):
        return t


def _make_dual(tensor, tangent, level):
    if not isinstance(tensor, Tensor) or not isinstance(tangent, Tensor):
        raise TypeError(f"make_dual: expected Tensors, got {type(tensor).__name__} and "
                        f"{type(tangent).__name__}")
    if tensor._data.dtype.kind not in "fV":
        raise ValueError(f"Expected primal to be floating point or complex, but got: {tensor.dtype}")
    if tuple(tangent.shape) != tuple(tensor.shape):
        raise RuntimeError("Trying to set a forward gradient that has a different size than that "
                           f"of the original Tensor, this is not supported. Tensor is of size "
                           f"{list(tensor.shape)} while the given forward gradient is of size "
                           f"{list(tangent.shape)}.")
    dual = _Alias.apply(tensor)
    _set_tangent(dual, level, tangent)
    return dual


def make_dual(tensor, tangent, *, level=None):
    """A tensor with the value of `tensor` (a differentiable view) carrying `tangent` at `level`."""
    return _make_dual(tensor, tangent, _resolve(level, "make_dual"))


def _unpack(tensor, level):
    t = _tangent(tensor, level) if level is not None and isinstance(tensor, Tensor) else None
    if t is None:
        return UnpackedDualTensor(tensor, None)
    primal = _Alias.apply(tensor)  # through the active layers: outer levels keep their tangents
    primal.__dict__.get(_KEY, {}).pop(level, None)
    return UnpackedDualTensor(primal, t)


def unpack_dual(tensor, *, level=None):
    """(primal, tangent) of a dual tensor; the tangent is None outside a level or for a plain
    tensor. Returns the namedtuple `UnpackedDualTensor`."""
    return _unpack(tensor, _resolve(level, "unpack_dual"))


# -- the layer: every op call at an active level comes here -----------------------------------
def _zeros_like(t):
    return constant(xp_of(t._data).zeros_like(t._data))


def _check_nested(cls, seq, level):
    for a in seq:
        if isinstance(a, Tensor) and _tangent(a, level) is not None:
            raise NotImplementedError(f"forward AD: {cls.__name__} got a dual tensor inside a list "
                                      "or keyword argument, which its jvp rule cannot see")


def _make_layer(level):
    def layer(cls, args, kwargs):
        tangents, any_t = [], False
        for a in args:
            t = None
            if isinstance(a, Tensor):
                grads = a.__dict__.get(_KEY)
                if grads:
                    t = grads.get(level)
                    any_t = any_t or t is not None
            elif type(a) in (list, tuple):
                _check_nested(cls, a, level)
            tangents.append(t)
        if kwargs:
            _check_nested(cls, kwargs.values(), level)
        below = _config._state.layers  # this layer is popped while it runs
        if any_t and getattr(cls, "jvp", None) is None:
            raise NotImplementedError(f"forward AD: {cls.__name__} has no jvp rule")
        if not below:
            result, ctx = cls._apply_with_ctx(*args, **kwargs)
        elif all(getattr(la, "_fw_level", None) is not None for la in below):
            _local.ctx = None
            result = cls.apply(*args, **kwargs)  # the levels below run it and report the ctx
            ctx = _local.ctx
            if ctx is None and any_t:
                raise RuntimeError(f"forward AD: {cls.__name__} ran without reporting its ctx")
        elif any_t:
            raise NotImplementedError(f"forward AD: {cls.__name__} under another transform "
                                      "(vmap) inside a dual level is not supported")
        else:
            return cls.apply(*args, **kwargs)
        if any_t:
            _run_rule(cls, ctx, args, kwargs, tangents, result, level)
        _local.ctx = ctx
        return result

    layer._fw_level = level
    return layer


def _run_rule(cls, ctx, args, kwargs, tangents, result, level):
    outs = result if type(result) is tuple else (result,)
    if not cls.__module__.startswith("axonal."):  # PyTorch's contract: zeros, not None
        tangents = [_zeros_like(a) if t is None and isinstance(a, Tensor) else t
                    for a, t in zip(args, tangents)]
    d = ctx.__dict__
    d["_fw_args"], d["_fw_kwargs"], d["_fw_outs"] = args, kwargs, outs
    d.setdefault("_freed", False)
    fw_saved = d.get("_fw_saved")
    if fw_saved is not None:
        bw_saved, ctx.saved = ctx.saved, fw_saved
    try:
        out_t = cls.jvp(ctx, *tangents)
    finally:
        if fw_saved is not None:
            ctx.saved = bw_saved
        for k in ("_fw_args", "_fw_kwargs", "_fw_outs"):
            d.pop(k, None)
    if type(out_t) is not tuple:
        out_t = (out_t,)
    if len(out_t) != len(outs):
        raise RuntimeError(f"forward AD: {cls.__name__}.jvp returned {len(out_t)} tangents for "
                           f"{len(outs)} outputs")
    for o, t in zip(outs, out_t):
        if t is None or not isinstance(o, Tensor) or o._data.dtype.kind not in "fV":
            continue
        if not isinstance(t, Tensor):
            t = constant(xp_of(o._data).asarray(t))
        if t._data.shape != o._data.shape:
            raise RuntimeError(f"forward AD: {cls.__name__}.jvp returned a tangent of shape "
                               f"{tuple(t.shape)} for an output of shape {tuple(o.shape)}")
        if t._data.dtype != o._data.dtype:
            t = t.to(o.dtype)
        _set_tangent(o, level, t)
    if ctx.save_output and "_out_data" in d:  # ctx.output() in a recorded backward: same tangents
        d["_fw_out"] = [o.__dict__.get(_KEY) if isinstance(o, Tensor) else None for o in outs]


# -- helpers for the jvp rules of Axonal's ops ----------------------------------------------------
def jvp_inputs(ctx):
    """The positional arguments the op's forward received (inside a jvp rule)."""
    return ctx._fw_args


def jvp_output(ctx, index=0):
    """Output `index` of the op (inside a jvp rule), attached to the graph as the caller saw it."""
    return ctx._fw_outs[index]


def linear_jvp(ctx, *tangents):
    """The jvp of an op that is linear in its floating tensor arguments: the op itself, applied to
    the tangents (zeros for inputs without one) with the other arguments unchanged."""
    if all(t is None for t in tangents):
        return None
    args = [(t if t is not None else _zeros_like(a))
            if isinstance(a, Tensor) and a._data.dtype.kind in "fV" else a
            for a, t in zip(ctx._fw_args, tangents)]
    return type(ctx).apply(*args, **ctx._fw_kwargs)


linear_jvp = staticmethod(linear_jvp)


def after_inplace(target, result):
    """For in-place ops (which write `result`'s values into `target` outside `Function.apply`):
    `target` takes `result`'s tangents at every active level (and loses those `result` lacks), as
    its value did. Call it right after the write; a no-op when no level is active."""
    if not _local.levels:
        return
    grads = result.__dict__.get(_KEY) or {}
    mine = target.__dict__.get(_KEY)
    for level in _local.levels:
        t = grads.get(level)
        if t is not None:
            _set_tangent(target, level, t)
        elif mine:
            mine.pop(level, None)


def jvp_by_ops(fn, primals, tangents):
    """The tangents of fn(*primals) (a tuple; None entries allowed) in the direction `tangents`,
    by running `fn` - the op recomputed with differentiable ops that have rules - at a private
    level. For an op whose forward is a fused kernel (the recurrence): its jvp without a formula
    of its own. The outer levels stay active, so the tangents carry their tangents too."""
    level = _enter(False)
    try:
        duals = [_make_dual(p, t, level) if p is not None and t is not None else p
                 for p, t in zip(primals, tangents)]
        outs = fn(*duals)
        return tuple(None if o is None else _unpack(o, level).tangent for o in outs)
    finally:
        _exit(level)


def active():
    """Whether a dual level is active in this thread (in-place ops then carry tangents along)."""
    return bool(_local.levels)


def has_tangent(t):
    """Whether `t` carries a tangent at an active level."""
    return bool(_local.levels) and bool(t.__dict__.get(_KEY))
