"""Matrix and shape functions of PyTorch's namespace built from differentiable ops: the fused
multiply-adds (addmm, addbmm, baddbmm, addmv, addr), trace, kron, cross, tensordot/inner/vdot,
chain_matmul, block_diag, cartesian_prod, rot90/roll/fliplr/flipud, diag_embed/diagflat, the
atleast_* and *stack / *split families, take/take_along_dim, diff, masked_select, argwhere.

Every function is a composition of ops that already have their backward (and forward-mode) rules,
so each gradient is the adjoint of the composition, broadcasting included; none has a primitive of
its own. Errors name the function and the shapes.
"""
import builtins
import itertools

import numpy as np

from .. import _dtype as _dt
from ..tensor import Tensor
from ._util import norm_dim
from .arith import mul
from .creation import eye
from .indexing import gather, index_select, narrow, nonzero
from .linalg import bmm, diag, mm, mv, outer
from .replicate import meshgrid
from .shape import broadcast_tensors, cat, flip, pad, permute, reshape, stack, transpose

__all__ = ["addbmm", "addcdiv", "addcmul", "addmm", "addmv", "addr", "argwhere", "atleast_1d",
           "atleast_2d", "atleast_3d", "baddbmm", "block_diag", "cartesian_prod", "chain_matmul",
           "column_stack", "cross", "diag_embed", "diagflat", "diff", "dsplit", "dstack",
           "fliplr", "flipud", "ger", "hsplit", "hstack", "inner", "kron", "lerp",
           "masked_select", "moveaxis", "roll", "rot90", "row_stack", "swapaxes", "swapdims",
           "take", "take_along_dim", "tensor_split", "tensordot", "trace", "vdot", "vsplit",
           "vstack"]


def _scaled(x, s):
    return x if s == 1 else x * s


def _fma(op, input, prod, beta, alpha):
    """beta * input + alpha * prod; beta == 0 ignores input (NaN included), as PyTorch."""
    if beta == 0:
        return _scaled(prod, alpha)
    return _scaled(input, beta) + _scaled(prod, alpha)


def addmm(input, mat1, mat2, *, beta=1, alpha=1):
    return _fma("addmm", input, mm(mat1, mat2), beta, alpha)


def addmv(input, mat, vec, *, beta=1, alpha=1):
    return _fma("addmv", input, mv(mat, vec), beta, alpha)


def addr(input, vec1, vec2, *, beta=1, alpha=1):
    return _fma("addr", input, outer(vec1, vec2), beta, alpha)


def baddbmm(input, batch1, batch2, *, beta=1, alpha=1):
    return _fma("baddbmm", input, bmm(batch1, batch2), beta, alpha)


def addbmm(input, batch1, batch2, *, beta=1, alpha=1):
    """beta * input + alpha * sum_b batch1[b] @ batch2[b]."""
    return _fma("addbmm", input, bmm(batch1, batch2).sum(0), beta, alpha)


def addcmul(input, tensor1, tensor2, *, value=1):
    return input + _scaled(tensor1 * tensor2, value)


def addcdiv(input, tensor1, tensor2, *, value=1):
    return input + _scaled(tensor1 / tensor2, value)


def lerp(input, end, weight):
    return input + weight * (end - input)


def trace(input):
    if input.ndim != 2:
        raise RuntimeError(f"trace: expected a matrix, but got tensor with dim {input.ndim}")
    return diag(input).sum()


def kron(input, other):
    """The Kronecker product: out[i*m + k, ...] = a[i, ...] * b[k, ...], over the broadcast
    number of dims (the shorter operand gets leading 1s)."""
    n = builtins.max(input.ndim, other.ndim)
    a = reshape(input, (1,) * (n - input.ndim) + tuple(input.shape))
    b = reshape(other, (1,) * (n - other.ndim) + tuple(other.shape))
    # a[..., i, None, ...] * b[None, ..., k, ...] interleaved, then merged pairwise
    a2 = reshape(a, tuple(s for d in a.shape for s in (d, 1)))
    b2 = reshape(b, tuple(s for d in b.shape for s in (1, d)))
    return reshape(a2 * b2, tuple(x * y for x, y in zip(a.shape, b.shape)))


