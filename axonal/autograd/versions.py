"""Views and version counters: what keeps in-place writes from corrupting a gradient.

A view (slicing, reshape, transpose, expand, ...) shares its input's memory. An op whose output array
is a view of one of its inputs' memory makes the output a view of that input's base: it shares the
base's version counter and remembers the base (`t._base`), as PyTorch's views do. Nothing is declared
per op: the memory itself says which outputs are views. (Ops never return an input's own array: a
no-op returns `x.view()`; and `ctx.save` keeps only arrays the op made, while an input's memory is
kept with `ctx.save_for_backward`: tests/ops check both over the op registry.)

Every in-place write is counted (`_storage.bump`). A node notes the global write number when it
records; in backward, when writes happened since, the tensors it saved (`ctx.save_for_backward`)
and its saved outputs (`save_output`) are checked, and one written since raises PyTorch's error
("modified by an inplace operation") instead of computing with the new values.
"""
from .. import _config, _storage
from .._errors import GraphError
from .._storage import fresh, version_at
from ..backend import root
from ..tensor import ARRAY_TYPES, Tensor, version_counter

HINT = ("Hint: enable anomaly detection to find the operation that failed to compute its "
        "gradient, with axonal.autograd.set_detect_anomaly(True).")


def link_views(outs, args):
    """Make each output whose array is a view of an input's memory a view of that input's base.
    Two kinds of view may not be written in place later, as in PyTorch: one of several views
    returned by one op (split, chunk, unbind) and one made under no_grad of a tensor that
    requires grad; they are marked here."""
    for j, o in enumerate(outs):
        r = o._data.base
        if r is None:
            continue
        for a in args:
            if isinstance(a, Tensor):
                ad = a._data
                if ad is r or ad.base is r:
                    base = a._base
                    o._base = a if base is None else base
                    vc = o._vc = version_counter(a)
                    if vc[1]:
                        o.__dict__["_vg"] = vc[1]
                    marks = a.__dict__.get("_view_marks") if a._base is not None else None
                    if len(outs) > 1 and len(vc) == 4 and o._base._rg:
                        vc.append(True)  # views returned together: _storage.bump
                    if len(outs) > 1 or marks or (not _config._state.grad and o._base._rg):
                        o.__dict__["_view_marks"] = (
                            (j if len(outs) > 1 else (marks or (None,))[0]),
                            not _config._state.grad and o._base._rg or bool(marks and marks[1]),
                            marks[2] if marks and len(marks) > 2 and len(outs) == 1 else "Split")
                    break


def name_views(parts, name):
    """Name the op that returned these views together (split, chunk, unbind), for PyTorch's errors
    when one of them or their base is written in place."""
    for p in parts:
        marks = p.__dict__.get("_view_marks")
        if marks is not None:
            p.__dict__["_view_marks"] = (marks[0], marks[1], name)
    return parts


def check(node):
    """Raise PyTorch's error when a tensor this node kept was written in place since it recorded."""
    ep = node._ep
    for t in (*(node.saved or ()), *node.__dict__.get("_saved_indices", ())):
        if isinstance(t, Tensor):
            vc = t._vc
            if vc is not None and vc[3] and vc[3][-1] > ep:
                _fresh_in_grad_mode(t)  # a view names its rebuilt grad_fn, as PyTorch's
                grad_fn = (t._ctx, t._idx) if t._ctx is not None else None
                raise GraphError(_message(vc[0], version_at(vc, ep), grad_fn, t._data))
    ep = node.__dict__.get("_out_ep", ep)  # an in-place op's node: its output is the written one
    for j, vc in enumerate(getattr(node, "_out_vc", None) or ()):
        if vc[3] and vc[3][-1] > ep:
            raise GraphError(_message(vc[0], version_at(vc, ep), (node, j),
                                      node._out_data[j]))


def _fresh_in_grad_mode(t):
    """fresh(t) even inside a backward pass (grad mode off there), so a stale view gets the
    grad_fn that PyTorch names in its error."""
    state = _config._state
    prev, state.grad = state.grad, True
    try:
        fresh(t)
    finally:
        state.grad = prev


