"""DistributedDataParallel checks, run under `mpiexec -n P` by tests/distributed/test_distributed.py.

    mpiexec -n 2 python tests/distributed/dist_scripts/ddp_train.py OUT_DIR GLOBAL_BATCH STEPS BUCKET_CAP_MB

1. Equivalence: the MNIST MLP (784-512-512-10, no dropout, the mnist-mlp recipe's SGD) trained for
   STEPS steps with GLOBAL_BATCH / P samples per rank (DistributedSampler, shuffled, seed 0) must end
   with the weights of ONE process training on GLOBAL_BATCH samples per step (`reference()` below, which
   the test runs in its own process). Rank 0 writes the weights and the held-out accuracy to
   OUT_DIR/ddp.npz. Data: the first images of MNIST's 10k test file for training, its last 2000 for
   evaluation (the 60k training file takes seconds to decompress; the point is equality, not accuracy).
   Model and data are float64, so that the two runs' different summation orders (a mean of means
   against one mean, and whatever the BLAS does) stay ~1e-16 and cannot flip a ReLU (see the test).
   With a small BUCKET_CAP_MB the gradients travel in several messages, some started while backward
   still runs; ddp.npz records how many buckets and how many started early.
2. Behaviour checks, gathered into OUT_DIR/checks.json: no_sync accumulation; parameters and buffers
   broadcast from rank 0; shared (tied) weights; find_unused_parameters; state_dict keys.
"""
import json
import os
import sys

import numpy as np

import axonal
import axonal.distributed as dist
from axonal import nn
from axonal.recipes.mnist_mlp import MnistMLP
from axonal.utils.data import DataLoader, TensorDataset

N_EVAL = 2000


def data(n_train):
    x, y = MnistMLP()._arrays(None, False)  # the 10k test file: quick to read
    x = x.astype(np.float64)
    train = TensorDataset(axonal.from_numpy(x[:n_train].copy()), axonal.from_numpy(y[:n_train].copy()))
    return train, (x[-N_EVAL:], y[-N_EVAL:])


def mlp():
    axonal.manual_seed(0)
    return MnistMLP().build_model({"in_features": 784, "hidden": [512, 512], "classes": 10,
                                   "dropout": 0.0}).double()


def train(model, loader, steps, sampler=None):
    opt = MnistMLP().optimizer(model, 0.05)
    done, epoch = 0, 0
    while done < steps:
        if sampler is not None:
            sampler.set_epoch(epoch)
        for x, y in loader:
            opt.zero_grad()
            nn.functional.cross_entropy(model(x), y).backward()
            opt.step()
            done += 1
            if done == steps:
                break
        epoch += 1
    return model


def accuracy(model, evalset):
    with axonal.no_grad():
        out = model(axonal.from_numpy(evalset[0]))
    return float((out._data.argmax(1) == evalset[1]).mean())


def weights(model):
    return {k: v._data.copy() for k, v in dist.unwrap_model(model).state_dict().items()}


def reference(global_batch, steps):
    """One process, global_batch samples per step, the same sample order: (weights, accuracy)."""
    trainset, evalset = data(global_batch * steps)
    sampler = dist.DistributedSampler(trainset, num_replicas=1, rank=0, shuffle=True, seed=0)
    model = train(mlp(), DataLoader(trainset, batch_size=global_batch, sampler=sampler), steps,
                  sampler)
    return weights(model), accuracy(model, evalset)