def cross(input, other, dim=None):
    """The cross product along `dim` (of size 3); `dim=None` takes the first dim of size 3, as
    torch.cross does. Operands of the same number of dims broadcast."""
    if input.ndim != other.ndim:
        raise RuntimeError("linalg.cross: inputs must have the same number of dimensions.")
    input, other = broadcast_tensors(input, other)
    if dim is None:
        dim = next((d for d, s in enumerate(input.shape) if s == 3), None)
        if dim is None:
            raise RuntimeError(f"cross: no dimension of size 3 in input {tuple(input.shape)}")
    dim = norm_dim(dim, input.ndim, "cross")
    if input.shape[dim] != 3:
        raise RuntimeError(f"cross: inputs dimension {dim} must have length 3, got "
                           f"{tuple(input.shape)}")
    a = [narrow(input, dim, i, 1) for i in range(3)]
    b = [narrow(other, dim, i, 1) for i in range(3)]
    return cat([a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2],
                a[0] * b[1] - a[1] * b[0]], dim)


def tensordot(a, b, dims=2):
    """Contract the last `dims` dims of a with the first of b, or the listed pairs."""
    if isinstance(dims, int):
        da, db = list(range(a.ndim - dims, a.ndim)), list(range(dims))
    else:
        da, db = ([d] if isinstance(d, int) else list(d) for d in dims)
    da = [norm_dim(d, a.ndim, "tensordot") for d in da]
    db = [norm_dim(d, b.ndim, "tensordot") for d in db]
    for x, y in zip(da, db):
        if a.shape[x] != b.shape[y]:
            raise RuntimeError(f"tensordot: contracted dimensions need to match, but first has "
                               f"size {a.shape[x]} in dim {x} and second has size {b.shape[y]} "
                               f"in dim {y}")
    fa = [d for d in range(a.ndim) if d not in da]
    fb = [d for d in range(b.ndim) if d not in db]
    k = 1
    for d in da:
        k *= a.shape[d]
    am = reshape(permute(a, fa + da), (-1, k))
    bm = reshape(permute(b, db + fb), (k, -1))
    return reshape(mm(am, bm), tuple(a.shape[d] for d in fa) + tuple(b.shape[d] for d in fb))


def inner(input, other):
    """Sum over the last dims: tensordot of the last dim of each (a scalar operand multiplies)."""
    if input.ndim == 0 or other.ndim == 0:
        return mul(input, other)
    return tensordot(input, other, ([-1], [-1]))


def vdot(input, other):
    if input.ndim != 1 or other.ndim != 1:
        raise RuntimeError(f"vdot: 1D tensors expected, but got {input.ndim}D and {other.ndim}D "
                           "tensors")
    return (input * other).sum()


def chain_matmul(*matrices):
    out = matrices[0]
    for m in matrices[1:]:
        out = mm(out, m)
    return out


def block_diag(*tensors):
    """Matrices (0-d and 1-d inputs are 1x1 and 1xn) on the diagonal of a zero matrix."""
    mats = [reshape(t, (1, 1)) if t.ndim == 0 else reshape(t, (1, -1)) if t.ndim == 1 else t
            for t in tensors]
    cols = builtins.sum(m.shape[1] for m in mats)
    rows, left = [], 0
    for m in mats:
        rows.append(pad(m, (left, cols - left - m.shape[1])))
        left += m.shape[1]
    return cat(rows, 0)


def cartesian_prod(*tensors):
    if len(tensors) == 1:
        return tensors[0]
    grids = meshgrid(*tensors, indexing="ij")
    return stack([reshape(g, (-1,)) for g in grids], 1)


def rot90(input, k=1, dims=(0, 1)):
    d0, d1 = (norm_dim(d, input.ndim, "rot90") for d in dims)
    if d0 == d1:
        raise RuntimeError(f"rot90: expected rotation dims to be different, got dims {dims}")
    k %= 4
    if k == 1:
        return transpose(flip(input, [d1]), d0, d1)
    if k == 2:
        return flip(input, [d0, d1])
    if k == 3:
        return flip(transpose(input, d0, d1), [d1])
    return input.clone()


