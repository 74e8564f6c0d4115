"""Character-level language models: an LSTM and a causal Transformer, and a sampler.

Layer 8. Both map token ids (B, T) to next-token logits (B, T, V), so one training loop serves both:
cross-entropy between logits[:, t] and the id at t + 1.

* CharLSTM (Karpathy's char-rnn): Embedding -> multi-layer LSTM -> dropout -> Linear. The recurrent
  state can be carried from one batch to the next (truncated BPTT over contiguous streams): pass
  `state` and detach the returned one between batches (`axonal.nn.bptt.detach_state`).
* CharTransformer (a small GPT): Embedding + sinusoidal positions -> causal pre-norm Transformer
  encoder -> LayerNorm -> Linear. Position t attends to positions <= t only (the causal mask), so
  the logits at t never see the token they predict.

`sample` draws text: logits / temperature -> softmax -> one draw per step, feeding each sampled id
back in (temperature < 1 sharpens the distribution, > 1 flattens it).
"""
import numpy as np

from .. import nn
from .._config import no_grad
from ..nn.layers.rnn import LSTM
from ..nn.layers.transformer import PositionalEncoding, TransformerEncoder, TransformerEncoderLayer
from ..ops import tensor

__all__ = ["CharLSTM", "CharTransformer", "sample"]


class CharLSTM(nn.Module):
    def __init__(self, vocab_size, embed_dim=64, hidden_size=256, num_layers=2, dropout=0.0):
        super().__init__()
        self.vocab_size = int(vocab_size)
        self.embed = nn.Embedding(vocab_size, embed_dim)
        self.lstm = LSTM(embed_dim, hidden_size, num_layers, batch_first=True,
                         dropout=dropout if num_layers > 1 else 0.0)
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(hidden_size, vocab_size)

    def forward(self, ids, state=None, return_state=False):
        out, state = self.lstm(self.embed(ids), state)
        logits = self.head(self.drop(out))
        return (logits, state) if return_state else logits

    def step(self, ids, state):
        """Logits of the last position and the new state (for sampling one id at a time)."""
        logits, state = self.forward(ids, state, return_state=True)
        return logits[:, -1], state


class CharTransformer(nn.Module):
    def __init__(self, vocab_size, d_model=128, nhead=4, num_layers=4, dim_feedforward=512,
                 dropout=0.1, max_len=512):
        super().__init__()
        self.vocab_size, self.max_len = int(vocab_size), int(max_len)
        self.embed = nn.Embedding(vocab_size, d_model)
        self.pos = PositionalEncoding(d_model, max_len, dropout, batch_first=True)
        layer = TransformerEncoderLayer(d_model, nhead, dim_feedforward, dropout, "gelu",
                                        batch_first=True, norm_first=True)
        self.encoder = TransformerEncoder(layer, num_layers)
        self.norm = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, vocab_size)

    def forward(self, ids, state=None, return_state=False):
        t = ids.shape[1]
        x = self.encoder(self.pos(self.embed(ids)), mask=nn.Transformer.generate_square_subsequent_mask(t, device=ids.device), is_causal=True)
        logits = self.head(self.norm(x))
        return (logits, None) if return_state else logits

    def step(self, ids, state):
        """The transformer has no recurrent state: it re-reads the (cropped) context."""
        ctx = ids if state is None else state
        ctx = ctx[:, -self.max_len:]
        return self.forward(ctx)[:, -1], ctx


def sample(model, prompt_ids, length, temperature=1.0, rng=None):
    """Continue `prompt_ids` (list of ints) by `length` sampled ids; returns the new ids."""
    if temperature <= 0:
        raise ValueError(f"sample: temperature must be positive, got {temperature}")
    rng = rng if rng is not None else np.random.default_rng()
    was_training = model.training
    model.eval()
    out = []
    try:
        with no_grad():
            if isinstance(model, CharTransformer):
                ctx = list(prompt_ids)
                for _ in range(length):
                    logits = model(tensor([ctx[-model.max_len:]]))[:, -1]
                    nxt = _draw(logits.numpy()[0], temperature, rng)
                    ctx.append(nxt)
                    out.append(nxt)
            else:
                logits, state = model.step(tensor([list(prompt_ids)]), None)
                for _ in range(length):
                    nxt = _draw(logits.numpy()[0], temperature, rng)
                    out.append(nxt)
                    logits, state = model.step(tensor([[nxt]]), state)
    finally:
        model.train(was_training)
    return out


def _draw(logits, temperature, rng):
    z = logits.astype(np.float64) / temperature
    p = np.exp(z - z.max())
    p /= p.sum()
    return int(rng.choice(len(p), p=p))