def _message(now, expected, grad_fn, arr):
    shape = ", ".join(str(s) for s in arr.shape)
    where = "" if grad_fn is None else f", which is output {grad_fn[1]} of {grad_fn[0].name()},"
    return ("one of the variables needed for gradient computation has been modified by an "
            f"inplace operation: [axonal.{_legacy(arr.dtype)} [{shape}]]{where} is at version "
            f"{now}; expected version {expected} instead. {HINT}")


_LEGACY = {"float32": "FloatTensor", "float64": "DoubleTensor", "float16": "HalfTensor",
           "int64": "LongTensor", "int32": "IntTensor", "int16": "ShortTensor",
           "int8": "CharTensor", "uint8": "ByteTensor", "bool": "BoolTensor"}


def _legacy(dtype):
    return _LEGACY.get(str(dtype), f"{dtype}Tensor")


def shield(node, storage, keep=()):
    """Before an in-place op overwrites `storage`, give `node` private copies of what it saved
    there: the op's own backward needs the values from before the write (PyTorch's original_self).
    The tensors in `keep` (the op's other operands in that storage) stay as they are, so that
    backward refuses them once written, as PyTorch's saved variables."""
    if node is None:
        return
    if node.saved:
        node.saved = tuple(None if t is None else t if any(t is k for k in keep) else
                           _private(t, storage) for t in node.saved)
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


NO_GRAD_VIEW = ("A view was created in no_grad mode and is being modified inplace with grad mode "
                "enabled. Given that this use case is ambiguous and error-prone, it is forbidden. "
                "You can clarify your code by moving both the view and the inplace either both "
                "inside the no_grad block (if you don't want the inplace to be tracked) or both "
                "outside (if you want the inplace to be tracked).")
# in-place writes that changed a graph (or wrote into a storage of multi-output views) so far:
# until one, no view can be stale
graph_writes = _storage.GRAPH_WRITES
collecting = [None]  # a list while an in-place op runs its out-of-place op: the nodes it records


def refresh_views(args):
    """Rebuild the grad_fn of every stale view among `args` (PyTorch regenerates a view's grad_fn
    the same way, when it is used after an in-place op on its base): `_storage.fresh`."""
    for a in args:
        if isinstance(a, Tensor):
            fresh(a)


def multi_view_rebased(view):
    """PyTorch's error for a view returned together with others (split, chunk, unbind) whose base
    or sibling was written in place since: its grad_fn cannot be rebuilt."""
    marks = view.__dict__.get("_view_marks")
    if marks and marks[0] is not None and (view._rg or view._base._rg):
        raise GraphError(f"Output {marks[0]} of {marks[2]} is a view and its base or another view "
                         "of its base has been modified inplace. This view is the output of a "
                         "function that returns multiple views. Such functions do not allow the "
                         "output views to be modified inplace. You should replace the inplace "
                         "operation by an out-of-place one.")


def inplace_check(self, op, args=(), kwargs=None):  # noqa: ARG001 - op names the caller
    """PyTorch's rules for writing into `self` in place (ops/inplace.py); returns whether the write
    is recorded in the graph: grad mode is on and self, its base or an argument requires grad (or a
    function transform such as forward AD is active, which must see the write)."""
    state = _config._state
    if not state.grad:  # no graph; but a transform (forward AD: tangents) takes the general path
        return bool(state.layers)
    if self._rg and self._ctx is None:
        raise GraphError("a leaf Variable that requires grad is being used in an in-place "
                         "operation.")
    base = self._base
    marks = self.__dict__.get("_view_marks") if base is not None else None
    if marks and (self._rg or base._rg):
        if marks[1]:
            raise GraphError(NO_GRAD_VIEW)
        if marks[0] is not None:
            raise GraphError(f"Output {marks[0]} of {marks[2]} is a view and is being modified "
                             "inplace. This view is the output of a function that returns multiple "
                             "views. Such functions do not allow the output views to be modified "
                             "inplace. You should replace the inplace operation by an out-of-place "
                             "one.")
    if base is not None and base._rg and base._ctx is None:
        raise GraphError("a view of a leaf Variable that requires grad is being used in an "
                         "in-place operation.")
    if self._rg or (base is not None and base._rg) or state.layers:
        return True
    return any(isinstance(a, Tensor) and a._rg
               for a in (*args, *(kwargs.values() if kwargs else ())))