def roll(input, shifts, dims=None):
    """Elements shifted along dims (flattened when dims is None), wrapping around."""
    if dims is None:
        return reshape(roll(reshape(input, (-1,)), shifts, 0), tuple(input.shape))
    shifts = [shifts] if isinstance(shifts, int) else list(shifts)
    dims = [dims] if isinstance(dims, int) else list(dims)
    if len(shifts) != len(dims):
        raise RuntimeError(f"roll: shifts and dimensions must align. shifts: {len(shifts)}, "
                           f"dims:{len(dims)}")
    out = input
    for s, d in zip(shifts, dims):
        d = norm_dim(d, out.ndim, "roll")
        n = out.shape[d]
        if n == 0 or s % n == 0:
            continue
        s %= n
        out = cat([narrow(out, d, n - s, s), narrow(out, d, 0, n - s)], d)
    return out if out is not input else input.clone()


def fliplr(input):
    if input.ndim < 2:
        raise RuntimeError("fliplr: Input must be >= 2-d.")
    return flip(input, [1])


def flipud(input):
    if input.ndim < 1:
        raise RuntimeError("flipud: Input must be >= 1-d.")
    return flip(input, [0])


def diag_embed(input, offset=0, dim1=-2, dim2=-1):
    """The last dim of input on the `offset` diagonal of new (dim1, dim2) planes."""
    n = input.shape[-1] if input.ndim else 1
    d = input.unsqueeze(-1) * eye(n, dtype=input.dtype)  # (..., n, n), diagonal 0
    k = builtins.abs(offset)
    if offset > 0:  # (i, i + k): k zero columns on the left, k zero rows below
        d = pad(d, (k, 0, 0, k))
    elif offset < 0:
        d = pad(d, (0, k, k, 0))
    nd = d.ndim
    return moveaxis(d, (nd - 2, nd - 1), (dim1, dim2))


def diagflat(input, offset=0):
    return diag(reshape(input, (-1,)), offset)


def atleast_1d(*tensors):
    return _atleast(tensors, lambda t: reshape(t, (1,)) if t.ndim == 0 else t)


def atleast_2d(*tensors):
    return _atleast(tensors, lambda t: reshape(t, (1,) * (2 - t.ndim) + tuple(t.shape))
                    if t.ndim < 2 else t)


def atleast_3d(*tensors):
    def up(t):
        if t.ndim == 0:
            return reshape(t, (1, 1, 1))
        if t.ndim == 1:
            return reshape(t, (1, -1, 1))
        return t.unsqueeze(-1) if t.ndim == 2 else t

    return _atleast(tensors, up)


def _atleast(tensors, fn):
    if len(tensors) == 1 and not isinstance(tensors[0], Tensor):
        tensors = tuple(tensors[0])
        return tuple(fn(t) for t in tensors)
    return fn(tensors[0]) if len(tensors) == 1 else tuple(fn(t) for t in tensors)


def hstack(tensors):
    ts = atleast_1d(*tensors) if len(tensors) > 1 else (atleast_1d(tensors[0]),)
    return cat(list(ts), 0 if ts[0].ndim == 1 else 1)


def vstack(tensors):
    ts = atleast_2d(*tensors) if len(tensors) > 1 else (atleast_2d(tensors[0]),)
    return cat(list(ts), 0)


def dstack(tensors):
    ts = atleast_3d(*tensors) if len(tensors) > 1 else (atleast_3d(tensors[0]),)
    return cat(list(ts), 2)


def column_stack(tensors):
    return cat([reshape(t, (-1, 1)) if t.ndim < 2 else t for t in tensors], 1)


row_stack = vstack


