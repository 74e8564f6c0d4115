"""`axonal.linalg`, PyTorch's `torch.linalg`: inverse, determinants, solves, Cholesky, symmetric
eigenvalues, singular values, norms and products, on (batches of) real matrices.

The factorizations run in NumPy/CuPy's LAPACK (`xp.linalg`); each primitive's backward is the
standard matrix-calculus adjoint written with differentiable Tensor ops (Giles 2008, "Extended
collection of matrix derivative results"; Murray 2016 for Cholesky), so second derivatives work.
Batch dimensions broadcast as in PyTorch. Functions whose PyTorch outputs are complex (eig, eigvals)
are out of scope; those not written yet raise "axonal does not implement torch.linalg.X yet".
"""
import builtins

from . import _compat
from . import _dtype as _dt
from .autograd.function import Function
from .backend import xp_of
from .ops import combine
from .ops.compare import where
from .ops.creation import eye, ones_like, zeros
from .ops.linalg import matmul, tril, triu
from .ops.reduction import amax, amin, sum
from .ops.shape import grad_for_input, reshape, stack
from .ops.unary import abs
from .tensor import Tensor, constant

__all__ = ["cholesky", "cholesky_ex", "cond", "cross", "det", "eigvalsh", "inv", "inv_ex",
           "matmul", "matrix_norm", "matrix_power", "matrix_rank", "multi_dot", "norm", "slogdet",
           "solve", "solve_ex", "solve_triangular", "svdvals", "tensorinv", "tensorsolve",
           "vander", "vecdot", "vector_norm"]


def _square(name, A):
    if A.ndim < 2 or A.shape[-1] != A.shape[-2]:
        raise RuntimeError(f"linalg.{name}: A must be batches of square matrices, but they are "
                           f"{A.shape[-2] if A.ndim >= 2 else A.ndim} by "
                           f"{A.shape[-1] if A.ndim else 0} matrices")
    if not A.dtype.is_floating_point:
        raise RuntimeError(f"linalg.{name}: Expected a floating point tensor as input. Got "
                           f"{A.dtype.name.capitalize()}")


def _mT(x):
    return x.transpose(-2, -1)


class Inv(Function):
    save_output = True

    @staticmethod
    def forward(ctx, A):
        return xp_of(A._data).linalg.inv(A._data)

    @staticmethod
    def backward(ctx, g):  # d(A^-1) = -A^-1 dA A^-1
        inv_t = _mT(ctx.output())
        return -matmul(matmul(inv_t, g), inv_t)


def inv(A):
    _square("inv", A)
    return Inv.apply(A)


def inv_ex(A, *, check_errors=False):
    out = inv(A)
    return out, zeros(tuple(A.shape[:-2]), dtype=_dt.int32)


class Slogdet(Function):
    """(sign, log|det A|); the gradient of log|det A| is A^-T."""

    @staticmethod
    def forward(ctx, A):
        ctx.save_for_backward(A)
        s, l = xp_of(A._data).linalg.slogdet(A._data)
        return s.astype(A._data.dtype), l.astype(A._data.dtype)

    @staticmethod
    def backward(ctx, gs, gl):
        (A,) = ctx.saved_tensors
        return gl.unsqueeze(-1).unsqueeze(-1) * _mT(inv(A))


def slogdet(A):
    _square("slogdet", A)
    return Slogdet.apply(A)  # the sign is in the graph too (gradient 0), as PyTorch's


def det(A):
    """det A = sign * exp(log|det A|): its gradient det(A) A^-T (A must be invertible for the
    gradient; the value is exact for singular A)."""
    _square("det", A)
    s, l = Slogdet.apply(A)
    return s.detach() * l.exp()


def logdet(A):
    """log det A: NaN where det < 0, -inf where det = 0 (PyTorch's)."""
    s, l = slogdet(A)
    return where(s < 0, float("nan"), where(s == 0, float("-inf"), l))


class Solve(Function):
    """X with A X = B (B a batch of matrices); gB = A^-T g, gA = -gB X^T."""

    save_output = True

    @staticmethod
    def forward(ctx, A, B):
        ctx.save_for_backward(A)
        xp = xp_of(A._data)
        batch = xp.broadcast_shapes(A.shape[:-2], B.shape[:-2])
        a = xp.broadcast_to(A._data, batch + tuple(A.shape[-2:]))
        b = xp.broadcast_to(B._data, batch + tuple(B.shape[-2:]))
        return xp.linalg.solve(a, b)

    @staticmethod
    def backward(ctx, g):
        (A,) = ctx.saved_tensors
        gb = Solve.apply(_mT(A), g)
        ga = -matmul(gb, _mT(ctx.output()))
        return grad_for_input(ctx, 0, ga), grad_for_input(ctx, 1, gb)


