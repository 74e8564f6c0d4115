"""Data-parallel costs: all-reduce time and bandwidth, the MLP epoch in 1 and 2 processes, and the
alpha-beta scaling model of docs/distributed.md fed with what was measured here.

    python benchmarks/bench_distributed.py                  # everything, 2 processes
    python benchmarks/bench_distributed.py --nproc 3        # all-reduce with 3 ranks
    python benchmarks/bench_distributed.py --skip-epoch --skip-compute

1. all-reduce: float32 buffers of 1 KB .. 64 MB under `mpiexec -n P`, through
   axonal.distributed.all_reduce (what DDP uses) and raw mpi4py Allreduce (to show the wrapper's
   overhead). Each size is repeated for about 0.3 s (at least 5 times, the same count on every rank)
   after 2 warm-up calls; the median and minimum of the slowest rank are reported, with the "bus
   bandwidth" 2(p-1)/p * n / t (the bytes each rank sends per second in a ring all-reduce:
   comparable across process counts) and a least-squares fit of
   t(n) = 2(p-1) alpha + 2(p-1)/p * n / beta.
2. MLP epoch: the mnist-mlp model (784-512-512-10, no dropout) trained with the Trainer on the first
   --samples MNIST images, global batch 128, for one epoch: one process (all cores) against P
   processes under DDP (cores / P threads each). Train time only (no validation).
3. compute per step of the three scaling-model workloads at their per-worker batch (MLP 128,
   ResNet-20 128 x 3x32x32, 2-layer LSTM char-LM 32 x 64 tokens), one process, one thread: its CPU
   time per step, which other processes on a shared machine inflate much less than wall time.
Everything goes to one JSON file (--out) and a table on stdout; the machine's load average is
printed before and after because on a shared machine other processes decide much of the spread.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("AXONAL_THREADS", "auto")  # Axonal's thread policy, as the CLI uses

HERE = os.path.abspath(__file__)
SIZES = [2**k for k in range(10, 27, 2)]  # 1 KB .. 64 MB


# -- workers (run inside mpiexec or a fresh process) -----------------------------------------------
def _timed(fn, min_seconds=0.3, min_reps=5, agree=None):
    """(median, minimum, median CPU) seconds of fn() after 2 warm-up calls, repeated for about
    min_seconds. With `agree` (a function all ranks call with their wish, returning the maximum)
    every rank runs the same number of repetitions: each call is a collective, so differing counts
    would deadlock. The minimum is the best estimate of an unloaded machine's time; CPU time (this
    process) is not inflated by time spent descheduled."""
    fn()
    fn()
    t = time.perf_counter()
    fn()
    reps = max(min_reps, int(min_seconds / max(time.perf_counter() - t, 1e-7)))
    if agree is not None:
        reps = agree(reps)
    times, cpu = [], []
    for _ in range(reps):
        t, c = time.perf_counter(), time.process_time()
        fn()
        times.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    return statistics.median(times), min(times), statistics.median(cpu)


def worker_allreduce(out):
    import numpy as np
    from mpi4py import MPI

    import axonal
    import axonal.distributed as dist

    dist.init_process_group("mpi")
    p, comm = dist.get_world_size(), dist.process_group.default_group().comm
    rows = []
    for nbytes in SIZES:
        arr = np.ones(nbytes // 4, np.float32)
        t = axonal.from_numpy(arr)

        def ours(t=t):
            dist.all_reduce(t)

        def raw(arr=arr):
            comm.Allreduce(MPI.IN_PLACE, arr)

        def agree(n):
            return comm.allreduce(min(n, 20000), op=MPI.MAX)

        comm.Barrier()
        t_ours = _timed(ours, agree=agree)
        comm.Barrier()
        t_raw = _timed(raw, agree=agree)
        # the slowest rank's median and minimum
        worst = [comm.allreduce(v, op=MPI.MAX) for v in (t_ours[0], t_ours[1], t_raw[0], t_raw[1])]
        rows.append({"bytes": nbytes, "axonal_s": worst[0], "axonal_min_s": worst[1],
                     "mpi4py_s": worst[2], "mpi4py_min_s": worst[3]})
    if dist.get_rank() == 0:
        with open(out, "w") as f:
            json.dump({"nproc": p, "rows": rows}, f)


def _mlp():
    sys.path.insert(0, os.path.join(os.path.dirname(HERE), "..", "tests", "dist_scripts"))
    import ddp_train  # the test's MLP and data helpers

    return ddp_train


def worker_epoch(out, samples):
    import axonal
    import axonal.distributed as dist
    from axonal.train import Trainer
    from axonal.utils.data import DataLoader

    d = _mlp()
    distributed = bool(os.environ.get("PMI_SIZE"))
    if distributed:
        dist.init_process_group("mpi")
    trainset, _ = d.data(samples)
    model = d.mlp()
    if distributed:
        model = dist.DistributedDataParallel(model)
        loader = dist.sharded_loader(trainset, 128, seed=0)
    else:  # the same sampler, so both runs batch the data the same (slower) way
        loader = DataLoader(trainset, batch_size=128,
                            sampler=dist.DistributedSampler(trainset, num_replicas=1, rank=0))
    trainer = Trainer(model, d.MnistMLP().optimizer(model, 0.05),
                      axonal.nn.functional.cross_entropy)
    trainer.fit(loader, epochs=1, verbose=0)  # warm-up epoch: kernels compiled, caches filled
    if distributed:
        model.stats["wait_s"] = 0.0
    cpu = time.process_time()
    history = trainer.fit(loader, epochs=2, initial_epoch=1, verbose=0)
    cpu = time.process_time() - cpu
    if distributed:  # CPU seconds of all ranks together
        cpu = float(dist.process_group.default_group().comm.allreduce(cpu))
    waits = [0.0]
    if distributed:  # time each rank waited for the gradient all-reduce after backward (epoch 2)
        waits = dist.process_group.default_group().comm.allgather(model.stats["wait_s"])
    if dist.is_main_process():
        with open(out, "w") as f:
            json.dump({"nproc": dist.get_world_size() if distributed else 1,
                       "epoch_s": history.history["seconds"][-1], "cpu_s": cpu,
                       "steps": len(loader), "allreduce_wait_s": waits}, f)


def worker_compute(out):
    import numpy as np

    import axonal
    from axonal import nn

    F = nn.functional
    d = _mlp()
    results = {}

    def measure(name, model, make_batch, loss_of):
        opt = axonal.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        batch = make_batch()

        def step():
            opt.zero_grad()
            loss_of(model, batch).backward()
            opt.step()
        n = sum(p.numel() for p in model.parameters())
        med, low, cpu = _timed(step, min_seconds=2.0, min_reps=3)
        results[name] = {"params": n, "wall_s": med, "wall_min_s": low, "cpu_s": cpu,
                         "threads": int(os.environ.get("AXONAL_NUM_THREADS", "0"))}

    measure("mlp", d.mlp(), lambda: (axonal.randn(128, 784), axonal.randint(0, 10, (128,))),
            lambda m, b: F.cross_entropy(m(b[0]), b[1]))
    try:
        from axonal.models.resnet import resnet20
        measure("resnet20", resnet20(), lambda: (axonal.randn(128, 3, 32, 32),
                                                 axonal.randint(0, 10, (128,))),
                lambda m, b: F.cross_entropy(m(b[0]), b[1]))
    except ImportError as e:
        results["resnet20"] = {"error": str(e)}

    from axonal.nn.layers.rnn import LSTM  # (not re-exported by axonal.nn everywhere yet)

    class CharLM(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb, self.lstm = nn.Embedding(65, 128), LSTM(128, 256, 2, batch_first=True)
            self.head = nn.Linear(256, 65)

        def forward(self, x):
            return self.head(self.lstm(self.emb(x))[0])

    ids = np.random.default_rng(0).integers(0, 65, (32, 65))
    measure("char_lstm", CharLM(), lambda: (axonal.from_numpy(ids[:, :-1].copy()),
                                            axonal.from_numpy(ids[:, 1:].copy())),
            lambda m, b: F.cross_entropy(m(b[0]).reshape(-1, 65), b[1].reshape(-1)))
    with open(out, "w") as f:
        json.dump(results, f)


# -- the scaling model (docs/distributed.md) -------------------------------------------------------
# Multi-machine assumptions (per-process link, MPI's effective numbers, not line rates):
NETWORKS = {
    "25GbE": (30e-6, 2.5e9),   # MPI over TCP: ~30 us per message step, ~80% of 3.1 GB/s
    "IB-100": (3e-6, 10e9),    # 100 Gb/s InfiniBand with RDMA: ~3 us, ~10 GB/s
}
PARAMS = {"mlp": 669_706, "resnet20": 272_474, "char_lstm": 946_625}  # the compute worker counts
# Training FLOPs per step at the per-worker batch: 3 x forward (forward 2 x multiply-adds).
#   mlp: 128 images x (784*512 + 512*512 + 512*10) MACs; resnet20: 128 images x 41.2 M MACs (CIFAR
#   ResNet-20 with projection shortcuts); char_lstm: 32 x 64 tokens x
#   (4*256*384 + 4*256*512 + 256*65)
FLOPS = {"mlp": 6 * 128 * 668_672, "resnet20": 6 * 128 * 41.2e6, "char_lstm": 6 * 2048 * 934_144}


def ring_allreduce_s(nbytes, p, alpha, beta):
    """2(p-1) alpha + 2(p-1)/p * n / beta: p-1 reduce-scatter steps and p-1 all-gather steps, each
    sending n/p bytes per rank."""
    return 2 * (p - 1) * alpha + 2 * (p - 1) / p * nbytes / beta


def efficiency(t_compute, nbytes, p, alpha, beta):
    """Weak scaling (fixed batch per worker), no overlap (one bucket: the reduction starts when
    backward ends): compute / (compute + all-reduce)."""
    return t_compute / (t_compute + ring_allreduce_s(nbytes, p, alpha, beta))


def model_table(compute, measured, gflops=None, ps=(8, 64, 512)):
    """Rows of (workload, network, alpha, beta, t_compute, {p: efficiency}). Compute per step is
    FLOPS / gflops when `gflops` is given, else the measured one (`compute`)."""
    nets = dict(NETWORKS)
    if measured is not None:
        nets = {"shm (measured)": measured, **nets}
    rows = []
    for name, n_params in PARAMS.items():
        t_c = FLOPS[name] / (gflops * 1e9) if gflops else \
            (compute.get(name) or {}).get("model_step_s")
        if t_c is None:
            continue
        for net, (alpha, beta) in nets.items():
            rows.append((name, net, alpha, beta, t_c,
                         {p: efficiency(t_c, 4 * n_params, p, alpha, beta) for p in ps}))
    return rows


def print_model(result, gflops=100.0):
    ar = result.get("allreduce")
    measured = (ar["alpha_min_s"], ar["beta_min_Bps"]) if ar else None
    print("scaling model: efficiency = compute / (compute + ring all-reduce), fixed batch per "
          "worker")
    for title, rate in ((f"compute = training FLOPs at {gflops:g} GFLOP/s (a 2-core worker)",
                         gflops), ("compute = measured 1-thread CPU time / 2", None)):
        print(title)
        print(f"{'workload':<10} {'network':<15} {'alpha':>7} {'beta':>10} {'compute':>9} "
              f"{'p=8':>6} {'p=64':>6} {'p=512':>6}")
        for name, net, alpha, beta, t_c, eff in model_table(result.get("compute", {}), measured,
                                                           rate):
            print(f"{name:<10} {net:<15} {alpha * 1e6:>5.1f}us {beta / 1e9:>6.2f}GB/s "
                  f"{t_c * 1e3:>7.1f}ms " + " ".join(f"{eff[p]:>6.1%}" for p in sorted(eff)))
    ep = result.get("epoch")
    if ep and ar:
        p = ep["ddp"]["nproc"]
        per_step = ring_allreduce_s(4 * PARAMS["mlp"], p, *measured)
        steps = ep["ddp"]["steps"]
        waits = ep["ddp"].get("allreduce_wait_s", [0.0])
        waits = [w / steps * 1e3 for w in (waits if isinstance(waits, list) else [waits])]
        # the rank that finishes backward last waits for the messages only; the others also wait
        # for it (load imbalance, or here: being descheduled by other users' processes)
        print(f"check at {p} processes, all-reduce of the MLP's {4 * PARAMS['mlp']} gradient "
              "bytes: "
              f"model 2(p-1)a + 2(p-1)/p n/b = {per_step * 1e3:.2f} ms; measured wait after "
              f"backward per step: {min(waits):.2f} ms (rank waiting least), {max(waits):.2f} ms "
              "(most)")
        for what, key in (("wall", "epoch_s"), ("CPU (all ranks)", "cpu_s")):
            extra = steps * per_step * (p if key == "cpu_s" else 1)  # MPI polls: CPU on every rank
            ranks = f" x {p} ranks" if key == "cpu_s" else ""
            print(f"check at {p} processes, {what}: 1 process {ep['one'][key]:.2f} s + {steps} "
                  f"steps x {per_step * 1e3:.2f} ms all-reduce{ranks}"
                  f" = {ep['one'][key] + extra:.2f} s predicted; measured {ep['ddp'][key]:.2f} s")


# -- the parent ------------------------------------------------------------------------------------
def _read(path):
    with open(path) as f:
        return json.load(f)


def _run(cmd, env=None):
    res = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=1800, check=False)
    if res.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{res.stdout[-2000:]}\n{res.stderr[-2000:]}")


def fit_alpha_beta(rows, p, key):
    """Least squares of t = a * 2(p-1) + (2(p-1)/p) * n * (1/beta): returns (alpha s, beta B/s)."""
    import numpy as np

    A = np.array([[2 * (p - 1), 2 * (p - 1) / p * r["bytes"]] for r in rows])
    t = np.array([r[key] for r in rows])
    w = 1 / t  # relative errors: small messages count as much as large ones
    (alpha, inv_beta), *_ = np.linalg.lstsq(A * w[:, None], t * w, rcond=None)
    return float(alpha), float(1 / inv_beta)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--worker", choices=["allreduce", "epoch", "compute"])
    ap.add_argument("--nproc", type=int, default=2)
    ap.add_argument("--samples", type=int, default=12800, help="MNIST images per epoch")
    ap.add_argument("--skip-epoch", action="store_true")
    ap.add_argument("--skip-compute", action="store_true")
    ap.add_argument("--out", default="bench_distributed.json")
    ap.add_argument("--file")
    ap.add_argument("--model-only", metavar="JSON",
                    help="print the scaling model from a result file")
    args = ap.parse_args(argv)
    if args.model_only:
        return print_model(_read(args.model_only))
    if args.worker == "allreduce":
        return worker_allreduce(args.file)
    if args.worker == "epoch":
        return worker_epoch(args.file, args.samples)
    if args.worker == "compute":
        return worker_compute(args.file)

    from axonal.distributed import launch

    cores = launch.threads_per_rank(1)
    result = {"cores": cores, "load_before": os.getloadavg()}
    tmp = tempfile.mkdtemp()
    mpiexec = launch.find_mpiexec()
    env = dict(os.environ, AXONAL_NUM_THREADS=str(launch.threads_per_rank(args.nproc)))
    f = os.path.join(tmp, "ar.json")
    _run([mpiexec, "-n", str(args.nproc), sys.executable, HERE, "--worker", "allreduce",
          "--file", f], env)
    ar = _read(f)
    p = ar["nproc"]
    print(f"all-reduce, {p} processes, float32; median and minimum of the slowest rank; bus "
          "bandwidth = 2(p-1)/p * bytes / minimum time")
    print(f"{'bytes':>10} {'axonal med':>11} {'min':>10} {'mpi4py med':>11} {'min':>10} "
          f"{'bus GB/s':>9}")
    for r in ar["rows"]:
        r["bus_GBps"] = 2 * (p - 1) / p * r["bytes"] / r["axonal_min_s"] / 1e9
        print(f"{r['bytes']:>10} " + " ".join(
            f"{r[k] * 1e6:>9.1f}us"
            for k in ("axonal_s", "axonal_min_s", "mpi4py_s", "mpi4py_min_s"))
            + f" {r['bus_GBps']:>9.2f}")
    for tag, key in (("", "axonal_s"), ("_min", "axonal_min_s")):
        ar[f"alpha{tag}_s"], ar[f"beta{tag}_Bps"] = fit_alpha_beta(ar["rows"], p, key)
        print(f"fit on the {'medians' if not tag else 'minima'}: alpha = "
              f"{ar[f'alpha{tag}_s'] * 1e6:.1f} us, beta = {ar[f'beta{tag}_Bps'] / 1e9:.2f} GB/s")
    result["allreduce"] = ar

    if not args.skip_epoch:
        f1, f2 = os.path.join(tmp, "e1.json"), os.path.join(tmp, "e2.json")
        base = [HERE, "--worker", "epoch", "--samples", str(args.samples)]
        _run([sys.executable, *base, "--file", f1], dict(os.environ, AXONAL_NUM_THREADS=str(cores)))
        _run([mpiexec, "-n", str(args.nproc), sys.executable, *base, "--file", f2], env)
        e1, e2 = _read(f1), _read(f2)
        print(f"MLP epoch ({args.samples} samples, global batch 128, {e1['steps']} steps): "
              "1 process "
              f"{e1['epoch_s']:.2f} s wall / {e1['cpu_s']:.2f} s CPU; {e2['nproc']} processes "
              f"{e2['epoch_s']:.2f} s wall / {e2['cpu_s']:.2f} s CPU (all ranks)")
        result["epoch"] = {"one": e1, "ddp": e2}

    if not args.skip_compute:
        fc = os.path.join(tmp, "c.json")
        _run([sys.executable, HERE, "--worker", "compute", "--file", fc],
             dict(os.environ, AXONAL_NUM_THREADS="1"))
        comp = _read(fc)
        for name, c in comp.items():
            if "cpu_s" in c:
                c["model_step_s"] = c["cpu_s"] / 2  # a 2-core worker, perfect thread scaling
                print(f"compute {name}: {c['params']} parameters, 1 thread: "
                      f"{c['cpu_s'] * 1e3:.1f} ms "
                      f"CPU per step ({c['wall_s'] * 1e3:.1f} ms wall median, "
                      f"{c['wall_min_s'] * 1e3:.1f} min)")
        result["compute"] = comp
    print_model(result)
    result["load_after"] = os.getloadavg()
    print(f"load average before {result['load_before']}, after {result['load_after']}")
    with open(args.out, "w") as fh:
        json.dump(result, fh, indent=2)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