def tensor_split(input, indices_or_sections, dim=0):
    """Split into n near-equal parts (the first size % n one longer) or at the given indices."""
    dim = norm_dim(dim, input.ndim, "tensor_split")
    size = input.shape[dim]
    if isinstance(indices_or_sections, Tensor):
        indices_or_sections = indices_or_sections.tolist()
    if isinstance(indices_or_sections, int):
        n = indices_or_sections
        if n <= 0:
            raise RuntimeError(f"tensor_split: number of sections must be larger than 0, got {n}")
        q, r = divmod(size, n)
        bounds, start = [], 0
        for i in range(n):
            bounds.append((start, start + q + (1 if i < r else 0)))
            start = bounds[-1][1]
    else:
        cuts = [builtins.min(builtins.max(c if c >= 0 else c + size, 0), size)
                for c in indices_or_sections]
        edges = [0] + cuts + [size]
        bounds = [(a, builtins.max(a, b)) for a, b in itertools.pairwise(edges)]
    return tuple(narrow(input, dim, a, b - a) for a, b in bounds)


def _split_dir(name, input, sections, dim, need):
    if input.ndim < need:
        raise RuntimeError(f"{name} requires a tensor with at least {need} dimension, but got a "
                           f"tensor with {input.ndim} dimensions!")
    if isinstance(sections, int) and input.shape[dim] % sections:
        raise RuntimeError(f"{name} attempted to split along dimension {dim}, but the size of "
                           f"the dimension {input.shape[dim]} is not divisible by the split_size "
                           f"{sections}!")
    return tensor_split(input, sections, dim)


def hsplit(input, sections):
    return _split_dir("torch.hsplit", input, sections, 1 if input.ndim > 1 else 0, 1)


def vsplit(input, sections):
    return _split_dir("torch.vsplit", input, sections, 0, 2)


def dsplit(input, sections):
    return _split_dir("torch.dsplit", input, sections, 2, 3)


def take(input, index):
    """input as 1-D, indexed by `index` (the output has index's shape)."""
    flat = reshape(input, (-1,))
    return reshape(index_select(flat, 0, reshape(index, (-1,))), tuple(index.shape))


def take_along_dim(input, indices, dim=None):
    if dim is None:
        return take(input, indices)
    dim = norm_dim(dim, input.ndim, "take_along_dim")
    shape_i = list(input.shape)
    shape_x = list(indices.shape)
    shape_i[dim] = shape_x[dim] = 1
    b = list(np.broadcast_shapes(tuple(shape_i), tuple(shape_x)))
    bi, bx = list(b), list(b)
    bi[dim], bx[dim] = input.shape[dim], indices.shape[dim]
    return gather(input.expand(*bi), dim, indices.expand(*bx))


def diff(input, n=1, dim=-1, prepend=None, append=None):
    """The n-th forward difference along dim, after concatenating prepend/append."""
    dim = norm_dim(dim, input.ndim, "diff")
    parts = [p for p in (prepend, input, append) if p is not None]
    x = cat(parts, dim) if len(parts) > 1 else input
    for _ in range(n):
        m = x.shape[dim]
        if m == 0:
            break
        if x.dtype is _dt.bool_:
            x = narrow(x, dim, 1, m - 1) != narrow(x, dim, 0, m - 1)
        else:
            x = narrow(x, dim, 1, m - 1) - narrow(x, dim, 0, m - 1)
    return x


def masked_select(input, mask):
    """The elements of input (broadcast with mask) where mask is true, as 1-D."""
    x, m = broadcast_tensors(input, mask)
    return reshape(x, (-1,))[reshape(m, (-1,))]


def swapaxes(input, axis0, axis1):
    return transpose(input, axis0, axis1)


argwhere, swapdims = nonzero, swapaxes


def moveaxis(input, source, destination):
    """Dims `source` moved to positions `destination` (ints or sequences), the others keeping
    their order, as torch.movedim."""
    src = [source] if isinstance(source, int) else list(source)
    dst = [destination] if isinstance(destination, int) else list(destination)
    if len(src) != len(dst):
        raise RuntimeError(f"movedim: Invalid source or destination dims: source ({src} dims) "
                           f"should contain the same number of dims as destination ({dst} dims)")
    nd = input.ndim
    src = [norm_dim(d, nd, "movedim") for d in src]
    dst = [norm_dim(d, nd, "movedim") for d in dst]
    rest = iter(d for d in range(nd) if d not in src)
    placed = dict(zip(dst, src))
    return permute(input, [placed[i] if i in placed else next(rest) for i in range(nd)])
ger = outer