def ddp_run(trainset, global_batch, steps, **ddp_kwargs):
    p = dist.get_world_size()
    model = dist.DistributedDataParallel(mlp(), **ddp_kwargs)
    sampler = dist.DistributedSampler(trainset, shuffle=True, seed=0)
    train(model, DataLoader(trainset, batch_size=global_batch // p, sampler=sampler), steps, sampler)
    return model


# -- behaviour checks -------------------------------------------------------------------------------
class Tied(nn.Module):
    """One Linear applied twice (its weight receives two gradient contributions) plus a buffer."""

    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(6, 6)
        self.head = nn.Linear(6, 2)
        self.register_buffer("scale", axonal.ones(6))

    def forward(self, x):
        return self.head(self.lin(self.lin(x) * self.scale).relu())


class Branchy(nn.Module):
    """`extra` is used only when the batch's first value is positive: data-dependent."""

    def __init__(self):
        super().__init__()
        self.a, self.extra, self.never = nn.Linear(4, 3), nn.Linear(3, 3), nn.Linear(3, 3)

    def forward(self, x):
        h = self.a(x)
        return self.extra(h) if float(x._data[0, 0]) > 0 else h


def averaged_local_grads(make, x, y):
    """What DDP must produce: each rank's plain gradient, averaged with an explicit all_reduce."""
    model = make()
    dist.broadcast_coalesced(list(model.parameters()) + list(model.buffers()))
    nn.functional.cross_entropy(model(x), y).backward()
    out = {}
    for name, prm in model.named_parameters():
        if prm.grad is not None:
            g = axonal.Tensor(prm.grad._data.copy())
            dist.all_reduce(g, dist.ReduceOp.AVG)
            out[name] = g._data
    return out


def behaviour_checks(fails):
    r, p = dist.get_rank(), dist.get_world_size()

    def expect(cond, what):
        if not cond:
            fails.append(f"rank {r}: {what}")

    # parameters and buffers come from rank 0 at wrap time; buffers again before each forward
    axonal.manual_seed(100 + r)
    tied = Tied()
    ddp = dist.DistributedDataParallel(tied)
    got = [None] * p
    dist.all_gather_object(got, weights(ddp))
    expect(all(np.array_equal(got[0][k], got[q][k]) for q in range(p) for k in got[0]),
           "weights differ across ranks after wrapping")
    tied.scale._data[...] = 1.0 + r  # rank 0 keeps ones
    x = axonal.randn(8, 6)
    ddp(x)
    expect(np.array_equal(tied.scale._data, np.ones(6, np.float32)), "buffer not broadcast in forward")
    expect(sorted(ddp.state_dict()) == sorted("module." + k for k in tied.state_dict()),
           "state_dict keys lack the 'module.' prefix")

    # tied weights (2 contributions) and the averaged gradient
    axonal.manual_seed(5 + r)
    xb, yb = axonal.randn(8, 6), axonal.randint(0, 2, (8,))
    want = averaged_local_grads(lambda: (axonal.manual_seed(7), Tied())[1], xb, yb)
    axonal.manual_seed(7)
    ddp = dist.DistributedDataParallel(Tied())
    nn.functional.cross_entropy(ddp(xb), yb).backward()
    for name, prm in ddp.module.named_parameters():
        expect(np.allclose(prm.grad._data, want[name], atol=1e-6), f"tied model grad {name}")

    # no_sync: two local micro-batches accumulated, one reduction == one batch of both
    axonal.manual_seed(7)
    ddp = dist.DistributedDataParallel(Tied())
    with ddp.no_sync():
        (nn.functional.cross_entropy(ddp(xb[:4]), yb[:4]) / 2).backward()
    grads_local = {n: q.grad._data.copy() for n, q in ddp.module.named_parameters()}
    (nn.functional.cross_entropy(ddp(xb[4:]), yb[4:]) / 2).backward()
    want_ns = averaged_local_grads(lambda: (axonal.manual_seed(7), Tied())[1], xb, yb)
    for name, prm in ddp.module.named_parameters():
        expect(np.allclose(prm.grad._data, want_ns[name], atol=1e-6), f"no_sync grad {name}")
    if p > 1:
        changed = any(not np.allclose(grads_local[n], want_ns[n]) for n in want_ns)
        expect(changed, "no_sync grads already equal the averaged ones (reduction not skipped?)")

    # unused parameters: an error by default; with find_unused_parameters the used ones average
    axonal.manual_seed(3)
    ddp = dist.DistributedDataParallel(Branchy())
    try:
        ddp(axonal.ones(2, 4))
        fails.append(f"rank {r}: unused parameters did not raise")
    except dist.DistError as e:
        expect("never" in str(e) and "find_unused_parameters" in str(e), f"unused error: {e}")
    axonal.manual_seed(3)
    ddp = dist.DistributedDataParallel(Branchy(), find_unused_parameters=True)
    sign = 1.0 if r == 0 else -1.0  # only rank 0 takes the `extra` branch
    xu = axonal.ones(2, 4) * sign
    ddp(xu).sum().backward()
    m = ddp.module
    expect(m.never.weight.grad is None, "a parameter no rank used got a gradient")
    expect(m.extra.weight.grad is not None, "a parameter used on rank 0 only got no gradient")
    axonal.manual_seed(3)
    ref = Branchy()
    ref(axonal.ones(2, 4)).sum().backward()
    if m.extra.weight.grad is not None:
        expect(np.allclose(m.extra.weight.grad._data, ref.extra.weight.grad._data / p, atol=1e-6),
               "a parameter used on one rank: its gradient is not that rank's / world_size")


def main(out_dir, global_batch, steps, bucket_cap_mb):
    dist.init_process_group("mpi", timeout=60)
    r, p = dist.get_rank(), dist.get_world_size()
    trainset, evalset = data(global_batch * steps)
    model = ddp_run(trainset, global_batch, steps, bucket_cap_mb=bucket_cap_mb)
    if r == 0:
        np.savez(os.path.join(out_dir, "ddp.npz"), accuracy=accuracy(model, evalset),
                 buckets=len(model._buckets), overlapped=model._last_overlap[0], **weights(model))
    fails = []
    behaviour_checks(fails)
    everyone = [None] * p
    dist.all_gather_object(everyone, fails)
    if r == 0:
        with open(os.path.join(out_dir, "checks.json"), "w") as f:
            json.dump({"world_size": p, "failures": [x for fs in everyone for x in fs]}, f)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]))
