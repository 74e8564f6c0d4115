"""The older hook-based `nn.utils.weight_norm` / `spectral_norm` (and their `remove_*`), kept by
PyTorch (weight_norm with a FutureWarning) and used by much published code.

weight_norm replaces parameter `weight` by `weight_g` and `weight_v`; spectral_norm by
`weight_orig` plus buffers `weight_u`, `weight_v`. A forward pre-hook recomputes `module.weight`
(a plain attribute, not in the state dict) before every call, so gradients reach g and v (or
weight_orig). spectral_norm runs its power iteration (v first, then u, as PyTorch's old form) only
in training mode. The math is in `_weight_norms`.
"""
import warnings

from ... import _config
from ... import random as _random
from ...ops import tensor as _tensor
from .. import functional as F
from ..lazy import UninitializedParameter
from ..parameter import Parameter
from ._weight_norms import norm_except_dim, weight_norm_fn, weight_to_matrix

__all__ = ["remove_spectral_norm", "remove_weight_norm", "spectral_norm", "weight_norm"]


class WeightNorm:
    """The forward pre-hook of nn.utils.weight_norm."""

    def __init__(self, name, dim):
        self.name, self.dim = name, -1 if dim is None else dim

    def compute_weight(self, module):
        return weight_norm_fn(getattr(module, self.name + "_v"), getattr(module, self.name + "_g"),
                              self.dim)

    def __call__(self, module, inputs):
        setattr(module, self.name, self.compute_weight(module))

    def remove(self, module):
        weight = self.compute_weight(module)
        delattr(module, self.name)
        del module._parameters[self.name + "_g"]
        del module._parameters[self.name + "_v"]
        setattr(module, self.name, Parameter(weight.detach()))


def _find(module, kind, name):
    for key, hook in module._forward_pre_hooks.items():
        if isinstance(hook, kind) and hook.name == name:
            return key, hook
    return None, None


def weight_norm(module, name="weight", dim=0):
    """Reparametrize module.<name> as <name>_g * <name>_v / ||<name>_v|| (deprecated form)."""
    warnings.warn("torch.nn.utils.weight_norm is deprecated in favor of "
                  "torch.nn.utils.parametrizations.weight_norm.", FutureWarning, stacklevel=2)
    if _find(module, WeightNorm, name)[1] is not None:
        raise RuntimeError(f"Cannot register two weight_norm hooks on the same parameter {name}")
    fn = WeightNorm(name, dim)
    weight = getattr(module, name)
    if isinstance(weight, UninitializedParameter):
        raise ValueError("The module passed to `WeightNorm` can't have uninitialized parameters. "
                         "Make sure to run the dummy forward before applying weight "
                         "normalization")
    del module._parameters[name]
    with _config.no_grad():
        module.register_parameter(name + "_g",
                                  Parameter(norm_except_dim(weight.detach(), 2, fn.dim)))
    module.register_parameter(name + "_v", Parameter(weight.detach()))
    setattr(module, name, fn.compute_weight(module))
    module.register_forward_pre_hook(fn)
    return module


def remove_weight_norm(module, name="weight"):
    key, hook = _find(module, WeightNorm, name)
    if hook is None:
        raise ValueError(f"weight_norm of '{name}' not found in {module}")
    hook.remove(module)
    del module._forward_pre_hooks[key]
    return module


class SpectralNorm:
    """The forward pre-hook of nn.utils.spectral_norm."""

    def __init__(self, name="weight", n_power_iterations=1, dim=0, eps=1e-12):
        if n_power_iterations <= 0:
            raise ValueError("Expected n_power_iterations to be positive, but got "
                             f"n_power_iterations={n_power_iterations}")
        self.name, self.dim, self.n_power_iterations, self.eps = name, dim, n_power_iterations, eps

    def compute_weight(self, module, do_power_iteration):
        weight = getattr(module, self.name + "_orig")
        u, v = getattr(module, self.name + "_u"), getattr(module, self.name + "_v")
        mat = weight_to_matrix(weight, self.dim)
        if do_power_iteration:
            with _config.no_grad():
                w = mat.detach()
                for _ in range(self.n_power_iterations):
                    v._data[...] = F.normalize(w.T @ u, dim=0, eps=self.eps)._data
                    u._data[...] = F.normalize(w @ v, dim=0, eps=self.eps)._data
        sigma = (u.clone() * (mat @ v.clone())).sum()
        return weight / sigma

    def __call__(self, module, inputs):
        setattr(module, self.name, self.compute_weight(module, module.training))

    def remove(self, module):
        with _config.no_grad():
            weight = self.compute_weight(module, False)
        delattr(module, self.name)
        delattr(module, self.name + "_u")
        delattr(module, self.name + "_v")
        delattr(module, self.name + "_orig")
        module.register_parameter(self.name, Parameter(weight.detach()))


def spectral_norm(module, name="weight", n_power_iterations=1, eps=1e-12, dim=None):
    """Reparametrize module.<name> as <name>_orig / sigma(<name>_orig) (deprecated form)."""
    if _find(module, SpectralNorm, name)[1] is not None:
        raise RuntimeError(f"Cannot register two spectral_norm hooks on the same parameter "
                           f"{name}")
    if dim is None:
        # ConvTranspose1d/2d/3d keep their output channels in weight dim 1
        dim = 1 if getattr(type(module), "_transposed", False) else 0
    fn = SpectralNorm(name, n_power_iterations, dim, eps)
    weight = module._parameters[name]
    if isinstance(weight, UninitializedParameter):
        raise ValueError("The module passed to `SpectralNorm` can't have uninitialized "
                         "parameters. Make sure to run the dummy forward before applying "
                         "spectral normalization")
    with _config.no_grad():
        h, w = weight_to_matrix(weight.detach(), dim).shape
        gen = _random.np_generator()
        dt = weight._data.dtype
        u = F.normalize(_tensor(gen.standard_normal(h).astype(dt), device=weight.device), dim=0,
                        eps=eps)
        v = F.normalize(_tensor(gen.standard_normal(w).astype(dt), device=weight.device), dim=0,
                        eps=eps)
    delattr(module, name)
    module.register_parameter(name + "_orig", weight)
    setattr(module, name, weight.detach())
    module.register_buffer(name + "_u", u)
    module.register_buffer(name + "_v", v)
    module.register_forward_pre_hook(fn)
    return module


def remove_spectral_norm(module, name="weight"):
    key, hook = _find(module, SpectralNorm, name)
    if hook is None:
        raise ValueError(f"spectral_norm of '{name}' not found in {module}")
    hook.remove(module)
    del module._forward_pre_hooks[key]
    return module
