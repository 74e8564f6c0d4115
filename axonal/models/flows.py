"""Normalizing flows: RealNVP (affine coupling layers) and the planar flow.

Layer 8. A flow is an invertible, differentiable map f from data x to a latent z with a simple
density p_Z (here N(0, I)). By the change of variables formula

    log p_X(x) = log p_Z(f(x)) + log |det df/dx|,

so a flow whose Jacobian determinant is cheap gives an exact, trainable log-likelihood, and sampling
is x = f^{-1}(z) with z ~ p_Z. Composing maps adds their log-determinants.

RealNVP (Dinh et al., 2017). An affine coupling layer with a binary mask m keeps the masked
coordinates and transforms the others conditioned on them:

    y = m * x + (1 - m) * (x * exp(s(m * x)) + t(m * x)),

where s and t are any networks (an MLP here; s is tanh-bounded for stability). The Jacobian is
triangular (y_masked copies x_masked; each other y_i depends on x_i only through exp(s_i)), so
log|det| = sum_i (1 - m_i) s_i(m * x), and the inverse is explicit:
x = m * y + (1 - m) * (y - t(m * y)) * exp(-s(m * y)). Masks alternate so every coordinate gets
transformed.

Planar flow (Rezende and Mohamed, 2015): f(z) = z + u h(w^T z + b), h = tanh, with
det df/dz = 1 + u^T psi(z), psi = h'(w^T z + b) w (matrix determinant lemma). It is invertible when
w^T u >= -1, enforced by replacing u with u_hat = u + (m(w^T u) - w^T u) w / |w|^2,
m(a) = -1 + softplus(a). It has no closed-form inverse, so it is used in the sampling direction:
x = f_K(...f_1(z0)), log q(x) = log p(z0) - sum_k log|det_k|, e.g. to fit an unnormalized target
density by minimizing the reverse KL E_q[log q(x) - log p~(x)] (`PlanarFlow.reverse_kl`).
"""
import math

from .. import nn
from ..nn import functional as F
from ..nn import init
from ..ops import randn, tensor
from ..train import Trainer


def _standard_normal_log_prob(z):
    """log N(z; 0, I) summed over the last dim."""
    return -0.5 * (z ** 2).sum(-1) - 0.5 * z.shape[-1] * math.log(2 * math.pi)


class AffineCoupling(nn.Module):
    """One affine coupling layer; `mask` is a 0/1 sequence of length dim (1 = passed through)."""

    def __init__(self, mask, hidden=64, layers=2):
        super().__init__()
        mask = [float(m) for m in mask]
        if not all(m in (0.0, 1.0) for m in mask) or all(m == 1.0 for m in mask):
            raise ValueError(f"mask must hold 0s and 1s with at least one 0, got {mask}")
        dim = len(mask)
        self.register_buffer("mask", tensor(mask))
        net, width = [], dim
        for _ in range(layers):
            net += [nn.Linear(width, hidden), nn.ReLU()]
            width = hidden
        self.net = nn.Sequential(*net, nn.Linear(width, 2 * dim))
        init.zeros_(self.net[-1].weight)  # starts as the identity map: s = t = 0
        init.zeros_(self.net[-1].bias)
        self.scale = nn.Parameter(tensor([1.0] * dim))  # s = scale * tanh(raw s)
        self.dim = dim

    def _s_t(self, x_masked):
        h = self.net(x_masked)
        keep = 1 - self.mask
        s = self.scale * h[:, :self.dim].tanh() * keep
        t = h[:, self.dim:] * keep
        return s, t

    def forward(self, x):
        """(y, log|det dy/dx|) for x of shape (n, dim)."""
        s, t = self._s_t(x * self.mask)
        y = x * self.mask + (1 - self.mask) * (x * s.exp() + t)
        return y, s.sum(-1)

    def inverse(self, y):
        s, t = self._s_t(y * self.mask)  # y * mask == x * mask
        return y * self.mask + (1 - self.mask) * ((y - t) * (-s).exp())


