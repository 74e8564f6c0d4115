"""Restricted Boltzmann machines: Bernoulli-Bernoulli and Gaussian-Bernoulli, CD-k and PCD.

Layer 8. An RBM is an energy model over visible v and binary hidden h, p(v, h) = exp(-E(v, h)) / Z,
with no visible-visible or hidden-hidden couplings. With weight W (hidden x visible), visible bias b
and hidden bias c:

    Bernoulli visible (v in {0,1}^D):   E(v, h) = -b^T v - c^T h - h^T W v
    Gaussian visible (unit variance):   E(v, h) = |v - b|^2 / 2 - c^T h - h^T W v

The bipartite graph makes both conditionals factorize:

    p(h_j = 1 | v) = sigmoid(c_j + W_j. v)
    p(v_i = 1 | h) = sigmoid(b_i + W_.i^T h)   (Bernoulli)     v | h ~ N(b + W^T h, I)   (Gaussian)

and summing out h gives the free energy, p(v) = exp(-F(v)) / Z:

    F(v) = -b^T v - sum_j softplus(c_j + W_j. v)         (Bernoulli; |v - b|^2 / 2 for the first
                                                           term with Gaussian visible units)

The log-likelihood gradient is a difference of two expectations of dF/dtheta:

    -d log p(v) / d theta = dF(v)/d theta - E_{v' ~ p}[dF(v')/d theta]
    with dF/dW = -p(h|v) v^T,  dF/dc = -p(h|v),  dF/db = -v (Bernoulli) or -(v - b) (Gaussian).

The first ("positive phase") uses the data; the model expectation ("negative phase") is intractable
(Z sums 2^(D+H) states), so contrastive divergence CD-k replaces it with samples after k Gibbs steps
v -> h -> v started at the data; persistent CD (PCD, Tieleman 2008) keeps the chains running across
updates instead of restarting them at the data. `contrastive_divergence` writes the resulting
estimate of the negative log-likelihood gradient, -(positive - negative), into each parameter's
`.grad`, so any axonal optimizer (SGD with momentum, weight decay, Adam) then applies the update.

The pseudo-log-likelihood sum_i log p(v_i | v_-i) = sum_i log sigmoid(F(v, bit i flipped) - F(v))
is tractable and is the usual training monitor (Besag 1975).
"""
from .. import _config, nn
from ..nn import functional as F
from ..ops import bernoulli, randint, randn, randn_like, zeros
from ..train import Trainer