def solve(A, B, *, left=True):
    _square("solve", A)
    if not left:  # X A = B  <=>  A^T X^T = B^T
        return _mT(solve(_mT(A), _mT(B)))
    vector = B.ndim == 1 or (B.ndim == A.ndim - 1 and tuple(B.shape) == tuple(A.shape[:-1]))
    if vector:
        return Solve.apply(A, B.unsqueeze(-1)).squeeze(-1)
    return Solve.apply(A, B)


def solve_ex(A, B, *, left=True, check_errors=False):
    return solve(A, B, left=left), zeros(tuple(A.shape[:-2]), dtype=_dt.int32)


def solve_triangular(A, B, *, upper, left=True, unitriangular=False):
    """Solve with the triangle of A only (its other entries are ignored, their gradient is 0)."""
    T = triu(A) if upper else tril(A)
    if unitriangular:
        n = A.shape[-1]
        I = eye(n, dtype=A.dtype)
        T = T * (1 - I) + I
    return solve(T, B, left=left)


class Cholesky(Function):
    save_output = True

    @staticmethod
    def forward(ctx, A):
        return xp_of(A._data).linalg.cholesky(A._data)

    @staticmethod
    def backward(ctx, g):
        # Murray 2016: Phi(L^T gL) (lower triangle, diagonal halved), A-bar = L^-T Phi L^-1,
        # symmetrized as PyTorch returns it
        L = ctx.output()
        S = matmul(_mT(L), g)
        n = L.shape[-1]
        P = tril(S) - 0.5 * S * eye(n, dtype=S.dtype)
        Linv = inv(L)
        gA = matmul(matmul(_mT(Linv), P), Linv)
        return 0.5 * (gA + _mT(gA))


def cholesky(A, *, upper=False):
    _square("cholesky", A)
    L = Cholesky.apply(A)
    return _mT(L) if upper else L


def cholesky_ex(A, *, upper=False, check_errors=False):
    return cholesky(A, upper=upper), zeros(tuple(A.shape[:-2]), dtype=_dt.int32)


class Eigvalsh(Function):
    """Eigenvalues of a symmetric matrix (ascending); gradient V diag(g) V^T."""

    @staticmethod
    def forward(ctx, A, lower):
        w, V = xp_of(A._data).linalg.eigh(A._data, UPLO="L" if lower else "U")
        ctx.save(V=V)
        return w

    @staticmethod
    def backward(ctx, g):
        V = constant(ctx.V)
        return matmul(V * g.unsqueeze(-2), _mT(V)), None


def eigvalsh(A, UPLO="L"):
    _square("eigvalsh", A)
    return Eigvalsh.apply(A, UPLO == "L")


class Svdvals(Function):
    """Singular values (descending); gradient U diag(g) V^T (distinct singular values)."""

    @staticmethod
    def forward(ctx, A):
        U, s, Vh = xp_of(A._data).linalg.svd(A._data, full_matrices=False)
        ctx.save(U=U, Vh=Vh)
        return s

    @staticmethod
    def backward(ctx, g):
        return matmul(constant(ctx.U) * g.unsqueeze(-2), constant(ctx.Vh))


def svdvals(A):
    return Svdvals.apply(A)


def matrix_rank(A, *, atol=None, rtol=None, hermitian=False):
    s = svdvals(A.detach())
    smax = amax(s, dim=-1, keepdim=True) if s.shape[-1] else s
    eps = float(xp_of(A._data).finfo(A._data.dtype).eps)
    tol = builtins.max(A.shape[-2:]) * eps * smax if rtol is None and atol is None else \
        builtins.max(atol or 0.0, 0.0) + (rtol or 0.0) * smax
    return sum(s > tol, dim=-1)


def cond(A, p=None):
    if p is None or p == 2:
        s = svdvals(A)
        return s[..., 0] / s[..., -1]
    if p == -2:
        s = svdvals(A)
        return s[..., -1] / s[..., 0]
    return matrix_norm(A, p) * matrix_norm(inv(A), p)


def matrix_power(A, n):
    _square("matrix_power", A)
    if n < 0:
        return matrix_power(inv(A), -n)
    if n == 0:  # the identity, in the graph of A with gradient 0 (PyTorch's)
        ident = eye(A.shape[-1], dtype=A.dtype).expand(*A.shape)
        return where(constant(xp_of(A._data).ones(tuple(A.shape), dtype=bool)), ident, A)
    out, base = None, A
    while n:  # binary powering
        if n & 1:
            out = base if out is None else matmul(out, base)
        n >>= 1
        if n:
            base = matmul(base, base)
    return out


