"""Time every axonal.kernels function against its NumPy fallback.

    python benchmarks/bench_kernels.py                 # table at 128x512, 128x10 and 1M elements
    python benchmarks/bench_kernels.py --cpu           # the same in calling-thread CPU time
    python benchmarks/bench_kernels.py --sweep         # sizes 64..4M: where kernels beat NumPy,
                                                       # where 2 threads beat 1 (THRESHOLDS)
    python benchmarks/bench_kernels.py --policy        # an MLP training step under several thread
                                                       # policies, each in its own process

Each variant goes through the public wrapper (so its checks and dispatch count), forced onto one
path by overriding THRESHOLDS: "numpy" (fallback), "serial" (kernel, calling thread), "parallel"
(kernel, all threads). Variants are interleaved round by round and each cell is the median over
the rounds (>= 5) of the mean time per call within a round.
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

os.environ.setdefault("AXONAL_THREADS", "auto")  # Axonal's thread policy, as the CLI uses
import axonal._threads as threads  # noqa: I001 - first: the thread policy, before NumPy
import numpy as np

import axonal.kernels as K

PATHS = {"numpy": (1 << 62, 1 << 62), "serial": (0, 1 << 62), "parallel": (0, 1)}


def cases(shape):
    """name -> (THRESHOLDS key, callable) for one input shape (2-D, rows x cols)."""
    rng = np.random.default_rng(0)
    x = (rng.standard_normal(shape) * 3).astype(np.float32)
    y = np.tanh(x)
    g = rng.standard_normal(shape).astype(np.float32)
    b = rng.standard_normal(shape[-1]).astype(np.float32)
    t = rng.integers(0, shape[-1], shape[0])
    p, buf, m, v = x.copy(), np.zeros_like(x), np.zeros_like(x), np.zeros_like(x)
    probs = K.softmax_cross_entropy(x, t)[1]
    return {
        "relu": ("relu", lambda: K.relu(x)),
        "relu_backward": ("relu_backward", lambda: K.relu_backward(g, x)),
        "tanh_backward": ("tanh_backward", lambda: K.tanh_backward(g, y)),
        "sigmoid": ("sigmoid", lambda: K.sigmoid(x)),
        "sigmoid_backward": ("sigmoid_backward", lambda: K.sigmoid_backward(g, y)),
        "gelu": ("gelu", lambda: K.gelu(x)),
        "gelu_backward": ("gelu_backward", lambda: K.gelu_backward(g, x)),
        "add_rowvec_inplace": ("add_rowvec_inplace", lambda: K.add_rowvec_inplace(p, b)),
        "sum_rows": ("sum_rows", lambda: K.sum_rows(x)),
        "softmax_cross_entropy": ("softmax_cross_entropy", lambda: K.softmax_cross_entropy(x, t)),
        "softmax_ce_backward": ("softmax_cross_entropy_backward",
                                lambda: K.softmax_cross_entropy_backward(probs, t, 0.01)),
        "log_softmax": ("log_softmax", lambda: K.log_softmax(x)),
        "sgd_update": ("sgd_update", lambda: K.sgd_update(p, g, 1e-6, 1e-4)),
        "sgd_momentum_update": ("sgd_momentum_update", lambda: K.sgd_momentum_update(
            p, g, buf, 1e-6, 0.9, 0.0, True, 1e-4)),
        "adam_update": ("adam_update", lambda: K.adam_update(p, g, m, v, 10, 1e-6, 0.9, 0.999,
                                                             1e-8, 1e-2, True)),
    }


def time_paths(key, fn, paths, rounds, budget=0.02, clock=time.perf_counter, stat=np.median):
    """{path: seconds per call}: `stat` over the rounds of the mean time per call in a round. Each
    round runs each path for ~budget seconds. clock=time.thread_time measures the calling
    thread's CPU time, which other processes on a busy machine barely disturb (serial paths only)."""
    saved = K.THRESHOLDS[key]
    per = {}
    try:
        for path in paths:          # calibrate the loop count (and compile) per path
            K.THRESHOLDS[key] = PATHS[path]
            fn()
            t0, n = time.perf_counter(), 0
            while time.perf_counter() - t0 < budget / 4:
                fn()
                n += 1
            per[path] = max(1, int(n * 4))
        res = {path: [] for path in paths}
        for r in range(rounds):
            for path in paths[r % len(paths):] + paths[:r % len(paths)]:
                K.THRESHOLDS[key] = PATHS[path]
                t0 = clock()
                for _ in range(per[path]):
                    fn()
                res[path].append((clock() - t0) / per[path])
    finally:
        K.THRESHOLDS[key] = saved
    return {path: float(stat(ts)) for path, ts in res.items()}


