"""Sequence-to-sequence encoder-decoder with attention (Bahdanau et al. 2015, Luong et al. 2015).

Layer 8. The encoder, a GRU, reads the source ids and keeps every output e_1..e_S. The decoder is a
GRUCell unrolled over the target: at step t it scores each source position against its previous
state, score_s = e_s . (W_a h_{t-1}), turns the scores into weights with a softmax and takes the
weighted average of the encoder outputs as context c_t. Attention gives the decoder direct access to
any source position, instead of squeezing the whole source into one final state (the bottleneck that
made plain encoder-decoders fail on long inputs). Then

    h_t = GRUCell([embed(y_{t-1}); c_t], h_{t-1}),     logits_t = W_o [h_t; c_t] + b_o

Training uses teacher forcing (y_{t-1} is the true previous token). In evaluation mode `forward`
decodes greedily instead (y_{t-1} is the model's own previous argmax), so evaluation metrics measure
real generation. Inputs are one (B, S + T) id tensor: the source followed by the decoder input
[BOS, y_1, ..., y_{T-1}] (only its length is used when decoding greedily).
"""
from .. import nn
from ..nn.layers.rnn import GRU
from ..nn.layers.rnn_cells import GRUCell
from ..ops import cat, softmax, stack

__all__ = ["Seq2Seq"]


class Seq2Seq(nn.Module):
    def __init__(self, src_vocab, tgt_vocab, src_len, embed_dim=32, hidden_size=128, bos=0):
        super().__init__()
        self.src_len, self.bos = int(src_len), int(bos)
        self.src_embed = nn.Embedding(src_vocab, embed_dim)
        self.tgt_embed = nn.Embedding(tgt_vocab, embed_dim)
        self.encoder = GRU(embed_dim, hidden_size, batch_first=True)
        self.attn = nn.Linear(hidden_size, hidden_size, bias=False)
        self.decoder = GRUCell(embed_dim + hidden_size, hidden_size)
        self.out = nn.Linear(2 * hidden_size, tgt_vocab)

    def encode(self, src):
        enc, h = self.encoder(self.src_embed(src))
        return enc, h[0]

    def attend(self, enc, h):
        """Context (B, H) and weights (B, S): softmax_s(e_s . W_a h) averaged over e_s."""
        scores = (enc @ self.attn(h).unsqueeze(2)).squeeze(2)     # (B, S)
        w = softmax(scores, -1)
        return (w.unsqueeze(1) @ enc).squeeze(1), w

    def step(self, enc, h, prev_ids):
        ctx, _ = self.attend(enc, h)
        h = self.decoder(cat([self.tgt_embed(prev_ids), ctx], 1), h)
        return self.out(cat([h, ctx], 1)), h

    def forward(self, ids):
        src, dec_in = ids[:, :self.src_len], ids[:, self.src_len:]
        enc, h = self.encode(src)
        logits, prev = [], dec_in[:, 0]
        for t in range(dec_in.shape[1]):
            if self.training:
                prev = dec_in[:, t]
            out, h = self.step(enc, h, prev)
            logits.append(out)
            prev = out.argmax(-1)
        return stack(logits, 1)
