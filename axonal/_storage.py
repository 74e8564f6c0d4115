"""Version counters: one per storage, shared by a tensor, its views and `detach()`.

A counter is a list `[version, generation, writer, writes]`:
  version     in-place writes into the storage so far (`Tensor._version`);
  generation  the writes that changed the storage's graph (its views then rebuild their grad_fn);
  writer      (node, output) of the last such write: the tensor's grad_fn, named in errors;
  writes      the global write numbers (`EPOCH`) of the last few writes (None before the first).
A node that saves tensors for backward notes only `EPOCH` when it records; backward compares: when
no write happened anywhere since, nothing is checked, and otherwise a saved tensor whose storage has
a write numbered after the node's was modified in place (autograd/versions.py raises PyTorch's
error). So a graph pays one integer per node, and only storages that are written get a counter.

Sits below `tensor` (it knows nothing of tensors beyond the `_vc` slot) so that both the Tensor class
and the autograd checks can use it.
"""
EPOCH = [0]  # in-place writes in this process so far, all storages together
KEEP = 16  # write numbers kept per counter: enough to name the expected version in an error


def version_counter(t):
    """`t`'s version counter, made on first use (most tensors are never written in place)."""
    vc = t._vc
    if vc is None:
        vc = t._vc = [0, 0, None, None]
    return vc


GRAPH_WRITES = [0]  # writes that may have made a view's grad_fn stale (autograd/versions.py)


def bump(t):
    """Count one in-place write into `t`'s storage; returns its counter. A storage with views
    returned together (split, chunk, unbind: a fifth entry in its counter) also moves its graph
    generation, so those views find out when next used, as PyTorch's (they then refuse)."""
    vc = t._vc
    if vc is None:
        vc = t._vc = [0, 0, None, None]
    EPOCH[0] += 1
    vc[0] += 1
    if len(vc) > 4:
        vc[1] += 1
        GRAPH_WRITES[0] += 1
    writes = vc[3]
    if writes is None:
        vc[3] = [EPOCH[0]]
    else:
        writes.append(EPOCH[0])
        if len(writes) > KEEP:
            del writes[:KEEP // 2]
    return vc


def version_at(vc, epoch):
    """The counter's version when the global write number was `epoch` (exact while the writes
    since are among the last KEEP)."""
    return vc[0] - sum(1 for w in vc[3] or () if w > epoch)


# ops/inplace.py installs `refresh(view)`, which rebuilds a view's grad_fn after an in-place op on its
# base changed the graph; Tensor calls it where a view's graph identity is read from outside an op
# (backward() on a view, `grad_fn`, `requires_grad`).
refresh_view = [None]


def fresh(t):
    """`t`, with its grad_fn rebuilt first if it is a view whose base's graph changed since."""
    if t._base is not None:
        vc = t._vc
        if vc is not None and vc[1] != t._vg:
            refresh_view[0](t)
    return t
