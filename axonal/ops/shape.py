"""Shape ops: reshape, permute, broadcast, repeat, concatenate, split, flip, pad.

These move elements without changing them, so each backward moves the gradient back: the adjoint of
a reshape is the inverse reshape, of a permutation the inverse permutation, of broadcasting a sum
over the broadcast axes, of concatenation a split (and vice versa).
"""
import numpy as np

from .._errors import ShapeError
from ..autograd.function import Function, name_views
from ..backend import xp_of
from ._util import check_broadcast, coerce, norm_dim, norm_dims, shape_arg, writable_broadcast


def _resolve_shape(op, shape, numel):
    shape = list(shape)
    if shape.count(-1) > 1:
        raise ShapeError(f"{op}: only one dimension can be -1, got {tuple(shape)}")
    known = 1
    for s in shape:
        if s != -1:
            if s < 0:
                raise ShapeError(f"{op}: invalid dimension {s} in shape {tuple(shape)}")
            known *= s
    if -1 in shape:
        if known == 0 or numel % known:
            raise ShapeError(f"{op}: shape {tuple(shape)} is invalid for input of size {numel}")
        shape[shape.index(-1)] = numel // known
    elif known != numel:
        raise ShapeError(f"{op}: shape {tuple(shape)} is invalid for input of size {numel}")
    return tuple(shape)


class Reshape(Function):
    @staticmethod
    def forward(ctx, x, shape):
        return x._data.reshape(shape)

    @staticmethod
    def backward(ctx, g):
        return reshape(g, ctx._in_meta[0][0]), None


class Permute(Function):
    @staticmethod
    def forward(ctx, x, dims):
        ctx.save(dims=dims)
        return x._data.transpose(dims)

    @staticmethod
    def backward(ctx, g):
        return permute(g, tuple(sorted(range(len(ctx.dims)), key=ctx.dims.__getitem__))), None


class Expand(Function):
    """Broadcast to a larger shape (a view). Adjoint: sum over the broadcast axes."""

    @staticmethod
    def forward(ctx, x, shape):  # writable, as PyTorch's (writes into overlapping elements raise)
        return writable_broadcast(xp_of(x._data).broadcast_to(x._data, shape), x._data)

    @staticmethod
    def backward(ctx, g):
        return sum_to(g, ctx._in_meta[0][0]), None


class SumTo(Function):
    """Sum a broadcast result back down to `shape`. Adjoint: broadcast (expand) again."""

    @staticmethod
    def forward(ctx, x, shape):
        ctx.save(shape_in=x._data.shape)
        lead = x._data.ndim - len(shape)
        axes = tuple(range(lead)) + tuple(i + lead for i, s in enumerate(shape)
                                          if s == 1 and x._data.shape[i + lead] != 1)
        out = x._data.sum(axis=axes, keepdims=True) if axes else x._data
        return out.reshape(shape)

    @staticmethod
    def backward(ctx, g):
        return expand(g, ctx.shape_in), None


class Repeat(Function):
    """`repeat` tiles the tensor (NumPy's tile). Adjoint: sum over the tiles."""

    @staticmethod
    def forward(ctx, x, reps):
        ctx.save(reps=reps)
        return xp_of(x._data).tile(x._data, reps)

    @staticmethod
    def backward(ctx, g):
        shape = ctx._in_meta[0][0]
        shape = (1,) * (len(ctx.reps) - len(shape)) + tuple(shape)
        split = []
        for r, s in zip(ctx.reps, shape):
            split += [r, s]
        gs = reshape(g, tuple(split)).sum(dim=tuple(range(0, 2 * len(shape), 2)))
        return reshape(gs, ctx._in_meta[0][0]), None


class Cat(Function):
    @staticmethod
    def forward(ctx, dim, *xs):
        ctx.save(sizes=[x._data.shape[dim] for x in xs], dim=dim)
        return xp_of(*[x._data for x in xs]).concatenate([x._data for x in xs], axis=dim)

    @staticmethod
    def backward(ctx, g):
        return (None,) + tuple(split(g, ctx.sizes, ctx.dim))


class Split(Function):
    """Several outputs, one per section. Adjoint: concatenate the section gradients."""

    @staticmethod
    def forward(ctx, x, sizes, dim):
        ctx.save(dim=dim)
        bounds = np.cumsum(sizes)[:-1].tolist()  # host ints (a NumPy array would mix devices)
        return tuple(xp_of(x._data).split(x._data, bounds, axis=dim))

    @staticmethod
    def backward(ctx, *gs):
        return cat(list(gs), ctx.dim), None, None


class Flip(Function):
    @staticmethod
    def forward(ctx, x, dims):
        ctx.save(dims=dims)
        return (xp_of(x._data).flip(x._data, dims) if dims else x._data).copy()  # not a view

    @staticmethod
    def backward(ctx, g):
        return flip(g, ctx.dims), None


