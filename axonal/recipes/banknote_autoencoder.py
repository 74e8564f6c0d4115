"""banknote-autoencoder: a 4-6-4-2-4-6-4 autoencoder on UCI banknote features vs 2-component PCA.

Layer 9 (recipes). The four wavelet features of the banknote images (variance, skewness, curtosis,
entropy) are standardized with the training part's statistics. A tanh autoencoder with a 2-unit
linear bottleneck, 4-6-4-2-4-6-4 with a linear output, is trained on the squared error; PCA with 2
components is the linear baseline (the best any linear 2-D code can do in squared error).

* data: the fixed 80/20 split of axonal.datasets.Banknote (1,097 / 275 rows); the last 110 training
  rows (fixed permutation) are held out for validation.
* training: Adam(1e-2), batch 32, 200 epochs.
* report (metrics.json): test_mse and pca_test_mse (mean squared error per standardized feature on
  the test rows), mse_ratio, pca_explained_variance. PNGs: codes.png (2-D codes of the autoencoder
  and of PCA, coloured genuine / forged), reconstructions.png (each feature against its
  reconstruction, both models).
"""
import os
from typing import ClassVar

from ._common import (
    ReconstructionRecipe,
    apply_batched,
    arrays_of,
    banknote_splits,
    figure,
    plots_available,
    save_scatter,
)
from .registry import recipe


@recipe("banknote-autoencoder")
class BanknoteAutoencoder(ReconstructionRecipe):
    description = "autoencoder 4-6-4-2-4-6-4 on UCI banknote vs 2-component PCA (reconstruction)"
    defaults: ClassVar[dict] = {"epochs": 200, "lr": 1e-2, "batch_size": 32, "seed": 0}
    metrics = ()

    def model_config(self):
        return {"sizes": [4, 6, 4, 2], "activation": "tanh", "output": None}

    def build_model(self, config):
        from ..models.autoencoder import mlp_autoencoder

        return mlp_autoencoder(config["sizes"], config["activation"], config["output"])

    def datasets(self, data_dir=None, limit_train=None):
        return banknote_splits(data_dir, limit_train)

    def report(self, model, trainer, datasets, out, log):
        from ..models.pca import PCA

        model.eval()
        (xtr, _), _, (xte, yte) = (arrays_of(d) for d in datasets)
        rec = apply_batched(model, xte)
        pca = PCA(2).fit(xtr)
        pca_rec = pca.inverse_transform(pca.transform(xte))
        m = {"test_mse": float(((rec - xte) ** 2).mean()),
             "pca_test_mse": float(((pca_rec - xte) ** 2).mean()),
             "pca_explained_variance": float(pca.explained_variance_ratio_.sum())}
        m["mse_ratio"] = m["test_mse"] / m["pca_test_mse"]
        files = []
        if plots_available():
            save_scatter(os.path.join(out, "codes.png"),
                         [("autoencoder code", apply_batched(model.encode, xte)),
                          ("PCA (2 components)", pca.transform(xte))], yte,
                         title="banknote test rows", class_names=["genuine", "forged"])
            fig = figure(13, 3.4)
            for j, name in enumerate(("variance", "skewness", "curtosis", "entropy")):
                ax = fig.add_subplot(1, 4, j + 1)
                ax.scatter(xte[:, j], rec[:, j], s=4, label="autoencoder")
                ax.scatter(xte[:, j], pca_rec[:, j], s=4, label="PCA", alpha=0.6)
                lim = [xte[:, j].min(), xte[:, j].max()]
                ax.plot(lim, lim, "k--", linewidth=0.8)
                ax.set_title(name)
                ax.set_xlabel("standardized value")
                if j == 0:
                    ax.set_ylabel("reconstruction")
                    ax.legend(fontsize=7)
            fig.tight_layout()
            fig.savefig(os.path.join(out, "reconstructions.png"), format="png")
            files += ["codes.png", "reconstructions.png"]
        log(f"{self.name}: test MSE autoencoder {m['test_mse']:.4f} vs PCA(2) "
            f"{m['pca_test_mse']:.4f} (ratio {m['mse_ratio']:.3f})")
        return m, files
