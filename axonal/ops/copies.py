"""PyTorch's `*_copy` functions (the view ops returning a new tensor instead of a view), the split
variants (split_with_sizes, unsafe_*), adjoint, the trapezoid rules (compositions of existing
differentiable ops), and the dtype/shape predicates (is_floating_point, is_signed ...).
"""
import itertools

from .combine import moveaxis
from .creation import tensor as _tensor
from .indexing import index_select, narrow, select
from .reduction import cumsum, sum
from .shape import movedim as _movedim_one
from .shape import chunk, expand, permute, split, squeeze, stack, transpose, unbind, unsqueeze, view

__all__ = [
    "adjoint",
    "alias_copy",
    "combinations",
    "cumulative_trapezoid",
    "detach",
    "expand_copy",
    "is_complex",
    "is_floating_point",
    "is_nonzero",
    "movedim",
    "is_same_size",
    "is_signed",
    "narrow_copy",
    "permute_copy",
    "select_copy",
    "slice_copy",
    "split_copy",
    "split_with_sizes",
    "split_with_sizes_copy",
    "squeeze_copy",
    "t_copy",
    "transpose_copy",
    "trapezoid",
    "trapz",
    "unbind_copy",
    "unsafe_chunk",
    "unsafe_split",
    "unsafe_split_with_sizes",
    "unsqueeze_copy",
    "view_copy",
]


def _clone_all(out):
    return tuple(t.clone() for t in out) if isinstance(out, (tuple, list)) else out.clone()


def permute_copy(input, dims):
    return permute(input, dims).clone()


def t_copy(input):
    return input.t().clone()


def transpose_copy(input, dim0, dim1):
    return transpose(input, dim0, dim1).clone()


def unsqueeze_copy(input, dim):
    return unsqueeze(input, dim).clone()


def squeeze_copy(input, dim=None):
    return (squeeze(input) if dim is None else squeeze(input, dim)).clone()


def expand_copy(input, size):
    return expand(input, *size).clone()


def view_copy(input, size):
    return view(input, *size).clone() if isinstance(size, (tuple, list)) else \
        view(input, size).clone()


def alias_copy(input):
    return input.clone()


def select_copy(input, dim, index):
    return select(input, dim, index).clone()


def narrow_copy(input, dim, start, length):
    return narrow(input, dim, start, length).clone()


def slice_copy(input, dim=0, start=None, end=None, step=1):
    """input[..., start:end:step, ...] along dim, as a new tensor."""
    key = [slice(None)] * input.ndim
    key[dim] = slice(start, end, step)
    return input[tuple(key)].clone()


def split_with_sizes(input, split_sizes, dim=0):
    return split(input, list(split_sizes), dim)


def split_copy(input, split_size, dim=0):
    return _clone_all(split(input, split_size, dim))


def split_with_sizes_copy(input, split_sizes, dim=0):
    return _clone_all(split(input, list(split_sizes), dim))


def unbind_copy(input, dim=0):
    return _clone_all(unbind(input, dim))


unsafe_split, unsafe_split_with_sizes, unsafe_chunk = split, split_with_sizes, chunk


def adjoint(input):
    """The conjugate transpose of the last two dims: for real tensors, mT."""
    return transpose(input, -2, -1)


def _trapz_dx(y, x, dx, dim):
    """(the trapezoid areas along dim, one per interval): x (samples, broadcast) or spacing dx."""
    n = y.shape[dim]
    mid = (narrow(y, dim, 1, n - 1) + narrow(y, dim, 0, n - 1)) * 0.5
    if x is None:
        return mid * (1.0 if dx is None else dx)
    if x.ndim == 1:  # 1-D sample points along dim
        d = narrow(x, 0, 1, n - 1) - narrow(x, 0, 0, n - 1)
        d = moveaxis(d.reshape((-1,) + (1,) * (y.ndim - 1)), 0, dim % y.ndim)
    else:
        m = x.shape[dim]
        d = narrow(x, dim, 1, m - 1) - narrow(x, dim, 0, m - 1)
    return mid * d


