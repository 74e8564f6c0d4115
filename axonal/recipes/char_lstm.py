"""char-lstm: a character-level LSTM language model on Tiny Shakespeare (Karpathy's char-rnn).

Layer 9. `axonal train char-lstm`, then `axonal generate runs/char-lstm/checkpoint --prompt "ROMEO:"
--temperature 0.8 --length 500`. Target: validation loss <= 1.60 nats per character.

* data: Tiny Shakespeare, the first 90% of the text for training and the last 10% for validation
  (a contiguous cut: no validation text leaks into training windows); 65 characters. Samples are
  non-overlapping windows of 128 characters; the targets are the same windows shifted by one. The
  "test" numbers are computed on the validation split (the corpus has no third split).
* model (`axonal.models.rnn_lm.CharLSTM`): Embedding(65, 64) -> LSTM(64, 256, num_layers=2,
  dropout 0.1 between the layers) -> dropout 0.1 -> Linear(256, 65). Each window starts from a zero
  state (windows are shuffled, so no state is carried between batches).
* training: cross-entropy averaged over every position, Adam lr 3e-3 decayed by a cosine schedule,
  global gradient norm clipped to 1.0, batch 64, 20 epochs. `--cell transformer` trains the causal
  Transformer variant (CharTransformer, 4 pre-norm layers of width 128) instead.
"""
import numpy as np

from ._common import clipped_adam, cosine, lm_loss
from .base import Recipe
from .registry import recipe

SEQ_LEN = 128


class CharAccuracy:
    """Fraction of positions whose most likely next character is the right one."""

    name = "accuracy"

    def __call__(self, outputs, targets):
        return float((outputs._data.argmax(-1) == targets._data).mean())


@recipe("char-lstm")
class CharLSTMRecipe(Recipe):
    description = ("2-layer LSTM character LM on Tiny Shakespeare; val loss <= 1.60 nats/char; "
                   "`axonal generate` samples text")
    defaults = {"epochs": 20, "lr": 3e-3, "batch_size": 64, "seed": 0}  # noqa: RUF012 - the Recipe convention
    metrics = (CharAccuracy(),)
    eval_batch_size = 256

    def __init__(self):
        self.options = {"cell": "lstm"}

    def model_config(self):
        cell = self.options["cell"]
        if cell == "lstm":
            return {"model": "lstm", "vocab_size": 65, "embed_dim": 64, "hidden_size": 256,
                    "num_layers": 2, "dropout": 0.1}
        if cell == "transformer":
            return {"model": "transformer", "vocab_size": 65, "d_model": 128, "nhead": 4,
                    "num_layers": 4, "dim_feedforward": 512, "dropout": 0.1, "max_len": SEQ_LEN}
        raise ValueError(f"char-lstm: --cell must be lstm or transformer, got {cell!r}")

    def build_model(self, config):
        from ..models.rnn_lm import CharLSTM, CharTransformer

        c = dict(config)
        kind = c.pop("model")
        return CharLSTM(**c) if kind == "lstm" else CharTransformer(**c)

    def datasets(self, data_dir=None, limit_train=None):
        from ..datasets import TinyShakespeare
        from ..utils.data import Subset

        train = TinyShakespeare(data_dir, "train", seq_len=SEQ_LEN)
        val = TinyShakespeare(data_dir, "val", seq_len=SEQ_LEN)
        if limit_train is not None:
            train = Subset(train, list(range(min(limit_train, len(train)))))
        return train, val, val

    def test_dataset(self, data_dir=None):
        from ..datasets import TinyShakespeare

        return TinyShakespeare(data_dir, "val", seq_len=SEQ_LEN)

    def loss_fn(self):
        return lm_loss

    def optimizer(self, model, lr):
        return clipped_adam(model, lr, 1.0)

    def scheduler(self, optimizer, epochs, steps_per_epoch):
        return cosine(optimizer, epochs)

    def generate(self, checkpoint, prompt="\n", length=500, temperature=1.0, seed=None,
                 data=None):
        """Text sampled from a checkpoint of this recipe: the prompt and its continuation. Needs no
        data (`data` is accepted for the CLI's sake): the vocabulary of the pinned corpus is fixed."""
        from ..datasets import TinyShakespeare
        from ..models.rnn_lm import sample
        from ..train import read_checkpoint

        ckpt = read_checkpoint(checkpoint)
        model = self.build_model((ckpt.get("extra") or {}).get("model_config")
                                 or self.model_config())
        model.load_state_dict(ckpt["model"])
        chars = TinyShakespeare.VOCAB  # the corpus is not needed to sample
        stoi = {c: i for i, c in enumerate(chars)}
        missing = sorted({c for c in prompt if c not in stoi})
        if missing:
            raise ValueError(f"generate: the prompt has characters outside the Tiny Shakespeare "
                             f"vocabulary: {missing}")
        if not prompt:
            raise ValueError("generate: the prompt must not be empty")
        ids = sample(model, [stoi[c] for c in prompt], length, temperature,
                     np.random.default_rng(seed))
        return prompt + "".join(chars[int(i)] for i in ids)
