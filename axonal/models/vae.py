"""Variational autoencoder (Kingma and Welling, 2014) with a Bernoulli decoder.

Layer 8. The generative model is p(z) = N(0, I) over a latent z in R^k and p(x|z) = prod_i
Bernoulli(x_i; sigmoid(decoder(z)_i)). The encoder outputs the mean and log-variance of a diagonal
Gaussian q(z|x) that approximates the intractable posterior. For every q,

    log p(x) >= E_q(z|x)[log p(x|z)] - KL(q(z|x) || p(z)) = ELBO(x)

(Jensen's inequality on log E_q[p(x, z) / q(z|x)]; the gap is KL(q(z|x) || p(z|x))). Training
maximizes the ELBO over encoder and decoder together; the loss is the negative ELBO, nats per image:

* reconstruction term: one sample z = mu + sigma * eps, eps ~ N(0, I) (the reparameterization trick,
  `Normal.rsample`), so the Monte Carlo estimate of E_q[log p(x|z)] is differentiable in mu, sigma.
  For binary x it is minus the summed binary cross-entropy of the decoder's logits; for grey levels
  in [0, 1] the same formula is the usual cross-entropy surrogate (not a normalized density).
* KL term: in closed form for two diagonal Gaussians (`kl_divergence`, summed over the k dims):
  KL = 1/2 sum_j (mu_j^2 + sigma_j^2 - 1 - log sigma_j^2).

`mlp_vae()` is the 784-400-20 model of the paper's MNIST experiments; `conv_vae()` swaps in a
strided convolutional encoder and a transposed-convolution decoder. `VAETrainer` can binarize each
training batch afresh (x ~ Bernoulli(grey level), "dynamic binarization"), the standard protocol
for reporting nats on MNIST.
"""
from .. import nn
from ..distributions import Bernoulli, Independent, Normal, kl_divergence
from ..ops import bernoulli, randn, zeros_like
from ..train import Trainer


class VAE(nn.Module):
    """encoder: x -> (batch, 2 * latent_dim) = [mu, log sigma^2]; decoder: z -> logits like x."""

    def __init__(self, encoder, decoder, latent_dim):
        super().__init__()
        self.encoder, self.decoder, self.latent_dim = encoder, decoder, int(latent_dim)

    def encode(self, x):
        """(mu, logvar) of q(z|x)."""
        h = self.encoder(x)
        if h.dim() != 2 or h.shape[1] != 2 * self.latent_dim:
            raise ValueError(f"VAE: the encoder must output (batch, {2 * self.latent_dim}) = [mu, "
                             f"logvar], got shape {tuple(h.shape)}")
        return h[:, :self.latent_dim], h[:, self.latent_dim:]

    def posterior(self, x):
        """q(z|x) = N(mu, diag(sigma^2)) as an Independent Normal with event_shape (latent_dim,)."""
        mu, logvar = self.encode(x)
        return Independent(Normal(mu, (0.5 * logvar).exp()), 1)

    def prior(self, like):
        """p(z) = N(0, I), batched like the tensor `like` (batch, latent_dim)."""
        zero = zeros_like(like)
        return Independent(Normal(zero, zero + 1.0), 1)

    def likelihood(self, z):
        """p(x|z): independent Bernoullis with the decoder's logits; one event per image."""
        logits = self.decoder(z)
        return Independent(Bernoulli(logits=logits, validate_args=False), logits.dim() - 1)

    def forward(self, x):
        """(logits of p(x|z) for one posterior sample z, mu, logvar)."""
        mu, logvar = self.encode(x)
        z = Normal(mu, (0.5 * logvar).exp()).rsample()
        return self.decoder(z), mu, logvar

    def loss_terms(self, x):
        """Per-image (reconstruction = -log p(x|z), kl = KL(q || p)) Tensors, in nats."""
        q = self.posterior(x)
        z = q.rsample()                          # reparameterized: gradients reach the encoder
        recon = -self.likelihood(z).log_prob(x)  # one-sample estimate of -E_q[log p(x|z)]
        kl = kl_divergence(q, self.prior(z))     # analytic
        return recon, kl

    def negative_elbo(self, x):
        """-ELBO(x) per image (nats): an upper bound on -log p(x)."""
        recon, kl = self.loss_terms(x)
        return recon + kl

    def loss(self, x):
        """{'loss': mean -ELBO, 'recon': mean reconstruction nats, 'kl': mean KL} (Tensors)."""
        recon, kl = self.loss_terms(x)
        recon, kl = recon.mean(), kl.mean()
        return {"loss": recon + kl, "recon": recon, "kl": kl}

    def decode(self, z):
        """Pixel probabilities sigmoid(decoder(z))."""
        return self.decoder(z).sigmoid()

    def reconstruct(self, x):
        """Decode the posterior mean: probabilities of the reconstructed pixels."""
        mu, _ = self.encode(x)
        return self.decode(mu)

    def sample(self, n, generator=None):
        """n images (pixel probabilities) decoded from z ~ p(z)."""
        p = next(iter(self.parameters()))
        z = randn(n, self.latent_dim, generator=generator, dtype=p.dtype, device=p.device)
        return self.decode(z)


