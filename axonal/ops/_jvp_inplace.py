"""Forward-mode AD rules of the in-place machinery (ops/inplace.py): a write into a view replaces a
region of its base's tangent (CopySlices), a view reads its base's tangent back (ViewOf), and
fill_/copy_/random fills replace the tangent by the source's (Overwrite). See ops/_jvp.py."""
from ..autograd.forward_ad import jvp_inputs
from .indexing import GetItem, IndexPut
from .inplace import CopySlices, Overwrite, ViewOf
from ._jvp import _zeros_of
from .shape import Expand

def _copy_slices_jvp(ctx, tb, tr, *_):
    """The base after the write: its tangent outside the region, the region's tangent inside."""
    if tb is None and tr is None:
        return None
    base, region, pos = jvp_inputs(ctx)[:3]
    flat = (_zeros_of(base) if tb is None else tb).reshape(-1)
    tr = _zeros_of(region) if tr is None else tr
    return IndexPut.apply(flat, tr.reshape(-1), (pos.reshape(-1),), False).reshape(base.shape)


def _view_of_jvp(ctx, tb, *_):
    if tb is None:
        return None
    _, pos, _ = jvp_inputs(ctx)
    return GetItem.apply(tb.reshape(-1), (pos.reshape(-1),), False).reshape(pos.shape)


CopySlices.jvp = staticmethod(_copy_slices_jvp)
ViewOf.jvp = staticmethod(_view_of_jvp)


def _overwrite_jvp(ctx, told, tsrc, *_):
    """fill_/copy_/random fills: the old values (and their tangent) are gone; src's tangent,
    broadcast to the tensor's shape, replaces it (the operands of eq_ ... add nothing)."""
    if told is None and tsrc is None:
        return None
    old = jvp_inputs(ctx)[0]
    if tsrc is None:
        return _zeros_of(old)
    return Expand.apply(tsrc.to(old.dtype), tuple(old.shape)) if tuple(tsrc.shape) != \
        tuple(old.shape) else tsrc.to(old.dtype)


Overwrite.jvp = staticmethod(_overwrite_jvp)