def trapezoid(y, x=None, *, dx=None, dim=-1):
    if y.shape[dim] == 0:
        return sum(y, dim)
    return sum(_trapz_dx(y, x, dx, dim), dim)


def trapz(y, x=None, *, dx=None, dim=-1):
    return trapezoid(y, x, dx=dx, dim=dim)


def cumulative_trapezoid(y, x=None, *, dx=None, dim=-1):
    if y.shape[dim] == 0:
        return y.clone()
    return cumsum(_trapz_dx(y, x, dx, dim), dim % y.ndim)


def unfold(input, dimension, size, step):
    """Tensor.unfold: the windows input[..., i*step : i*step+size, ...] along `dimension`, stacked
    in place of that dim, each window's elements in a new last dim (a copy; PyTorch's is a view)."""
    d = dimension % input.ndim if input.ndim else 0
    n = input.shape[d] if input.ndim else 1
    if size > n:
        raise RuntimeError(f"maximum size for tensor at dimension {d} is {n} but size is {size}")
    if step <= 0:
        raise RuntimeError(f"step is {step} but must be > 0")
    if input.ndim == 0:
        return input.reshape((1,))
    count = (n - size) // step + 1
    wins = [moveaxis(narrow(input, d, i * step, size), d, -1) for i in range(count)]
    return stack(wins, d)


def detach(input):
    return input.detach()


def type_as(input, other):
    """input cast to other's dtype (differentiable, as `to`)."""
    return input.to(other.dtype)


def sum_to_size(input, *size):
    """input summed over the dims that `size` broadcasts (input must expand from size)."""
    size = tuple(size[0]) if len(size) == 1 and isinstance(size[0], (tuple, list)) else size
    lead = input.ndim - len(size)
    if lead < 0:
        raise RuntimeError(f"size {{{', '.join(map(str, size))}}} is not expandable to size "
                           f"{{{', '.join(map(str, input.shape))}}}.")
    out = sum(input, tuple(range(lead))) if lead else input
    dims = tuple(d for d, (s, n) in enumerate(zip(size, out.shape)) if s == 1 and n != 1)
    return sum(out, dims, keepdim=True) if dims else out


def combinations(input, r=2, with_replacement=False):
    """The r-element combinations of a 1-D tensor's elements, as rows (itertools' order)."""
    pick = itertools.combinations_with_replacement if with_replacement else \
        itertools.combinations
    idx = list(pick(range(input.shape[0]), r)) if r > 0 else []
    if not idx:  # r = 0 or r > n: empty, as PyTorch ((0,) for r = 0)
        return input.new_zeros((0,) if r == 0 else (0, r))
    flat = _tensor([i for row in idx for i in row], device=input.device)
    return index_select(input, 0, flat).reshape((len(idx), r))


# -- predicates ----------------------------------------------------------------------------------

def is_floating_point(input):
    return input.dtype.is_floating_point


def is_complex(input):
    return False  # Axonal has no complex dtypes


def is_signed(input):
    return input.dtype.name not in ("bool", "uint8")


def is_same_size(input, other):
    return tuple(input.shape) == tuple(other.shape)


def is_nonzero(input):
    n = input.numel()
    if n == 0:
        raise RuntimeError("Boolean value of Tensor with no values is ambiguous")
    if n > 1:
        raise RuntimeError("Boolean value of Tensor with more than one value is ambiguous")
    return bool(input.item() != 0)


def movedim(input, source, destination):
    """torch.movedim: one dim (shape.movedim's path, the one cross-entropy takes) or sequences of
    dims (moveaxis)."""
    if isinstance(source, int) and isinstance(destination, int):
        return _movedim_one(input, source, destination)
    return moveaxis(input, source, destination)