class RBM(nn.Module):
    """RBM(n_visible, n_hidden, visible='bernoulli' | 'gaussian', k=1, persistent=False).

    `forward(v)` is p(h = 1 | v), so a trained RBM is also a sigmoid layer (DBN stacks)."""

    def __init__(self, n_visible, n_hidden, visible="bernoulli", k=1, persistent=False,
                 init_std=0.01):
        super().__init__()
        if visible not in ("bernoulli", "gaussian"):
            raise ValueError(f"visible must be 'bernoulli' or 'gaussian', got {visible!r}")
        if not isinstance(k, int) or k < 1:
            raise ValueError(f"k (Gibbs steps per update) must be a positive int, got {k!r}")
        self.n_visible, self.n_hidden = int(n_visible), int(n_hidden)
        self.visible, self.k, self.persistent = visible, k, bool(persistent)
        self.weight = nn.Parameter(randn(n_hidden, n_visible) * init_std)
        self.v_bias = nn.Parameter(zeros(n_visible))
        self.h_bias = nn.Parameter(zeros(n_hidden))
        self.register_buffer("chain", None, persistent=False)  # PCD's fantasy particles

    def extra_repr(self):
        return (f"n_visible={self.n_visible}, n_hidden={self.n_hidden}, visible={self.visible!r}, "
                f"k={self.k}, persistent={self.persistent}")

    # -- the model ---------------------------------------------------------------------------------
    def _check(self, v):
        if v.dim() != 2 or v.shape[1] != self.n_visible:
            raise ValueError(f"RBM expects visible vectors of shape (batch, {self.n_visible}), got "
                             f"{tuple(v.shape)} (flatten images first)")
        return v

    def hidden_preactivation(self, v):
        return F.linear(self._check(v), self.weight, self.h_bias)

    def p_h_given_v(self, v):
        """p(h_j = 1 | v) for every hidden unit: (batch, n_hidden)."""
        return self.hidden_preactivation(v).sigmoid()

    def visible_mean(self, h):
        """E[v | h]: sigmoid(b + h W) (Bernoulli) or b + h W (Gaussian)."""
        a = h.matmul(self.weight) + self.v_bias
        return a.sigmoid() if self.visible == "bernoulli" else a

    def p_v_given_h(self, h):
        """p(v_i = 1 | h) (Bernoulli visible units only; for Gaussian ones see visible_mean)."""
        if self.visible != "bernoulli":
            raise ValueError("p_v_given_h is a probability for Bernoulli visible units; use "
                             "visible_mean for Gaussian ones")
        return self.visible_mean(h)

    def sample_h(self, v, generator=None):
        return bernoulli(self.p_h_given_v(v), generator=generator)

    def sample_v(self, h, generator=None):
        mean = self.visible_mean(h)
        if self.visible == "bernoulli":
            return bernoulli(mean, generator=generator)
        return mean + randn_like(mean, generator=generator)

    def forward(self, v):
        return self.p_h_given_v(v)

    def energy(self, v, h):
        """E(v, h) per sample."""
        inter = (h * F.linear(v, self.weight)).sum(-1)
        vis = ((v - self.v_bias) ** 2).sum(-1) / 2 if self.visible == "gaussian" else (
            v * self.v_bias).sum(-1).neg()
        return vis - (h * self.h_bias).sum(-1) - inter

    def free_energy(self, v):
        """F(v) = -log sum_h exp(-E(v, h)) per sample (h summed out in closed form)."""
        vis = ((v - self.v_bias) ** 2).sum(-1) / 2 if self.visible == "gaussian" else (
            v.matmul(self.v_bias)).neg()
        return vis - F.softplus(self.hidden_preactivation(v)).sum(-1)

    # -- sampling ----------------------------------------------------------------------------------
    def gibbs(self, v, steps=1, generator=None):
        """`steps` rounds of block Gibbs sampling v -> h -> v; returns the last visible sample."""
        with _config.no_grad():
            for _ in range(steps):
                v = self.sample_v(self.sample_h(v, generator), generator)
        return v

    def sample(self, n, steps=1000, generator=None, init=None):
        """n visible samples after `steps` Gibbs rounds from `init` (default: random noise)."""
        p = self.weight
        if init is None:
            init = bernoulli(zeros(n, self.n_visible, dtype=p.dtype, device=p.device) + 0.5,
                             generator) if self.visible == "bernoulli" else randn(
                n, self.n_visible, generator=generator, dtype=p.dtype, device=p.device)
        return self.gibbs(init, steps, generator)

    def reconstruct(self, v):
        """E[v | h = p(h|v)]: the deterministic one-step reconstruction."""
        return self.visible_mean(self.p_h_given_v(v))

    def reconstruction_error(self, v):
        """Mean squared error per element of `reconstruct(v)` (a float)."""
        with _config.no_grad():
            return float(((self.reconstruct(v) - v) ** 2).mean().item())

    # -- learning ----------------------------------------------------------------------------------
    def _negative_samples(self, v0, k, generator):
        if not self.persistent:
            return self.gibbs(v0, k, generator)  # CD-k: chains restart at the data
        if self.chain is None or self.chain.shape[1] != self.n_visible:
            self.chain = v0.detach().clone()     # PCD: chains start once at the data, then persist
        self.chain = self.gibbs(self.chain, k, generator)
        return self.chain

    def statistics(self, v):
        """Sufficient statistics <p(h|v) v^T>, <p(h|v)>, <dF/db terms> averaged over the batch:
        minus the free-energy gradient dF/d(W, c, b) at v, batch-averaged."""
        ph = self.p_h_given_v(v)
        n = v.shape[0]
        vis = v - self.v_bias if self.visible == "gaussian" else v
        return ph.t().matmul(v) / n, ph.mean(0), vis.mean(0)

    def contrastive_divergence(self, v0, k=None, generator=None):
        """Estimate the gradient of the mean negative log-likelihood of the batch `v0` with CD-k
        (or PCD when persistent=True) and store it in weight.grad, h_bias.grad, v_bias.grad.

        grad = -(positive phase - negative phase) = mean dF(v0)/dtheta - mean dF(v_k)/dtheta.
        Returns {'recon_error': one-step reconstruction MSE of the batch before the update}.
        """
        with _config.no_grad():
            v0 = self._check(v0.detach())
            vk = self._negative_samples(v0, self.k if k is None else k, generator)
            pos, neg = self.statistics(v0), self.statistics(vk)
            for param, p, q in zip((self.weight, self.h_bias, self.v_bias), pos, neg):
                param.grad = (q - p).to(param.dtype)
            recon = float(((self.reconstruct(v0) - v0) ** 2).mean().item())
        return {"recon_error": recon}

    def pseudo_log_likelihood(self, v, exact=False, generator=None, chunk=64):
        """Mean over the batch of the pseudo-log-likelihood sum_i log p(v_i | v_-i) (nats).

        exact=False estimates it as D log sigmoid(F(v~) - F(v)) with one random bit flipped per
        sample (unbiased; what scikit-learn reports); exact=True sums all D terms."""
        if self.visible != "bernoulli":
            raise ValueError("pseudo_log_likelihood needs binary (Bernoulli) visible units")
        with _config.no_grad():
            v = self._check(v)
            n, d = v.shape
            fe = self.free_energy(v)
            if not exact:
                i = randint(0, d, (n,), generator=generator)
                flip = F.one_hot(i, d).to(v.dtype)
                v_flip = v + flip * (1 - 2 * v)
                return float((d * F.logsigmoid(self.free_energy(v_flip) - fe)).mean().item())
            pre = self.hidden_preactivation(v)            # flipping bit i shifts it by +-W[:, i]
            sign = 1 - 2 * v                              # +1 where v_i = 0, -1 where v_i = 1
            total = 0.0
            for start in range(0, d, chunk):
                stop = min(start + chunk, d)
                s = sign[:, start:stop]                   # (n, c)
                w = self.weight[:, start:stop].t()        # (c, H)
                pre_flip = pre.unsqueeze(1) + s.unsqueeze(2) * w.unsqueeze(0)  # (n, c, H)
                fe_flip = (fe.unsqueeze(1) - s * self.v_bias[start:stop]
                           + F.softplus(pre).sum(-1).unsqueeze(1) - F.softplus(pre_flip).sum(-1))
                total = total + F.logsigmoid(fe_flip - fe.unsqueeze(1)).sum(1)
            return float(total.mean().item())


