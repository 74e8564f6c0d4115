"""Tiny Shakespeare (Karpathy's char-rnn corpus) for character-level language models.

The vocabulary is the sorted set of the 65 distinct characters of the whole file, so train and val
share ids (the char-rnn / nanoGPT convention). The first 90% of the characters are `split='train'`, the
last 10% `split='val'`: a contiguous cut, so no validation text leaks into training windows.

Two ways to read it:
* as a map-style dataset: sample i is `(x, y)`, two int64 Tensors of length `seq_len`, `x` a window of
  the text and `y` the same window shifted one character ahead (the next-character targets);
* as contiguous streams for truncated backprop through time: `bptt_batches` cuts the text into
  `batch_size` parallel streams so that row b of batch t+1 continues row b of batch t, and a recurrent
  model may carry its hidden state across batches.
"""
import numpy as np

from ..utils.data import Dataset, _bridge
from ._resource import DatasetError, Resource

RESOURCE = Resource(
    "tinyshakespeare", "input.txt",
    "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed", 1115394,
    ("https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt",))
TRAIN_FRACTION = 0.9


def bptt_batches(data, batch_size, seq_len, drop_last=False):
    """Yield `(x, y)` int64 Tensors of shape (batch_size, <= seq_len) for truncated BPTT.

    The token array (length n) is cut into `batch_size` streams of L = (n - 1) // batch_size tokens
    (the remainder is dropped); stream b is `data[b*L : (b+1)*L]` and its targets the same range
    shifted by one. Batches walk along the streams `seq_len` steps at a time. The last batch is shorter
    unless `drop_last`.
    """
    data = np.asarray(data.numpy() if _bridge.is_tensor(data) else data, dtype=np.int64)
    if batch_size <= 0 or seq_len <= 0:
        raise ValueError(f"batch_size and seq_len must be positive, got {batch_size} and {seq_len}")
    length = (len(data) - 1) // batch_size
    if length < 1:
        raise ValueError(f"{len(data)} tokens are too few for {batch_size} streams")
    x = data[: batch_size * length].reshape(batch_size, length)
    y = data[1: batch_size * length + 1].reshape(batch_size, length)
    for start in range(0, length, seq_len):
        stop = min(start + seq_len, length)
        if drop_last and stop - start < seq_len:
            return
        yield (_bridge.wrap(np.ascontiguousarray(x[:, start:stop])),
               _bridge.wrap(np.ascontiguousarray(y[:, start:stop])))


class TinyShakespeare(Dataset):
    """Character windows of Tiny Shakespeare.

    Args:
        root: data directory (default $AXONAL_DATA, else ~/.cache/axonal); the file is
            `<root>/tinyshakespeare/input.txt`.
        split: 'train' (first 90%) or 'val' (last 10%).
        seq_len: window length T of a sample.
        stride: start-to-start distance of consecutive windows (default seq_len: non-overlapping).
        download: fetch the file if missing (SHA-256 verified).

    Attributes: `text` (the split's text), `data` (its ids, int64), `chars`, `stoi`, `itos`,
    `vocab_size` (65).
    """

    # the 65 characters of the pinned file (its SHA-256 is checked): sampling from a trained model
    # needs only these, not the file
    VOCAB = "\n !$&',-.3:;?ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

    def __init__(self, root=None, split="train", seq_len=128, stride=None, download=True):
        if split not in ("train", "val"):
            raise ValueError(f"split must be 'train' or 'val', got {split!r}")
        if seq_len <= 0:
            raise ValueError(f"seq_len must be positive, got {seq_len}")
        from ._download import fetch  # the network code loads only when a file is looked up
        path = fetch(RESOURCE, root, download)
        try:
            full = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as e:
            raise DatasetError(f"{path}: not UTF-8 text ({e})") from e
        self.chars = sorted(set(full))
        self.vocab_size = len(self.chars)
        self.stoi = {c: i for i, c in enumerate(self.chars)}
        self.itos = dict(enumerate(self.chars))
        cut = int(len(full) * TRAIN_FRACTION)
        self.split = split
        self.text = full[:cut] if split == "train" else full[cut:]
        self.data = self.encode(self.text)
        self.seq_len = int(seq_len)
        self.stride = int(stride) if stride is not None else self.seq_len
        if self.stride <= 0:
            raise ValueError(f"stride must be positive, got {stride}")

    def encode(self, text: str) -> np.ndarray:
        """Characters -> int64 ids. Unknown characters raise KeyError naming them."""
        if text.isascii() and all(ord(c) < 128 for c in self.chars):
            # table lookup on the bytes: ~100x faster than a dict lookup per character
            table = np.full(128, -1, dtype=np.int64)
            table[[ord(c) for c in self.chars]] = np.arange(len(self.chars))
            ids = table[np.frombuffer(text.encode("ascii"), dtype=np.uint8)]
            if (ids >= 0).all():
                return ids
        try:
            return np.fromiter((self.stoi[c] for c in text), dtype=np.int64, count=len(text))
        except KeyError as e:
            raise KeyError(f"character {e.args[0]!r} is not in the Tiny Shakespeare "
                           "vocabulary") from None

    def decode(self, ids) -> str:
        """Ids (list, array or Tensor) -> string."""
        if _bridge.is_tensor(ids):
            ids = ids.tolist()
        return "".join(self.itos[int(i)] for i in np.asarray(ids).reshape(-1))

    def __len__(self):
        # a window needs seq_len inputs plus one more character for the last target
        return max(0, (len(self.data) - 1 - self.seq_len) // self.stride + 1)

    def _windows(self, starts):
        offsets = np.arange(self.seq_len + 1)
        block = self.data[starts[..., None] + offsets]  # (..., T+1): inputs and targets in one gather
        return block[..., :-1], block[..., 1:]

    def __getitem__(self, index):
        n = len(self)
        if not -n <= index < n:
            raise IndexError(f"index {index} out of range for {n} windows")
        x, y = self._windows(np.asarray((index % n) * self.stride))
        return _bridge.wrap(x), _bridge.wrap(y)

    def _get_batch(self, indices):
        x, y = self._windows(np.asarray(indices, dtype=np.int64) * self.stride)
        return [_bridge.wrap(x), _bridge.wrap(y)]

    def batches(self, batch_size, seq_len=None, drop_last=False):
        """Contiguous (x, y) batches over this split for truncated BPTT (see `bptt_batches`)."""
        return bptt_batches(self.data, batch_size, seq_len or self.seq_len, drop_last)