class RealNVP(nn.Module):
    """A stack of affine couplings with alternating masks, x (data) -> z ~ N(0, I).

    Args:
        dim: data dimension (>= 2).
        n_layers: coupling layers; masks alternate between the even and the odd coordinates.
        hidden, layers: width and depth of each layer's s/t network.
        loc, scale: an optional fixed standardization x' = (x - loc) / scale applied first (its
            log-determinant -sum log scale is included, so log_prob stays in data units).
    """

    def __init__(self, dim=2, n_layers=8, hidden=64, layers=2, loc=None, scale=None):
        super().__init__()
        if dim < 2:
            raise ValueError(f"RealNVP needs dim >= 2 (couplings split the coordinates), got {dim}")
        self.dim = int(dim)
        even = [float(i % 2 == 0) for i in range(dim)]
        masks = [even if k % 2 == 0 else [1 - m for m in even] for k in range(n_layers)]
        self.couplings = nn.ModuleList([AffineCoupling(m, hidden, layers) for m in masks])
        self.register_buffer("loc", tensor([0.0] * dim if loc is None else [float(v) for v in loc]))
        self.register_buffer("data_scale", tensor([1.0] * dim if scale is None
                                                  else [float(v) for v in scale]))

    def forward(self, x):
        """(z, log|det dz/dx|): the map from data to latent and its log-Jacobian per sample."""
        z = (x - self.loc) / self.data_scale
        logdet = -self.data_scale.log().sum() + 0 * z[:, 0]
        for layer in self.couplings:
            z, ld = layer(z)
            logdet = logdet + ld
        return z, logdet

    def inverse(self, z):
        """x = f^{-1}(z): the couplings undone in reverse order, then the standardization."""
        for layer in reversed(self.couplings):
            z = layer.inverse(z)
        return z * self.data_scale + self.loc

    def log_prob(self, x):
        """log p(x) = log N(f(x); 0, I) + log|det df/dx| (change of variables), per sample."""
        z, logdet = self(x)
        return _standard_normal_log_prob(z) + logdet

    def sample(self, n, generator=None):
        z = randn(n, self.dim, generator=generator, dtype=self.loc.dtype, device=self.loc.device)
        return self.inverse(z)


class PlanarFlow(nn.Module):
    """K planar layers z -> z + u_hat tanh(w^T z + b), used in the sampling direction."""

    def __init__(self, dim=2, n_layers=8, init_std=0.1):
        super().__init__()
        self.dim, self.n_layers = int(dim), int(n_layers)
        self.u = nn.Parameter(randn(n_layers, dim) * init_std)
        self.w = nn.Parameter(randn(n_layers, dim) * init_std)
        self.b = nn.Parameter(randn(n_layers) * init_std)

    def u_hat(self, k):
        """u projected so that w^T u_hat >= -1 (each layer stays invertible)."""
        u, w = self.u[k], self.w[k]
        wu = (w * u).sum()
        return u + (F.softplus(wu) - 1 - wu) * w / (w * w).sum()

    def forward(self, z):
        """(x, sum_k log|det df_k/dz|) for z of shape (n, dim)."""
        logdet = 0 * z[:, 0]
        for k in range(self.n_layers):
            w, u = self.w[k], self.u_hat(k)
            a = z.matmul(w) + self.b[k]                 # (n,)
            h = a.tanh()
            z = z + h.unsqueeze(1) * u
            psi_u = (1 - h ** 2) * (w * u).sum()        # u^T psi(z) = h'(a) w^T u
            logdet = logdet + (1 + psi_u).abs().log()
        return z, logdet

    def sample(self, n, generator=None):
        """(x, log q(x)): x = f(z0), z0 ~ N(0, I), log q(x) = log N(z0) - log|det df/dz0|."""
        z0 = randn(n, self.dim, generator=generator, dtype=self.u.dtype, device=self.u.device)
        x, logdet = self(z0)
        return x, _standard_normal_log_prob(z0) - logdet

    def reverse_kl(self, log_target, n=256):
        """Monte Carlo E_q[log q(x) - log p~(x)] for an unnormalized log-density `log_target`
        (equal to KL(q || p) - log Z; minimizing it fits q to p)."""
        x, log_q = self.sample(n)
        return (log_q - log_target(x)).mean()


class FlowTrainer(Trainer):
    """Maximum likelihood for a density model with `log_prob(x)`: loss = mean NLL in nats per
    sample (batches are points, with or without labels)."""

    def __init__(self, model, optimizer=None, loss_fn=None, metrics=(), **kwargs):
        super().__init__(model, optimizer, None, metrics=(), **kwargs)

    def train_step(self, batch):
        x, _ = self.unpack(batch)
        loss = -self.model.log_prob(x).mean()
        self.optimizer.zero_grad()
        loss.backward()
        if self.grad_clip is not None:
            from ..nn.utils import clip_grad_norm_
            clip_grad_norm_(self.model.parameters(), self.grad_clip)
        self.optimizer.step()
        return {"loss": loss.item()}

    def eval_step(self, batch):
        x, _ = self.unpack(batch)
        return {"loss": -self.model.log_prob(x).mean().item()}


__all__ = ["AffineCoupling", "FlowTrainer", "PlanarFlow", "RealNVP"]
