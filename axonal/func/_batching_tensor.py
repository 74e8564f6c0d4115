"""The batched representation used by `vmap`.

A batched tensor is an ordinary `Tensor` whose raw array `_data` is a `_Guard`: a NumPy view of the
first sample of the physical array, so that every wrapper in `axonal/ops` that reads `x._data.shape`,
`.ndim`, `.dtype` or `.size` to normalise dims or check shapes sees the *logical* (per-sample)
metadata, exactly as the function body written for one sample expects. The guard carries

* `phys`  - the physical Tensor, batch dimension in front (dim 0), graph-free;
* `level` - the vmap level (`_vmap._Level`) that owns the batch dimension.

Values never flow through the guard silently: element-wise NumPy ufunc calls and `astype` are
computed on the physical arrays (so the comparisons, masks and casts that some wrappers do on raw
arrays stay batched); every other computation on the guard raises `Unbatchable`, which makes the
owning `vmap` rerun the function once per sample (the correct loop fallback). Ops themselves never
see a guard: the vmap level intercepts `Function.apply` and hands the physical arrays to a batching
rule (`_batching.py`).

The graph of a batched tensor (`_rg`, `_ctx`) is the *logical* graph: its nodes are `_vmap._Lift`
nodes whose backward differentiates the physical computation of one op (see `_vmap.py`).
"""
import numpy as np

from ..tensor import Tensor, constant


class Unbatchable(Exception):
    """Raised when a computation reads the values of a batched tensor outside a batching rule.

    The vmap call that owns `level` catches it and falls back to running the function per sample.
    """

    def __init__(self, level, what):
        self.level = level
        super().__init__(f"vmap: {what} on a batched tensor has no batching rule (and the tensor "
                         "is used outside the vmap that created it)")


# NumPy functions that only read metadata: run on the plain sample view (their result is unbatched
# and does not depend on the values, e.g. zeros_like, or is a view check as in Tensor.view).
_META_FUNCTIONS = {np.shape, np.ndim, np.size, np.result_type, np.zeros_like, np.ones_like,
                   np.empty_like, np.full_like, np.may_share_memory, np.shares_memory,
                   np.iscomplexobj, np.isrealobj, np.can_cast, np.min_scalar_type}


