"""Deep belief networks: greedy layer-wise RBM pre-training, then unrolling and fine-tuning.

Layer 8. Hinton, Osindero and Teh (2006): train an RBM on the data, then a second RBM on the first
one's hidden probabilities p(h1 | v), and so on. Each added layer (initialized suitably) improves a
variational lower bound on the log-likelihood of the data, and in practice the stack learns
features layer by layer without labels. The weights are then *unrolled* into a feed-forward network
(each RBM becomes a Linear layer with its W and hidden bias c, followed by a sigmoid: the mean-field
pass v -> p(h1|v) -> p(h2|h1) ...) and fine-tuned by backpropagation:

* `to_classifier(n_classes)`: the stack plus a fresh softmax layer (cross-entropy fine-tuning);
* `to_autoencoder()`: the stack as encoder and its mirror (W^T and the visible biases b) as decoder,
  as in Hinton and Salakhutdinov (2006).

`DBNClassifier` holds a DBN and the classifier network built from it, so one checkpoint keeps both
the pre-trained RBMs and the fine-tuned weights; `load_pretrained()` copies the RBMs into the net.
"""
import itertools

import numpy as np

from .. import _config, nn
from ..ops import from_numpy
from ..tensor import Tensor
from .autoencoder import Autoencoder
from .rbm import RBM


def _copy(dst, src):
    dst._data = src._data.copy()


class DBN(nn.Module):
    """A stack of RBMs with sizes [visible, h1, h2, ...]; the first may have Gaussian visibles."""

    def __init__(self, sizes, visible="bernoulli", k=1, persistent=False):
        super().__init__()
        sizes = [int(s) for s in sizes]
        if len(sizes) < 2 or min(sizes) < 1:
            raise ValueError(f"DBN sizes need a visible and at least one hidden size, got {sizes}")
        self.sizes = sizes
        self.rbms = nn.ModuleList([RBM(a, b, visible if i == 0 else "bernoulli", k, persistent)
                                   for i, (a, b) in enumerate(itertools.pairwise(sizes))])

    def forward(self, v):
        """Mean-field up-pass: the top layer's hidden probabilities."""
        for rbm in self.rbms:
            v = rbm.p_h_given_v(v)
        return v

    def pretrain(self, data, epochs=5, batch_size=100, lr=0.05, momentum=0.5, weight_decay=2e-4,
                 optimizer=None, seed=0, log=None):
        """Greedy layer-wise CD training. `data` is a (n, visible) array or Tensor; each RBM is
        trained for `epochs` epochs with SGD (or `optimizer(params)`), then the data is replaced by
        its hidden probabilities for the next. Returns [{'layer', 'epoch', 'recon_error'}]."""
        from ..optim import SGD

        x = data._data if isinstance(data, Tensor) else data
        x = np.asarray(x, dtype=np.float32).reshape(len(x), -1)
        rng = np.random.default_rng(seed)
        history = []
        for layer, rbm in enumerate(self.rbms):
            opt = optimizer(rbm.parameters()) if optimizer is not None else SGD(
                rbm.parameters(), lr=lr, momentum=momentum, weight_decay=weight_decay)
            for epoch in range(epochs):
                order, errs = rng.permutation(len(x)), []
                for start in range(0, len(x), batch_size):
                    batch = from_numpy(np.ascontiguousarray(x[order[start:start + batch_size]]))
                    errs.append(rbm.contrastive_divergence(batch)["recon_error"] * len(batch))
                    opt.step()
                entry = {"layer": layer + 1, "epoch": epoch + 1, "recon_error": sum(errs) / len(x)}
                history.append(entry)
                if log is not None:
                    log(f"pretrain layer {layer + 1}/{len(self.rbms)} epoch {epoch + 1}/{epochs}: "
                        f"recon_error {entry['recon_error']:.5f}")
            x = self._propagate(rbm, x)
        return history

    @staticmethod
    def _propagate(rbm, x, chunk=5000):
        out = []
        with _config.no_grad():
            for start in range(0, len(x), chunk):
                out.append(rbm.p_h_given_v(from_numpy(np.ascontiguousarray(
                    x[start:start + chunk]))).numpy())
        return np.concatenate(out).astype(np.float32)

    def encoder_layers(self):
        """The unrolled up-pass: [Linear(W, c), Sigmoid] per RBM, weights copied."""
        layers = []
        for rbm in self.rbms:
            lin = nn.Linear(rbm.n_visible, rbm.n_hidden)
            _copy(lin.weight, rbm.weight)
            _copy(lin.bias, rbm.h_bias)
            layers += [lin, nn.Sigmoid()]
        return layers

    def to_classifier(self, n_classes):
        """nn.Sequential(stack, Linear(top, n_classes)) giving logits for cross-entropy."""
        return nn.Sequential(*self.encoder_layers(), nn.Linear(self.sizes[-1], int(n_classes)))

    def to_autoencoder(self):
        """Autoencoder: encoder = the up-pass; decoder = W^T with the visible biases, mirrored
        (sigmoid outputs for Bernoulli data, a linear output for Gaussian visible units)."""
        dec = []
        for i, rbm in enumerate(reversed(self.rbms)):
            lin = nn.Linear(rbm.n_hidden, rbm.n_visible)
            lin.weight._data = rbm.weight._data.T.copy()
            _copy(lin.bias, rbm.v_bias)
            last = i == len(self.rbms) - 1
            dec.append(lin)
            if not (last and rbm.visible == "gaussian"):
                dec.append(nn.Sigmoid())
        return Autoencoder(nn.Sequential(*self.encoder_layers()), nn.Sequential(*dec))


class DBNClassifier(nn.Module):
    """A DBN plus the classifier unrolled from it: forward(x) = net(x) (logits). Until
    `load_pretrained()` is called the net is randomly initialized (the no-pre-training baseline)."""

    def __init__(self, sizes, n_classes, visible="bernoulli", k=1):
        super().__init__()
        self.dbn = DBN(sizes, visible, k)
        self.net = self.dbn.to_classifier(n_classes)
        for m in self.net:
            if isinstance(m, nn.Linear):
                m.reset_parameters()

    def load_pretrained(self):
        """Copy the RBM weights into the net's hidden layers (the output layer is kept)."""
        fresh = self.dbn.encoder_layers()
        for dst, src in zip(self.net, fresh):
            if isinstance(dst, nn.Linear):
                _copy(dst.weight, src.weight)
                _copy(dst.bias, src.bias)
        return self

    def forward(self, x):
        return self.net(x.reshape(x.shape[0], -1))


__all__ = ["DBN", "DBNClassifier"]
