"""gan / dcgan: adversarial MNIST generators, judged by a classifier trained on real digits.

Layer 9 (recipes). The models and the objective (min_G max_D with the non-saturating generator loss)
are in axonal.models.gan. Both recipes train with Adam(2e-4, betas (0.5, 0.999)) per player, one
discriminator step and one generator step per batch of 64 real images scaled to [-1, 1].

* gan: MLP generator 100-256-512-784 (LeakyReLU, tanh), discriminator 784-512-256-1 (LeakyReLU,
  dropout 0.3).
* dcgan: transposed-convolution generator and strided-convolution discriminator with batch norm
  (Radford et al., 2016), 32 base channels to keep it affordable on a CPU.

A GAN's losses do not measure sample quality (they track a moving game), so the report judges the
samples with a separate classifier: an MLP 784-256-10 trained for 3 epochs on the real training
digits (its test accuracy is reported as judge_test_accuracy). On 1,000 generated images it gives

    sample_mean_max_prob   mean over samples of the classifier's top probability (confident ->
                           looks like a digit; target >= 0.8)
    sample_classes_covered classes predicted for at least 1% of the samples (mode coverage;
                           target >= 8 of 10), with sample_class_counts.

Validation and test sets (1,000 and 2,000 real images) give the losses and the mean D(x) / D(G(z))
at the end of each epoch. PNGs: samples.png (a 10x10 grid from fixed noise), interpolation.png
(generator along straight lines in z), curves.png (d_loss, g_loss, d_real, d_fake per epoch).
"""
import os
from typing import ClassVar

import numpy as np

from ._common import (
    along_line,
    apply_batched,
    arrays_of,
    fit_classifier,
    mnist_arrays,
    plots_available,
    save_image_grid,
    save_image_rows,
)
from .base import Recipe
from .registry import recipe

_N_VAL, _N_TEST = 1000, 2000


@recipe("gan")
class MnistGAN(Recipe):
    description = "MLP GAN on MNIST (non-saturating loss); samples judged by an MNIST classifier"
    defaults: ClassVar[dict] = {"epochs": 30, "lr": 2e-4, "batch_size": 64, "seed": 0}
    metrics = ()
    def __init__(self):  # options: train(..., options={...}) overrides them (smoke runs)
        self.options = {"judge_epochs": 3, "judged_samples": 1000}
    flatten = True

    def model_config(self):
        return {"arch": "mlp", "latent_dim": 100, "hidden": [256, 512], "dropout": 0.3}

    def build_model(self, config):
        from ..models.gan import dcgan, mlp_gan

        if config["arch"] == "dcgan":
            return dcgan(int(config["latent_dim"]), int(config["channels"]))
        return mlp_gan(int(config["latent_dim"]), tuple(config["hidden"]),
                       dropout=float(config["dropout"]))

    def datasets(self, data_dir=None, limit_train=None):
        from ..utils.data import TensorDataset

        (x, y), (xv, yv), (xt, yt) = mnist_arrays(data_dir, limit_train, flatten=self.flatten)

        def scaled(a):
            return np.ascontiguousarray(a * 2 - 1, dtype=np.float32)

        return (TensorDataset(scaled(x), y), TensorDataset(scaled(xv[:_N_VAL]), yv[:_N_VAL]),
                TensorDataset(scaled(xt[:_N_TEST]), yt[:_N_TEST]))

    def loss_fn(self):
        return None

    def optimizer(self, model, lr):
        from ..models.gan import gan_optimizer

        return gan_optimizer(model, lr=lr)

    def make_trainer(self, model, optimizer, loss_fn, **kwargs):
        from ..models.gan import GANTrainer

        return GANTrainer(model, optimizer, **kwargs)

    def report(self, model, trainer, datasets, out, log):
        model.eval()
        (xtr, ytr), _, (xte, yte) = (arrays_of(d) for d in datasets)
        # the data sets hold images in [-1, 1] (the generator's tanh range); the judge is trained
        # on, and judges, images in [0, 1]
        xtr, xte = (xtr + 1) / 2, (xte + 1) / 2
        judge, judge_acc = train_judge(xtr.reshape(len(xtr), -1), ytr, xte.reshape(len(xte), -1),
                                       yte, epochs=int(self.options["judge_epochs"]))
        n = int(self.options["judged_samples"])
        z = np.random.default_rng(0).standard_normal((n, model.latent_dim)).astype(np.float32)
        samples = (apply_batched(model.generator, z, batch=250) + 1) / 2   # back to [0, 1]
        quality = judge_samples(judge, samples.reshape(len(samples), -1))
        real = judge_samples(judge, xte.reshape(len(xte), -1))  # the judge on real digits
        m = {"judge_test_accuracy": judge_acc,
             "judge_real_mean_max_prob": real["sample_mean_max_prob"], **quality}
        files = []
        if plots_available():
            save_image_grid(os.path.join(out, "samples.png"), samples[:100], nrow=10,
                            title=f"{self.name}: G(z), z ~ N(0, I); judged mean max-prob "
                                  f"{m['sample_mean_max_prob']:.2f}, "
                                  f"{m['sample_classes_covered']}/10 classes")
            rng, rows = np.random.default_rng(1), []
            for _ in range(6):
                a, b = rng.standard_normal((2, model.latent_dim))
                rows.append((along_line(model.generator, a, b) + 1) / 2)
            save_image_rows(os.path.join(out, "interpolation.png"), rows,
                            title="generator along straight lines between two noise vectors")
            files += ["samples.png", "interpolation.png"]
        log(f"{self.name}: judge (MLP, test accuracy {judge_acc:.4f}, mean max probability "
            f"{m['judge_real_mean_max_prob']:.3f} on real test digits) on {n} samples: mean max "
            f"probability {m['sample_mean_max_prob']:.3f}, {m['sample_classes_covered']}/10 "
            f"classes covered, counts {m['sample_class_counts']}")
        return m, files


