"""Ensembles: several independently trained classifiers answer together.

Layer 8. Why it works: models trained from different seeds (or different architectures) make partly
independent mistakes, so averaging their predicted class probabilities cancels much of the error of
any single one; it is the oldest reliable way to gain accuracy (every ImageNet winner from AlexNet
on reported an ensemble). Two ways to combine:

* soft voting (`average_probabilities`, `Ensemble.forward`): the mean of the members' softmax
  probabilities, optionally weighted. A confident member counts more than a hesitant one.
* hard voting (`majority_vote`): each member votes for its top class; the most votes win. Ties go to
  the class with the higher tie-break score when one is given (e.g. the averaged probability), else
  to the smallest class index.

    ens = Ensemble([model_a, model_b, model_c])
    Trainer(ens, None, F.cross_entropy).evaluate(test_loader)  # forward gives log mean probability
    labels = ens.predict(x, method="vote")
"""
import numpy as np

from ..backend import to_numpy, xp_of
from ..nn.containers import ModuleList
from ..nn.module import Module
from ..ops.activation import log_softmax, softmax
from ..ops.creation import tensor
from ..ops.moments import logsumexp
from ..ops.reduction import argmax
from ..ops.shape import stack
from ..tensor import Tensor

__all__ = ["Ensemble", "average_probabilities", "majority_vote"]


def _weights(weights, m):
    if weights is None:
        return np.full(m, 1.0 / m)
    w = np.asarray(weights, dtype=np.float64).reshape(-1)
    if len(w) != m or np.any(w < 0) or w.sum() <= 0:
        raise ValueError(f"ensemble weights must be {m} non-negative numbers with a positive sum, "
                         f"got {weights!r}")
    return w / w.sum()


def average_probabilities(outputs, weights=None, logits=True):
    """Mean class probabilities of several models: sum_m w_m softmax(outputs[m]) with weights
    summing to 1 (equal by default). `outputs`: a list of (N, K) Tensors/arrays (logits, or
    probabilities with logits=False). Returns the same kind as the inputs (a Tensor or an array)."""
    outputs = list(outputs)
    if not outputs:
        raise ValueError("average_probabilities: need at least one model's outputs")
    shapes = {tuple(o.shape) for o in outputs}
    if len(shapes) != 1 or len(next(iter(shapes))) != 2:
        raise ValueError(f"average_probabilities: outputs must all be (N, classes), got "
                         f"{sorted(shapes)}")
    w = _weights(weights, len(outputs))
    if isinstance(outputs[0], Tensor):
        probs = [softmax(o, 1) if logits else o for o in outputs]
        total = probs[0] * float(w[0])
        for p, wi in zip(probs[1:], w[1:]):
            total = total + p * float(wi)
        return total
    xp = xp_of(outputs[0])
    total = 0.0
    for o, wi in zip(outputs, w):
        o = xp.asarray(o, dtype=np.float64)
        if logits:
            e = xp.exp(o - o.max(axis=1, keepdims=True))
            o = e / e.sum(axis=1, keepdims=True)
        total = total + wi * o
    return total


def majority_vote(predictions, num_classes=None, tie_break=None):
    """Hard voting. `predictions`: (M, N) class labels, one row per model (or a list of M label
    arrays). Returns (N,) int64 labels: the class most models chose; among tied classes the one
    with the highest `tie_break` score ((N, K), e.g. averaged probabilities), else the smallest."""
    p = np.stack([to_numpy(q._data if isinstance(q, Tensor) else q) for q in predictions]) \
        if isinstance(predictions, (list, tuple)) else \
        to_numpy(predictions._data if isinstance(predictions, Tensor) else predictions)
    p = np.asarray(p)
    if p.ndim != 2 or p.shape[0] == 0:
        raise ValueError(f"majority_vote: expected (models, samples) labels, got shape {p.shape}")
    if p.size and (p.min() < 0 or p.dtype.kind not in "iu"):
        raise ValueError("majority_vote: labels must be non-negative integers")
    k = int(num_classes) if num_classes is not None else int(p.max()) + 1
    if p.size and p.max() >= k:
        raise ValueError(f"majority_vote: label {int(p.max())} is not below num_classes={k}")
    m, n = p.shape
    counts = np.zeros((n, k), dtype=np.int64)
    np.add.at(counts, (np.broadcast_to(np.arange(n), (m, n)), p), 1)
    if tie_break is None:
        return counts.argmax(axis=1).astype(np.int64)  # argmax takes the first (smallest) tie
    tb = to_numpy(tie_break._data if isinstance(tie_break, Tensor) else tie_break)
    if tb.shape != (n, k):
        raise ValueError(f"majority_vote: tie_break must be (samples, classes) = {(n, k)}, got "
                         f"{tb.shape}")
    tied = counts == counts.max(axis=1, keepdims=True)
    return np.where(tied, tb, -np.inf).argmax(axis=1).astype(np.int64)


class Ensemble(Module):
    """Several classifiers (each (N, ...) -> (N, K) logits) as one model.

    forward(x) returns log(sum_m w_m softmax(model_m(x))): the log of the averaged probabilities,
    so its argmax is the soft-vote prediction and cross_entropy / nll_loss on it give the
    ensemble's log loss (log_softmax leaves a log-probability vector unchanged).
    `method` ("mean" or "vote") is what predict() uses by default. The members are `members[i]`, so
    `.eval()`, `.to(device)` and `state_dict()` cover all of them.
    """

    def __init__(self, models, weights=None, method="mean"):
        super().__init__()
        models = list(models)
        if not models:
            raise ValueError("Ensemble: needs at least one model")
        if method not in ("mean", "vote"):
            raise ValueError(f"Ensemble: method must be 'mean' or 'vote', got {method!r}")
        self.members = ModuleList(models)
        self.method = method
        self.weights = [float(v) for v in _weights(weights, len(models))]

    def member_outputs(self, x):
        return [m(x) for m in self.members]

    def forward(self, x):
        outs = self.member_outputs(x)
        logw = tensor(np.log(np.maximum(self.weights, 1e-300)), dtype=outs[0].dtype,
                      device=outs[0].device).reshape(-1, 1, 1)
        # log sum_m w_m p_m = logsumexp_m(log w_m + log_softmax_m): stable for confident members
        return logsumexp(stack([log_softmax(o, 1) for o in outs], 0) + logw, 0)

    def predict_proba(self, x):
        """Averaged probabilities (N, K)."""
        return average_probabilities(self.member_outputs(x), self.weights)

    def predict(self, x, method=None):
        """Labels (N,) int64 Tensor: soft vote ("mean") or majority vote ("vote", ties broken by
        the averaged probability)."""
        method = method or self.method
        outs = self.member_outputs(x)
        probs = average_probabilities(outs, self.weights)
        if method == "mean":
            return argmax(probs, 1)
        if method != "vote":
            raise ValueError(f"Ensemble.predict: method must be 'mean' or 'vote', got {method!r}")
        votes = majority_vote([to_numpy(argmax(o, 1)._data) for o in outs],
                              num_classes=outs[0].shape[1], tie_break=to_numpy(probs._data))
        return tensor(votes, device=outs[0].device)
