"""The backward pass: reverse-mode automatic differentiation over the recorded graph.

The graph is made of nodes (instances of `autograd.Function`, one per op call). A node holds
`next`: one entry per positional input of its forward, which is
  * `None`            - the input needs no gradient,
  * a leaf tensor     - gradients for it are accumulated into `leaf.grad`,
  * `(node, index)`   - the input was output `index` of another node.

Backward is the chain rule applied in reverse topological order. A node may run only when every
consumer of its outputs has already sent its gradient contribution (the total derivative is the sum
over all paths, so the contributions are summed first). We find that order with Kahn's algorithm:
count, for each node, how many edges come into it from the nodes reachable from the roots, then run a
node when its count drops to zero. Both passes use explicit stacks - never recursion - so a graph of a
million ops is as safe as a graph of ten.

This module does not import Tensor; it relies on a small protocol: tensors have `_ctx`, `_idx` and
`_accumulate_grad(g, seen)`; nodes have `next`, `n_out`, `_retained`, `_freed`,
`_backward_apply(grads)` and `_release()`.
"""
import collections
import threading

from . import _config
from ._errors import GraphError


def _collect_dependencies(root_nodes):
    """Count the edges into each node from the nodes reachable from the roots."""
    deps = {}
    seen = set(root_nodes)
    stack = list(seen)
    while stack:
        node = stack.pop()
        for entry in node.next:
            if type(entry) is tuple:
                parent = entry[0]
                deps[parent] = deps.get(parent, 0) + 1
                if parent not in seen:
                    seen.add(parent)
                    stack.append(parent)
    return deps


# Callbacks to run once the outermost backward pass has delivered every gradient (PyTorch's
# `Variable._execution_engine.queue_callback`). DistributedDataParallel queues one to finish its
# gradient all-reduce: only the engine knows when no more gradients can arrive. Per thread, like grad
# mode: a backward running in another thread neither runs nor drops this thread's callbacks.
class _PassState(threading.local):
    def __init__(self):
        self.depth = 0  # backward passes running in this thread (a hook may start a nested one)
        self.callbacks = collections.deque()


_pass = _PassState()


def queue_callback(fn):
    """Run `fn()` when the backward pass now running ends (after its last gradient is delivered)."""
    if not _pass.depth:
        raise GraphError("queue_callback: no backward pass is running")
    _pass.callbacks.append(fn)


def run_backward(*args, **kwargs):
    """See `_run_backward`; afterwards runs the queued callbacks (outermost pass only, so a
    backward started inside a hook does not finish the enclosing pass's work early)."""
    state = _pass
    state.depth += 1
    try:
        result = _run_backward(*args, **kwargs)
    except BaseException:
        if state.depth == 1:
            state.callbacks.clear()  # the pass failed: its callbacks must not run later
        raise
    finally:
        state.depth -= 1
    if not state.depth:
        callbacks = state.callbacks
        while callbacks:
            callbacks.popleft()()
    return result


def _run_backward(roots, seeds, *, retain_graph=False, create_graph=False, inputs=None,
                  accumulate=True, allow_unused=False):
    """Propagate `seeds` (d out / d root) back through the graph.

    With `accumulate=True` (Tensor.backward) gradients are summed into `.grad` of the leaves - or only
    of `inputs` when given. With `accumulate=False` (autograd.grad) nothing is written to `.grad`; the
    gradients of `inputs` are returned as a list.
    """
    # Where to capture: leaves by identity, non-leaf tensors by (node, output index).
    slots = {}
    if inputs is not None:
        for k, t in enumerate(inputs):
            slots[id(t) if t._ctx is None else (t._ctx, t._idx)] = k
    results = [None] * (len(inputs) if inputs is not None else 0)
    seen_arrays = set()  # gradient arrays already handed to a leaf: a second leaf gets a copy

    def deliver(tensor, key, grad):
        if inputs is not None:
            slot = slots.get(key)
            if slot is None:
                return
            if not accumulate:
                results[slot] = grad if results[slot] is None else results[slot] + grad
                return
        tensor._accumulate_grad(grad, seen_arrays)

    buffers = {}
    for root, seed in zip(roots, seeds):
        if root._ctx is None:
            deliver(root, id(root), seed)
        else:
            buf = buffers.setdefault(root._ctx, [None] * root._ctx.n_out)
            buf[root._idx] = seed if buf[root._idx] is None else buf[root._idx] + seed

    deps = _collect_dependencies(list(buffers))
    ready = [node for node in buffers if deps.get(node, 0) == 0]
    capture_nonleaf = inputs is not None and not accumulate
    prev_mode = _config.is_grad_enabled()
    _config._set_grad(create_graph)
    try:
        while ready:
            node = ready.pop()
            grads = buffers.pop(node)
            if node._freed:
                raise GraphError(
                    f"backward through the graph a second time ({type(node).__name__}): its saved "
                    "tensors were freed after the first backward. Pass retain_graph=True to the "
                    "first backward() if you need to run it again.")
            if node._retained is not None:
                for idx, ref in node._retained.items():
                    t = ref()
                    if t is not None and grads[idx] is not None:
                        deliver(t, (node, idx), grads[idx])
            if capture_nonleaf:
                for idx in range(node.n_out):
                    slot = slots.get((node, idx))
                    if slot is not None and grads[idx] is not None:
                        results[slot] = grads[idx]
            has_grad = grads[0] is not None if len(grads) == 1 else \
                any(g is not None for g in grads)
            in_grads = node._backward_apply(grads) if has_grad else None
            for k, entry in enumerate(node.next):
                if entry is None:
                    continue
                g = in_grads[k] if in_grads is not None else None
                if type(entry) is tuple:
                    parent, idx = entry
                    buf = buffers.get(parent)
                    if buf is None:  # created even without a gradient: the parent must still run
                        buf = buffers[parent] = [None] * parent.n_out
                    if g is not None:
                        old = buf[idx]
                        buf[idx] = g if old is None else old + g
                    left = deps[parent] - 1
                    deps[parent] = left
                    if left == 0:
                        ready.append(parent)
                elif g is not None:
                    deliver(entry, id(entry), g)
            if not retain_graph:
                node._release()
    finally:
        _config._set_grad(prev_mode)

    if inputs is not None and not accumulate:
        for k, (t, r) in enumerate(zip(inputs, results)):
            if r is None and not allow_unused:
                raise GraphError(
                    f"grad: input {k} (shape {tuple(t.shape)}) was not used to compute the outputs, "
                    "or does not require grad; pass allow_unused=True to get None for it")
    return results
