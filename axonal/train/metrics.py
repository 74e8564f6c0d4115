"""Metrics: functions of (outputs, targets) that give one number per batch.

Layer 7. A metric returns the *mean over the batch's samples*; the Trainer multiplies it by the batch
size, sums over the epoch and divides by the number of samples, so the epoch value is the exact
per-sample average even when the last batch is smaller (averaging batch means would weight its
samples more).

Metrics read the raw arrays (`.data`) instead of calling Tensor ops: they are never differentiated,
and working on arrays keeps them from recording graph nodes or allocating Tensors in the hot loop.
Any callable `fn(outputs, targets) -> float` works as a custom metric; its `name` attribute (else
its `__name__`) becomes the log key.

    metrics=("accuracy", "top5", TopKAccuracy(3), my_metric)
"""
import re

from .. import backend
from ..tensor import Tensor


def _array(x):
    return x._data if isinstance(x, Tensor) else x


class Metric:
    """Base class: `name` is the key in logs and History; `__call__` returns the batch mean."""

    name = "metric"

    def __call__(self, outputs, targets) -> float:
        raise NotImplementedError(f"{type(self).__name__} must implement __call__")

    def __repr__(self):
        return f"{type(self).__name__}()"


def _class_targets(out, tgt, who):
    """Class indices (N,) from int targets (N,) or from one-hot / probability targets (N, C)."""
    if out.ndim != 2:
        raise ValueError(f"{who}: expected outputs of shape (batch, classes), got {tuple(out.shape)}; "
                         "for one output per sample use 'binary_accuracy'")
    if tgt.ndim == 2 and tgt.shape == out.shape:
        tgt = tgt.argmax(axis=1)
    if tgt.ndim != 1 or tgt.shape[0] != out.shape[0]:
        raise ValueError(f"{who}: targets of shape {tuple(tgt.shape)} do not match outputs of shape "
                         f"{tuple(out.shape)}; expected class indices (batch,) or one-hot (batch, "
                         "classes)")
    return tgt


class Accuracy(Metric):
    """Fraction of samples whose largest output is the target class."""

    name = "accuracy"

    def __call__(self, outputs, targets):
        out, tgt = _array(outputs), _array(targets)
        tgt = _class_targets(out, tgt, "accuracy")
        if out.shape[0] == 0:
            return 0.0
        return (out.argmax(axis=1) == tgt).mean().item()


class TopKAccuracy(Metric):
    """Fraction of samples whose target is among the k largest outputs (ties broken arbitrarily)."""

    def __init__(self, k=5):
        if not isinstance(k, int) or isinstance(k, bool) or k < 1:
            raise ValueError(f"TopKAccuracy: k must be a positive int, got {k!r}")
        self.k = k
        self.name = f"top{k}_accuracy"

    def __call__(self, outputs, targets):
        out, tgt = _array(outputs), _array(targets)
        tgt = _class_targets(out, tgt, self.name)
        n, c = out.shape
        if self.k > c:
            raise ValueError(f"{self.name}: k={self.k} is larger than the number of classes ({c})")
        if n == 0:
            return 0.0
        xp = backend.xp_of(out)
        # the target is in the top k iff fewer than k classes score strictly higher; this avoids a
        # sort and counts ties in the target's favour, like PyTorch's topk-based recipes usually do
        target_score = xp.take_along_axis(out, tgt[:, None].astype(xp.int64), axis=1)
        higher = (out > target_score).sum(axis=1)
        return (higher < self.k).mean().item()

    def __repr__(self):
        return f"TopKAccuracy(k={self.k})"


class BinaryAccuracy(Metric):
    """Accuracy for one output per sample: `output > threshold` compared with targets in {0, 1}.
    Use threshold=0.0 when the model outputs logits, 0.5 for probabilities."""

    name = "binary_accuracy"

    def __init__(self, threshold=0.5):
        self.threshold = float(threshold)

    def __call__(self, outputs, targets):
        out, tgt = _array(outputs), _array(targets)
        if out.size != tgt.size:
            raise ValueError(f"binary_accuracy: outputs {tuple(out.shape)} and targets "
                             f"{tuple(tgt.shape)} hold different numbers of values")
        if out.size == 0:
            return 0.0
        return ((out.reshape(-1) > self.threshold) == (tgt.reshape(-1) > 0.5)).mean().item()

    def __repr__(self):
        return f"BinaryAccuracy(threshold={self.threshold})"


_TOPK = re.compile(r"^top_?(\d+)(_accuracy|_acc)?$")


def get_metric(spec):
    """A metric from a name ('accuracy'/'acc', 'top5'/'top_5_accuracy', 'binary_accuracy') or a
    callable (returned as is)."""
    if callable(spec):
        return spec
    if not isinstance(spec, str):
        raise TypeError(f"metric must be a name or a callable, got {type(spec).__name__}")
    key = spec.lower()
    if key in ("accuracy", "acc"):
        return Accuracy()
    if key in ("binary_accuracy", "binary_acc"):
        return BinaryAccuracy()
    m = _TOPK.match(key)
    if m:
        return TopKAccuracy(int(m.group(1)))
    raise ValueError(f"unknown metric {spec!r}: expected 'accuracy', 'binary_accuracy', 'topK' "
                     "(e.g. 'top5'), a Metric or a callable(outputs, targets) -> float")


def metric_name(metric) -> str:
    return getattr(metric, "name", None) or getattr(metric, "__name__", None) or type(metric).__name__


def resolve(metrics):
    """[(name, metric)] from the Trainer's `metrics` argument; names must be unique and not 'loss'."""
    if metrics is None:
        return []
    if isinstance(metrics, str) or callable(metrics):
        metrics = (metrics,)
    out, seen = [], set()
    for spec in metrics:
        m = get_metric(spec)
        name = metric_name(m)
        if name == "loss" or name.startswith("val_"):
            raise ValueError(f"metric name {name!r} is reserved (the loss and validation logs use it)")
        if name in seen:
            raise ValueError(f"two metrics are named {name!r}; give one a different `name`")
        seen.add(name)
        out.append((name, m))
    return out
