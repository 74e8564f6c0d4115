"""Generative adversarial networks (Goodfellow et al., 2014): MLP GAN and DCGAN.

Layer 8. A generator G maps noise z ~ N(0, I) to samples; a discriminator D (outputting a logit,
D(x) = sigmoid(logit)) tells data from samples. They play

    min_G max_D  V(D, G) = E_x[log D(x)] + E_z[log(1 - D(G(z)))].

For a fixed G the best D is p_data / (p_data + p_G), and then V = 2 JS(p_data || p_G) - log 4, so
the game's equilibrium is p_G = p_data. Each step alternates:

* discriminator: ascend V, i.e. minimize the binary cross-entropy of D's logits with label 1 on a
  real batch and label 0 on a generated batch (G's output detached: only D learns here);
* generator: the non-saturating loss. Minimizing log(1 - D(G(z))) as the game says has a vanishing
  gradient early on, when D rejects samples confidently (D(G(z)) ~ 0 where log(1 - D) is flat in the
  logit: d/dl log(1 - sigmoid(l)) = -sigmoid(l) ~ 0). G instead maximizes log D(G(z)), whose
  gradient 1 - sigmoid(l) ~ 1 there: BCE of D(G(z)) with label 1. Same fixed point, strong early
  gradients.

`mlp_gan()` is a fully connected pair for flat 784-pixel images in [-1, 1] (tanh output);
`dcgan()` follows Radford et al. (2016): a transposed-convolution generator with batch norm and
ReLU, a strided-convolution discriminator with LeakyReLU(0.2), no pooling, Adam(2e-4, betas (0.5,
0.999)).
"""
from .. import nn
from ..nn import functional as F
from ..ops import ones_like, randn, zeros_like
from ..train import Trainer


class GAN(nn.Module):
    """generator: (n, latent_dim) -> samples; discriminator: samples -> (n, 1) logits."""

    def __init__(self, generator, discriminator, latent_dim):
        super().__init__()
        self.generator, self.discriminator = generator, discriminator
        self.latent_dim = int(latent_dim)

    def noise(self, n, generator=None):
        p = next(iter(self.generator.parameters()))
        return randn(n, self.latent_dim, generator=generator, dtype=p.dtype, device=p.device)

    def forward(self, z):
        return self.generator(z)

    def sample(self, n, generator=None):
        return self.generator(self.noise(n, generator))

    def discriminator_loss(self, real, fake, real_label=1.0):
        """-V estimated on a batch: BCE(D(real), real_label) + BCE(D(fake), 0), fake detached.
        A real_label below 1 is one-sided label smoothing (Salimans et al., 2016)."""
        real_logits = self.discriminator(real)
        fake_logits = self.discriminator(fake.detach())
        loss = (F.binary_cross_entropy_with_logits(real_logits, ones_like(real_logits) * real_label)
                + F.binary_cross_entropy_with_logits(fake_logits, zeros_like(fake_logits)))
        return loss, real_logits, fake_logits

    def generator_loss(self, fake):
        """Non-saturating generator loss -E[log D(G(z))] = BCE(D(G(z)), 1)."""
        logits = self.discriminator(fake)
        return F.binary_cross_entropy_with_logits(logits, ones_like(logits)), logits


def mlp_gan(latent_dim=100, hidden=(256, 512), out_features=784, dropout=0.3):
    """Generator latent-256-512-784 (LeakyReLU, tanh out); discriminator 784-512-256-1 (LeakyReLU,
    dropout), for flat images scaled to [-1, 1]."""
    g, width = [], latent_dim
    for h in hidden:
        g += [nn.Linear(width, h), nn.LeakyReLU(0.2)]
        width = h
    g += [nn.Linear(width, out_features), nn.Tanh()]
    d, width = [], out_features
    for h in hidden[::-1]:
        d += [nn.Linear(width, h), nn.LeakyReLU(0.2)] + ([nn.Dropout(dropout)] if dropout else [])
        width = h
    d.append(nn.Linear(width, 1))
    return GAN(nn.Sequential(*g), nn.Sequential(*d), latent_dim)


def _dcgan_init(module):
    # Radford et al.: conv weights ~ N(0, 0.02); batch norm scale ~ N(1, 0.02), shift 0
    from ..nn import init
    from ..nn.layers.conv import Conv2d, ConvTranspose2d

    if isinstance(module, (Conv2d, ConvTranspose2d, nn.Linear)):
        init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d):
        init.normal_(module.weight, 1.0, 0.02)
        init.zeros_(module.bias)