def mlp_vae(in_features=784, hidden=400, latent_dim=20):
    """Kingma and Welling's MNIST VAE: in-hidden (ReLU)-2*latent encoder, latent-hidden (ReLU)-in
    decoder (logits), for flat inputs."""
    hidden = [hidden] if isinstance(hidden, int) else list(hidden)
    enc, width = [], in_features
    for h in hidden:
        enc += [nn.Linear(width, h), nn.ReLU()]
        width = h
    enc.append(nn.Linear(width, 2 * latent_dim))
    dec, width = [], latent_dim
    for h in hidden[::-1]:
        dec += [nn.Linear(width, h), nn.ReLU()]
        width = h
    dec.append(nn.Linear(width, in_features))
    return VAE(nn.Sequential(*enc), nn.Sequential(*dec), latent_dim)


def conv_vae(latent_dim=20, channels=(32, 64), image_size=28):
    """Convolutional VAE for (N, 1, 28, 28) images: two stride-2 4x4 convolutions (28 -> 14 -> 7)
    and a linear layer to [mu, logvar]; the decoder mirrors it with transposed convolutions."""
    from ..nn.layers.conv import Conv2d, ConvTranspose2d

    c1, c2 = channels
    side = image_size // 4
    if side * 4 != image_size:
        raise ValueError(f"conv_vae: image_size must be a multiple of 4, got {image_size}")
    encoder = nn.Sequential(Conv2d(1, c1, 4, 2, 1), nn.ReLU(), Conv2d(c1, c2, 4, 2, 1), nn.ReLU(),
                            nn.Flatten(), nn.Linear(c2 * side * side, 2 * latent_dim))
    decoder = nn.Sequential(nn.Linear(latent_dim, c2 * side * side), nn.ReLU(),
                            nn.Unflatten(1, (c2, side, side)),
                            ConvTranspose2d(c2, c1, 4, 2, 1), nn.ReLU(),
                            ConvTranspose2d(c1, 1, 4, 2, 1))
    return VAE(encoder, decoder, latent_dim)


class VAETrainer(Trainer):
    """Trainer for a VAE: loss = mean negative ELBO (nats per image); logs loss, recon and kl.

    `binarize=True` draws x ~ Bernoulli(x) for every training batch (dynamic binarization);
    evaluation uses batches as given (binarize the test set once, with a fixed seed, beforehand).
    """

    def __init__(self, model, optimizer=None, loss_fn=None, metrics=(), binarize=False, **kwargs):
        super().__init__(model, optimizer, loss_fn, metrics=(), **kwargs)
        self.binarize = bool(binarize)

    def train_step(self, batch):
        x, _ = self.unpack(batch)
        if self.binarize:
            x = bernoulli(x)
        terms = self.model.loss(x)
        self.optimizer.zero_grad()
        terms["loss"].backward()
        if self.grad_clip is not None:
            from ..nn.utils import clip_grad_norm_
            clip_grad_norm_(self.model.parameters(), self.grad_clip)
        self.optimizer.step()
        return {k: v.item() for k, v in terms.items()}

    def eval_step(self, batch):
        x, _ = self.unpack(batch)
        return {k: v.item() for k, v in self.model.loss(x).items()}

    def evaluate(self, loader, verbose=0):
        """As Trainer.evaluate; the result is also kept as `last_evaluation`."""
        self.last_evaluation = super().evaluate(loader, verbose)
        return self.last_evaluation


__all__ = ["VAE", "VAETrainer", "conv_vae", "mlp_vae"]
