"""PCA: principal component analysis by the singular value decomposition (a linear baseline).

Layer 8. For centred data X_c = X - mean (n x d) with thin SVD X_c = U S V^T, the rows of V^T are
the principal directions, ordered by singular value. Projecting on the first k rows,

    codes           Z = X_c V_k                       (n x k)
    reconstruction  X_hat = Z V_k^T + mean

gives the rank-k reconstruction with the smallest squared error of all linear maps (Eckart-Young).
The variance of the data along direction i is S_i^2 / (n - 1) (`explained_variance_`); its share of
the total variance is `explained_variance_ratio_`. Signs are made deterministic as scikit-learn
does: each component's largest-magnitude coordinate is positive.

This is the baseline the autoencoder recipes beat: an autoencoder with linear layers and squared
error learns the same subspace, so anything better comes from the nonlinearity.
"""
import numpy as np

from ..backend import to_numpy, xp_of
from ..ops import from_numpy
from ..tensor import Tensor, constant


def _as_array(x, name):
    data = x._data if isinstance(x, Tensor) else x
    if not hasattr(data, "shape"):
        data = np.asarray(data)
    if data.ndim != 2:
        raise ValueError(f"PCA.{name}: expected a 2-D (samples, features) array, got shape "
                         f"{tuple(data.shape)}")
    return data


class PCA:
    """PCA(n_components=None, whiten=False): sklearn's interface (fit / transform /
    inverse_transform / fit_transform) on NumPy or CuPy arrays and on Tensors (Tensors in, Tensors
    out; arrays in, arrays out)."""

    def __init__(self, n_components=None, whiten=False):
        if n_components is not None and (not isinstance(n_components, (int, np.integer))
                                         or n_components < 1):
            raise ValueError(f"PCA: n_components must be a positive int or None, got "
                             f"{n_components!r}")
        self.n_components, self.whiten = n_components, bool(whiten)
        self.components_ = None

    def fit(self, x):
        data = _as_array(x, "fit")
        n, d = data.shape
        k = min(n, d) if self.n_components is None else self.n_components
        if k > min(n, d):
            raise ValueError(f"PCA: n_components={k} must be <= min(n_samples, n_features) = "
                             f"{min(n, d)}")
        if n < 2:
            raise ValueError("PCA: need at least 2 samples")
        xp = xp_of(data)
        a = data.astype(xp.float64)
        self.mean_ = a.mean(axis=0)
        _, s, vt = xp.linalg.svd(a - self.mean_, full_matrices=False)
        # deterministic signs: the largest-|.| entry of each component is positive
        signs = xp.sign(vt[xp.arange(vt.shape[0]), xp.argmax(xp.abs(vt), axis=1)])
        vt = vt * xp.where(signs == 0, 1, signs)[:, None]
        var = s ** 2 / (n - 1)
        total = var.sum()
        self.n_components_, self.n_features_in_, self.n_samples_ = k, d, n
        self.components_ = vt[:k]
        self.singular_values_ = s[:k]
        self.explained_variance_ = var[:k]
        self.explained_variance_ratio_ = var[:k] / total if total > 0 else xp.zeros(k)
        # average variance of the discarded directions (probabilistic PCA's sigma^2)
        self.noise_variance_ = float(var[k:].mean()) if k < min(n, d) else 0.0
        self._dtype = data.dtype if data.dtype in (np.float32, np.float64) else np.float64
        return self

    def _check_fitted(self, who):
        if self.components_ is None:
            raise RuntimeError(f"PCA.{who}: call fit() first")

    def _wrap(self, like, arr):
        arr = arr.astype(self._dtype, copy=False)
        if isinstance(like, Tensor):
            xp = xp_of(arr)
            return from_numpy(np.ascontiguousarray(arr)) if xp is np else constant(xp.ascontiguousarray(arr))
        return arr

    def transform(self, x):
        """Codes Z = (X - mean) V_k (divided by the component std when whiten=True)."""
        self._check_fitted("transform")
        data = _as_array(x, "transform")
        if data.shape[1] != self.n_features_in_:
            raise ValueError(f"PCA.transform: expected {self.n_features_in_} features, got "
                             f"{data.shape[1]}")
        z = (data.astype(self.mean_.dtype) - self.mean_) @ self.components_.T
        if self.whiten:
            z = z / xp_of(z).sqrt(self.explained_variance_)
        return self._wrap(x, z)

    def fit_transform(self, x):
        return self.fit(x).transform(x)

    def inverse_transform(self, z):
        """X_hat = Z V_k^T + mean: the best rank-k reconstruction (in squared error)."""
        self._check_fitted("inverse_transform")
        data = _as_array(z, "inverse_transform")
        if data.shape[1] != self.n_components_:
            raise ValueError(f"PCA.inverse_transform: expected {self.n_components_} components, "
                             f"got {data.shape[1]}")
        a = data.astype(self.mean_.dtype)
        if self.whiten:
            a = a * xp_of(a).sqrt(self.explained_variance_)
        return self._wrap(z, a @ self.components_ + self.mean_)

    def reconstruction_error(self, x):
        """Mean squared error per element of the rank-k reconstruction of x (a float)."""
        data = _as_array(x, "reconstruction_error")
        rec = self.inverse_transform(self.transform(data))
        return float(to_numpy(((rec.astype(np.float64) - data) ** 2).mean()))

    def __repr__(self):
        return f"PCA(n_components={self.n_components}, whiten={self.whiten})"


__all__ = ["PCA"]
