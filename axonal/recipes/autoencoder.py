"""autoencoder / autoencoder-2d: deep MNIST autoencoders against PCA with the same code size.

Layer 9 (recipes). Hinton and Salakhutdinov (2006) showed a 784-1000-500-250-30 autoencoder
reconstructing MNIST far better than 30-component PCA, and its 2-D codes separating the classes far
better than the first two principal components. These recipes rerun that comparison:

* model: `mlp_autoencoder(sizes)`: ReLU hidden layers, linear code, mirrored decoder, sigmoid out;
  trained from random init with Adam on the mean squared error of pixels in [0, 1] (no RBM
  pre-training: ReLU and Adam make it unnecessary for this depth).
* data: the official 60k training images split once into 55k train / 5k validation (fixed
  permutation, as mnist-mlp), the official 10k test set for the numbers.
* report (metrics.json): test_mse (autoencoder) and pca_test_mse (PCA fitted on the training images
  with as many components as the code), mse_ratio = test_mse / pca_test_mse (target <= 0.5 at 30
  dims), knn_accuracy and pca_knn_accuracy (5-nearest-neighbour classification of test codes against
  the codes of up to 20,000 training images). PNGs: reconstructions.png (test digits: original /
  autoencoder / PCA), codes.png (2-D codes coloured by class, autoencoder next to PCA; for a wider
  code, its first two principal components).

The MNIST split, image-grid and scatter helpers here are shared by the other generative recipes.
"""
from typing import ClassVar

import numpy as np

from .base import Recipe
from .registry import recipe

SPLIT_SEED = 20240601  # the same 5k validation images as mnist-mlp
N_VAL = 5000


# -- helpers shared by the generative recipes ------------------------------------------------------
def mnist_arrays(data_dir=None, limit_train=None, flatten=True):
    """((x, y) train, (x, y) val, (x, y) test) with x float32 in [0, 1]. With limit_train the
    training part keeps its first N images and validation and test are cut to N too (smoke runs)."""
    from ..datasets import MNIST

    x, y = MNIST(root=data_dir, train=True).arrays(flatten=flatten)
    xt, yt = MNIST(root=data_dir, train=False).arrays(flatten=flatten)
    order = np.random.default_rng(SPLIT_SEED).permutation(len(x))
    val_idx, train_idx = order[:N_VAL], order[N_VAL:]
    test_idx = np.arange(len(xt))
    if limit_train is not None:
        train_idx, val_idx, test_idx = (train_idx[:limit_train], val_idx[:limit_train],
                                        test_idx[:limit_train])
    return tuple((np.ascontiguousarray(a[i]), b[i])
                 for a, b, i in ((x, y, train_idx), (x, y, val_idx), (xt, yt, test_idx)))


def arrays_of(dataset):
    """The NumPy arrays behind a TensorDataset."""
    return tuple(t.numpy() for t in dataset.tensors)


def apply_batched(fn, x, batch=1000):
    """fn over a NumPy array in batches, without a graph, in eval mode; NumPy result."""
    from .. import _config
    from ..ops import from_numpy

    out = []
    with _config.no_grad():
        for start in range(0, len(x), batch):
            out.append(fn(from_numpy(np.ascontiguousarray(x[start:start + batch]))).numpy())
    return np.concatenate(out)


def fit_classifier(net, optimizer, x, y, epochs, batch, seed=0):
    """Plain minibatch cross-entropy training of `net` on NumPy arrays (x, integer labels y),
    reshuffled every epoch by a generator seeded with `seed`; leaves `net` in eval mode."""
    from ..nn import functional as F
    from ..ops import from_numpy

    rng = np.random.default_rng(seed)
    net.train()
    for _ in range(epochs):
        order = rng.permutation(len(x))
        for start in range(0, len(x), batch):
            idx = order[start:start + batch]
            loss = F.cross_entropy(net(from_numpy(np.ascontiguousarray(x[idx]))),
                                   from_numpy(np.ascontiguousarray(y[idx])))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    net.eval()
    return net


def along_line(fn, a, b, steps=10):
    """fn applied to `steps` evenly spaced points from a to b (NumPy in, NumPy out)."""
    t = np.linspace(0, 1, steps)[:, None]
    return apply_batched(fn, ((1 - t) * a + t * b).astype(np.float32))


