"""Truncated backpropagation through time as a training loop (the pieces, `detach_state`,
`split_time` and the Pascanu regularizer `omega`, are in `axonal.nn.bptt`).

Training on a very long sequence with full BPTT needs memory linear in its length and gives one
update per pass. Truncated BPTT cuts the sequence into chunks of k steps, runs forward and backward
on one chunk, updates, and carries the final hidden state into the next chunk as a constant, so
gradients reach at most k steps back while the forward pass still sees the whole history.
"""
from ..nn.bptt import detach_state, split_time
from ..nn.utils import clip_grad_norm_

__all__ = ["truncated_bptt"]


def truncated_bptt(model, x, y, loss_fn, optimizer, k, state=None, dim=1, clip=None):
    """One pass of truncated BPTT (k1 = k2 = k) over a long batch-first sequence.

    `model(x_chunk, state) -> (output, new_state)`; `loss_fn(output, y_chunk)` a scalar. After each
    chunk: backward, optional global-norm clipping to `clip`, optimizer step; the state is detached
    before the next chunk. Returns (mean loss over chunks, final detached state)."""
    losses = []
    params = [p for g in optimizer.param_groups for p in g["params"]]
    for xc, yc in zip(split_time(x, k, dim), split_time(y, k, dim)):
        out, state = model(xc, state)
        loss = loss_fn(out, yc)
        optimizer.zero_grad()
        loss.backward()
        if clip is not None:
            clip_grad_norm_(params, clip)
        optimizer.step()
        state = detach_state(state)
        losses.append(float(loss.item()))
    return sum(losses) / max(len(losses), 1), state