class Pad(Function):
    """Constant padding; `widths` is NumPy-style ((before, after), ...) per dim. Negative widths crop."""

    @staticmethod
    def forward(ctx, x, widths, value):
        xp = xp_of(x._data)
        pos = [(max(a, 0), max(b, 0)) for a, b in widths]
        out = xp.pad(x._data, pos, mode="constant", constant_values=value)
        crop = tuple(slice(-min(a, 0), out.shape[i] + min(b, 0)) for i, (a, b) in enumerate(widths))
        ctx.save(widths=widths)
        return out[crop]

    @staticmethod
    def backward(ctx, g):
        return pad_widths(g, [(-a, -b) for a, b in ctx.widths], 0.0), None, None


class Clone(Function):
    @staticmethod
    def forward(ctx, x, contiguous_only=False):
        return xp_of(x._data).ascontiguousarray(x._data) if contiguous_only else x._data.copy()

    @staticmethod
    def backward(ctx, g):
        return g, None


# -- public functions --------------------------------------------------------------------------
def reshape(x, *shape):
    shape = _resolve_shape("reshape", shape_arg(shape), x._data.size)
    if shape == x._data.shape:
        return x
    return Reshape.apply(x, shape)


def view(x, *shape):
    """reshape that never copies: like PyTorch, a shape that the strides of x cannot express (e.g. a
    flattening view of a transposed tensor) is an error that points to reshape."""
    target = _resolve_shape("view", shape_arg(shape), x._data.size)
    if isinstance(x._data, np.ndarray) and target != x._data.shape:
        try:
            np.reshape(x._data, target, copy=False)
        except ValueError:
            raise ShapeError(f"view: shape {target} is not compatible with the strides of the "
                             f"input of shape {tuple(x.shape)} (it would need a copy); use "
                             f".reshape(...) instead") from None
    return reshape(x, target)


def flatten(x, start_dim=0, end_dim=-1):
    if x._data.ndim == 0:
        return reshape(x, 1)
    s = norm_dim(start_dim, x.ndim, "flatten")
    e = norm_dim(end_dim, x.ndim, "flatten")
    if s > e:
        raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim}")
    shp = x._data.shape
    return reshape(x, shp[:s] + (-1 if 0 not in shp[s:e + 1] else 0,) + shp[e + 1:])


def unflatten(x, dim, sizes):
    d = norm_dim(dim, x.ndim, "unflatten")
    return reshape(x, x._data.shape[:d] + tuple(sizes) + x._data.shape[d + 1:])


def squeeze(x, dim=None):
    shp = x._data.shape
    if dim is None:
        return reshape(x, tuple(s for s in shp if s != 1))
    dims = norm_dims(dim, x.ndim, "squeeze")
    return reshape(x, tuple(s for i, s in enumerate(shp) if not (i in dims and s == 1)))


def unsqueeze(x, dim):
    d = norm_dim(dim, x.ndim + 1, "unsqueeze")
    return reshape(x, x._data.shape[:d] + (1,) + x._data.shape[d:])


def permute(x, *dims):
    dims = shape_arg(dims)
    if len(dims) != x.ndim:
        raise ShapeError(f"permute: number of dims {len(dims)} does not match the tensor's "
                         f"{x.ndim} dims (shape {tuple(x.shape)})")
    dims = tuple(norm_dim(d, x.ndim, "permute") for d in dims)
    if sorted(dims) != list(range(x.ndim)):
        raise ValueError(f"permute: dims {dims} are not a permutation of {tuple(range(x.ndim))}")
    if dims == tuple(range(x.ndim)):
        return x
    return Permute.apply(x, dims)


def transpose(x, dim0, dim1):
    if x.ndim < 2 and dim0 in (0, -1) and dim1 in (0, -1):
        return x
    d0, d1 = norm_dim(dim0, x.ndim, "transpose"), norm_dim(dim1, x.ndim, "transpose")
    dims = list(range(x.ndim))
    dims[d0], dims[d1] = dims[d1], dims[d0]
    return permute(x, *dims)


def t(x):
    if x.ndim > 2:
        raise ShapeError(f"t: expects a tensor with <= 2 dims, got shape {tuple(x.shape)}")
    return transpose(x, 0, -1)


def expand(x, *sizes):
    sizes = shape_arg(sizes)
    if len(sizes) < x.ndim:
        raise ShapeError(f"expand: the number of sizes {len(sizes)} must be >= the tensor's "
                         f"{x.ndim} dims (shape {tuple(x.shape)})")
    lead = len(sizes) - x.ndim
    shape = tuple(x._data.shape[i - lead] if s == -1 else s for i, s in enumerate(sizes))
    for i in range(x.ndim):
        if x._data.shape[i] not in (1, shape[i + lead]):
            raise ShapeError(f"expand: the size {x.data.shape[i]} of dim {i} must match the "
                             f"expanded size {shape[i + lead]} (or be 1); shape {tuple(x.shape)} "
                             f"to {shape}")
    if shape == x._data.shape:
        return x
    return Expand.apply(x, shape)


def broadcast_to(x, shape):
    return expand(x, *shape)


def expand_as(x, other):
    return expand(x, *other.shape)


def broadcast_tensors(*xs):
    shape = check_broadcast("broadcast_tensors", *[x.shape for x in xs])
    return tuple(expand(x, *shape) for x in xs)