class ReconstructionRecipe(Recipe):
    """A recipe whose model is trained to reconstruct its input under the mean squared error."""

    def loss_fn(self):
        from ..nn.functional import mse_loss

        return mse_loss

    def make_trainer(self, model, optimizer, loss_fn, **kwargs):
        from ..models.autoencoder import ReconstructionTrainer

        return ReconstructionTrainer(model, optimizer, loss_fn, **kwargs)


def knn_accuracy(train_codes, train_y, test_codes, test_y, k=5, max_train=20000, chunk=500):
    """Accuracy of k-nearest-neighbour majority votes (Euclidean) of test among train codes."""
    ref, ref_y = np.asarray(train_codes[:max_train], np.float64), np.asarray(train_y[:max_train])
    k = min(k, len(ref))
    sq = (ref ** 2).sum(1)
    correct = 0
    for start in range(0, len(test_codes), chunk):
        q = np.asarray(test_codes[start:start + chunk], np.float64)
        d = sq[None, :] - 2 * q @ ref.T
        nearest = np.argpartition(d, k - 1, axis=1)[:, :k]
        votes = ref_y[nearest]
        pred = np.array([np.bincount(v, minlength=10).argmax() for v in votes])
        correct += int((pred == test_y[start:start + chunk]).sum())
    return correct / len(test_codes)


def _figure(width, height):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    return fig


