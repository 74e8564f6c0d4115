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

The MNIST split, image-grid and scatter helpers are in `_common`, shared by the other recipes.
"""
from typing import ClassVar

import numpy as np

from ._common import (
    ReconstructionRecipe,
    apply_batched,
    arrays_of,
    knn_accuracy,
    mnist_arrays,
    plots_available,
    save_image_rows,
    save_scatter,
)
from .registry import recipe

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