def sum_to(x, shape):
    shape = tuple(shape)
    if x._data.shape == shape:
        return x
    return SumTo.apply(x, shape)


def grad_for_input(ctx, k, g):
    """The gradient for forward input k of a broadcasting op: None if that input needs none, else
    g summed down to the input's shape (the adjoint of broadcasting)."""
    meta = ctx._in_meta[k]
    return None if meta is None else sum_to(g, meta[0])


def repeat(x, *reps):
    reps = shape_arg(reps)
    if len(reps) < x.ndim:
        raise ShapeError(f"repeat: number of repeat dims {len(reps)} can not be smaller than the "
                         f"tensor's {x.ndim} dims")
    return Repeat.apply(x, reps)


def cat(tensors, dim=0):
    tensors = list(tensors)
    if not tensors:
        raise ValueError("cat: expected a non-empty list of tensors")
    ref = max(tensors, key=lambda t: t.ndim)
    tensors = [t for t in tensors if not (t.ndim == 1 and t._data.shape[0] == 0)] or tensors[:1]
    d = norm_dim(dim, ref.ndim, "cat")
    for t in tensors:
        if t.ndim != ref.ndim or any(a != b for i, (a, b) in enumerate(zip(t.shape, ref.shape))
                                     if i != d):
            raise ShapeError(f"cat: shapes {', '.join(str(tuple(x.shape)) for x in tensors)} "
                             f"differ outside dim {d}")
    if len(tensors) == 1:
        return clone(tensors[0])  # a new tensor, as PyTorch's (not the input or a view of it)
    dt = tensors[0]
    for other in tensors[1:]:
        if other.dtype is not dt.dtype:
            dt = coerce("cat", dt, other)[0]
    tensors = [x.to(dt.dtype) for x in tensors]
    return Cat.apply(d, *tensors)


concat = concatenate = cat


def stack(tensors, dim=0):
    tensors = list(tensors)
    if not tensors:
        raise ValueError("stack: expected a non-empty list of tensors")
    shape0 = tuple(tensors[0].shape)
    for x in tensors:
        if tuple(x.shape) != shape0:
            raise ShapeError(f"stack: expects each tensor to be equal size, got "
                             f"{', '.join(str(tuple(x.shape)) for x in tensors)}")
    d = norm_dim(dim, len(shape0) + 1, "stack")
    return cat([unsqueeze(x, d) for x in tensors], d)


def split(x, split_size_or_sections, dim=0):
    d = norm_dim(dim, x.ndim, "split")
    n = x._data.shape[d]
    kind = "Split" if isinstance(split_size_or_sections, int) else "SplitWithSizes"
    if kind == "Split":
        step = split_size_or_sections
        if step <= 0:
            raise ValueError(f"split: split_size must be positive, got {step}")
        sizes = [step] * (n // step) + ([n % step] if n % step else []) or [0]
    else:
        sizes = [int(s) for s in split_size_or_sections]
        if sum(sizes) != n:
            raise ShapeError(f"split: sizes {sizes} do not sum to the size {n} of dim {d}")
    if len(sizes) == 1:
        return (x,)
    return name_views(Split.apply(x, tuple(sizes), d), kind)  # (named in the in-place errors)


def chunk(x, chunks, dim=0):
    if chunks <= 0:
        raise ValueError(f"chunk: chunks must be positive, got {chunks}")
    n = x._data.shape[norm_dim(dim, x.ndim, "chunk")]
    return split(x, max(-(-n // chunks), 1), dim)


def unbind(x, dim=0):
    d = norm_dim(dim, x.ndim, "unbind")
    return name_views(tuple(squeeze(p, d) for p in split(x, 1, d)), "Unbind")


def flip(x, dims):
    dims = norm_dims(dims, x.ndim, "flip")
    return Flip.apply(x, dims)


def pad_widths(x, widths, value=0.0):
    return Pad.apply(x, tuple(tuple(w) for w in widths), value)


def pad(x, pad, mode="constant", value=0.0):
    """PyTorch's `F.pad`: `pad` lists (before, after) pairs starting from the LAST dim."""
    if mode != "constant":
        raise NotImplementedError(f"pad: mode {mode!r} is not supported yet (only 'constant')")
    if len(pad) % 2 or len(pad) // 2 > x.ndim:
        raise ValueError(f"pad: padding {tuple(pad)} must have an even length of at most "
                         f"2 * ndim = {2 * x.ndim}")
    widths = [(0, 0)] * x.ndim
    for i in range(len(pad) // 2):
        widths[x.ndim - 1 - i] = (int(pad[2 * i]), int(pad[2 * i + 1]))
    return pad_widths(x, widths, value)


def clone(x):
    return Clone.apply(x)


def contiguous(x):
    return x if x._data.flags.c_contiguous else Clone.apply(x, True)


def movedim(x, source, destination):
    s = norm_dim(source, x.ndim, "movedim")
    d = norm_dim(destination, x.ndim, "movedim")
    dims = [i for i in range(x.ndim) if i != s]
    dims.insert(d, s)
    return permute(x, *dims)
