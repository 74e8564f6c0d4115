"""seq2seq-toy: reverse a string of digits with an attention encoder-decoder; ~100% accuracy.

Layer 9. Source: 10 random digits; target: the same digits reversed, then EOS. Reversal needs the
whole source before the first output token and a different source position at every step, which is
exactly what attention provides (`axonal.models.seq2seq.Seq2Seq`: GRU encoder, GRUCell decoder with
dot-product attention, 32-dim embeddings, 128 hidden units).

* data: 20,000 training / 2,000 validation / 2,000 test strings, each split from its own fixed seed.
* training: teacher forcing, cross-entropy over the 11 target positions, Adam lr 3e-3, gradient norm
  clipped to 1.0, cosine LR decay per epoch, batch 128, 8 epochs.
* evaluation decodes greedily (the model feeds back its own predictions): `accuracy` is the fraction
  of correct output tokens, `sequence_accuracy` the fraction of strings reversed exactly.
"""
import numpy as np

from ._common import clipped_adam, cosine, lm_loss
from .base import Recipe
from .registry import recipe

LENGTH, BOS, EOS, VOCAB = 10, 10, 11, 12


def reverse_task(n, seed, length=LENGTH):
    """(inputs (n, 2 * length + 1), targets (n, length + 1)) int64 arrays: inputs are the source
    digits then the decoder input [BOS, reversed digits]; targets the reversed digits then EOS."""
    src = np.random.default_rng(seed).integers(0, 10, (n, length))
    rev = src[:, ::-1]
    bos, eos = np.full((n, 1), BOS), np.full((n, 1), EOS)
    return (np.concatenate([src, bos, rev], 1).astype(np.int64),
            np.concatenate([rev, eos], 1).astype(np.int64))


class TokenAccuracy:
    name = "accuracy"

    def __call__(self, outputs, targets):
        return float((outputs._data.argmax(-1) == targets._data).mean())


class SequenceAccuracy:
    name = "sequence_accuracy"

    def __call__(self, outputs, targets):
        return float((outputs._data.argmax(-1) == targets._data).all(-1).mean())


@recipe("seq2seq-toy")
class Seq2SeqToy(Recipe):
    description = "reverse 10-digit strings with an attention GRU encoder-decoder; ~100% accuracy"
    defaults = {"epochs": 8, "lr": 3e-3, "batch_size": 128, "seed": 0}  # noqa: RUF012 - the Recipe convention
    metrics = (TokenAccuracy(), SequenceAccuracy())

    def model_config(self):
        return {"src_vocab": VOCAB, "tgt_vocab": VOCAB, "src_len": LENGTH, "embed_dim": 32,
                "hidden_size": 128, "bos": BOS}

    def build_model(self, config):
        from ..models.seq2seq import Seq2Seq

        return Seq2Seq(**config)

    def _split(self, n, seed):
        from .. import from_numpy
        from ..utils.data import TensorDataset

        x, y = reverse_task(n, seed)
        return TensorDataset(from_numpy(x), from_numpy(y))

    def datasets(self, data_dir=None, limit_train=None):
        n = 20000 if limit_train is None else min(limit_train, 20000)
        return self._split(n, 1), self._split(2000, 2), self.test_dataset()

    def test_dataset(self, data_dir=None):
        return self._split(2000, 3)

    def loss_fn(self):
        return lm_loss

    def optimizer(self, model, lr):
        return clipped_adam(model, lr, 1.0)

    def scheduler(self, optimizer, epochs, steps_per_epoch):
        return cosine(optimizer, epochs)
