"""realnvp: a RealNVP density on two moons, against the best full-covariance Gaussian.

Layer 9 (recipes). `axonal train realnvp --dataset moons` (moons is the default and, for now, the
only choice; from Python: train("realnvp", options={"dataset": "moons"})).

* data: scikit-learn's two moons with Gaussian noise 0.05: 2,000 training, 500 validation and 1,000
  test points, each drawn with its own fixed seed (the --seed only changes initialization and
  shuffling).
* model: RealNVP with 8 affine coupling layers (alternating masks, s/t MLPs 2-128-128-4,
  tanh-bounded scales), after a fixed standardization by the training mean and std (its
  log-determinant is included, so all densities are in the data's own units).
* training: maximum likelihood (mean NLL per point), Adam(1e-3), batch 256, 300 epochs.
* report (metrics.json): test_nll (flow), gaussian_test_nll (a full-covariance Gaussian fitted by
  maximum likelihood to the training points, closed form), nll_improvement = gaussian - flow
  (target >= 0.5 nats). PNGs: density.png (contours of the flow's and of the Gaussian's log-density
  with the test points), samples.png (flow samples next to data).
"""
import math
import os
from typing import ClassVar

import numpy as np

from ._common import apply_batched, figure, plots_available
from .base import Recipe
from .registry import recipe

_SEEDS = {"train": 11, "val": 12, "test": 13}
_SIZES = {"train": 2000, "val": 500, "test": 1000}
_NOISE = 0.05
_DATASETS = ("moons",)


def toy_points(name, part, n=None):
    from ..datasets import make_moons

    if name not in _DATASETS:
        raise ValueError(f"realnvp: unknown dataset {name!r} (choose from {', '.join(_DATASETS)})")
    x, _ = make_moons(n or _SIZES[part], noise=_NOISE, seed=_SEEDS[part])
    return x


def gaussian_nll(train, test):
    """Mean NLL (nats) of `test` under the maximum-likelihood full-covariance Gaussian of `train`"""
    mu = train.mean(0)
    cov = np.cov(train.T.astype(np.float64), bias=True)  # the MLE divides by n
    diff = test.astype(np.float64) - mu
    sol = np.linalg.solve(cov, diff.T).T
    _, logdet = np.linalg.slogdet(cov)
    d = train.shape[1]
    nll = 0.5 * (diff * sol).sum(1) + 0.5 * logdet + 0.5 * d * math.log(2 * math.pi)
    return float(nll.mean())


@recipe("realnvp")
class RealNVPToy(Recipe):
    description = "RealNVP density on two moons vs a full-covariance Gaussian (test NLL, contours)"
    defaults: ClassVar[dict] = {"epochs": 300, "lr": 1e-3, "batch_size": 256, "seed": 0}
    metrics = ()
    def __init__(self):  # options: train(..., options={...}) overrides them
        self.options = {"dataset": "moons"}

    def model_config(self):
        x = toy_points(self.options["dataset"], "train")
        return {"dataset": self.options["dataset"], "dim": 2, "n_layers": 8, "hidden": 128,
                "layers": 2, "loc": [float(v) for v in x.mean(0)],
                "scale": [float(v) for v in x.std(0)]}

    def build_model(self, config):
        from ..models.flows import RealNVP

        return RealNVP(int(config["dim"]), int(config["n_layers"]), int(config["hidden"]),
                       int(config["layers"]), loc=config["loc"], scale=config["scale"])

    def datasets(self, data_dir=None, limit_train=None):
        from ..utils.data import TensorDataset

        name = self.options["dataset"]
        train = toy_points(name, "train")
        if limit_train is not None:
            train = train[:limit_train]
        return (TensorDataset(train), TensorDataset(toy_points(name, "val")),
                TensorDataset(toy_points(name, "test")))

    def loss_fn(self):
        return None

    def make_trainer(self, model, optimizer, loss_fn, **kwargs):
        from ..models.flows import FlowTrainer

        return FlowTrainer(model, optimizer, **kwargs)

    def report(self, model, trainer, datasets, out, log):

        model.eval()
        train, test = datasets[0].tensors[0].numpy(), datasets[2].tensors[0].numpy()
        flow = -float(apply_batched(model.log_prob, test).mean())
        gauss = gaussian_nll(train, test)
        m = {"test_nll": flow, "gaussian_test_nll": gauss, "nll_improvement": gauss - flow}
        files = []
        if plots_available():
            files += _plots(model, train, test, out, m)
        log(f"{self.name}: test NLL flow {flow:.3f} vs Gaussian {gauss:.3f} nats "
            f"(improvement {gauss - flow:.3f})")
        return m, files


def _plots(model, train, test, out, m):

    lo, hi = test.min(0) - 0.5, test.max(0) + 0.5
    gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], 160), np.linspace(lo[1], hi[1], 120))
    grid = np.stack([gx.ravel(), gy.ravel()], 1).astype(np.float32)
    flow_lp = apply_batched(model.log_prob, grid, batch=4000).reshape(gx.shape)
    mu, cov = train.mean(0), np.cov(train.T, bias=True)
    diff = grid - mu
    gauss_lp = (-0.5 * (diff * np.linalg.solve(cov, diff.T).T).sum(1)
                - 0.5 * np.linalg.slogdet(cov)[1] - math.log(2 * math.pi)).reshape(gx.shape)
    fig = figure(11, 4.4)
    levels = np.linspace(-8, max(flow_lp.max(), gauss_lp.max()), 15)
    for i, (name, lp, nll) in enumerate((("RealNVP", flow_lp, m["test_nll"]),
                                         ("Gaussian", gauss_lp, m["gaussian_test_nll"]))):
        ax = fig.add_subplot(1, 2, i + 1)
        cs = ax.contourf(gx, gy, np.maximum(lp, -8), levels=levels, cmap="viridis")
        ax.scatter(test[:, 0], test[:, 1], s=1, c="white", alpha=0.5)
        ax.set_title(f"{name} (test NLL {nll:.2f})", fontsize=10)
    fig.colorbar(cs, ax=fig.axes)
    fig.suptitle("log-density, with the test points")
    fig.savefig(os.path.join(out, "density.png"), format="png")
    samples = apply_batched(lambda z: model.inverse(z), np.random.default_rng(0).standard_normal(
        (len(test), 2)).astype(np.float32))
    fig = figure(5, 4.4)
    ax = fig.add_subplot(1, 1, 1)
    ax.scatter(test[:, 0], test[:, 1], s=2, label="test data", alpha=0.5)
    ax.scatter(samples[:, 0], samples[:, 1], s=2, label="RealNVP samples", alpha=0.5)
    ax.legend()
    fig.savefig(os.path.join(out, "samples.png"), format="png")
    return ["density.png", "samples.png"]