def save_image_rows(path, rows, labels=None, title=None, side=28):
    """Rows of images (each row an (n, side*side) or (n, 1, side, side) array in [0, 1]) tiled
    into one grey-scale PNG, one labelled row per entry."""
    rows = [np.clip(np.asarray(r, np.float64).reshape(len(r), side, side), 0, 1) for r in rows]
    ncol = max(len(r) for r in rows)
    width, height = 0.6 * ncol + (1.5 if labels else 0.2), 0.65 * len(rows) + (0.4 if title else 0.1)
    fig = _figure(width, height)
    fig.subplots_adjust(left=(1.4 if labels else 0.1) / width, right=1 - 0.1 / width,
                        bottom=0.05 / height, top=1 - (0.4 if title else 0.05) / height)
    for i, row in enumerate(rows):
        for j, img in enumerate(row):
            ax = fig.add_subplot(len(rows), ncol, i * ncol + j + 1)
            ax.imshow(img, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if j == 0 and labels:
                ax.set_ylabel(labels[i], rotation=0, ha="right", va="center", fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.savefig(path, format="png")
    return path


def save_image_grid(path, images, nrow=10, title=None, side=28):
    """n images tiled nrow per row."""
    images = np.asarray(images).reshape(len(images), -1)
    return save_image_rows(path, [images[i:i + nrow] for i in range(0, len(images), nrow)],
                           title=title, side=side)


def save_scatter(path, panels, labels, title=None, class_names=None):
    """Side-by-side 2-D scatter plots coloured by class: panels = [(name, (n, 2) codes)]."""
    fig = _figure(5.2 * len(panels), 4.6)
    for i, (name, codes) in enumerate(panels):
        ax = fig.add_subplot(1, len(panels), i + 1)
        pts = ax.scatter(codes[:, 0], codes[:, 1], c=labels, cmap="tab10", s=2, alpha=0.6,
                         vmin=-0.5, vmax=9.5 if class_names is None else len(class_names) - 0.5)
        ax.set_title(name)
        ax.set_xticks([])
        ax.set_yticks([])
        if len(codes) >= 100:  # frame the central 98% of the points: a few far outliers of an
            lo, hi = np.percentile(codes, [1, 99], axis=0)  # unbounded code would squash the rest
            pad = 0.05 * (hi - lo)
            ax.set_xlim(lo[0] - pad[0], hi[0] + pad[0])
            ax.set_ylim(lo[1] - pad[1], hi[1] + pad[1])
    cbar = fig.colorbar(pts, ax=fig.axes, ticks=range(10 if class_names is None else
                                                      len(class_names)))
    if class_names is not None:
        cbar.ax.set_yticklabels(class_names)
    if title:
        fig.suptitle(title)
    fig.savefig(path, format="png")
    return path


def plots_available():
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


# -- the recipes -----------------------------------------------------------------------------------
@recipe("autoencoder")
class MnistAutoencoder(ReconstructionRecipe):
    description = ("deep autoencoder 784-1000-500-250-30 on MNIST vs 30-component PCA "
                   "(test MSE, k-NN on codes)")
    defaults: ClassVar[dict] = {"epochs": 20, "lr": 1e-3, "batch_size": 128, "seed": 0}
    metrics = ()
    sizes = (784, 1000, 500, 250, 30)
    def __init__(self):  # options: train(..., options={...}) overrides them (smoke runs)
        self.options = {"knn_train": 20000}

    def model_config(self):
        return {"sizes": list(self.sizes), "activation": "relu", "output": "sigmoid"}

    def build_model(self, config):
        from ..models.autoencoder import mlp_autoencoder

        return mlp_autoencoder(config["sizes"], config["activation"], config["output"])

    def datasets(self, data_dir=None, limit_train=None):
        from ..utils.data import TensorDataset

        return tuple(TensorDataset(x, y) for x, y in mnist_arrays(data_dir, limit_train))

    def test_dataset(self, data_dir=None):
        return self.datasets(data_dir)[2]

    def report(self, model, trainer, datasets, out, log):
        import os

        from ..models.pca import PCA

        model.eval()
        (xtr, ytr), _, (xte, yte) = (arrays_of(d) for d in datasets)
        code = int(self.model_config()["sizes"][-1]) if not hasattr(model, "encoder") else int(
            apply_batched(model.encode, xte[:2]).shape[1])
        rec = apply_batched(model, xte)
        pca = PCA(min(code, len(xtr) - 1, xtr.shape[1])).fit(xtr)
        pca_rec = pca.inverse_transform(pca.transform(xte))
        m = {"code_size": code,
             "test_mse": float(((rec - xte) ** 2).mean()),
             "pca_test_mse": float(((pca_rec - xte) ** 2).mean()),
             "pca_explained_variance": float(pca.explained_variance_ratio_.sum())}
        m["mse_ratio"] = m["test_mse"] / m["pca_test_mse"]
        codes_tr, codes_te = apply_batched(model.encode, xtr), apply_batched(model.encode, xte)
        pca_tr, pca_te = pca.transform(xtr), pca.transform(xte)
        ref = int(self.options["knn_train"])
        m["knn_accuracy"] = knn_accuracy(codes_tr, ytr, codes_te, yte, max_train=ref)
        m["pca_knn_accuracy"] = knn_accuracy(pca_tr, ytr, pca_te, yte, max_train=ref)
        files = []
        if plots_available():
            pick = np.concatenate([np.flatnonzero(yte == c)[:1] for c in range(10)])
            save_image_rows(os.path.join(out, "reconstructions.png"),
                            [xte[pick], rec[pick], pca_rec[pick]],
                            ["original", f"autoencoder ({code})", f"PCA ({code})"],
                            title=f"test MSE: autoencoder {m['test_mse']:.4f}, "
                                  f"PCA {m['pca_test_mse']:.4f}")
            files.append("reconstructions.png")
            if code > 2:  # show a wide code through its own first two principal components
                codes_te = PCA(2).fit(codes_tr).transform(codes_te)
                name = f"autoencoder code ({code}-d, first 2 PCs)"
            else:
                name = "autoencoder code (2-d)"
            n = min(5000, len(xte))
            save_scatter(os.path.join(out, "codes.png"),
                         [(name, codes_te[:n]), ("PCA (2 components)", pca_te[:n, :2])], yte[:n],
                         title=f"test codes; 5-NN accuracy: autoencoder {m['knn_accuracy']:.3f}, "
                               f"PCA({code}) {m['pca_knn_accuracy']:.3f}")
            files.append("codes.png")
        log(f"{self.name}: test MSE {m['test_mse']:.5f} vs PCA {m['pca_test_mse']:.5f} (ratio "
            f"{m['mse_ratio']:.3f}); 5-NN on codes {m['knn_accuracy']:.4f} vs PCA "
            f"{m['pca_knn_accuracy']:.4f}")
        return m, files


@recipe("autoencoder-2d")
class MnistAutoencoder2D(MnistAutoencoder):
    description = ("deep autoencoder 784-1000-500-250-2 on MNIST vs 2-component PCA "
                   "(2-D codes coloured by class, k-NN accuracy)")
    sizes = (784, 1000, 500, 250, 2)
