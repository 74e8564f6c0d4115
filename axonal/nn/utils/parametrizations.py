"""`torch.nn.utils.parametrizations`: weight_norm and spectral_norm as parametrizations (see
`parametrize`); the math is in `_weight_norms`.

    m = weight_norm(nn.Linear(20, 40))      # m.parametrizations.weight.original0 (g), original1 (v)
    m = spectral_norm(nn.Linear(20, 40))    # m.parametrizations.weight.original, buffers _u, _v

spectral_norm's vectors u and v start random (normal, normalized) and get 15 power iterations at
registration; each forward in training mode runs n_power_iterations more. orthogonal is not
implemented yet.
"""
from ... import random as _random
from ...ops import tensor as _tensor
from .. import functional as F
from ..module import Module
from . import parametrize
from ._weight_norms import norm_except_dim, power_method, sigma, weight_norm_fn, weight_to_matrix

__all__ = ["spectral_norm", "weight_norm"]


class _WeightNorm(Module):
    def __init__(self, dim=0):
        super().__init__()
        self.dim = -1 if dim is None else dim

    def forward(self, weight_g, weight_v):
        return weight_norm_fn(weight_v, weight_g, self.dim)

    def right_inverse(self, weight):
        return norm_except_dim(weight, 2, self.dim), weight


def weight_norm(module, name="weight", dim=0):
    """Reparametrize module.<name> as g * v / ||v|| (norm over all dims but dim; None: whole)."""
    parametrize.register_parametrization(module, name, _WeightNorm(dim), unsafe=True)
    return module


class _SpectralNorm(Module):
    def __init__(self, weight, n_power_iterations=1, dim=0, eps=1e-12):
        super().__init__()
        ndim = weight.ndim
        if dim >= ndim or dim < -ndim:
            raise IndexError(f"Dimension out of range (expected to be in range of [-{ndim}, "
                             f"{ndim - 1}] but got {dim})")
        if n_power_iterations <= 0:
            raise ValueError("Expected n_power_iterations to be positive, but got "
                             f"n_power_iterations={n_power_iterations}")
        self.dim = dim if dim >= 0 else dim + ndim
        self.eps = eps
        if ndim > 1:
            self.n_power_iterations = n_power_iterations
            mat = weight_to_matrix(weight.detach(), self.dim)
            h, w = mat.shape
            gen = _random.np_generator()
            dt = weight._data.dtype
            u = _tensor(gen.standard_normal(h).astype(dt), device=weight.device)
            v = _tensor(gen.standard_normal(w).astype(dt), device=weight.device)
            self.register_buffer("_u", F.normalize(u, dim=0, eps=eps))
            self.register_buffer("_v", F.normalize(v, dim=0, eps=eps))
            power_method(mat, self._u, self._v, 15, eps)

    def forward(self, weight):
        if weight.ndim == 1:
            return F.normalize(weight, dim=0, eps=self.eps)
        mat = weight_to_matrix(weight, self.dim)
        if self.training:
            power_method(mat, self._u, self._v, self.n_power_iterations, self.eps)
        return weight / sigma(mat, self._u, self._v)

    def right_inverse(self, value):
        return value


def spectral_norm(module, name="weight", n_power_iterations=1, eps=1e-12, dim=None):
    """Reparametrize module.<name> as W / sigma(W) (dim: 1 for transposed convolutions, else 0)."""
    weight = getattr(module, name, None)
    from ...tensor import Tensor
    if not isinstance(weight, Tensor):
        raise ValueError(f"Module '{module}' has no parameter or buffer with name '{name}'")
    if dim is None:
        # ConvTranspose1d/2d/3d keep their output channels in weight dim 1
        dim = 1 if getattr(type(module), "_transposed", False) else 0
    parametrize.register_parametrization(
        module, name, _SpectralNorm(weight, n_power_iterations, dim, eps))
    return module
