"""Run Axonal and PyTorch side by side and print throughput ratios.

    python benchmarks/run.py                 # every workload
    python benchmarks/run.py mlp_step -r 7   # one workload, 7 rounds

Each measurement runs in a fresh process (the two frameworks' thread pools disturb each other in
one process), with 2 threads for both (`--threads`). On a busy machine wall time mostly measures the
scheduler; `--cpu` then times the process's CPU time instead (use it with `--threads 1`, since
spinning worker threads also burn CPU time). Rounds alternate the order A B, B A, ... so slow drifts of the
machine hit both sides alike; each process warms up, then times `--seconds` worth of iterations.
The reported time is the median over rounds; ratio = torch time / axonal time (> 1: Axonal faster).
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def worker(lib_name, name, seconds, threads=2, cpu=False):
    if lib_name == "torch":
        import torch as lib
    else:
        import axonal as lib
    lib.set_num_threads(threads)
    clock = time.process_time if cpu else time.perf_counter
    sys.path.insert(0, HERE)
    from workloads import REGISTRY

    step = REGISTRY[name][0](lib)
    t0 = clock()
    while clock() - t0 < max(0.3, seconds / 4):  # warm-up: JIT, caches, allocator
        step()
    n, t0 = 0, clock()
    while True:
        step()
        n += 1
        elapsed = clock() - t0
        if elapsed >= seconds and n >= 3:
            break
    print(json.dumps({"seconds_per_iter": elapsed / n, "iters": n}))


def measure(lib_name, name, seconds, threads=2, cpu=False):
    env = dict(os.environ, AXONAL_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads))
    cmd = [sys.executable, __file__, "--worker", lib_name, name, "--seconds", str(seconds),
           "--threads", str(threads)] + (["--cpu"] if cpu else [])
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"{lib_name}/{name} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])["seconds_per_iter"]


def main(argv=None):
    sys.path.insert(0, HERE)
    from workloads import REGISTRY

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("names", nargs="*", help=f"workloads (default: all): {', '.join(REGISTRY)}")
    ap.add_argument("-r", "--rounds", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=2.0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--cpu", action="store_true", help="time process CPU time, not wall time")
    ap.add_argument("--json", help="also write the results to this file")
    ap.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        return worker(*args.worker, args.seconds, args.threads, args.cpu)
    names = args.names or list(REGISTRY)
    print(f"# {platform.node()} | {platform.processor() or platform.machine()} | "
          f"{os.cpu_count()} cpus | {time.strftime('%Y-%m-%d %H:%M')} | rounds={args.rounds} | "
          f"threads={args.threads} | {'cpu' if args.cpu else 'wall'} time | "
          f"load {os.getloadavg()[0]:.1f}")
    print(f"{'workload':<22}{'unit':>12}{'axonal ms':>12}{'torch ms':>12}{'ratio':>8}")
    results = {}
    for name in names:
        times = {"axonal": [], "torch": []}
        for r in range(args.rounds):
            order = ("axonal", "torch") if r % 2 == 0 else ("torch", "axonal")
            for lib_name in order:
                times[lib_name].append(measure(lib_name, name, args.seconds, args.threads,
                                               args.cpu))
        a, t = statistics.median(times["axonal"]), statistics.median(times["torch"])
        results[name] = {"axonal_s": a, "torch_s": t, "ratio": t / a, "rounds": times}
        print(f"{name:<22}{REGISTRY[name][1]:>12}{a * 1e3:>12.3f}{t * 1e3:>12.3f}{t / a:>8.2f}",
              flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    return results


if __name__ == "__main__":
    main()