def dcgan(latent_dim=100, channels=64, image_size=28):
    """DCGAN for (N, 1, 28, 28) images in [-1, 1]:
    G: z -> Linear -> (2c, 7, 7) -> BN, ReLU -> ConvT 4x4/2 -> (c, 14, 14) -> BN, ReLU
       -> ConvT 4x4/2 -> (1, 28, 28) -> tanh;
    D: (1, 28, 28) -> Conv 4x4/2 -> (c, 14, 14) -> LeakyReLU -> Conv 4x4/2 -> (2c, 7, 7) -> BN,
       LeakyReLU -> Linear -> logit."""
    from ..nn.layers.conv import Conv2d, ConvTranspose2d

    c, side = int(channels), image_size // 4
    if side * 4 != image_size:
        raise ValueError(f"dcgan: image_size must be a multiple of 4, got {image_size}")
    generator = nn.Sequential(
        nn.Linear(latent_dim, 2 * c * side * side), nn.Unflatten(1, (2 * c, side, side)),
        nn.BatchNorm2d(2 * c), nn.ReLU(),
        ConvTranspose2d(2 * c, c, 4, 2, 1), nn.BatchNorm2d(c), nn.ReLU(),
        ConvTranspose2d(c, 1, 4, 2, 1), nn.Tanh())
    discriminator = nn.Sequential(
        Conv2d(1, c, 4, 2, 1), nn.LeakyReLU(0.2),
        Conv2d(c, 2 * c, 4, 2, 1), nn.BatchNorm2d(2 * c), nn.LeakyReLU(0.2),
        nn.Flatten(), nn.Linear(2 * c * side * side, 1))
    gan = GAN(generator, discriminator, latent_dim)
    gan.apply(_dcgan_init)
    return gan


class GANOptimizer:
    """The two optimizers of a GAN behind one object, so the Trainer's checkpoints, LR logging and
    schedulers see one optimizer: `state_dict` nests both, `param_groups` lists G's then D's."""

    def __init__(self, generator_optimizer, discriminator_optimizer):
        self.generator, self.discriminator = generator_optimizer, discriminator_optimizer

    @property
    def param_groups(self):
        return self.generator.param_groups + self.discriminator.param_groups

    def zero_grad(self, set_to_none=True):
        self.generator.zero_grad(set_to_none)
        self.discriminator.zero_grad(set_to_none)

    def state_dict(self):
        return {"generator": self.generator.state_dict(),
                "discriminator": self.discriminator.state_dict()}

    def load_state_dict(self, state):
        self.generator.load_state_dict(state["generator"])
        self.discriminator.load_state_dict(state["discriminator"])


def gan_optimizer(gan, lr=2e-4, betas=(0.5, 0.999)):
    """Adam for each player with DCGAN's settings."""
    from ..optim import Adam

    return GANOptimizer(Adam(gan.generator.parameters(), lr=lr, betas=betas),
                        Adam(gan.discriminator.parameters(), lr=lr, betas=betas))


class GANTrainer(Trainer):
    """One discriminator step then one generator step per batch (fresh noise for each).

    Logs d_loss, g_loss and the mean probabilities D assigns to real and generated batches
    (d_real, d_fake; at the equilibrium both are 1/2). Evaluation computes the same numbers with
    no update. `optimizer` is a GANOptimizer. Batches are images (labels ignored).
    """

    def __init__(self, model, optimizer=None, loss_fn=None, metrics=(), real_label=1.0, **kwargs):
        super().__init__(model, optimizer, None, metrics=(), **kwargs)
        self.real_label = float(real_label)

    def _losses(self, real):
        gan, n = self.model, real.shape[0]
        fake = gan.sample(n)
        d_loss, real_logits, fake_logits = gan.discriminator_loss(real, fake, self.real_label)
        return gan, fake, d_loss, real_logits, fake_logits

    def train_step(self, batch):
        if not isinstance(self.optimizer, GANOptimizer):
            raise TypeError("GANTrainer needs a GANOptimizer (see axonal.models.gan.gan_optimizer)")
        real, _ = self.unpack(batch)
        gan, fake, d_loss, real_logits, fake_logits = self._losses(real)
        opt = self.optimizer
        opt.discriminator.zero_grad()
        d_loss.backward()
        opt.discriminator.step()
        g_loss, _ = gan.generator_loss(fake)  # D just stepped; G's graph from `fake` is reused
        opt.generator.zero_grad()
        g_loss.backward()
        opt.generator.step()
        return {"d_loss": d_loss.item(), "g_loss": g_loss.item(),
                "d_real": real_logits.sigmoid().mean().item(),
                "d_fake": fake_logits.sigmoid().mean().item()}

    def eval_step(self, batch):
        real, _ = self.unpack(batch)
        gan, fake, d_loss, real_logits, fake_logits = self._losses(real)
        g_loss, _ = gan.generator_loss(fake)
        return {"d_loss": d_loss.item(), "g_loss": g_loss.item(),
                "d_real": real_logits.sigmoid().mean().item(),
                "d_fake": fake_logits.sigmoid().mean().item()}


__all__ = ["GAN", "GANOptimizer", "GANTrainer", "dcgan", "gan_optimizer", "mlp_gan"]
