"""Helpers shared by the recipes: data splits, array <-> tensor plumbing, pictures, schedules.

Layer 9. One module, so that recipes import helpers from here and never from each other:

* MNIST-family splits: the official training file split once into 55k train / 5k validation by a
  fixed permutation (`split_indices`; it never depends on --seed), `mnist_arrays`, `image_splits`.
* plumbing: `standardize`, `tensors`, `arrays_of`, `apply_batched` (a function over a NumPy array
  in batches, no graph), `fit_classifier`, `knn_accuracy`, `along_line`.
* pictures (matplotlib, Agg canvas, no pyplot): `figure`, `save_image_rows`, `save_image_grid`,
  `save_scatter`, `cnn_pictures`; `plots_available()`.
* optimization: `one_cycle`, `cosine`, `with_grad_clipping`, `clipped_adam`, `lm_loss`, and
  `ReconstructionRecipe` (mean squared error of the input, the autoencoders' base).
"""
import os

import numpy as np

from .base import Recipe

SPLIT_SEED = 20240601  # fixes which 5k training images are held out for validation
N_VAL = 5000


# -- splits and plumbing --------------------------------------------------------------------------
def split_indices(n, limit_train=None):
    """(validation indices, training indices) of the fixed 55k/5k split of an n-image training
    file; `limit_train` keeps the first N training indices (smoke runs)."""
    order = np.random.default_rng(SPLIT_SEED).permutation(n)
    val_idx, train_idx = order[:N_VAL], order[N_VAL:]
    return val_idx, (train_idx if limit_train is None else train_idx[:limit_train])


def standardize(x, mean, std):
    return ((x - np.float32(mean)) / np.float32(std)).astype(np.float32, copy=False)


def tensors(x, y):
    from .. import from_numpy

    return from_numpy(np.ascontiguousarray(x)), from_numpy(np.ascontiguousarray(y))


def split_datasets(x, y, limit_train=None):
    """(train, val) TensorDatasets of arrays x, y by the fixed split."""
    from ..utils.data import TensorDataset

    val_idx, train_idx = split_indices(len(x), limit_train)
    return (TensorDataset(*tensors(x[train_idx], y[train_idx])),
            TensorDataset(*tensors(x[val_idx], y[val_idx])))


def mnist_arrays(data_dir=None, limit_train=None, flatten=True):
    """((x, y) train, (x, y) val, (x, y) test) with x float32 in [0, 1]. With limit_train the
    training part keeps its first N images and validation and test are cut to N too (smoke runs)."""
    from ..datasets import MNIST

    x, y = MNIST(root=data_dir, train=True).arrays(flatten=flatten)
    xt, yt = MNIST(root=data_dir, train=False).arrays(flatten=flatten)
    val_idx, train_idx = split_indices(len(x))
    test_idx = np.arange(len(xt))
    if limit_train is not None:
        train_idx, val_idx, test_idx = (train_idx[:limit_train], val_idx[:limit_train],
                                        test_idx[:limit_train])
    return tuple((np.ascontiguousarray(a[i]), b[i])
                 for a, b, i in ((x, y, train_idx), (x, y, val_idx), (xt, yt, test_idx)))


def banknote_splits(data_dir=None, limit_train=None, n_val=110, split_seed=7):
    """(train, val, test) TensorDatasets of standardized UCI banknote features: the fixed 80/20 split
    of axonal.datasets.Banknote, with `n_val` training rows (a fixed permutation) held out."""
    from ..datasets import Banknote
    from ..utils.data import TensorDataset

    x, y = Banknote(root=data_dir, train=True, standardize=True).arrays()
    xt, yt = Banknote(root=data_dir, train=False, standardize=True).arrays()
    order = np.random.default_rng(split_seed).permutation(len(x))
    val, train = order[:n_val], order[n_val:]
    if limit_train is not None:
        train = train[:limit_train]
    return (TensorDataset(x[train], y[train]), TensorDataset(x[val], y[val]),
            TensorDataset(xt, yt))


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


def figure(width, height):
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
    fig = figure(width, height)
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
    fig = figure(5.2 * len(panels), 4.6)
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


# -- convolutional recipes ------------------------------------------------------------------------
def image_splits(dataset_cls, data_dir=None, limit_train=None, augment=()):
    """(train, val, test) datasets of 28x28 images (N, 1, 28, 28): 55k/5k split of the training
    file by the fixed permutation, the official test set. Training images go through `augment`
    (transforms on [0, 1] pixels) and then standardization, one vectorized call per batch;
    validation and test images are only standardized."""
    from ..utils.data import TensorDataset
    from ..utils.transforms import AugmentedDataset, Compose, Normalize

    x, y = dataset_cls(root=data_dir, train=True).arrays()
    val_idx, train_idx = split_indices(len(x), limit_train)
    mean, std = dataset_cls.mean, dataset_cls.std
    transform = Compose([*augment, Normalize([mean], [std])])
    train = AugmentedDataset(np.ascontiguousarray(x[train_idx]), y[train_idx], transform)
    val = TensorDataset(*tensors(standardize(x[val_idx], mean, std), y[val_idx]))
    return train, val, test_split(dataset_cls, data_dir)


