"""DistributedDataParallel: the same model on every rank, gradients averaged after each backward.

Layer 6. Synchronous data parallelism as in PyTorch (and ChainerMN's `flat` communicator):

  * At wrap time every parameter and buffer is broadcast from rank 0, so all replicas start equal
    (shapes are checked across ranks first: a mismatch is an error, not a hang).
  * Each rank runs forward and backward on its own part of the global batch. Because the loss is a
    mean over the local batch and every rank has the same local batch size, the gradient of the
    global-batch mean is the average of the ranks' gradients; that average is all the communication.
  * Gradients are packed into flat buffers ("buckets", `bucket_cap_mb` each, one dtype each) and each
    bucket is reduced with one MPI all-reduce: a 784-512-512-10 MLP has 6 parameter tensors but is one
    2.7 MB message. Fewer, larger messages pay the per-message latency (alpha) once instead of per
    tensor; see docs/distributed.md for the cost model.
  * Overlap: buckets are filled in reverse parameter order, roughly the order in which backward
    produces gradients. When the last gradient of a bucket has been accumulated (a post-accumulate-grad
    hook on each parameter fires once its summed gradient is accumulated), the bucket's
    non-blocking MPI_Iallreduce starts while backward goes on with earlier layers. Buckets start in
    index order on every rank, whatever the local timing, because MPI matches collectives by order.
    A callback queued on the autograd engine runs when backward ends: it starts any bucket not yet
    started, waits for all of them and writes the averages back into `.grad`.

`no_sync()` turns the reduction off for gradient accumulation: gradients add up locally and the first
backward outside the context reduces the accumulated sum. `state_dict()` keys carry the `module.`
prefix, as in PyTorch; save `ddp.module.state_dict()` for a checkpoint a plain model can load.
"""
import contextlib
import time

import numpy as np

from .. import _config, backend
from .. import _engine as engine
from ..nn import Module
from ..tensor import Tensor, constant
from . import collectives as _c
from . import process_group as _pg


def unwrap_model(model):
    """The module inside a DistributedDataParallel wrapper (the model itself otherwise)."""
    return model.module if isinstance(model, DistributedDataParallel) else model


def _tensors_in(obj, out):
    if isinstance(obj, Tensor):
        out.append(obj)
    elif isinstance(obj, (list, tuple)):
        for o in obj:
            _tensors_in(o, out)
    elif isinstance(obj, dict):
        for o in obj.values():
            _tensors_in(o, out)
    return out


def _count_uses(outputs, index_of):
    """How many post-accumulate-grad hook calls each parameter will see in a backward from
    `outputs`: 1 if the graph reaches it, else 0 (as in PyTorch, a weight shared by 3 layers has
    its 3 contributions summed and is accumulated once). Walks the graph once."""
    counts = [0] * len(index_of)
    seen, stack = set(), []
    for t in outputs:
        if t._ctx is not None and id(t._ctx) not in seen:
            seen.add(id(t._ctx))
            stack.append(t._ctx)
        elif t._ctx is None and id(t) in index_of:
            counts[index_of[id(t)]] = 1
    while stack:
        node = stack.pop()
        for entry in node.next:
            if entry is None:
                continue
            if type(entry) is tuple:
                if id(entry[0]) not in seen:
                    seen.add(id(entry[0]))
                    stack.append(entry[0])
            elif id(entry) in index_of:
                counts[index_of[id(entry)]] = 1
    return counts


class _Bucket:
    """Parameters whose gradients travel in one message: a flat buffer and each one's slice."""

    def __init__(self, params, indices):
        self.params, self.indices = params, indices
        self.sizes = [p._data.size for p in params]
        self.offsets = np.concatenate([[0], np.cumsum(self.sizes)]).astype(int).tolist()
        xp = backend.xp_of(params[0]._data)
        self.flat = xp.zeros(self.offsets[-1], dtype=params[0]._data.dtype)


class _Iteration:
    """Reduction state of one forward/backward pair."""

    def __init__(self, counts, buckets, bucket_of):
        self.counts = counts
        self.left = [len(b.params) for b in buckets]  # parameters not yet ready, per bucket
        for i, c in enumerate(counts):
            if c == 0:  # unused in this forward: ready at once (its slot carries zeros)
                self.left[bucket_of[i]] -= 1
        self.next_bucket, self.early = 0, 0
        self.works, self.queued, self.done = [], False, False


