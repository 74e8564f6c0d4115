"""Variable-length batches for recurrent layers: PyTorch's packed sequences (`axonal.nn.utils.rnn`).

A batch of sequences of different lengths is padded to (T, B, *) for storage, but a recurrent layer
must not run its cell over the padding: the final hidden state of a sequence of length 3 is h_3, not
h_T. A PackedSequence stores only the real steps, time-major, with the sequences sorted by decreasing
length:

    data         (sum of lengths, *): the batch_sizes[0] rows of step 0, then the rows of step 1, ...
    batch_sizes  (T,) int64: how many sequences are still running at each step (non-increasing)
    sorted_indices / unsorted_indices: the permutation from the caller's batch order to the sorted
                 order and back (None when the input was already sorted)

The recurrent layers (`nn.RNN`, `nn.LSTM`, `nn.GRU`) accept a PackedSequence and return one; at step t
they update only the first batch_sizes[t] rows, so each sequence's final state is taken at its own
last step, in both directions of a bidirectional layer. Packing and unpacking are differentiable
(one gather / one scatter of rows).
"""
from collections import namedtuple

import numpy as np

from ...ops import index_select, reshape, stack, transpose
from ...ops.indexing import IndexAddZeros
from ...tensor import Tensor, constant

__all__ = [
    "PackedSequence",
    "pack_padded_sequence",
    "pack_sequence",
    "pad_packed_sequence",
    "pad_sequence",
    "unpack_sequence",
    "unpad_sequence",
]


class PackedSequence(namedtuple("PackedSequence",
                                ["data", "batch_sizes", "sorted_indices", "unsorted_indices"])):
    """The packed form of a batch of variable-length sequences (see the module docstring)."""

    def __new__(cls, data, batch_sizes=None, sorted_indices=None, unsorted_indices=None):
        if unsorted_indices is None and sorted_indices is not None:
            unsorted_indices = _invert(sorted_indices)
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def to(self, *args, **kwargs):
        return self._replace(data=self.data.to(*args, **kwargs))

    @property
    def is_cuda(self):
        return self.data.is_cuda


def _np(x):
    return np.asarray(x._data if isinstance(x, Tensor) else x)


def _invert(perm):
    p = _np(perm).astype(np.int64)
    inv = np.empty_like(p)
    inv[p] = np.arange(p.size, dtype=np.int64)
    return Tensor(inv)


def _packed_rows(lengths_sorted, batch):
    """Row index into the flattened (T*B, *) time-major padded tensor of every packed row, and
    batch_sizes: step t contributes rows t*B + b for the batch_sizes[t] sequences still running."""
    t_max = int(lengths_sorted[0])
    batch_sizes = (lengths_sorted[None, :] > np.arange(t_max)[:, None]).sum(1).astype(np.int64)
    rows = np.concatenate([t * batch + np.arange(n) for t, n in enumerate(batch_sizes)])
    return rows, batch_sizes


def pack_padded_sequence(input, lengths, batch_first=False, enforce_sorted=True):
    """Pack a padded batch (T, B, *) (or (B, T, *) with batch_first) of sequences with `lengths`.

    With enforce_sorted=True the lengths must be in decreasing order; otherwise the batch is sorted
    here and the permutation kept in the result."""
    lengths = _np(lengths).astype(np.int64).reshape(-1)
    if batch_first:
        input = transpose(input, 0, 1)
    t_max, batch = input.shape[0], input.shape[1]
    if lengths.size != batch:
        raise ValueError(f"pack_padded_sequence: expected {batch} lengths (the batch size of input "
                         f"{tuple(input.shape)}), got {lengths.size}")
    if lengths.size and (lengths.min() <= 0 or lengths.max() > t_max):
        raise ValueError(f"pack_padded_sequence: lengths must be in [1, {t_max}], got "
                         f"{lengths.tolist()}")
    if enforce_sorted:
        if (np.diff(lengths) > 0).any():
            raise RuntimeError("pack_padded_sequence: `lengths` array must be sorted in decreasing "
                               "order when `enforce_sorted` is True; pass enforce_sorted=False to "
                               f"sort here, got {lengths.tolist()}")
        sorted_indices = None
    else:
        order = np.argsort(-lengths, kind="stable")
        sorted_indices = Tensor(order.astype(np.int64))
        lengths = lengths[order]
        input = index_select(input, 1, order)
    rows, batch_sizes = _packed_rows(lengths, batch)
    flat = reshape(input, (t_max * batch,) + tuple(input.shape[2:]))
    return PackedSequence(index_select(flat, 0, rows), Tensor(batch_sizes), sorted_indices)


def pad_packed_sequence(sequence, batch_first=False, padding_value=0.0, total_length=None):
    """Inverse of pack_padded_sequence: (padded (T, B, *) or (B, T, *), lengths (B,) int64), in the
    caller's original batch order."""
    data, batch_sizes = sequence.data, _np(sequence.batch_sizes).astype(np.int64)
    batch, t_max = int(batch_sizes[0]), len(batch_sizes)
    if total_length is not None:
        if total_length < t_max:
            raise ValueError(f"pad_packed_sequence: total_length={total_length} is less than the "
                             f"longest sequence ({t_max})")
        t_max = int(total_length)
    lengths = (batch_sizes[None, :] > np.arange(batch)[:, None]).sum(1).astype(np.int64)
    rows, _ = _packed_rows(lengths, batch)
    feat = tuple(data.shape[1:])
    out = IndexAddZeros.apply(data, (rows,), False, (t_max * batch,) + feat)
    if padding_value != 0:
        pad = np.full((t_max * batch,) + (1,) * len(feat), padding_value, dtype=data._data.dtype)
        pad[rows] = 0
        out = out + constant(pad)
    out = reshape(out, (t_max, batch) + feat)
    if sequence.unsorted_indices is not None:
        inv = _np(sequence.unsorted_indices)
        out = index_select(out, 1, inv)
        lengths = lengths[inv]
    if batch_first:
        out = transpose(out, 0, 1)
    return out, Tensor(lengths)


def pad_sequence(sequences, batch_first=False, padding_value=0.0, padding_side="right"):
    """Stack tensors of shapes (L_i, *) into (L_max, B, *) (or (B, L_max, *)), padding the ends."""
    if padding_side not in ("right", "left"):
        raise ValueError(f"pad_sequence: padding_side must be 'right' or 'left', got {padding_side!r}")
    if isinstance(sequences, Tensor):
        sequences = list(sequences)
    if not sequences:
        raise ValueError("pad_sequence: received an empty list of sequences")
    t_max = max(int(s.shape[0]) for s in sequences)
    padded = []
    for s in sequences:
        extra = t_max - int(s.shape[0])
        if extra:
            widths = [(0, 0)] * s.ndim
            widths[0] = (0, extra) if padding_side == "right" else (extra, 0)
            from ...ops.shape import pad_widths
            s = pad_widths(s, widths, padding_value)
        padded.append(s)
    return stack(padded, 0 if batch_first else 1)


def pack_sequence(sequences, enforce_sorted=True):
    """Pack a list of (L_i, *) tensors (pad_sequence followed by pack_padded_sequence)."""
    lengths = [int(s.shape[0]) for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def unpad_sequence(padded_sequences, lengths, batch_first=False):
    """The list of (L_i, *) tensors inside a padded batch."""
    if not batch_first:
        padded_sequences = transpose(padded_sequences, 0, 1)
    return [padded_sequences[i, :int(n)] for i, n in enumerate(_np(lengths).reshape(-1))]


def unpack_sequence(packed_sequences):
    """The list of (L_i, *) tensors inside a PackedSequence (original order)."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)
