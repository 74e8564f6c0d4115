"""Run Axonal and PyTorch side by side and print throughput ratios; or Axonal against an older
commit of itself.

    python benchmarks/run.py                 # every workload
    python benchmarks/run.py mlp_step -r 7   # one workload, 7 rounds
    python benchmarks/run.py --against main  # this tree against commit `main` (the training
                                             # workloads and the 200-op chain, 7 rounds)
    python benchmarks/run.py --against HEAD~3 overhead_chain200 --quick   # a smoke run

`--against COMMIT` checks COMMIT out into a temporary git worktree (removed afterwards) and times
each workload with this tree's `axonal` and with the old one, in alternating fresh processes whose
PYTHONPATH points at one tree or the other (the workload code is this tree's, for both). Both run
with AXONAL_THREADS=auto and the same thread count. Printed per workload: the median time of each
over the rounds and new/old = old time / new time (> 1: the new tree is faster), with the median,
min and max of the per-round ratios. `--quick`: 1 round of short measurements, to check that it
runs (the numbers mean nothing).

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
ROOT = os.path.dirname(HERE)


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
    print(json.dumps({"seconds_per_iter": elapsed / n, "iters": n,
                      "module": os.path.abspath(lib.__file__)}))


def measure(lib_name, name, seconds, threads=2, cpu=False, tree=None):
    """Seconds per iteration of one workload in a fresh process; `tree`: the checkout whose
    `axonal` that process imports (PYTHONPATH), checked from the module's path."""
    env = dict(os.environ, AXONAL_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads),
               AXONAL_THREADS="auto")
    if tree is not None:
        env["PYTHONPATH"] = tree
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", lib_name, name,
           "--seconds", str(seconds), "--threads", str(threads)] + (["--cpu"] if cpu else [])
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"{lib_name}/{name} failed:\n{out.stderr[-3000:]}")
    got = json.loads(out.stdout.strip().splitlines()[-1])
    if tree is not None and not got["module"].startswith(os.path.realpath(tree) + os.sep):
        raise RuntimeError(f"{name}: the worker imported {got['module']}, not the axonal of {tree}")
    return got["seconds_per_iter"]


def _git(*args, cwd=ROOT):
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True
                          ).stdout.strip()


def against(commit, names, rounds, seconds, threads, cpu):
    """New (this tree) against `commit`, interleaved: rounds alternate new-old and old-new."""
    import shutil
    import tempfile

    sha = _git("rev-parse", "--verify", f"{commit}^{{commit}}")
    tmp = tempfile.mkdtemp(prefix="axonal-against-")
    old = os.path.join(tmp, "tree")
    _git("worktree", "add", "--detach", old, sha)
    trees = {"new": os.path.realpath(ROOT), "old": os.path.realpath(old)}
    print(f"# new: {trees['new']} ({_git('rev-parse', '--short', 'HEAD')}"
          f"{' + changes' if _git('status', '--porcelain', '--untracked-files=no') else ''}) | "
          f"old: {commit} ({sha[:10]}) | {os.cpu_count()} cpus | rounds={rounds} | "
          f"threads={threads} | {'cpu' if cpu else 'wall'} time | "
          f"load {os.getloadavg()[0]:.1f}", flush=True)
    print(f"{'workload':<22}{'new ms':>10}{'old ms':>10}{'new/old':>9}   per-round new/old "
          "median [min, max]", flush=True)
    results = {}
    try:
        for name in names:
            times = {"new": [], "old": []}
            for r in range(rounds):
                for side in (("new", "old") if r % 2 == 0 else ("old", "new")):
                    times[side].append(measure("axonal", name, seconds, threads, cpu,
                                               tree=trees[side]))
            per_round = [o / n for n, o in zip(times["new"], times["old"])]
            new, oldt = statistics.median(times["new"]), statistics.median(times["old"])
            results[name] = {"new_s": new, "old_s": oldt, "ratio": oldt / new,
                             "round_ratios": per_round, "rounds": times}
            print(f"{name:<22}{new * 1e3:>10.3f}{oldt * 1e3:>10.3f}{oldt / new:>9.3f}   "
                  f"{statistics.median(per_round):.3f} [{min(per_round):.3f}, "
                  f"{max(per_round):.3f}]", flush=True)
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", old], cwd=ROOT,
                       capture_output=True, check=False)
        shutil.rmtree(tmp, ignore_errors=True)
        subprocess.run(["git", "worktree", "prune"], cwd=ROOT, capture_output=True, check=False)
    return results


def main(argv=None):
    sys.path.insert(0, HERE)
    from workloads import AGAINST, REGISTRY

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("names", nargs="*", help=f"workloads (default: all; with --against: "
                    f"{', '.join(AGAINST)}): {', '.join(REGISTRY)}")
    ap.add_argument("-r", "--rounds", type=int, default=None,
                    help="rounds (default 5; 7 with --against)")
    ap.add_argument("--seconds", type=float, default=None, help="per measurement (default 2)")
    ap.add_argument("--against", metavar="COMMIT",
                    help="time this tree against COMMIT (a temporary git worktree) instead of torch")
    ap.add_argument("--quick", action="store_true", help="1 round, short measurements: a smoke run")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--cpu", action="store_true", help="time process CPU time, not wall time")
    ap.add_argument("--json", help="also write the results to this file")
    ap.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.seconds is None:
        args.seconds = 0.05 if args.quick else 2.0
    if args.worker:
        return worker(*args.worker, args.seconds, args.threads, args.cpu)
    if args.rounds is None:
        args.rounds = 1 if args.quick else 7 if args.against else 5
    unknown = [n for n in args.names if n not in REGISTRY]
    if unknown:
        ap.error(f"unknown workloads {unknown}; known: {', '.join(REGISTRY)}")
    if args.against:
        results = against(args.against, args.names or list(AGAINST), args.rounds, args.seconds,
                          args.threads, args.cpu)
        if args.json:
            with open(args.json, "w") as f:
                json.dump(results, f, indent=1)
        return results
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
