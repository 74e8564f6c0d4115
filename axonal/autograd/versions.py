"""Views and version counters: what keeps in-place writes from corrupting a gradient.

A view (slicing, reshape, transpose, expand, ...) shares its input's memory. An op whose output array
shares memory with one of its inputs makes the output a view of that input's base: it shares the
base's version counter and remembers the base (`t._base`), as PyTorch's views do. Nothing is declared
per op: the memory itself says which outputs are views.

Every in-place write bumps the storage's counter. When a node records, it notes the counter and
version of each tensor it was given and returned (PyTorch's SavedVariable does the same). Backward
compares them; a tensor whose version moved is an error only when the node really kept its memory
(an array it saved shares that storage), which is decided then, so forward pays only for the note.
"""
from .. import _config
from .._errors import GraphError
from ..backend import root
from ..tensor import ARRAY_TYPES, Tensor, version_counter  # noqa: F401 - re-exported

HINT = ("Hint: enable anomaly detection to find the operation that failed to compute its "
        "gradient, with axonal.autograd.set_detect_anomaly(True).")


def link_views(outs, args):
    """Make each output whose memory belongs to an input's storage a view of that input's base."""
    for o in outs:
        od = o._data
        r = od.base
        if r is None:
            r = od
        for a in args:
            if isinstance(a, Tensor):
                ad = a._data
                if ad is r or ad.base is r:
                    base = a._base
                    o._base = a if base is None else base
                    vc = o._vc = version_counter(a)
                    if vc.g:
                        o.__dict__["_vg"] = vc.g
                    break


def snapshot(args, outs):
    """(counter, version, storage id, who) for every tensor given to or returned by a node;
    `who` is the input position, or -1 - j for output j."""
    snap = []
    for k, a in enumerate(args):
        if isinstance(a, Tensor):
            vc = version_counter(a)
            snap.append((vc, vc.v, id(root(a._data)), k))
    for j, o in enumerate(outs):
        vc = version_counter(o)
        snap.append((vc, vc.v, id(root(o._data)), -1 - j))
    return snap


def saved_arrays(node):
    """Every array a node keeps for its backward (saved tensors, ctx.save values, its outputs)."""
    arrays = [t._data for t in (node.saved or ()) if isinstance(t, Tensor)]
    d = node.__dict__
    for name in node._saved_names:
        v = d.get(name)
        for x in (v if isinstance(v, (tuple, list)) else (v,)):
            if isinstance(x, Tensor):
                arrays.append(x._data)
            elif isinstance(x, ARRAY_TYPES):
                arrays.append(x)
    out = getattr(node, "_out_data", None)
    if out:
        arrays += [x for x in out if x is not None]
    return arrays


def check(node):
    """Raise PyTorch's error when a tensor this node saved was written in place since."""
    for vc, v, rid, who in node._vsnap:
        if vc.v == v:
            continue
        for arr in saved_arrays(node):
            if id(root(arr)) == rid:
                raise GraphError(_message(node, vc.v, v, who, arr))


def _message(node, now, expected, who, arr):
    shape = ", ".join(str(s) for s in arr.shape)
    where = ""
    if who < 0:
        where = f", which is output {-1 - who} of {node.name()},"
    else:
        edge = node.next[who] if who < len(node.next) else None
        if type(edge) is tuple:
            where = f", which is output {edge[1]} of {edge[0].name()},"
    return ("one of the variables needed for gradient computation has been modified by an "
            f"inplace operation: [axonal.{_legacy(arr.dtype)} [{shape}]]{where} is at version "
            f"{now}; expected version {expected} instead. {HINT}")


_LEGACY = {"float32": "FloatTensor", "float64": "DoubleTensor", "float16": "HalfTensor",
           "int64": "LongTensor", "int32": "IntTensor", "int16": "ShortTensor",
           "int8": "CharTensor", "uint8": "ByteTensor", "bool": "BoolTensor"}


def _legacy(dtype):
    return _LEGACY.get(str(dtype), f"{dtype}Tensor")


def shield(node, storage):
    """Before an in-place op overwrites `storage`, give `node` private copies of what it saved
    there: the op's own backward needs the values from before the write (PyTorch's original_self)."""
    if node is None:
        return
    if node.saved:
        node.saved = tuple(None if t is None else _private(t, storage) for t in node.saved)
    d = node.__dict__
    for name in node._saved_names:
        v = d.get(name)
        if isinstance(v, (tuple, list)):
            d[name] = type(v)(_private(x, storage) for x in v)
        else:
            d[name] = _private(v, storage)


def _private(x, storage):
    """`x` itself, or a copy of it when it lives in `storage` (a Tensor keeps its graph identity)."""
    if isinstance(x, Tensor):
        if root(x._data) is not storage:
            return x
        return Tensor._make(x._data.copy(), x._rg, x._ctx, x._idx)
    if isinstance(x, ARRAY_TYPES) and root(x) is storage:
        return x.copy()
    return x


refresh_hook = [None]  # ops.inplace installs the function that rebuilds a stale view's grad_fn


def stale_view(t):
    """Whether view `t`'s grad_fn predates an in-place op that changed its base's graph."""
    vc = t._vc
    return vc is not None and vc.g != t._vg




def inplace_check(self, op, args=(), kwargs=None):  # noqa: ARG001 - op names the caller
    """PyTorch's rules for writing into `self` in place (ops/inplace.py); returns whether the write
    is recorded in the graph: grad mode is on and self, its base or an argument requires grad."""
    if not _config._state.grad:
        return False
    if self._rg and self._ctx is None:
        raise GraphError("a leaf Variable that requires grad is being used in an in-place "
                         "operation.")
    base = self._base
    if base is not None and base._rg and base._ctx is None:
        raise GraphError("a view of a leaf Variable that requires grad is being used in an "
                         "in-place operation.")
    if self._rg or (base is not None and base._rg):
        return True
    return any(isinstance(a, Tensor) and a._rg
               for a in (*args, *(kwargs.values() if kwargs else ())))
