"""vae / conv-vae: variational autoencoders on MNIST, negative ELBO in nats per image.

Layer 9 (recipes). The model is Kingma and Welling's (2014): a 784-400-20 encoder giving the mean
and log-variance of q(z|x), a 20-400-784 decoder giving Bernoulli logits, loss = -ELBO =
reconstruction cross-entropy + KL(q(z|x) || N(0, I)) (see axonal.models.vae). conv-vae swaps in
strided convolutions and transposed convolutions (slow on a CPU).

* data: dynamically binarized MNIST. Each training batch is resampled as x ~ Bernoulli(grey level)
  every time it is seen; the validation and test images are binarized once with a fixed seed, so
  the reported numbers are log-likelihood bounds of fixed binary images. 55k train / 5k val split as
  mnist-mlp; the official 10k test images.
* training: Adam(1e-3), batch 128.
* report (metrics.json): test_neg_elbo (nats per image; target <= 110 for vae), its parts
  test_recon and test_kl, and test_nll_iw, the importance-weighted estimate
  -log (1/K) sum_k p(x, z_k) / q(z_k|x), z_k ~ q(z|x) with K = 100 on 1,000 test images: a tighter
  bound on -log p(x) (Burda et al., 2016) that must lie at or below the ELBO's. PNGs: samples.png
  (decoded z ~ N(0, I)), reconstructions.png, interpolation.png (decoding the straight line between
  two test digits' posterior means).
"""
import math
import os
from typing import ClassVar

import numpy as np

from ._common import (
    along_line,
    apply_batched,
    arrays_of,
    mnist_arrays,
    plots_available,
    save_image_grid,
    save_image_rows,
)
from .base import Recipe
from .registry import recipe

_BINARIZE_SEED = 1729  # the one fixed binarization of the validation and test images


@recipe("vae")
class MnistVAE(Recipe):
    description = "VAE 784-400-20 on dynamically binarized MNIST; test -ELBO <= 110 nats"
    defaults: ClassVar[dict] = {"epochs": 20, "lr": 1e-3, "batch_size": 128, "seed": 0}
    metrics = ()
    def __init__(self):  # options: train(..., options={...}) overrides them (smoke runs)
        self.options = {"iw_samples": 1000, "iw_k": 100}
    flatten = True

    def model_config(self):
        return {"arch": "mlp", "in_features": 784, "hidden": 400, "latent_dim": 20}

    def build_model(self, config):
        from ..models.vae import conv_vae, mlp_vae

        if config["arch"] == "conv":
            return conv_vae(int(config["latent_dim"]), tuple(config["channels"]))
        return mlp_vae(int(config["in_features"]), int(config["hidden"]), int(config["latent_dim"]))

    def datasets(self, data_dir=None, limit_train=None):
        from ..utils.data import TensorDataset

        (x, y), (xv, yv), (xt, yt) = mnist_arrays(data_dir, limit_train, flatten=self.flatten)
        rng = np.random.default_rng(_BINARIZE_SEED)
        xv = (rng.random(xv.shape) < xv).astype(np.float32)
        xt = (np.random.default_rng(_BINARIZE_SEED + 1).random(xt.shape) < xt).astype(np.float32)
        return TensorDataset(x, y), TensorDataset(xv, yv), TensorDataset(xt, yt)

    def loss_fn(self):
        return None

    def make_trainer(self, model, optimizer, loss_fn, **kwargs):
        from ..models.vae import VAETrainer

        return VAETrainer(model, optimizer, binarize=True, **kwargs)

    def report(self, model, trainer, datasets, out, log):
        model.eval()
        xte, yte = arrays_of(datasets[2])
        test = trainer.last_evaluation  # the runner's test-set evaluation, just before this
        m = {"test_neg_elbo": test["loss"], "test_recon": test["recon"], "test_kl": test["kl"]}
        n_iw, k = min(int(self.options["iw_samples"]), len(xte)), int(self.options["iw_k"])
        m["test_nll_iw"] = importance_weighted_nll(model, xte[:n_iw], k=k)
        m["nll_iw_samples"], m["nll_iw_k"] = n_iw, k
        files = []
        if plots_available():
            samples = apply_batched(lambda z: model.decode(z), _latents(model, 100, seed=0))
            save_image_grid(os.path.join(out, "samples.png"), samples, nrow=10,
                            title=f"{self.name}: decoded z ~ N(0, I) (pixel probabilities)")
            pick = np.concatenate([np.flatnonzero(yte == c)[:1] for c in range(10)])
            rec = apply_batched(model.reconstruct, xte[pick])
            save_image_rows(os.path.join(out, "reconstructions.png"), [xte[pick], rec],
                            ["binarized test", "reconstruction"],
                            title=f"test -ELBO {m['test_neg_elbo']:.2f} nats")
            mu = apply_batched(lambda x: model.encode(x)[0], xte[pick])
            rows = []
            for a, b in ((0, 1), (2, 3), (4, 9), (7, 1), (5, 6)):
                rows.append(along_line(model.decode, mu[a], mu[b]))
            save_image_rows(os.path.join(out, "interpolation.png"), rows,
                            [f"{a} -> {b}" for a, b in ((0, 1), (2, 3), (4, 9), (7, 1), (5, 6))],
                            title="decoded straight lines between posterior means")
            files += ["samples.png", "reconstructions.png", "interpolation.png"]
        log(f"{self.name}: test -ELBO {m['test_neg_elbo']:.2f} nats (recon {m['test_recon']:.2f} "
            f"+ KL {m['test_kl']:.2f}); importance-weighted NLL (K={k}) {m['test_nll_iw']:.2f}")
        return m, files


@recipe("conv-vae")
class MnistConvVAE(MnistVAE):
    description = "convolutional VAE (2 strided convs, latent 20) on binarized MNIST (slow on CPU)"
    defaults: ClassVar[dict] = {"epochs": 10, "lr": 1e-3, "batch_size": 128, "seed": 0}
    flatten = False

    def model_config(self):
        return {"arch": "conv", "latent_dim": 20, "channels": [32, 64]}


def _latents(model, n, seed):
    return np.random.default_rng(seed).standard_normal((n, model.latent_dim)).astype(np.float32)


def importance_weighted_nll(model, x, k=100, batch=100):
    """Mean over images of -log (1/k) sum_j p(x|z_j) p(z_j) / q(z_j|x), z_j ~ q(z|x) (nats)."""
    from .. import _config
    from ..ops import from_numpy

    total = 0.0
    with _config.no_grad():
        for start in range(0, len(x), batch):
            xb = from_numpy(np.ascontiguousarray(x[start:start + batch]))
            q = model.posterior(xb)
            z = q.sample((k,))                                   # (k, n, latent)
            flat = z.reshape(-1, model.latent_dim)
            xr = xb.unsqueeze(0).expand(k, *xb.shape).reshape(k * xb.shape[0], *xb.shape[1:])
            log_px_z = model.likelihood(flat).log_prob(xr).reshape(k, -1)
            log_w = log_px_z + model.prior(flat).log_prob(flat).reshape(k, -1) - q.log_prob(z)
            log_mean_w = log_w.logsumexp(0) - math.log(k)
            total += float(log_mean_w.sum().item())
    return -total / len(x)