@recipe("dcgan")
class MnistDCGAN(MnistGAN):
    description = "DCGAN (transposed-conv generator, conv discriminator, batch norm) on MNIST"
    defaults: ClassVar[dict] = {"epochs": 5, "lr": 2e-4, "batch_size": 64, "seed": 0}
    flatten = False

    def model_config(self):
        return {"arch": "dcgan", "latent_dim": 100, "channels": 32}


def train_judge(x, y, x_test, y_test, epochs=3, seed=0):
    """An MLP 784-256-10 on standardized real digits (Adam 1e-3, batch 128): (model, test acc)."""
    from .. import _config, nn
    from ..optim import Adam
    from ..random import manual_seed

    manual_seed(seed)
    net = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))
    fit_classifier(net, Adam(net.parameters(), lr=1e-3), _standardize(x), y, epochs, 128, seed)
    with _config.no_grad():
        pred = apply_batched(net, _standardize(x_test)).argmax(1)
    judge = _Judge(net)
    return judge, float((pred == y_test).mean())


def _standardize(x):
    from ..datasets import MNIST

    return ((x - np.float32(MNIST.mean)) / np.float32(MNIST.std)).astype(np.float32)


class _Judge:
    def __init__(self, net):
        self.net = net

    def probabilities(self, images):
        """Class probabilities of flat images in [0, 1]."""
        logits = apply_batched(self.net, _standardize(images))
        e = np.exp(logits - logits.max(1, keepdims=True))
        return e / e.sum(1, keepdims=True)


def judge_samples(judge, images, min_share=0.01):
    """Mean top probability, classes predicted for >= min_share of the images, per-class counts."""
    p = judge.probabilities(images)
    counts = np.bincount(p.argmax(1), minlength=10)
    return {"sample_mean_max_prob": float(p.max(1).mean()),
            "sample_classes_covered": int((counts >= min_share * len(images)).sum()),
            "sample_class_counts": [int(c) for c in counts]}
