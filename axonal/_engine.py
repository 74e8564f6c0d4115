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
`_accumulate_grad(g, seen)`; nodes have `next`, `n_out`, `_hooks` (None, or the `_hooks.NodeHooks`
run around the node's backward), `_freed`, `_fn_name`, `name()`, `_backward_apply(grads)` and
`_release()`. A leaf with gradient hooks (`_hooks`) is treated as PyTorch's AccumulateGrad node:
its contributions are summed, then its hooks run once, then the sum is accumulated.
"""
import collections
import sys
import threading
import warnings

from . import _config, _hooks, _storage
from ._errors import GraphError
from .backend import xp_of

HOOKED = "hooks ran"  # marks, among the arrays handed to leaves, that a hook saw the gradients


class _Holder:
    __slots__ = ("_data",)


def _fresh_refs():
    """sys.getrefcount of an object held by one slot and one local, seen from the frame that holds
    it: what Tensor._accumulate_grad sees for a gradient array nothing else holds (3 on CPython
    3.10-3.13: the slot, the local, the call's argument). Measured, not assumed, because later
    interpreters may skip counting some references; a count above it means another holder."""
    h = _Holder()
    h._data = object()
    data, g = h._data, None
    return sys.getrefcount(data)


FRESH_REFS = _fresh_refs()


def add_into(t, data, seen):
    """`.grad` t += data in t's memory (Tensor._accumulate_grad), one new version per backward
    (`seen`: the pass's set; PyTorch sums a leaf's contributions first); False where t's memory
    cannot take it (read-only, broadcast, another shape or dtype): the caller then rebinds."""
    a = t._data
    if a.shape != data.shape or a.dtype != data.dtype or \
            any(s == 0 and n > 1 for n, s in zip(a.shape, a.strides)):
        return False
    try:
        xp_of(a).add(a, data, out=a)
    except ValueError:  # read-only
        return False
    if ("accumulated", id(t)) not in seen:
        seen.add(("accumulated", id(t)))
        _storage.bump(t)
    return True


def _collect_dependencies(root_nodes, leaf_deps=None, run=None):
    """Count the edges into each node from the nodes reachable from the roots. With `leaf_deps`
    (a dict), also count the edges into each leaf that has gradient hooks: such a leaf is run as
    PyTorch's AccumulateGrad node, once, on the sum of its contributions. With `run` (see
    `_prune`), only the edges out of the nodes that will run count."""
    deps = {}
    seen = set(root_nodes)
    stack = list(seen)
    while stack:
        node = stack.pop()
        if run is not None and node not in run:
            continue
        for entry in node.next:
            if type(entry) is tuple:
                parent = entry[0]
                deps[parent] = deps.get(parent, 0) + 1
                if parent not in seen:
                    seen.add(parent)
                    stack.append(parent)
            elif entry is not None and leaf_deps is not None and _hooked(entry):
                leaf_deps[id(entry)] = leaf_deps.get(id(entry), 0) + 1
    return deps


def _prune(root_nodes, slots):
    """With `inputs` given, the nodes worth visiting: those with a path to an input. Returns
    (run, reach): `run` the nodes whose backward must run (an edge leads to an input), `reach` those
    plus the nodes whose outputs are inputs (visited to capture, not run). As PyTorch, a node past
    every input is not executed (its saved tensors may already be freed)."""
    run, reach, done = set(), set(), set()
    stack = [(n, False) for n in root_nodes]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            for e in node.next:
                if (type(e) is tuple and e[0] in reach) or (e is not None and type(e) is not tuple
                                                            and id(e) in slots):
                    run.add(node)
                    break
            if node in run or any((node, i) in slots for i in range(node.n_out)):
                reach.add(node)
            continue
        if node in done:
            continue
        done.add(node)
        stack.append((node, True))
        stack.extend((e[0], False) for e in node.next if type(e) is tuple and e[0] not in done)
    return run, reach


def _hooked(leaf):
    d = leaf.__dict__
    return bool(d.get("_grad_hooks") or d.get("_post_acc_hooks") or d.get("_acc_post_hooks"))


class _Anomaly:
    """`autograd.set_detect_anomaly` state (global, as PyTorch's): nodes record the stack of their
    forward call, and backward checks every gradient it computes for NaN."""
    enabled = False
    check_nan = True


anomaly = _Anomaly()


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
    # gradient arrays already handed to a leaf, or held by the caller (the seeds): a leaf given one
    # of them stores a copy, since later backward passes accumulate into `.grad` in place
    seen_arrays = {id(s._data) for s in seeds}

    def deliver(tensor, key, grad):
        if inputs is not None:
            slot = slots.get(key)
            if slot is None:
                return
            if not accumulate:
                results[slot] = grad if results[slot] is None else results[slot] + grad
                return
        tensor._accumulate_grad(grad, seen_arrays)

    # Leaves with hooks (only looked for while some leaf has one) take their gradients summed:
    # tensor hooks, then accumulation, then post-accumulate hooks, once per backward.
    leaf_deps = {} if _hooks.leaf_hooks.count else None
    leaf_bufs = {}

    def finish_leaf(tensor, grad):
        if inputs is not None and id(tensor) not in slots:
            return  # PyTorch does not run the AccumulateGrad node of a leaf it does not want
        table = tensor.__dict__.get("_grad_hooks")
        if table:
            grad = _hooks.run_tensor_hooks(table, grad)
        deliver(tensor, id(tensor), grad)
        post = tensor.__dict__.get("_acc_post_hooks")
        if post:
            for hook in tuple(post.values()):
                hook((), (grad,))

    def leaf_grad(tensor, grad):
        """One contribution to a hooked leaf; the last one (count 0) finishes it."""
        key = id(tensor)
        if grad is not None:
            old = leaf_bufs.get(key)
            leaf_bufs[key] = grad if old is None else old + grad
        left = leaf_deps[key] - 1
        leaf_deps[key] = left
        if left == 0:
            total = leaf_bufs.pop(key, None)
            if total is not None:
                finish_leaf(tensor, total)

    root_nodes = list(dict.fromkeys(r._ctx for r in roots if r._ctx is not None))
    run = None
    if inputs is not None:
        run, reach = _prune(root_nodes, slots)
        root_nodes = [n for n in root_nodes if n in reach]
    deps = _collect_dependencies(root_nodes, leaf_deps, run)
    buffers = {}
    for root, seed in zip(roots, seeds):
        if root._ctx is None:
            if leaf_deps is not None and _hooked(root):
                leaf_deps[id(root)] = leaf_deps.get(id(root), 0) + 1
                leaf_grad(root, seed)
            else:
                deliver(root, id(root), seed)
        else:
            buf = buffers.setdefault(root._ctx, [None] * root._ctx.n_out)
            buf[root._idx] = seed if buf[root._idx] is None else buf[root._idx] + seed

    ready = [node for node in buffers if deps.get(node, 0) == 0]
    capture_nonleaf = inputs is not None and not accumulate
    check = anomaly.enabled
    prev_mode = _config.is_grad_enabled()
    _config._set_grad(create_graph)
    try:
        while ready:
            node = ready.pop()
            grads = buffers.pop(node)
            if node._freed and (run is None or node in run):
                raise GraphError(
                    f"backward through the graph a second time ({node._fn_name}): its saved "
                    "tensors were freed after the first backward. Pass retain_graph=True to the "
                    "first backward() if you need to run it again.")
            hooks = node._hooks
            if hooks is not None:
                seen_arrays.add(HOOKED)  # hooks may keep the gradients they see
                grads = _hooks.run_pre(node, hooks, grads, deliver)
            if capture_nonleaf:
                for idx in range(node.n_out):
                    slot = slots.get((node, idx))
                    if slot is not None and grads[idx] is not None:
                        results[slot] = grads[idx]
            if run is not None and node not in run:  # visited only to capture its outputs
                continue
            if check:
                in_grads = _checked_apply(node, grads, hooks)
            else:
                has_grad = grads[0] is not None if len(grads) == 1 else \
                    any(g is not None for g in grads)
                in_grads = node._backward_apply(grads) if has_grad else None
                if hooks is not None and hooks.post:
                    in_grads = _hooks.run_post(node, hooks, in_grads, grads)
            for k, entry in enumerate(node.next):
                if entry is None:
                    continue
                g = in_grads[k] if in_grads is not None else None
                if type(entry) is tuple:
                    parent, idx = entry
                    if run is not None and parent not in reach:
                        continue
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
                elif leaf_deps is not None and id(entry) in leaf_deps:
                    leaf_grad(entry, g)
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


def _checked_apply(node, grads, hooks):
    """The node's backward (and post-hooks) under anomaly mode: a NaN in a computed gradient is an
    error, and any error shows the stack of the forward call that made the node."""
    try:
        has_grad = any(g is not None for g in grads)
        in_grads = node._backward_apply(grads) if has_grad else None
        if hooks is not None and hooks.post:
            in_grads = _hooks.run_post(node, hooks, in_grads, grads)
        if anomaly.check_nan and in_grads is not None:
            for k, g in enumerate(in_grads):
                if g is not None and bool(xp_of(g._data).isnan(g._data).any()):
                    raise RuntimeError(f"Function '{node.name()}' returned nan values in its "
                                       f"{k}th output.")
        return in_grads
    except Exception:
        stack = node.__dict__.get("_metadata", {}).get("traceback_")
        if stack is not None:
            warnings.warn(f"Error detected in {node.name()}. Traceback of forward call that "
                          "caused the error:\n" + "".join(stack), UserWarning, stacklevel=2)
        else:
            warnings.warn(f"Error detected in {node.name()}. No forward pass information "
                          "available. Enable detect anomaly during forward pass for more "
                          "information.", UserWarning, stacklevel=2)
        raise