class RBMTrainer(Trainer):
    """Trains an RBM (or anything with contrastive_divergence) with any optimizer: per batch,
    contrastive_divergence sets the .grad fields, then optimizer.step(). Batches are images or
    vectors (flattened) with optional labels. Logs recon_error; evaluation adds the stochastic
    pseudo-log-likelihood `pll` (the same bit flips on every evaluation: a fixed-seed generator)."""

    def __init__(self, model, optimizer=None, loss_fn=None, metrics=(), pll_seed=0, **kwargs):
        super().__init__(model, optimizer, None, metrics=(), **kwargs)
        self.pll_seed = pll_seed
        self._pll_gen = None

    def _visible(self, batch):
        v, _ = self.unpack(batch)
        return v.reshape(v.shape[0], -1)

    def train_step(self, batch):
        logs = self.model.contrastive_divergence(self._visible(batch))
        self.optimizer.step()
        return logs

    def eval_step(self, batch):
        v = self._visible(batch)
        logs = {"recon_error": self.model.reconstruction_error(v),
                "free_energy": float(self.model.free_energy(v).mean().item())}
        if self.model.visible == "bernoulli":
            logs["pll"] = self.model.pseudo_log_likelihood(v, generator=self._pll_gen)
        return logs

    def evaluate(self, loader, verbose=0):
        from ..random import Generator

        self._pll_gen = Generator().manual_seed(self.pll_seed)
        return super().evaluate(loader, verbose)


__all__ = ["RBM", "RBMTrainer"]