def table(rounds, only, cpu=False):
    """Median over rounds of wall time per call; cpu=True: of the calling thread's CPU time instead
    (robust when other processes load the machine; meaningless for the parallel column)."""
    clock = time.thread_time if cpu else time.perf_counter
    print(f"clock: {'calling-thread CPU time' if cpu else 'wall time'}; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"numba threads {threads.get_num_threads()}; OPENBLAS_NUM_THREADS="
          f"{os.environ.get('OPENBLAS_NUM_THREADS')} OPENBLAS_THREAD_TIMEOUT="
          f"{os.environ.get('OPENBLAS_THREAD_TIMEOUT')} GOMP_SPINCOUNT="
          f"{os.environ.get('GOMP_SPINCOUNT')}; median of {rounds} rounds; us per call")
    print("'shipped' = what the wrapper does with the shipped THRESHOLDS; x = numpy / shipped")
    for shape in [(128, 512), (128, 10), (1024, 1024)]:
        print(f"\n{shape[0]}x{shape[1]} ({shape[0] * shape[1]} elements)")
        print(f"{'kernel':22s} {'numpy':>9s} {'serial':>9s} {'parallel':>9s} {'shipped':>9s} {'x':>6s}")
        for name, (key, fn) in cases(shape).items():
            if only and name not in only:
                continue
            PATHS["shipped"] = K.THRESHOLDS[key]
            res = time_paths(key, fn, ["numpy", "serial", "parallel", "shipped"], rounds,
                             clock=clock)
            print(f"{name:22s} " + " ".join(f"{res[p] * 1e6:9.1f}" for p in
                                            ("numpy", "serial", "parallel", "shipped"))
                  + f" {res['numpy'] / res['shipped']:6.2f}")