def test_split(dataset_cls, data_dir=None):
    from ..utils.data import TensorDataset

    x, y = dataset_cls(root=data_dir, train=False).arrays()
    return TensorDataset(*tensors(standardize(x, dataset_cls.mean, dataset_cls.std), y))


def cnn_pictures(model, first_conv, test_ds, out, layers, log):
    """Write filters.png (the first conv layer's filters) and features_*.png (the input and the
    feature maps of the first test image at `layers`) into `out`, as labelled figures; returns the
    file names."""
    from ..utils.visualize import feature_maps

    w = first_conv.weight.detach().numpy()
    tiles = w[:, 0] if w.shape[1] == 1 else w.reshape(-1, *w.shape[2:])
    limit = float(np.abs(tiles).max()) or 1.0
    save_maps(os.path.join(out, "filters.png"), tiles, [f"filter {i}" for i in range(len(tiles))],
              f"first conv layer: {w.shape[0]} filters of {w.shape[2]}x{w.shape[3]} weights "
              "(red > 0 > blue)", cmap="bwr", limits=(-limit, limit), colorbar=True)
    image, label = test_ds[0]
    names = ["filters.png", "features_input.png"]
    x = image.numpy() if hasattr(image, "numpy") else np.asarray(image)
    save_maps(os.path.join(out, "features_input.png"), x[:1], ["channel 0"],
              f"input: test image 0 (label {int(label)}), standardized")
    for name, fmap in feature_maps(model, image, layers).items():
        if fmap.ndim != 3:
            continue
        file = f"features_{name.replace('.', '-')}.png"
        shown = fmap[:32]
        save_maps(os.path.join(out, file), shown, [f"ch {i}" for i in range(len(shown))],
                  f"{name}: {len(shown)} of {fmap.shape[0]} feature maps "
                  f"({fmap.shape[1]}x{fmap.shape[2]}) of test image 0")
        names.append(file)
    log(f"pictures: {', '.join(names)}")
    return names


def save_maps(path, maps, labels, title, cmap="gray", limits=None, colorbar=False, ncol=8):
    """2-D arrays as a titled grid of labelled panels (filters, feature maps), readable size."""
    n = len(maps)
    ncol = min(ncol, n)
    nrow = -(-n // ncol)
    side = 1.6  # inches per panel at 100 dpi: a 5x5 filter is drawn 130 pixels wide
    fig = figure(side * ncol + (0.9 if colorbar else 0.3), side * nrow + 0.7)
    for i, (m, label) in enumerate(zip(maps, labels)):
        ax = fig.add_subplot(nrow, ncol, i + 1)
        lo, hi = limits if limits is not None else (None, None)
        shown = ax.imshow(m, cmap=cmap, vmin=lo, vmax=hi, interpolation="nearest")
        ax.set_title(label, fontsize=8)
        ax.set_xticks([])
        ax.set_yticks([])
    if colorbar:
        fig.colorbar(shown, ax=fig.axes, shrink=0.8)
    fig.suptitle(title, fontsize=10)
    fig.savefig(path, format="png")
    return path


def one_cycle(optimizer, lr, epochs, steps_per_epoch, pct_start=0.2):
    """OneCycleLR stepped per batch: a warm-up lets SGD use a large rate without the first,
    badly-conditioned steps blowing up, and the long cosine decay settles into a good minimum."""
    from ..optim.lr_scheduler import OneCycleLR
    from ..train import LRSchedulerCallback

    total = max(int(epochs) * int(steps_per_epoch), 1)
    return LRSchedulerCallback(OneCycleLR(optimizer, max_lr=lr, total_steps=total,
                                          pct_start=pct_start), interval="step")


# -- optimization ---------------------------------------------------------------------------------
def with_grad_clipping(optimizer, max_norm):
    """Make `optimizer.step()` clip the global gradient norm of its parameters to `max_norm` first
    (so a recipe can clip without a custom training loop). Returns the optimizer."""
    from ..nn.utils import clip_grad_norm_

    step = optimizer.step
    params = [p for group in optimizer.param_groups for p in group["params"]]

    def clipped_step(*args, **kwargs):
        clip_grad_norm_(params, max_norm)
        return step(*args, **kwargs)

    optimizer.step = clipped_step
    return optimizer


def clipped_adam(model, lr, max_norm=1.0):
    """Adam whose step first clips the global gradient norm (the recurrent recipes' optimizer)."""
    from ..optim import Adam

    return with_grad_clipping(Adam(model.parameters(), lr=lr), max_norm)


def cosine(optimizer, epochs):
    """Cosine decay of the lr to 0 over the run, stepped per epoch."""
    from ..optim.lr_scheduler import CosineAnnealingLR

    return CosineAnnealingLR(optimizer, T_max=max(int(epochs), 1))


def lm_loss(logits, targets):
    """Mean cross-entropy over all (batch, time) positions, in nats per character."""
    from ..nn.functional import cross_entropy

    return cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))
