"""The network of a Playground session: an `nn.Sequential` built from the settings, its training
step, regularization, and the heatmaps of every neuron.

The layer list (`layer_specs`) is the one description of the network: it builds the live model here
and is written out by `export.py`, so the exported script rebuilds exactly this `nn.Sequential` and
its `state_dict` keys match.

Training follows the Playground (`src/nn.ts`): mini-batches in data order, the mean gradient of
1/2 (out - y)^2 (cross-entropy for 3+ classes), the regularization gradient added to link weights
only (not biases), and under L1 a weight that crosses zero is set to 0 and stays dead.
"""
import math

import numpy as np

import axonal
import axonal.nn.functional as F
from axonal import nn

from .config import GRID, THUMB, n_outputs

ACTIVATIONS = {"relu": "ReLU", "tanh": "Tanh", "sigmoid": "Sigmoid", "linear": "Identity"}


def layer_specs(config, n_in, classes):
    """[(class name in axonal.nn, args), ...] for the settings; hidden blocks are
    Linear -> [BatchNorm1d] -> activation -> [Dropout]; the output is Linear (-> Tanh for two
    classes, as the Playground; logits for 3+ classes; linear for regression)."""
    specs, prev = [], n_in
    for width in config["networkShape"]:
        specs.append(("Linear", (prev, width)))
        if config["batchNorm"]:
            specs.append(("BatchNorm1d", (width,)))
        specs.append((ACTIVATIONS[config["activation"]], ()))
        if config["dropout"] > 0:
            specs.append(("Dropout", (config["dropout"],)))
        prev = width
    specs.append(("Linear", (prev, n_outputs(config, classes))))
    if classes == 2:
        specs.append(("Tanh", ()))
    return specs


def build(specs):
    return nn.Sequential(*[getattr(nn, name)(*args) for name, args in specs])


def _make_optimizer(config, params):
    lr = config["learningRate"]
    if config["optimizer"] == "adam":
        return axonal.optim.Adam(params, lr=lr)
    return axonal.optim.SGD(params, lr=lr, momentum=0.9 if config["optimizer"] == "momentum" else 0)