def sweep(rounds, only):
    """Per kernel and size: numpy and serial kernel in calling-thread CPU time, serial and parallel
    in wall time; both the min over rounds (the least disturbed round on a shared machine)."""
    sizes = [2 ** k for k in range(6, 23, 2)]
    print(f"{'kernel':22s} {'n':>8s} {'numpy':>9s} {'serial':>9s} | {'serial':>9s} {'parallel':>9s}"
          "   (us per call: CPU time | wall time)")
    for name in cases((1, 64)):
        if only and name not in only:
            continue
        for n in sizes:
            cols = 10 if "softmax" in name or name == "sum_rows" else 512
            shape = (max(1, n // cols), min(n, cols))
            key, fn = cases(shape)[name]
            cpu = time_paths(key, fn, ["numpy", "serial"], rounds, budget=0.01,
                             clock=time.thread_time, stat=np.min)
            wall = time_paths(key, fn, ["serial", "parallel"], rounds, budget=0.01, stat=np.min)
            print(f"{name:22s} {n:8d} {cpu['numpy'] * 1e6:9.2f} {cpu['serial'] * 1e6:9.2f} | "
                  f"{wall['serial'] * 1e6:9.2f} {wall['parallel'] * 1e6:9.2f}   "
                  f"kernel/numpy {cpu['serial'] / cpu['numpy']:5.2f}  "
                  f"par/serial {wall['parallel'] / wall['serial']:5.2f}", flush=True)


def step(rounds, par_block=None):
    """One MLP step (784-256-10, batch 128, Adam) with GEMMs in OpenBLAS and the element-wise work
    in kernels. par_block: override every kernel's per-thread block (64: every kernel parallel, the
    way convolution kernels are), to see how the thread pools get along."""
    if par_block:
        for name, (lo, _) in list(K.THRESHOLDS.items()):
            K.THRESHOLDS[name] = (lo, par_block)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((128, 784), dtype=np.float32)
    W1 = rng.standard_normal((784, 256), dtype=np.float32) * 0.05
    W2 = rng.standard_normal((256, 10), dtype=np.float32) * 0.05
    b1, b2 = np.zeros(256, np.float32), np.zeros(10, np.float32)
    t = rng.integers(0, 10, 128)
    state = [(w, np.zeros_like(w), np.zeros_like(w)) for w in (W1, W2, b1, b2)]

    def one(i):
        h = X @ W1
        K.add_rowvec_inplace(h, b1)
        a = K.relu(h)
        lo = a @ W2
        K.add_rowvec_inplace(lo, b2)
        _, probs = K.softmax_cross_entropy(lo, t)
        d = K.softmax_cross_entropy_backward(probs, t, 1 / 128)
        grads = [None, a.T @ d, None, K.sum_rows(d)]
        dh = K.relu_backward(d @ W2.T, h)
        grads[0], grads[2] = X.T @ dh, K.sum_rows(dh)
        for (w, m, v), gr in zip(state, grads):
            K.adam_update(w, gr, m, v, i + 1, 1e-3)

    for i in range(20):
        one(i)
    ts = []
    for r in range(rounds):
        t0 = time.perf_counter()
        for i in range(50):
            one(i)
        ts.append((time.perf_counter() - t0) / 50)
    print(f"{np.median(ts) * 1e6:.1f} {min(ts) * 1e6:.1f}")


POLICIES = {   # environment on top of the shipped policy (_threads.configure uses setdefault)
    "shipped (timeout 4, spin 10k)": {},
    "library defaults": {"OPENBLAS_THREAD_TIMEOUT": "28", "GOMP_SPINCOUNT": "300000"},
    "OpenBLAS timeout 4 only": {"GOMP_SPINCOUNT": "300000"},
    "OpenBLAS 1 thread": {"OPENBLAS_NUM_THREADS": "1"},
}


def policy(rounds):
    """Each (policy, kernel mode) in a fresh process, rounds interleaved; prints median of the
    per-process medians and the best per-process minimum, in us per step."""
    import subprocess
    modes = {"shipped thresholds": "0", "all kernels parallel": "64"}
    res = {(p, m): [] for p in POLICIES for m in modes}
    for r in range(rounds):
        for (pol, mode) in list(res)[r % len(res):] + list(res)[:r % len(res)]:
            env = dict(os.environ, **POLICIES[pol])
            out = subprocess.run([sys.executable, __file__, "--step", "--rounds", "5",
                                  "--par-block", modes[mode]], env=env, capture_output=True,
                                 text=True, check=True).stdout.split()
            res[(pol, mode)].append((float(out[-2]), float(out[-1])))
    print(f"{'policy':32s} {'kernels':22s} {'median':>8s} {'best':>8s}  (us per MLP step)")
    for (pol, mode), v in res.items():
        print(f"{pol:32s} {mode:22s} {np.median([a for a, _ in v]):8.0f} "
              f"{min(b for _, b in v):8.0f}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sweep", action="store_true")
    ap.add_argument("--step", action="store_true")
    ap.add_argument("--policy", action="store_true")
    ap.add_argument("--par-block", type=int, default=0)
    ap.add_argument("--cpu", action="store_true", help="table: calling-thread CPU time")
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--only", nargs="*", default=None, help="kernel names")
    args = ap.parse_args()
    K.warmup()
    if args.policy:
        policy(args.rounds)
    elif args.step:
        step(args.rounds, args.par_block)
    elif args.sweep:
        sweep(args.rounds, args.only)
    else:
        table(max(5, args.rounds), args.only, args.cpu)


if __name__ == "__main__":
    main()