def vector_norm(x, ord=2, dim=None, keepdim=False, *, dtype=None):
    if dtype is not None:
        x = x.to(dtype)
    if not x.dtype.is_floating_point:
        raise RuntimeError(f"linalg.vector_norm: Expected a floating point or complex tensor as "
                           f"input. Got {x.dtype.name.capitalize()}")
    dims = tuple(range(x.ndim)) if dim is None else (dim,) if isinstance(dim, int) else tuple(dim)
    a = abs(x)
    if ord == float("inf"):
        return amax(a, dim=dims, keepdim=keepdim)
    if ord == float("-inf"):
        return amin(a, dim=dims, keepdim=keepdim)
    if ord == 0:
        return sum((x != 0).to(x.dtype), dim=dims, keepdim=keepdim)
    if ord == 1:
        return sum(a, dim=dims, keepdim=keepdim)
    s = sum(x * x if ord == 2 else a ** ord, dim=dims, keepdim=keepdim)
    if ord == 2:  # the gradient at 0 is 0 (PyTorch's), not 0/0
        pos = constant(s._data > 0)
        return where(pos, where(pos, s, 1.0).sqrt(), 0.0)
    return s ** (1.0 / ord)


def matrix_norm(A, ord="fro", dim=(-2, -1), keepdim=False, *, dtype=None):
    if dtype is not None:
        A = A.to(dtype)
    r, c = dim
    if ord == "fro":
        return vector_norm(A, 2, dim, keepdim)
    if ord in (2, -2, "nuc"):
        s = svdvals(combine.moveaxis(A, (r, c), (-2, -1)))
        out = s[..., 0] if ord == 2 else s[..., -1] if ord == -2 else sum(s, dim=-1)
        if keepdim:
            out = out.unsqueeze(builtins.min(r % A.ndim, c % A.ndim)).unsqueeze(
                builtins.max(r % A.ndim, c % A.ndim))
        return out
    if ord in (1, -1, float("inf"), float("-inf")):
        over, then = (r, c) if ord in (1, -1) else (c, r)
        inner = sum(abs(A), dim=over, keepdim=True)
        red = amax if ord in (1, float("inf")) else amin
        out = red(inner, dim=then, keepdim=True)
        return out if keepdim else out.squeeze(builtins.max(r % A.ndim, c % A.ndim)).squeeze(
            builtins.min(r % A.ndim, c % A.ndim))
    raise RuntimeError(f"linalg.matrix_norm: Order {ord} not supported.")


def norm(A, ord=None, dim=None, keepdim=False, *, dtype=None):
    if isinstance(dim, int) or (dim is None and ord is not None and A.ndim == 1) or (
            dim is None and ord is None):
        if dim is None and ord is None:
            return vector_norm(reshape(A, (-1,)) if not keepdim else A, 2, None, keepdim,
                               dtype=dtype)
        return vector_norm(A, 2 if ord is None else ord, dim, keepdim, dtype=dtype)
    return matrix_norm(A, "fro" if ord is None else ord, (-2, -1) if dim is None else dim,
                       keepdim, dtype=dtype)


def vecdot(x, y, *, dim=-1):
    return sum(x * y, dim=dim)


def vander(x, *, N=None):
    """Columns x^0, x^1, ..., x^(N-1) (increasing powers), as running products of x."""
    n = x.shape[-1] if N is None else N
    if n == 0:
        return x.unsqueeze(-1)[..., :0]
    cols = [ones_like(x)]
    for _ in range(1, n):
        cols.append(cols[-1] * x)
    return stack(cols, -1)


def tensorinv(A, ind=2):
    out_shape = tuple(A.shape[ind:]) + tuple(A.shape[:ind])
    n = 1
    for s in A.shape[:ind]:
        n *= s
    return reshape(inv(reshape(A, (n, -1))), out_shape)


def tensorsolve(A, B, dims=None):
    if dims is not None:
        A = combine.moveaxis(A, dims, tuple(range(A.ndim - len(dims), A.ndim)))
    rest = tuple(A.shape[B.ndim:])
    n = 1
    for s in rest:
        n *= s
    return reshape(solve(reshape(A, (-1, n)), reshape(B, (-1,))), rest)


def multi_dot(tensors):
    ts = list(tensors)
    first, last = ts[0].ndim == 1, ts[-1].ndim == 1
    if first:
        ts[0] = ts[0].unsqueeze(0)
    if last:
        ts[-1] = ts[-1].unsqueeze(-1)
    out = ts[0]
    for t in ts[1:]:
        out = matmul(out, t)
    if first:
        out = out.squeeze(0)
    if last:
        out = out.squeeze(-1)
    return out


cross = combine.cross

# PyTorch's top-level and Tensor-method names for these (torch.det, Tensor.inverse ...)
inverse = inv


def _cholesky_method(self, upper=False):
    return cholesky(self, upper=upper)


for _name, _fn in (("det", det), ("logdet", logdet), ("slogdet", slogdet), ("inverse", inv),
                   ("matrix_power", matrix_power), ("cholesky", _cholesky_method)):
    setattr(Tensor, _name, _fn)

__getattr__ = _compat.module_getattr("torch.linalg", globals())
