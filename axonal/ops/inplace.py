"""In-place operations, differentiable and checked as PyTorch's.

`x.op_(...)` computes `op(x, ...)` and writes the result into x's own memory (its `data_ptr()` does
not change, and every view of x sees the new values), then x takes the result's place in the graph:
its `grad_fn` becomes the op's node, whose input is x as it was before. Three things make that safe:

* the op's node may have saved x's memory for its own backward (`x.mul_(y)` needs the old x for
  dL/dy); before the write it gets a private copy (`autograd.versions.shield`);
* x's version counter moves, so any other node that saved x's memory refuses to run backward
  (PyTorch's "modified by an inplace operation" error) instead of using the new values;
* if x is a view, the write changed its base too. The base's new value is "old base with the view's
  region replaced" (PyTorch's CopySlices): dL/d old_base is the gradient with that region zeroed,
  dL/d new_region is the gradient read at the region. The view then reads its grad_fn from the new
  base, and so do the base's other views, rebuilt when next used (`_storage.fresh`).

The region of a view inside its base is described by `positions`: for every element of the view, its
flat (row-major) index in the base, found from the arrays' addresses and strides.
"""
import warnings

import numpy as np

from .. import _storage, backend
from .._errors import DTypeError, GraphError, ShapeError
from ..autograd import forward_ad, versions
from ..autograd.function import Function
from ..autograd.versions import inplace_check
from ..tensor import Tensor, constant, version_counter
from .indexing import GetItem, IndexAddZeros
from .shape import sum_to


