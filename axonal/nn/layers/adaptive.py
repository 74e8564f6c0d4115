"""AdaptiveLogSoftmaxWithLoss (Grave et al. 2017, "Efficient softmax approximation for GPUs"),
PyTorch's module: the frequent classes (below cutoffs[0]) and one entry per tail cluster share a
head softmax; each tail cluster has its own softmax after a projection to in_features / div^(i+1)
dims. log p(y) = log p_head(y) for shortlist classes, log p_head(cluster) + log p_cluster(y)
otherwise.

forward(input, target) returns (output, loss): the target log-probabilities and their negated
mean; log_prob(input) the full (N, n_classes) log-distribution; predict(input) the argmax class.
Each cluster's rows are placed into the batch with a constant selection matmul, so the gradients
are those of the composition.
"""
from collections import namedtuple

import numpy as np

from ...backend import to_numpy, xp_of
from ...ops import cat, matmul
from ...tensor import Tensor, constant
from .. import functional as F
from ..containers import ModuleList, Sequential
from ..module import Module
from .linear import Linear

__all__ = ["AdaptiveLogSoftmaxWithLoss"]

_ASMoutput = namedtuple("_ASMoutput", ["output", "loss"])


class AdaptiveLogSoftmaxWithLoss(Module):
    def __init__(self, in_features, n_classes, cutoffs, div_value=4.0, head_bias=False,
                 device=None, dtype=None):
        super().__init__()
        cutoffs = list(cutoffs)
        if len(cutoffs) == 0:
            raise ValueError("cutoffs should be a sequence of length larger than 0")
        if (cutoffs != sorted(cutoffs) or min(cutoffs) <= 0 or max(cutoffs) > n_classes - 1
                or len(set(cutoffs)) != len(cutoffs) or any(int(c) != c for c in cutoffs)):
            raise ValueError("cutoffs should be a sequence of unique, positive integers sorted "
                             "in an increasing order, where each value is between 1 and "
                             "n_classes-1")
        self.in_features, self.n_classes = in_features, n_classes
        self.cutoffs = cutoffs + [n_classes]
        self.div_value, self.head_bias = div_value, head_bias
        self.shortlist_size = self.cutoffs[0]
        self.n_clusters = len(self.cutoffs) - 1
        self.head_size = self.shortlist_size + self.n_clusters
        self.head = Linear(in_features, self.head_size, bias=head_bias, device=device,
                           dtype=dtype)
        self.tail = ModuleList()
        for i in range(self.n_clusters):
            hsz = int(in_features // (div_value ** (i + 1)))
            osz = self.cutoffs[i + 1] - self.cutoffs[i]
            self.tail.append(Sequential(
                Linear(in_features, hsz, bias=False, device=device, dtype=dtype),
                Linear(hsz, osz, bias=False, device=device, dtype=dtype)))

    def reset_parameters(self):
        self.head.reset_parameters()
        for i2h, h2o in self.tail:
            i2h.reset_parameters()
            h2o.reset_parameters()

    def forward(self, input_, target_):
        # the targets steer which rows go to which cluster: a host copy (PyTorch syncs too)
        t = to_numpy(target_._data) if isinstance(target_, Tensor) else np.asarray(target_)
        if t.ndim == 1:
            if input_.shape[0] != t.shape[0]:
                raise RuntimeError("Input and target should have the same size in the batch "
                                   "dimension.")
            if input_.ndim != 2:
                raise RuntimeError(f"1D target tensor expects 2D input tensors, but found "
                                   f"inputs with size {tuple(input_.shape)}")
        elif t.ndim == 0:
            if input_.ndim != 1:
                raise RuntimeError(f"0D target tensor expects 1D input tensors, but found "
                                   f"inputs with size {tuple(input_.shape)}")
        else:
            raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
        batched = t.ndim > 0
        x = input_ if batched else input_.unsqueeze(0)
        t = t.reshape(-1).astype(np.int64)
        xp = xp_of(x._data)
        b = t.shape[0]
        if b and (int(t.min()) < 0 or int(t.max()) >= self.n_classes):
            raise RuntimeError(f"Target values should be in [0, {self.n_classes - 1}], but "
                               f"values in range [{int(t.min())}, {int(t.max())}] were found. ")
        gather = t.copy()
        output = None
        bounds = [0] + self.cutoffs
        dt = x._data.dtype
        for i in range(1, len(bounds) - 1):
            lo, hi = bounds[i], bounds[i + 1]
            rows = np.nonzero((t >= lo) & (t < hi))[0]
            if rows.size == 0:
                continue
            gather[rows] = self.shortlist_size + i - 1
            sub = x[xp.asarray(rows)]
            logp = F.log_softmax(self.tail[i - 1](sub), 1)
            local = logp.gather(1, constant(xp.asarray((t[rows] - lo).reshape(-1, 1))))
            place = np.zeros((b, rows.size), dtype=dt)
            place[rows, np.arange(rows.size)] = 1
            part = matmul(constant(xp.asarray(place)), local).squeeze(1)
            output = part if output is None else output + part
        head_logprob = F.log_softmax(self.head(x), 1)
        head = head_logprob.gather(1, constant(xp.asarray(gather.reshape(-1, 1)))).squeeze(1)
        output = head if output is None else output + head
        loss = (-output).mean()
        if not batched:
            output = output.squeeze(0)
        return _ASMoutput(output, loss)

    def _get_full_log_prob(self, input, head_output):
        head_logprob = F.log_softmax(head_output, 1)
        parts = [head_logprob[:, :self.shortlist_size]]
        for i in range(self.n_clusters):
            cluster = F.log_softmax(self.tail[i](input), 1)
            k = self.shortlist_size + i
            parts.append(cluster + head_logprob[:, k:k + 1])
        return cat(parts, 1)

    def log_prob(self, input):
        """The (N, n_classes) log-probabilities of every class."""
        batched = input.ndim > 1
        x = input if batched else input.unsqueeze(0)
        out = self._get_full_log_prob(x, self.head(x))
        return out if batched else out.squeeze(0)

    def predict(self, input):
        """The most likely class of each row (cheaper than log_prob().argmax() when the head's
        best entry is a shortlist class)."""
        batched = input.ndim > 1
        x = input if batched else input.unsqueeze(0)
        head_output = self.head(x)
        out = head_output.detach().argmax(1)
        outside = out._data >= self.shortlist_size
        if outside.any():
            xp = xp_of(x._data)
            rows = xp.nonzero(outside)[0]
            full = self._get_full_log_prob(x[rows], head_output[rows]).detach()
            data = out._data.copy()
            data[rows] = full._data.argmax(1)
            out = constant(data)
        return out if batched else out.squeeze(0)
