"""Autoencoders: an encoder/decoder pair trained to reproduce its input through a code.

Layer 8. `Autoencoder(encoder, decoder)` takes any two modules; `mlp_autoencoder([784, 1000, 500,
250, 30])` builds Hinton and Salakhutdinov's (2006) deep MNIST autoencoder shape with ReLU hidden
layers, a linear code layer and a mirrored decoder with a sigmoid output (pixels in [0, 1]).

Training minimizes a reconstruction loss L(x, g(f(x))) (squared error here). With linear layers the
optimum spans the same subspace as PCA with as many components; nonlinear layers can do better
because they can follow curved manifolds.

`DenoisingAutoencoder` (Vincent et al., 2008) corrupts the input during training only and still
asks for the clean input back: x~ = C(x), loss L(x, g(f(x~))). It cannot learn the identity, so the
code has to capture the structure that lets it undo the noise. Corruptions: 'gaussian' (x + s eps),
'masking' (each input zeroed with probability p), 'salt_pepper' (set to 0 or 1 with probability p).

`ReconstructionTrainer` is the Trainer whose target is the input itself: batches may be (x, label)
pairs (the labels are ignored; they are there for plots) or bare x.
"""
import itertools

from .. import nn
from ..ops import bernoulli, full_like, rand_like, randn_like, where
from ..train import Trainer

_ACTIVATIONS = {"relu": nn.ReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "elu": nn.ELU,
                "leaky_relu": nn.LeakyReLU}


def _activation(name):
    if name is None:
        return None
    if name not in _ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; choose from {sorted(_ACTIVATIONS)} or None")
    return _ACTIVATIONS[name]()


class Autoencoder(nn.Module):
    """x -> code = encoder(x) -> decoder(code); forward returns the reconstruction."""

    def __init__(self, encoder, decoder):
        super().__init__()
        self.encoder, self.decoder = encoder, decoder

    def encode(self, x):
        return self.encoder(x)

    def decode(self, code):
        return self.decoder(code)

    def forward(self, x):
        return self.decoder(self.encoder(x))


class DenoisingAutoencoder(Autoencoder):
    """Autoencoder that reconstructs x from a corrupted copy while training (clean in eval mode)."""

    def __init__(self, encoder, decoder, noise="gaussian", noise_level=0.3):
        super().__init__(encoder, decoder)
        if noise not in ("gaussian", "masking", "salt_pepper"):
            raise ValueError(f"noise must be 'gaussian', 'masking' or 'salt_pepper', got {noise!r}")
        if not noise_level >= 0 or (noise != "gaussian" and noise_level > 1):
            raise ValueError(f"noise_level must be >= 0 (a probability <= 1 for {noise!r}), got "
                             f"{noise_level}")
        self.noise, self.noise_level = noise, float(noise_level)

    def corrupt(self, x):
        p = self.noise_level
        if self.noise == "gaussian":
            return x + p * randn_like(x)
        if self.noise == "masking":
            return x * bernoulli(full_like(x, 1 - p))
        hit = rand_like(x) < p  # salt and pepper: a hit pixel becomes 0 or 1 with equal odds
        return where(hit, (rand_like(x) < 0.5).to(x.dtype), x)

    def forward(self, x):
        return self.decoder(self.encoder(self.corrupt(x) if self.training else x))

    def extra_repr(self):
        return f"noise={self.noise!r}, noise_level={self.noise_level}"


def mlp_autoencoder(sizes, activation="relu", output="sigmoid", denoising=None, noise_level=0.3):
    """MLP autoencoder: sizes [d, h1, ..., code]; hidden layers use `activation`, the code layer is
    linear, the decoder mirrors the encoder and ends in `output` ('sigmoid', 'tanh' or None).
    `denoising='gaussian' | 'masking' | 'salt_pepper'` returns a DenoisingAutoencoder."""
    sizes = [int(s) for s in sizes]
    if len(sizes) < 2 or min(sizes) < 1:
        raise ValueError(f"sizes must list an input and a code size (positive), got {sizes}")

    def stack(widths, last_act):
        layers = []
        for i, (a, b) in enumerate(itertools.pairwise(widths)):
            layers.append(nn.Linear(a, b))
            act = _activation(activation) if i < len(widths) - 2 else _activation(last_act)
            if act is not None:
                layers.append(act)
        return nn.Sequential(*layers)

    encoder, decoder = stack(sizes, None), stack(sizes[::-1], output)
    if denoising is not None:
        return DenoisingAutoencoder(encoder, decoder, denoising, noise_level)
    return Autoencoder(encoder, decoder)


class ReconstructionTrainer(Trainer):
    """A Trainer whose target is the input: loss_fn(model(x), x). Defaults to no metrics."""

    def __init__(self, model, optimizer=None, loss_fn=None, metrics=(), **kwargs):
        if loss_fn is None:
            loss_fn = nn.functional.mse_loss
        super().__init__(model, optimizer, loss_fn, metrics=metrics, **kwargs)

    def unpack(self, batch):
        x, _ = super().unpack(batch)
        return x, x


__all__ = ["Autoencoder", "DenoisingAutoencoder", "ReconstructionTrainer", "mlp_autoencoder"]