class Network:
    def __init__(self, config, n_in, classes, seed):
        self.config, self.classes = config, classes
        self.specs = layer_specs(config, n_in, classes)
        self.model = build(self.specs)
        self.linears = [m for m in self.model if isinstance(m, nn.Linear)]
        # indices of the modules whose outputs are the hidden neurons' values (after activation)
        kinds = [name for name, _ in self.specs]
        act = ACTIVATIONS[config["activation"]]
        self.act_index = [i for i, k in enumerate(kinds) if k == act][:len(config["networkShape"])]
        self._init_weights(np.random.default_rng(seed), config["initZero"])
        self.dead = [np.zeros(lin.weight.shape, bool) for lin in self.linears]
        self.any_dead = False
        self.optimizer = _make_optimizer(config, list(self.model.parameters()))
        self.grad_norms = np.zeros(len(self.linears))

    def _init_weights(self, rng, zero):
        # the Playground's init: weights U(-0.5, 0.5) (0 with initZero), biases 0.1
        for lin in self.linears:
            w = np.zeros(lin.weight.shape) if zero else rng.uniform(-0.5, 0.5, lin.weight.shape)
            lin.weight._data[...] = w.astype(np.float32)
            lin.bias._data[...] = np.float32(0.1)

    def set_live(self, config):
        """Apply the settings that change without a rebuild (learning rate, regularization, batch)."""
        self.config = config
        for group in self.optimizer.param_groups:
            group["lr"] = config["learningRate"]

    # -- training ----------------------------------------------------------------------------------
    def _criterion(self, out, target):
        return F.cross_entropy(out, target) if self.classes > 2 else F.mse_loss(out, target)

    def loss(self, out, target):
        """The loss shown and trained: cross-entropy, or the Playground's 1/2 (out - y)^2."""
        value = self._criterion(out, target)
        return value if self.classes > 2 else value * 0.5

    def targets(self, labels):
        """Labels in the shape the loss wants: (n,) class indices, or (n, 1) values."""
        t = labels if self.classes > 2 else labels.reshape(-1, 1)
        return axonal.tensor(np.ascontiguousarray(t))

    def batches(self, x, labels):
        """The epoch's mini-batches as tensors, in data order (the Playground does not reshuffle).
        Built once per (data, batch size) and reused: the data never changes during training."""
        key = (id(x), len(x), self.config["batchSize"])
        if getattr(self, "_batch_key", None) != key:
            n, bs = len(x), self.config["batchSize"]
            starts = list(range(0, n, bs))
            if self.config["batchNorm"] and len(starts) > 1 and n - starts[-1] == 1:
                starts.pop()  # batch norm needs two values per batch: fold a lone last point in
            stops = starts[1:] + [n]
            self._batches = [(axonal.tensor(x[a:b]), self.targets(labels[a:b]))
                             for a, b in zip(starts, stops)]
            self._batch_key = key
        return self._batches

    def train_epoch(self, x, labels):
        """One pass over the training data in mini-batches of `batchSize`; returns nothing, leaves
        the mean per-layer gradient norm of the epoch in `self.grad_norms`."""
        self.model.train()
        batches = self.batches(x, labels)
        norms = np.zeros(len(self.linears))
        # d(1/2 mse) = 1/2 d(mse): seeding backward with 1/2 saves the graph a multiply per step
        seed = None if self.classes > 2 else axonal.tensor(np.float32(0.5))
        for xb, yb in batches:
            self.optimizer.zero_grad()
            self._criterion(self.model(xb), yb).backward(seed)
            for i, lin in enumerate(self.linears):
                g, gb = lin.weight.grad._data, lin.bias.grad._data
                norms[i] += math.sqrt(float(np.vdot(g, g)) + float(np.vdot(gb, gb)))
            self._step()
        self.grad_norms = norms / len(batches)

    def _step(self):
        reg, rate = self.config["regularization"], self.config["regularizationRate"]
        before = None
        if reg != "none" and rate > 0:
            for lin in self.linears:
                w = lin.weight._data
                lin.weight.grad._data += rate * (np.sign(w) if reg == "L1" else w)
            if reg == "L1":
                before = [np.sign(lin.weight._data) for lin in self.linears]
        self.optimizer.step()
        if before is None and not self.any_dead:
            return  # the common case: nothing to clamp
        for i, lin in enumerate(self.linears):
            w = lin.weight._data
            if before is not None:
                crossed = before[i] * np.sign(w) < 0  # moved through zero: the Playground kills it
                self.dead[i] |= crossed
            w[self.dead[i]] = 0.0
        self.any_dead = any(d.any() for d in self.dead)

    def evaluate(self, x, labels):
        """The training loss over a whole part (no gradient, evaluation mode); nan when empty."""
        if len(x) == 0:
            return float("nan")
        self.model.eval()
        with axonal.no_grad():
            return float(self.loss(self.model(axonal.tensor(x)), self.targets(labels)).item())

    def predict(self, x):
        """Model outputs for (n, features) inputs, as a NumPy array (eval mode, no gradient)."""
        self.model.eval()
        with axonal.no_grad():
            return self.model(axonal.tensor(x)).numpy()

    # -- what the page draws -----------------------------------------------------------------------
    def maps(self, grid_inputs):
        """One batched forward pass over the grid: (output, [per hidden layer: neuron values
        (GRID*GRID, n)]); the output is (GRID*GRID, 1) values or (GRID*GRID, K) class
        probabilities."""
        self.model.eval()
        hidden, h = [], axonal.tensor(grid_inputs)
        with axonal.no_grad():
            for i, module in enumerate(self.model):
                h = module(h)
                if i in self.act_index:
                    hidden.append(h.numpy())
        out = h.numpy()
        if self.classes > 2:
            out = F.softmax(axonal.tensor(out), dim=1).numpy()
        return out, hidden

    def weights(self):
        """Per layer: weights (out, in) and biases, rounded for the wire (4 significant digits)."""
        return ([_round(lin.weight._data) for lin in self.linears],
                [_round(lin.bias._data) for lin in self.linears])

    def set_weight(self, layer, to, frm, value):
        lin = self.linears[layer]
        if frm == "bias":
            lin.bias._data[to] = np.float32(value)
        else:
            lin.weight._data[to, frm] = np.float32(value)
            self.dead[layer][to, frm] = False  # an edited link lives again
            self.any_dead = any(d.any() for d in self.dead)


def thumbnails(values):
    """(GRID*GRID, n) values -> (n, THUMB, THUMB): the mean of each block (the Playground's
    reduceMatrix), so a thumbnail is the big map seen from afar."""
    n = values.shape[1]
    f = GRID // THUMB
    blocks = values.T.reshape(n, THUMB, f, THUMB, f)
    return blocks.mean(axis=(2, 4))


def _round(a):
    # JSON has no NaN/inf (the browser's JSON.parse rejects them): a diverged weight travels as null
    return [float(f"{v:.4g}") if np.isfinite(v) else None for v in np.asarray(a, np.float64).ravel()]


def encode_signed(values):
    """Values in [-1, 1] (clamped) -> uint8 bytes: 0 is -1, 255 is +1 (the colour scale's domain)."""
    v = np.clip(np.nan_to_num(np.asarray(values, np.float32), nan=0.0), -1.0, 1.0)
    return np.round((v + 1.0) * 127.5).astype(np.uint8).tobytes()