def positions(base, view):
    """Flat row-major indices into `base` (an array) of each element of `view` (an array whose
    memory lies inside base's), shaped like `view`."""
    xp = backend.xp_of(base)
    item = base.itemsize
    start = (backend.data_ptr(view) - backend.data_ptr(base)) // item
    if base.flags.c_contiguous:
        idx = xp.full(view.shape, start, dtype=np.int64)
        for d, (n, s) in enumerate(zip(view.shape, view.strides)):
            shape = [1] * view.ndim
            shape[d] = n
            idx = idx + (xp.arange(n, dtype=np.int64) * (s // item)).reshape(shape)
        return idx
    # a strided base: label its memory with its logical indices, then read the labels through the
    # view's strides (the span may start before base's first element when strides are negative)
    lo = sum(min(0, (n - 1) * s) for n, s in zip(base.shape, base.strides)) // item
    hi = sum(max(0, (n - 1) * s) for n, s in zip(base.shape, base.strides)) // item
    labels = xp.full(hi - lo + 1, -1, dtype=np.int64)
    strided = xp.lib.stride_tricks.as_strided
    scale = labels.itemsize // item if labels.itemsize >= item else 1
    inside = strided(labels[-lo:], base.shape, tuple(s * scale for s in base.strides))
    inside[...] = xp.arange(base.size, dtype=np.int64).reshape(base.shape)
    return strided(labels[start - lo:], view.shape, tuple(s * scale for s in view.strides)).copy()


class CopySlices(Function):
    """The base after a write into one of its views: old base outside the region, `region` inside.
    Forward returns the base's own array, which the write has already updated."""
    _node_name = "CopySlices"  # PyTorch's name for this node

    @staticmethod
    def forward(ctx, base, region, pos, array, overlapping=False):
        ctx.save(pos=pos.reshape(-1), shape=region.shape, overlapping=overlapping)
        return array

    @staticmethod
    def backward(ctx, g):
        if ctx.overlapping:  # a fill of an expanded view: PyTorch's CopySlices refuses here
            raise GraphError(OVERLAPPING)
        flat = g.reshape(-1)
        g_base = g_region = None
        if ctx.needs_input_grad[0]:
            mask = backend.xp_of(g._data).ones(flat.shape, dtype=g._data.dtype)
            mask[ctx.pos] = 0
            g_base = g * constant(mask.reshape(g.shape))
        if ctx.needs_input_grad[1]:
            g_region = GetItem.apply(flat, (ctx.pos,), False).reshape(ctx.shape)
        return g_base, g_region, None, None, None


class ViewOf(Function):
    """A view read out of its (rewritten) base: the view's array, gradient added at `pos`."""
    _node_name = "AsStridedBackward0"  # PyTorch's name for this node

    @staticmethod
    def forward(ctx, base, pos, array):
        ctx.save(pos=pos.reshape(-1))
        return array

    @staticmethod
    def backward(ctx, g):
        shape = ctx._in_meta[0][0]
        n = int(np.prod(shape))
        return IndexAddZeros.apply(g.reshape(-1), (ctx.pos,), False, (n,)).reshape(shape), None, None


class Overwrite(Function):
    """New values for a tensor whose old values are gone (fill_, copy_, random fills, eq_ ...): the
    old tensor gets a zero gradient; `src` (broadcast to its shape) gets the summed gradient; the
    `others` (the operands of an op without a derivative: eq_(y), div_(y, rounding_mode=...)) get
    zeros, as PyTorch's formula for them is zero (not None)."""
    _node_name = "FillBackward1"  # PyTorch's name for this node

    @staticmethod
    def forward(ctx, old, src, *others):
        ctx.save(src_shape=np.shape(src._data) if isinstance(src, Tensor) else None)
        return _values(old, src).copy()

    @staticmethod
    def backward(ctx, g):
        need = ctx.needs_input_grad
        xp = backend.xp_of(g._data)
        g_old = g_src = None
        if need[0]:  # zeros, as PyTorch's (not None): the old values had an effect
            g_old = constant(xp.zeros_like(g._data))
        if need[1]:
            g_src = sum_to(g, ctx.src_shape)
        rest = [constant(xp.zeros(meta[0], meta[1])) if n else None
                for n, meta in zip(need[2:], ctx._in_meta[2:])]
        return (g_old, g_src, *rest)


def refresh(view):
    """Rebuild `view`'s grad_fn from its base's current one (after an in-place op on the base)."""
    base = view._base
    vc = version_counter(view)
    versions.multi_view_rebased(view)
    if base._rg or forward_ad.has_tangent(base):
        t = ViewOf.apply(base, positions(base._data, view._data), view._data)
        forward_ad.after_inplace(view, t)
        if t._ctx is not None:
            view._ctx, view._idx, view._rg = t._ctx, 0, True
    view.__dict__["_vg"] = vc[1]


_storage.refresh_view[0] = refresh

_KIND = {"b": 0, "u": 1, "i": 1, "f": 2, "c": 3}


def write(self, values, op):
    """self's memory <- values (an array), with PyTorch's shape and dtype rules."""
    arr = self._data
    if values.shape != arr.shape:
        raise ShapeError(f"{op}: output with shape {list(arr.shape)} doesn't match the broadcast "
                         f"shape {list(np.broadcast_shapes(values.shape, arr.shape))}"
                         if _broadcastable(values.shape, arr.shape) else
                         f"{op}: the result of shape {tuple(values.shape)} cannot be written into "
                         f"a tensor of shape {tuple(arr.shape)}")
    if _KIND[values.dtype.kind] > _KIND[arr.dtype.kind]:
        raise DTypeError(f"{op}: result type {_torch_name(values.dtype)} can't be cast to the "
                         f"desired output type {_torch_name(arr.dtype)}")
    if values is not arr:
        arr[...] = values


def _broadcastable(a, b):
    try:
        np.broadcast_shapes(a, b)
        return True
    except ValueError:
        return False


def _torch_name(dtype):
    return {"float32": "Float", "float64": "Double", "float16": "Half", "int64": "Long",
            "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte",
            "bool": "Bool"}.get(str(dtype), str(dtype))


def _overlapping(arr):
    """Whether two elements of `arr` share memory (a broadcast: a stride 0 over a size > 1)."""
    return arr.size > 1 and any(s == 0 and n > 1 for n, s in zip(arr.shape, arr.strides))


ALIASED = ("unsupported operation: some elements of the input tensor and the written-to tensor "
           "refer to a single memory location. Please clone() the tensor before performing the "
           "operation.")
# in-place ops that PyTorch does not differentiate at all (its DONT_REQUIRE_DERIVATIVE list): on a
# tensor in the graph they change the values and leave the grad_fn as it was
_UNTRACKED = frozenset(("logical_not_", "logical_and_", "logical_or_", "logical_xor_"))
# ops whose tensor operand is read as a number (or not through TensorIterator): PyTorch does not check
_NO_ALIAS_CHECK = frozenset(("fill_", "masked_fill_", "index_fill_", "masked_scatter_"))


def _dense(arr):
    """PyTorch's is_non_overlapping_and_dense: the elements fill one block of memory exactly."""
    expected = arr.itemsize
    for s, n in sorted((s, n) for n, s in zip(arr.shape, arr.strides) if n != 1):
        if s != expected:
            return False
        expected *= n
    return True


def partial_overlap(a, b):
    """PyTorch's MemOverlapStatus::Partial between arrays a and b: both dense, in one storage, and
    sharing some memory without being the very same elements in the same order (a fully equal
    operand, `x.add_(x)`, is fine; one that is not dense is "too hard" and not refused either)."""
    if a is b or a.size == 0 or b.size == 0 or backend.root(a) is not backend.root(b):
        return False
    if not (_dense(a) and _dense(b)):
        return False
    pa, pb = backend.data_ptr(a), backend.data_ptr(b)
    ea, eb = pa + a.size * a.itemsize, pb + b.size * b.itemsize
    if pa == pb and ea == eb:
        return a.shape != b.shape or a.strides != b.strides
    return pa < eb and pb < ea


def alias_check(self, op, args, kwargs=None):
    """Refuse an operand that partially overlaps the written-to tensor, as PyTorch (the result would
    depend on the order in which elements are written). Operands in another storage (the usual
    case: an optimizer's `p.add_(g)`) cost one comparison each."""
    a = self._data
    root = a.base if a.base is not None else a
    for group in (args, kwargs.values()) if kwargs else (args,):
        for o in group:
            if type(o) is Tensor or isinstance(o, Tensor):
                b = o._data
                if (b is root or b.base is root) and op not in _NO_ALIAS_CHECK and \
                        partial_overlap(a, b):
                    raise GraphError(f"{op}: {ALIASED}")


def _aliases(self, args, kwargs, storage):
    """The tensor operands other than self that live in self's storage: the op's node keeps them
    as they are (PyTorch saves them with their version), so backward refuses to run once this
    write changed them; self itself is saved as it was (PyTorch's original self)."""
    return [o for o in (*args, *kwargs.values())
            if isinstance(o, Tensor) and o is not self and backend.root(o._data) is storage]


OVERLAPPING = ("unsupported operation: more than one element of the written-to tensor refers to a "
               "single memory location. Please clone() the tensor before performing the "
               "operation.")
# writes of one value that PyTorch lets into memory shared by several elements (an expanded
# tensor); the two indexing ones with a deprecation warning, as PyTorch
OVERLAP_ALLOWED = frozenset(("fill_", "masked_fill_", "index_fill_"))


def overlap_check(self, op):
    """PyTorch's refusal to write into a tensor whose elements share memory (see OVERLAP_ALLOWED);
    returns whether they do."""
    if not _overlapping(self._data):
        return False
    if op not in OVERLAP_ALLOWED:
        raise GraphError(f"{op}: {OVERLAPPING}")
    if op != "fill_":
        warnings.warn(f"Use of {op} on expanded tensors is deprecated. Please clone() the tensor "
                      "before performing this operation. This also applies to advanced indexing "
                      "e.g. tensor[mask] = scalar", UserWarning, stacklevel=3)
    return True


def apply_inplace(self, op, fn, *args, **kwargs):
    """`self <- fn(self, *args, **kwargs)` in place; `fn` is the out-of-place op."""
    _storage.fresh(self)
    overlapping = overlap_check(self, op)
    record = inplace_check(self, op, args, kwargs)
    outer, made = versions.collecting[0], []
    versions.collecting[0] = made  # fn may be a composite: every node it records is collected
    try:
        out = fn(self, *args, **kwargs)
    finally:
        versions.collecting[0] = outer
    if outer is not None:
        outer.extend(made)
    if not isinstance(out, Tensor):
        out = constant(backend.xp_of(self._data).asarray(out))
    if record and op in _UNTRACKED:
        record = False  # PyTorch writes the values and leaves the graph as it was
    elif record and out._ctx is None and (self._rg or (self._base is not None and self._base._rg)):
        # a result without a derivative (eq_, lt_, div_ with rounding ...): the old values and the
        # tensor operands get zeros, as in PyTorch
        others = [a for a in (*args, *kwargs.values()) if isinstance(a, Tensor) and a._rg]
        out = Overwrite.apply(self, out, *others)
        made.append(out._ctx)
    node = out._ctx if record else None
    keep = ()
    if node is not None:
        storage = backend.root(self._data)
        keep = _aliases(self, args, kwargs, storage)
        for n in made:
            versions.shield(n, storage, keep)
    write(self, out._data, op)
    forward_ad.after_inplace(self, out)  # self's tangent is now out's (a no-op without forward AD)
    vc = _storage.bump(self)
    if node is None and not forward_ad.active():
        return self
    if node is not None and node.save_output and getattr(node, "_out_data", None) is not None \
            and node._out_data[out._idx] is out._data and out._data.dtype == self._data.dtype:
        # the node keeps self's memory as its output, as PyTorch's saved `result`: a later write
        # into self is then caught like any other
        outs = list(node._out_data)
        outs[out._idx] = self._data
        node._out_data = tuple(outs)
        counters = list(node._out_vc)
        counters[out._idx] = vc
        node._out_vc = tuple(counters)
    if node is not None:
        if keep:  # it holds operands this write changed: its saved outputs only are up to date
            node.__dict__["_out_ep"] = _storage.EPOCH[0]
        else:
            node._ep = _storage.EPOCH[0]  # made before the write, but holds nothing it changed
    vc[1] += 1  # the views of the storage read a new grad_fn (and tangent) when next used
    versions.graph_writes[0] += 1
    base = self._base
    if base is None:
        if node is not None:
            self._ctx, self._idx, self._rg = node, out._idx, True
            vc[2] = (node, out._idx)
        return self
    pos = positions(base._data, self._data)
    new_base = CopySlices.apply(base, out, pos, base._data, overlapping)
    forward_ad.after_inplace(base, new_base)
    if new_base._ctx is not None:
        base._ctx, base._idx, base._rg = new_base._ctx, 0, True
        vc[2] = (new_base._ctx, 0)
    refresh(self)
    return self


def _values(self, value):
    """`value` (a number or tensor) as an array broadcast to self's shape, in self's dtype."""
    xp = backend.xp_of(self._data)
    v = value._data if isinstance(value, Tensor) else value
    return xp.broadcast_to(xp.asarray(v, dtype=self._data.dtype), self._data.shape)
