"""Backpropagation through time, in pieces: truncated BPTT helpers and the Pascanu regularizer.

Truncated BPTT. Training on a very long sequence with full BPTT needs memory linear in its length
and gives one update per pass. Truncated BPTT cuts the sequence into chunks of k steps, runs forward
and backward on one chunk, updates, and carries the final hidden state into the next chunk as a
*constant*: `detach_state` cuts the graph there, so the backward pass of a chunk stops at its first
step (gradients reach at most k steps back) while the forward pass still sees the whole history.
The training loop that does this with an optimizer is `axonal.train.truncated_bptt`.

Omega (Pascanu, Mikolov & Bengio 2013, "On the difficulty of training recurrent neural networks").
With dL/dh_{k+1} the total gradient reaching state k+1, one step of backpropagation multiplies it by
the Jacobian dh_{k+1}/dh_k. Vanishing gradients are the norm shrinking at every step. The
regularizer asks each step to preserve the norm:

    Omega = sum_k ( || dL/dh_{k+1} . dh_{k+1}/dh_k || / || dL/dh_{k+1} || - 1 )^2

(for a tanh RNN, dL/dh_{k+1} . dh_{k+1}/dh_k = W_hh^T diag(1 - h_{k+1}^2) dL/dh_{k+1}). As in the
paper, dL/dh_{k+1} is treated as a constant; the dependence of the Jacobian on the weights is what
is differentiated. Omega is itself a function of a backward pass, so minimizing it needs gradients
of gradients: `omega` builds the vector-Jacobian products with create_graph=True, and its
backward() is a double backprop through the recurrent step.
"""
from .. import autograd
from .._config import enable_grad
from ..ops import cat
from ..tensor import Tensor

__all__ = ["detach_state", "omega", "split_time"]


def detach_state(state):
    """The same (nested tuple/list of) tensors cut from the graph: the carried state of truncated
    BPTT. None stays None."""
    if state is None:
        return None
    if isinstance(state, Tensor):
        return state.detach()
    if isinstance(state, (tuple, list)):
        return type(state)(detach_state(s) for s in state)
    raise TypeError(f"detach_state: expected a Tensor or a tuple of Tensors, got "
                    f"{type(state).__name__}")


def split_time(x, k, dim=1):
    """Chunks of at most k steps along the time dim (dim=1 for batch-first (B, T, ...))."""
    if k <= 0:
        raise ValueError(f"split_time: chunk length must be positive, got {k}")
    t_len = x.shape[dim]
    index = [slice(None)] * x.ndim
    chunks = []
    for start in range(0, t_len, k):
        index[dim] = slice(start, min(start + k, t_len))
        chunks.append(x[tuple(index)])
    return chunks


def omega(loss, states, step, reduction="sum", eps=1e-12):
    """Pascanu's gradient-norm-preserving regularizer.

    Args:
        loss: the scalar training loss, computed from `states`.
        states: [h_0, h_1, ..., h_T], the hidden states of an unrolled loop (each (B, H) or (H,));
            h_{k+1} must depend on h_k.
        step: step(k, h) -> h_{k+1} recomputed from a given h_k (same weights and input x_k): the
            local Jacobian dh_{k+1}/dh_k is taken through it.
        reduction: 'sum' over steps (the paper) or 'mean'. Per step, the ratio is averaged over
            the batch.

    Returns a scalar Tensor whose backward() differentiates through the Jacobians (double
    backprop). Call it before loss.backward(), or keep the graph (it uses retain_graph=True).
    """
    if reduction not in ("sum", "mean"):
        raise ValueError(f"omega: reduction must be 'sum' or 'mean', got {reduction!r}")
    with enable_grad():
        grads = autograd.grad(loss, list(states[1:]), retain_graph=True, allow_unused=True)
        terms = []
        for k, g in enumerate(grads):
            if g is None:
                continue
            g = g.detach()  # dL/dh_{k+1}: a constant, as in the paper
            h = states[k].detach().requires_grad_(True)
            v = autograd.grad(step(k, h), h, grad_outputs=g, create_graph=True)[0]
            gn = (g * g).sum(-1) ** 0.5
            ratio = (v * v).sum(-1) ** 0.5 / (gn + eps)
            terms.append(((ratio - 1) ** 2).mean().reshape(1))
        if not terms:
            raise ValueError("omega: the loss does not depend on any of the given states")
        total = cat(terms, 0).sum()
    return total / len(terms) if reduction == "mean" else total


def __getattr__(name):
    # truncated_bptt drives an optimizer, so it lives with the training loops now (nn does not
    # import train); say where instead of a bare AttributeError
    if name == "truncated_bptt":
        raise AttributeError("axonal.nn.bptt.truncated_bptt moved to axonal.train.truncated_bptt "
                             "(module axonal.train.bptt)")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