class _Guard(np.ndarray):
    """A logical-shape view of sample 0 that refuses to be computed with (see the module doc)."""

    phys = None
    level = None
    # an output of a recorded (logical-graph) call: writing into it in place needs the autograd's
    # in-place machinery to see through the lifted node, which it cannot: such writes refuse
    # (the whole function then runs per sample, where in-place ops are exact)
    recorded = False

    def __array_finalize__(self, obj):
        if obj is not None:
            self.phys = getattr(obj, "phys", None)
            self.level = getattr(obj, "level", None)
            self.recorded = getattr(obj, "recorded", False)

    def _refuse(self, what):
        raise Unbatchable(self.level, what)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if method != "__call__" or ufunc.signature is not None:
            guard = _innermost(inputs)
            raise Unbatchable(guard.level, f"numpy.{ufunc.__name__}.{method}")
        return _batched_ufunc(ufunc, inputs, kwargs)

    def __array_function__(self, func, types, args, kwargs):
        if func in _META_FUNCTIONS:
            return func(*_plain(args), **_plain(kwargs))
        if func is np.reshape and isinstance(args[0], _Guard):  # per sample (a view check too)
            a, shape = args[0], args[1] if len(args) > 1 else kwargs.pop("shape")
            shape = (shape,) if isinstance(shape, int) else tuple(shape)
            phys = a._phys("numpy.reshape")
            return make_guard(constant(np.reshape(phys, (phys.shape[0],) + shape, *args[2:],
                                                  **kwargs)), a.level)
        if func is np.broadcast_to and isinstance(args[0], _Guard):
            a, shape = args[0], args[1] if len(args) > 1 else kwargs.pop("shape")
            shape = (shape,) if isinstance(shape, int) else tuple(shape)
            phys = a._phys("numpy.broadcast_to")
            phys = phys.reshape(phys.shape[:1] + (1,) * (len(shape) - a.ndim) + phys.shape[1:])
            return make_guard(constant(np.broadcast_to(phys, (phys.shape[0],) + shape)), a.level)
        if func is np.where and len(args) == 3 and not kwargs:
            return _batched_ufunc(np.where, args, {})
        if func in _AXIS_FUNCTIONS:
            return _batched_axis_function(func, args, kwargs)
        guard = _innermost(args) or self
        raise Unbatchable(guard.level, f"numpy.{func.__name__}")

    def astype(self, dtype, order="K", casting="unsafe", subok=True, copy=True):
        phys = self.phys._data
        if type(phys) is not np.ndarray:
            self._refuse("astype")
        return make_guard(constant(phys.astype(dtype, copy=copy)), self.level)

    def __getitem__(self, key):
        """Basic indexing (ints, slices, None, ...) per sample; index arrays refuse."""
        parts = key if isinstance(key, tuple) else (key,)
        if not _is_basic(parts):
            self._refuse("indexing the raw array with arrays")
        phys = self._phys("indexing the raw array")
        return make_guard(constant(np.asarray(phys[(slice(None),) + parts])), self.level)

    def __setitem__(self, key, value):
        """Basic-index writes per sample into the physical array (an in-place op on a batched
        tensor writes its physical storage, as in PyTorch); the value broadcasts per sample."""
        parts = key if isinstance(key, tuple) else (key,)
        if not _is_basic(parts) or self.recorded:
            self._refuse("writing into the raw array (index arrays, or a tensor in the graph)")
        phys = self._phys("writing into the raw array")
        if isinstance(value, _Guard):
            if value.level is not self.level or type(value.phys._data) is not np.ndarray:
                self._refuse("writing a batched value of another vmap level")
            v = value.phys._data
            target_nd = phys[(slice(None),) + parts].ndim - 1
            value = v.reshape(v.shape[:1] + (1,) * (target_nd - v.ndim + 1) + v.shape[1:])
        phys[(slice(None),) + parts] = value

    def _common(self, what):
        """The one value of a single-element guard when every sample has it (a check that passes
        for the whole batch, a constant): the per-sample program would see that same value. When
        the samples differ, the control flow depends on the sample: refuse (loop fallback)."""
        phys = self.phys._data
        if self.size != 1 or type(phys) is not np.ndarray or phys.shape[0] == 0:
            self._refuse(what)
        flat = phys.reshape(phys.shape[0])
        if not (flat == flat[0]).all():
            self._refuse(what)
        return flat[0].item()

    def __bool__(self):
        return bool(self._common("bool()"))

    def __float__(self):
        return float(self._common("float()"))

    def __int__(self):
        return int(self._common("int()"))

    def __index__(self):
        if self.dtype.kind not in "iu":
            raise TypeError("only integer arrays can be used as an index")
        return int(self._common("index()"))

    def item(self, *args):
        if args:
            self._refuse(".item(index)")
        return self._common(".item()")

    def _method(name):
        def refuse(self, *args, **kwargs):
            self._refuse(f"ndarray.{name}")
        refuse.__name__ = name
        return refuse

    def _phys(self, what):
        phys = self.phys._data
        if type(phys) is not np.ndarray:
            self._refuse(what)
        return phys

    def reshape(self, *shape, order="C"):
        """Per-sample reshape (-1 resolved per sample)."""
        phys = self._phys("ndarray.reshape")
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = shape[0]
        shape = (shape,) if isinstance(shape, int) else tuple(shape)
        return make_guard(constant(phys.reshape((phys.shape[0],) + shape, order=order)),
                          self.level)

    def ravel(self, order="C"):
        return self.reshape(-1, order=order)

    def flatten(self, order="C"):
        return self.reshape(-1, order=order).copy()

    def copy(self, order="C"):
        return make_guard(constant(self._phys("ndarray.copy").copy(order=order)), self.level)

    def transpose(self, *axes):
        phys = self._phys("ndarray.transpose")
        if len(axes) == 1 and (axes[0] is None or isinstance(axes[0], (tuple, list))):
            axes = axes[0]
        axes = tuple(range(self.ndim))[::-1] if not axes else tuple(axes)
        perm = (0,) + tuple(int(a) % self.ndim + 1 for a in axes)
        return make_guard(constant(phys.transpose(perm)), self.level)

    for _name in ("__iter__", "__reduce__", "tolist", "tobytes", "swapaxes", "squeeze",
                  "take", "put", "repeat", "fill", "sort", "argsort", "argmax", "argmin",
                  "nonzero", "searchsorted", "diagonal", "trace", "dot", "view", "choose",
                  "compress", "partition", "argpartition", "resize", "round", "clip", "cumsum",
                  "cumprod", "ptp", "conj", "byteswap", "tofile", "dump", "dumps", "getfield",
                  "setfield"):
        locals()[_name] = _method(_name)

    def _reduction(name):
        def reduce(self, axis=None, dtype=None, out=None, keepdims=False, **kwargs):
            """The reduction per sample: logical axes shifted past the batch dim."""
            phys = self.phys._data
            if out is not None or type(phys) is not np.ndarray:
                self._refuse(f"ndarray.{name}")
            nd = self.ndim
            axes = tuple(range(nd)) if axis is None else \
                (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
            axes = tuple(int(a) % max(nd, 1) + 1 for a in axes)
            if dtype is not None:
                kwargs["dtype"] = dtype
            res = getattr(np.ndarray, name)(phys, axis=axes, keepdims=keepdims, **kwargs)
            return make_guard(constant(np.asarray(res)), self.level)
        reduce.__name__ = name
        return reduce

    for _name in ("sum", "prod", "mean", "std", "var", "max", "min", "any", "all"):
        locals()[_name] = _reduction(_name)
    del _name, _method, _reduction

    @property
    def T(self):
        self._refuse("ndarray.T")


def _is_basic(parts):
    """Whether an index key (a tuple) is basic: ints, slices, None and Ellipsis only."""
    return all(k is None or k is Ellipsis or isinstance(k, (int, np.integer, slice))
               and not isinstance(k, (bool, np.bool_)) for k in parts)


def _plain(obj):
    """Replace guards by plain ndarray views of their sample (for metadata-only functions)."""
    if isinstance(obj, _Guard):
        return np.ndarray.view(obj, np.ndarray)
    if isinstance(obj, (list, tuple)):
        return type(obj)(_plain(o) for o in obj)
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    return obj


def _innermost(objs):
    """The guard of the innermost vmap level among `objs` (nested in lists/tuples), or None."""
    best = None
    for o in objs:
        if isinstance(o, (list, tuple)):
            o = _innermost(o)
        if isinstance(o, _Guard) and (best is None or o.level.depth > best.level.depth):
            best = o
    return best


def _batched_ufunc(ufunc, inputs, kwargs):
    """An element-wise ufunc on guards: computed on the physical arrays of the innermost level,
    each operand's logical dims right-aligned (1s inserted after the batch dim), then re-guarded."""
    out_guards = kwargs.pop("out", None)
    out_guards = (out_guards,) if isinstance(out_guards, np.ndarray) else out_guards
    guard = _innermost(tuple(inputs) + tuple(out_guards or ()))
    level = guard.level
    ours = [isinstance(x, _Guard) and x.level is level for x in inputs]
    raws = [x.phys._data if o else x for x, o in zip(inputs, ours)]
    if any(o and type(r) is not np.ndarray for r, o in zip(raws, ours)):
        raise Unbatchable(level, f"numpy.{ufunc.__name__} (nested vmap on raw arrays)")
    n = max(np.ndim(x) for x in inputs)  # logical ndims: the guards report them
    if out_guards is not None:  # in place (x.add_(y)): into the physical storage of the output
        if not all(isinstance(o, _Guard) and o.level is level and not o.recorded and
                   type(o.phys._data) is np.ndarray for o in out_guards):
            raise Unbatchable(level, f"numpy.{ufunc.__name__} into an unbatched array")
        n = max(n, *(o.ndim for o in out_guards))
        kwargs["out"] = tuple(o.phys._data for o in out_guards)
    raws = [r.reshape(r.shape[:1] + (1,) * (n - r.ndim + 1) + r.shape[1:]) if o else r
            for r, o in zip(raws, ours)]
    out = ufunc(*raws, **kwargs)
    if out_guards is not None:
        return out_guards if len(out_guards) > 1 else out_guards[0]
    if isinstance(out, tuple):
        return tuple(make_guard(constant(o), level) for o in out)
    return make_guard(constant(np.asarray(out)), level)


def _on_root(a):
    """The guard of sample 0 of `a`, made directly on the array that owns a's memory, so that its
    `.base` is that owner - the storage identity that views and version counters go by (a view
    of a subclass view would keep the intermediate array as its base). None when a's memory is not
    owned by an ndarray."""
    root = a if a.base is None else a.base
    if type(root) is not np.ndarray or not (root.flags.c_contiguous or root.flags.f_contiguous):
        return None
    offset = a.__array_interface__["data"][0] - root.__array_interface__["data"][0]
    try:
        return np.ndarray.__new__(_Guard, a.shape[1:], a.dtype, buffer=root, offset=offset,
                                  strides=a.strides[1:])
    except (TypeError, ValueError):
        return None


def _sample(base, i):
    """Sample i of a plain array as a 0-d-safe view (an int index would give a NumPy scalar)."""
    base = np.ndarray.view(base, np.ndarray)
    return np.ndarray.__getitem__(base, slice(i, i + 1)).reshape(base.shape[1:])


# NumPy functions along one `axis` (positional index of the axis argument): batched by shifting the
# axis past the batch dim (axis=None, "flattened", flattens each sample).
_AXIS_FUNCTIONS = {np.argmax: 1, np.argmin: 1, np.argsort: 1, np.sort: 1, np.cumsum: 1,
                   np.cumprod: 1, np.take_along_axis: 2}


def _batched_axis_function(func, args, kwargs):
    guard = _innermost(args)
    level, pos = guard.level, _AXIS_FUNCTIONS[func]
    args = list(args)
    if len(args) > pos:
        axis = args.pop(pos)
    else:
        axis = kwargs.pop("axis", -1 if func in (np.argsort, np.sort) else None)
    n_arrays = 2 if func is np.take_along_axis else 1
    raws = []
    for a in args[:n_arrays]:
        if isinstance(a, _Guard) and a.level is level and type(a.phys._data) is np.ndarray:
            raws.append(a.phys._data)
        elif isinstance(a, _Guard):
            raise Unbatchable(level, f"numpy.{func.__name__} (nested vmap on raw arrays)")
        else:  # an unbatched operand: the same for every sample
            a = np.asarray(a)
            raws.append(np.broadcast_to(a, (level.size,) + a.shape))
    nd = guard.ndim
    if axis is None:
        raws = [r.reshape(r.shape[0], -1) for r in raws]
        axis = 1
    else:
        axis = int(axis) % max(nd, 1) + 1
    out = func(*raws, *args[n_arrays:], axis=axis, **kwargs)
    return make_guard(constant(np.asarray(out)), level)


def make_guard(phys, level):
    """The guard of the physical Tensor `phys` (batch dim 0) at `level`."""
    raw = phys._data
    if not isinstance(raw, np.ndarray):
        raise NotImplementedError("vmap: only NumPy (CPU) tensors are supported so far, got a "
                                  f"{type(raw).__module__}.{type(raw).__name__} array")
    base = np.ndarray.view(raw, np.ndarray) if isinstance(raw, _Guard) else raw
    if base.ndim == 0:
        raise ValueError("vmap: internal error: a physical value without a batch dimension")
    g = _on_root(base) if base.shape[0] and not isinstance(raw, _Guard) else None
    if g is None:
        sample = _sample(base, 0) if base.shape[0] else np.zeros(base.shape[1:], base.dtype)
        g = np.ndarray.view(sample, _Guard)
    g.phys = phys
    g.level = level
    return g


def batched(phys, level):
    """A graph-free batched Tensor whose physical value is `phys` (batch dim 0)."""
    return constant(make_guard(phys, level))


def level_of(t):
    """The vmap level owning `t`'s batch dim (the innermost one), or None for an unbatched value."""
    if isinstance(t, Tensor):
        raw = t._data
        if type(raw) is _Guard:
            return raw.level
    return None


def has_guard(obj, level):
    """Whether a non-Tensor argument (an index key, a nested tuple) holds a raw guard of `level`."""
    if isinstance(obj, _Guard):
        return obj.level is level
    if isinstance(obj, (list, tuple)):
        return any(has_guard(o, level) for o in obj)
    return False


def select_raw(obj, i, level):
    """`obj` with each raw guard of `level` replaced by its sample i (for the per-op loop)."""
    if isinstance(obj, _Guard) and obj.level is level:
        raw = obj.phys._data
        return _sample(raw, i) if not isinstance(raw, _Guard) else make_guard_sample(raw, i)
    if isinstance(obj, (list, tuple)) and has_guard(obj, level):
        return type(obj)(select_raw(o, i, level) for o in obj)
    return obj


def make_guard_sample(raw, i):
    """Sample i of a raw array that is itself an outer level's guard: an outer guard again."""
    phys = raw.phys
    return make_guard(constant(np.ndarray.__getitem__(np.ndarray.view(phys._data, np.ndarray),
                                                      (slice(None), i))), raw.level)