class DistributedDataParallel(Module):
    """Wrap `module` for synchronous data-parallel training (see the module docstring).

    Args:
        broadcast_buffers: broadcast rank 0's buffers (BatchNorm statistics) before each training
            forward, as PyTorch does.
        bucket_cap_mb: size of one gradient message in MiB.
        find_unused_parameters: allow parameters that take no part in a forward (their gradient
            counts as zero on that rank; one that no rank used keeps `.grad`). Without it such a
            parameter is an error naming it.
        device_ids, output_device, dim, gradient_as_bucket_view, static_graph: accepted for PyTorch
            compatibility (one device per process; no effect).
    """

    def __init__(self, module, device_ids=None, output_device=None, dim=0, broadcast_buffers=True,
                 process_group=None, bucket_cap_mb=25, find_unused_parameters=False,
                 check_reduction=False, gradient_as_bucket_view=False, static_graph=False):
        super().__init__()
        if not isinstance(module, Module):
            raise TypeError(f"DistributedDataParallel wraps an nn.Module, got {type(module).__name__}")
        if not bucket_cap_mb or bucket_cap_mb <= 0:
            raise ValueError(f"bucket_cap_mb must be positive, got {bucket_cap_mb!r}")
        self.module = module
        g = self._group = _pg.default_group(process_group)
        self.broadcast_buffers = broadcast_buffers
        self.find_unused_parameters = find_unused_parameters
        self.bucket_cap_mb = bucket_cap_mb
        self.require_backward_grad_sync = True
        named = list(module.named_parameters())
        self._names = [n for n, p in named if p.requires_grad]
        self._params = [p for n, p in named if p.requires_grad]
        self._check_same_model(named)
        self._sync_module_states()
        self._buckets, self._bucket_of = self._make_buckets(int(bucket_cap_mb * 2**20))
        self._index_of = {id(p): i for i, p in enumerate(self._params)}
        self._iter = None
        # reductions finished, seconds spent waiting for them after backward, buckets started early
        self.stats = {"steps": 0, "wait_s": 0.0, "early_buckets": 0}
        self._handles = [p.register_post_accumulate_grad_hook(self._make_hook(i))
                         for i, p in enumerate(self._params)]
        self._world = g.size()

    # -- setup -------------------------------------------------------------------------------------
    def _check_same_model(self, named):
        """Every rank must wrap the same architecture: compare names, shapes and dtypes."""
        mine = [(n, tuple(p.shape), str(p.dtype), p.requires_grad) for n, p in named]
        mine += [(n, tuple(b.shape), str(b.dtype)) for n, b in self.module.named_buffers()]
        everyone = [None] * self._group.size()
        _c.all_gather_object(everyone, mine)
        for r, theirs in enumerate(everyone):
            if theirs != mine:
                diff = next((f"{a} vs {b}" for a, b in zip(mine, theirs) if a != b),
                            f"{len(mine)} vs {len(theirs)} tensors")
                raise _pg.DistError(f"DistributedDataParallel: rank {self._group.rank()} and rank "
                                    f"{r} wrap different models (parameters/buffers differ: {diff})")

    def _sync_module_states(self):
        tensors = [p for _, p in self.module.named_parameters()]
        tensors += [b for _, b in self.module.named_buffers()]
        broadcast_coalesced(tensors, src=0)

    def _make_buckets(self, cap_bytes):
        """Reverse parameter order (output layer first: its gradient is ready first), split by dtype
        and device, each bucket at most cap_bytes (a parameter larger than that gets its own)."""
        buckets, bucket_of, open_ = [], [0] * len(self._params), {}
        for i in reversed(range(len(self._params))):
            p = self._params[i]
            key = (p._data.dtype, str(backend.device_of(p._data)))
            cur = open_.get(key)
            if cur is None or (cur[1] and cur[2] + p._data.nbytes > cap_bytes):
                cur = open_[key] = [key, [], 0]
                buckets.append(cur)
            cur[1].append(i)
            cur[2] += p._data.nbytes
        out = []
        for b, (_, idx, _) in enumerate(buckets):
            for i in idx:
                bucket_of[i] = b
            out.append(_Bucket([self._params[i] for i in idx], idx))
        return out, bucket_of

    # -- forward -----------------------------------------------------------------------------------
    def forward(self, *inputs, **kwargs):
        it = self._iter
        if it is not None and not it.done and it.queued:
            raise _pg.DistError("DistributedDataParallel: the previous backward's gradient reduction "
                                "did not finish before this forward")
        if self.broadcast_buffers and self.module.training:
            bufs = [b for _, b in self.module.named_buffers()]
            if bufs:
                broadcast_coalesced(bufs, src=0)
        out = self.module(*inputs, **kwargs)
        self._iter = None
        if _config.is_grad_enabled() and self.require_backward_grad_sync and self._params:
            self._prepare_for_backward(out)
        return out

    def _prepare_for_backward(self, out):
        counts = _count_uses(_tensors_in(out, []), self._index_of)
        unused = [self._names[i] for i, c in enumerate(counts) if c == 0]
        if unused and not self.find_unused_parameters:
            raise _pg.DistError(
                f"DistributedDataParallel: parameters {unused} were not used to compute the "
                "output of this forward, so no rank could count on their gradients. Pass "
                "find_unused_parameters=True, or remove them from the module.")
        self._iter = _Iteration(counts, self._buckets, self._bucket_of)

    @contextlib.contextmanager
    def no_sync(self):
        """Skip the gradient all-reduce inside the block: gradients accumulate locally, and the
        first backward after it reduces the accumulated sum."""
        old = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = old

    # -- backward: hooks, buckets, final callback --------------------------------------------------
    def _make_hook(self, i):
        def hook(param):
            it = self._iter
            if it is None or it.done:
                return
            if not it.queued:  # first gradient of this backward: finish when the engine does
                it.queued = True
                engine.queue_callback(self._finalize)
            it.counts[i] -= 1
            if it.counts[i] == 0:
                b = self._bucket_of[i]
                it.left[b] -= 1
                if it.left[b] == 0:
                    self._launch_ready(it)
        return hook

    def _launch_ready(self, it):
        while it.next_bucket < len(self._buckets) and it.left[it.next_bucket] <= 0:
            self._launch(it, it.next_bucket)

    def _launch(self, it, b):
        bucket = self._buckets[b]
        for p, lo, hi in zip(bucket.params, bucket.offsets, bucket.offsets[1:]):
            if p.grad is None:
                bucket.flat[lo:hi] = 0
            else:
                bucket.flat[lo:hi] = p.grad._data.reshape(-1)
        t = constant(bucket.flat)
        it.works.append(_c.all_reduce(t, _c.ReduceOp.SUM, async_op=True))
        it.next_bucket = b + 1
        if any(c > 0 for c in it.counts):  # gradients still to come: this message overlaps them
            it.early += 1

    def _finalize(self):
        """End of backward: start what is left (in order), wait, write averages into `.grad`."""
        it = self._iter
        if it is None or it.done:
            return
        while it.next_bucket < len(self._buckets):
            self._launch(it, it.next_bucket)
        self._last_overlap = (it.early, len(self._buckets))  # started during backward, all
        used = None
        if self.find_unused_parameters:  # which parameters got a gradient on some rank
            flags = Tensor(np.array([p.grad is not None for p in self._params], np.uint8))
            _c.all_reduce(flags, _c.ReduceOp.MAX)
            used = flags._data
        waited = time.perf_counter()
        for w in it.works:
            w.wait()
        self.stats["steps"] += 1
        self.stats["wait_s"] += time.perf_counter() - waited
        self.stats["early_buckets"] += it.early
        scale = 1.0 / self._world
        for bucket in self._buckets:
            flat = bucket.flat
            flat *= flat.dtype.type(scale)
            for p, i, lo, hi in zip(bucket.params, bucket.indices, bucket.offsets,
                                    bucket.offsets[1:]):
                avg = flat[lo:hi].reshape(p._data.shape)
                if p.grad is not None and p.grad._data.flags.writeable:
                    p.grad._data[...] = avg
                elif used is None or used[i]:
                    p.grad = constant(avg.copy())
        it.done = True

    def __repr__(self):
        return "DistributedDataParallel(\n  (module): " + repr(self.module).replace("\n", "\n  ") \
            + "\n)"


def broadcast_coalesced(tensors, src=0):
    """Broadcast many tensors from `src` with one message per dtype (packed into a flat buffer)."""
    g = _pg.default_group()
    if g.size() == 1:
        return
    groups = {}
    for t in tensors:
        if t is not None and t._data.size:
            groups.setdefault((t._data.dtype, str(backend.device_of(t._data))), []).append(t)
    for _, ts in sorted(groups.items(), key=lambda kv: (str(kv[0][0]), kv[0][1])):
        xp = backend.xp_of(ts[0]._data)
        flat = xp.concatenate([t._data.reshape(-1) for t in ts])
        _c.broadcast(constant(flat), src=src)
        lo = 0
        for t in ts:
            n = t._data.size
            t._data[...] = flat[lo:lo + n].reshape(t._data.shape)
            lo += n
