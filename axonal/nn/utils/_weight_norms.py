"""The math shared by the weight-norm and spectral-norm reparametrizations (both the
`parametrizations` forms and the older hook-based `nn.utils.weight_norm` / `spectral_norm`).

weight norm (Salimans and Kingma 2016): w = g * v / ||v||, the norm taken over every dim except
`dim` (g keeps size 1 in those dims); dim=-1 (or None) means the norm of the whole tensor and a
scalar g, as in PyTorch's norm_except_dim.

spectral norm (Miyato et al. 2018): w / sigma(W), with W the weight reshaped to a matrix with
`dim` first, and sigma estimated by power iteration on persistent vectors u, v:
u <- normalize(W v), v <- normalize(W^T u) (no gradient), sigma = u . (W v) (with gradient).
"""
from ... import _config
from ...ops import matmul, norm
from .. import functional as F


def norm_except_dim(v, pow=2, dim=0):
    """||v|| over all dims but dim, keeping them as size 1 (dim=-1: the whole tensor, 0-d)."""
    if dim == -1:
        return norm(v, pow)
    dims = tuple(d for d in range(v.ndim) if d != dim)
    return norm(v, pow, dims, keepdim=True)


def weight_norm_fn(v, g, dim):
    """PyTorch's torch._weight_norm(v, g, dim) = v * (g / norm_except_dim(v, 2, dim))."""
    return v * (g / norm_except_dim(v, 2, dim))


def weight_to_matrix(weight, dim):
    if dim != 0:
        weight = weight.permute(dim, *(d for d in range(weight.ndim) if d != dim))
    return weight.flatten(1)


def power_method(weight_mat, u, v, n_iterations, eps):
    """n power iterations, writing u and v (Tensors) in place."""
    with _config.no_grad():
        w = weight_mat.detach()
        for _ in range(n_iterations):
            u._data[...] = F.normalize(matmul(w, v), dim=0, eps=eps)._data
            v._data[...] = F.normalize(matmul(w.T, u), dim=0, eps=eps)._data


def sigma(weight_mat, u, v):
    """u . (W v), differentiable in W."""
    return (u.clone() * matmul(weight_mat, v.clone())).sum()
