"""Run Axonal and PyTorch side by side and print throughput ratios; or Axonal against an older
commit of itself.

    python benchmarks/run.py                 # every workload, Axonal with MKL and with OpenBLAS
    python benchmarks/run.py gpt mlp_step -r 7 --compile --jax   # + torch.compile and JAX
    python benchmarks/run.py --blas openblas # Axonal with OpenBLAS only
    python benchmarks/run.py --against main  # this tree against commit `main` (the training
                                             # workloads and the 200-op chain, 7 rounds)
    python benchmarks/run.py --against HEAD~3 overhead_chain200 --quick   # a smoke run

Side by side: each round times every side once, in fresh processes, in an order that alternates
between rounds (A B C, C B A, ...) so slow drifts of the machine hit all sides alike. Sides:
Axonal once per BLAS of `--blas` (the environment variable AXONAL_BLAS=mkl|openblas of its
process), PyTorch eager, and with `--compile` PyTorch with `torch.compile` on the whole step (its
compile time, the first call, is shown apart and not in the timing), and with `--jax` JAX (jit) on
the workloads benchmarks/jax_workloads.py writes in JAX's idiom (the MLP and GPT steps; JAX is
installed apart: `pip install --target ~/.cache/axonal/jax-ref jax`). Each process warms up, then
times `--seconds` worth of iterations with `--threads` threads, and reports its peak resident set.
A round counts only if the machine was quiet (benchmarks/_quiet.py: other load <= 0.3 CPUs and
steal <= 5% over the round); busy rounds are dropped, counted and replaced, up to 3x `--rounds`
rounds in all. Printed per workload: the median time per side over the kept rounds and ratio =
torch time / Axonal time (> 1: Axonal faster), one per BLAS; the peak RSS ratio Axonal / torch;
for the workloads that are mostly matrix products (workloads.FLOPS) the fraction of this
machine's sgemm peak that Axonal reached (the peak: the best of 2048^3 sgemm products through
Axonal's matmul with the same BLAS and threads, measured first); and kept/dropped rounds.

`--against COMMIT` checks COMMIT out into a temporary git worktree (removed afterwards) and times
each workload with this tree's `axonal` and with the old one, in alternating fresh processes whose
PYTHONPATH points at one tree or the other (the workload code is this tree's, for both). Both run
with AXONAL_THREADS=auto and the same thread count. Printed per workload: the median time of each
over the rounds and new/old = old time / new time (> 1: the new tree is faster), with the median,
min and max of the per-round ratios; busy rounds are dropped and replaced there too. `--quick`: 1 round of short measurements, to check that it
runs (the numbers mean nothing).

On a busy machine wall time mostly measures the scheduler; `--cpu` then times the process's CPU
time instead (use it with `--threads 1`, since spinning worker threads also burn CPU time).
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


JAX_PATH = os.path.expanduser("~/.cache/axonal/jax-ref")
JAX_NAMES = ("mlp_step", "gpt", "gpt_offshape")  # the workloads jax_workloads.py has


def _import(side):
    if side == "jax":
        sys.path.insert(0, os.environ.get("AXONAL_BENCH_JAX_PATH", JAX_PATH))
        import jax
        return jax
    if side.startswith("torch"):
        import torch as lib
    else:
        import axonal as lib
    return lib


def worker(side, name, seconds, threads=2, cpu=False):
    """In a fresh process: time one workload on one side; print one JSON line."""
    import resource

    lib = _import(side)
    if side != "jax":  # XLA sizes its pool from the CPUs (XLA_FLAGS), not at run time
        lib.set_num_threads(threads)
    clock = time.process_time if cpu else time.perf_counter
    if name == "sgemm_peak":  # this machine's sgemm throughput through the side's matmul
        return print(json.dumps(_sgemm_peak(lib)))
    sys.path.insert(0, HERE)
    from workloads import REGISTRY

    first = time.perf_counter()
    if side == "jax":
        from jax_workloads import REGISTRY as JAX

        step = JAX[name]()
    else:
        step = REGISTRY[name][0](lib)
    if side == "torch.compile":
        step = lib.compile(step)
    step()  # the first call: numba kernels load, torch.compile compiles
    first = time.perf_counter() - first
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
    print(json.dumps({"seconds_per_iter": elapsed / n, "iters": n, "first_call_s": first,
                      "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                      "module": os.path.abspath(lib.__file__)}))


def _sgemm_peak(lib, n=2048, reps=5):
    import numpy as np

    rng = np.random.default_rng(0)
    a, b = (lib.from_numpy(rng.standard_normal((n, n), dtype=np.float32)) for _ in range(2))
    best = float("inf")
    with lib.no_grad():
        for _ in range(reps + 1):
            t0 = time.perf_counter()
            (a @ b).sum()
            best = min(best, time.perf_counter() - t0)
    return {"gflops": 2 * n ** 3 / best / 1e9}


def _env(side, threads, blas=None, tree=None):
    env = dict(os.environ, AXONAL_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads),
               AXONAL_THREADS="auto")
    if blas:
        env["AXONAL_BLAS"] = blas
    if tree is not None:
        env["PYTHONPATH"] = tree
    return env


def run_side(side, name, seconds, threads=2, cpu=False, blas=None, tree=None):
    """One workload on one side in a fresh process; its JSON report. `side`: axonal, torch or
    torch.compile; `blas`: Axonal's AXONAL_BLAS; `tree`: the checkout whose `axonal` it imports
    (PYTHONPATH), checked from the module's path."""
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", side, name,
           "--seconds", str(seconds), "--threads", str(threads)] + (["--cpu"] if cpu else [])
    out = subprocess.run(cmd, capture_output=True, text=True, env=_env(side, threads, blas, tree),
                         check=False)
    if out.returncode != 0:
        raise RuntimeError(f"{side}/{name} failed:\n{out.stderr[-3000:]}")
    got = json.loads(out.stdout.strip().splitlines()[-1])
    if tree is not None and not got["module"].startswith(os.path.realpath(tree) + os.sep):
        raise RuntimeError(f"{name}: the worker imported {got['module']}, not the axonal of {tree}")
    return got


def measure(lib_name, name, seconds, threads=2, cpu=False, tree=None):
    """Seconds per iteration of one workload in a fresh process (used by --against)."""
    return run_side(lib_name, name, seconds, threads, cpu, tree=tree)["seconds_per_iter"]


def _git(*args, cwd=ROOT):
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True
                          ).stdout.strip()


def against(commit, names, rounds, seconds, threads, cpu, retry=True):
    """New (this tree) against `commit`, interleaved: rounds alternate new-old and old-new; busy
    rounds are dropped and replaced (up to 3x `rounds` in all), as side by side."""
    import shutil
    import tempfile

    from _quiet import Round

    limit_factor = 3 if retry else 1
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
            times, attempt, dropped = {"new": [], "old": []}, 0, 0
            while len(times["new"]) < rounds and attempt < limit_factor * rounds:
                with Round() as q:
                    got = {side: measure("axonal", name, seconds, threads, cpu, tree=trees[side])
                           for side in (("new", "old") if attempt % 2 == 0 else ("old", "new"))}
                attempt += 1
                if not q.quiet and (attempt < limit_factor * rounds or times["new"]):
                    dropped += 1  # a busy round (benchmarks/_quiet.py): replaced
                    continue
                for side, t in got.items():
                    times[side].append(t)
            per_round = [o / n for n, o in zip(times["new"], times["old"])]
            new, oldt = statistics.median(times["new"]), statistics.median(times["old"])
            results[name] = {"new_s": new, "old_s": oldt, "ratio": oldt / new,
                             "round_ratios": per_round, "rounds": times, "dropped": dropped}
            print(f"{name:<22}{new * 1e3:>10.3f}{oldt * 1e3:>10.3f}{oldt / new:>9.3f}   "
                  f"{statistics.median(per_round):.3f} [{min(per_round):.3f}, "
                  f"{max(per_round):.3f}]   {len(per_round)} rounds kept, {dropped} busy dropped",
                  flush=True)
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", old], cwd=ROOT,
                       capture_output=True, check=False)
        shutil.rmtree(tmp, ignore_errors=True)
        subprocess.run(["git", "worktree", "prune"], cwd=ROOT, capture_output=True, check=False)
    return results


_W = 20  # column width of the side-by-side table


def _sides(blases, compile_, jax=False):
    """(label, side, blas) for every column of the side-by-side table."""
    return ([(f"axonal/{b}", "axonal", b) for b in blases] + [("torch", "torch", None)]
            + ([("torch.compile", "torch.compile", None)] if compile_ else [])
            + ([("jax", "jax", None)] if jax else []))


def side_by_side(names, rounds, seconds, threads, cpu, blases, compile_, retry=True, jax=False):
    from _quiet import Round
    from workloads import FLOPS, REGISTRY

    sides = _sides(blases, compile_, jax)
    peaks = {}
    if any(n in FLOPS for n in names):
        for b in blases:
            peaks[b] = max(run_side("axonal", "sgemm_peak", 0, threads, blas=b)["gflops"]
                           for _ in range(2))
        print("# sgemm peak through Axonal's matmul (2048^3, best of 5): " + ", ".join(
            f"{b} {g:.1f} GFLOP/s" for b, g in peaks.items()), flush=True)
    head = "".join(f"{lab + ' ms':>{_W}}" for lab, _, _ in sides)
    ratios = "".join(f"{'x ' + b:>12}" for b in blases)
    print(f"{'workload':<16}{'unit':>11}{head}{ratios}{'RSS ax/t':>10}{'%peak':>7}"
          f"{'rounds':>9}" + ("  first call s (compile)" if compile_ or jax else ""), flush=True)
    results = {}
    for name in names:
        here = [sd for sd in sides if sd[1] != "jax" or name in JAX_NAMES]
        times = {lab: [] for lab, _, _ in here}
        rss, first, notes, kept, dropped = {lab: [] for lab, _, _ in here}, {}, [], 0, 0
        attempt = 0
        limit = 3 * rounds if retry else rounds
        while kept < rounds and attempt < limit:
            order = here if attempt % 2 == 0 else here[::-1]
            with Round() as r:
                got = {lab: run_side(side, name, seconds, threads, cpu, blas=b)
                       for lab, side, b in order}
            attempt += 1
            notes.append(r.describe())
            if not r.quiet and (attempt < limit or kept):  # keep a busy one only if no other
                dropped += 1
                continue
            kept += 1
            for lab, got_lab in got.items():
                times[lab].append(got_lab["seconds_per_iter"])
                rss[lab].append(got_lab["peak_rss_mb"])
            for lab in ("torch.compile", "jax"):
                if lab in got:
                    first.setdefault(lab, []).append(got[lab]["first_call_s"])
        med = {lab: statistics.median(v) for lab, v in times.items()}
        res = {"seconds": med, "rounds": times, "kept": kept, "dropped": dropped,
               "round_notes": notes, "ratio": {b: med["torch"] / med[f"axonal/{b}"]
                                               for b in blases},
               "peak_rss_mb": {lab: statistics.median(v) for lab, v in rss.items()}}
        res["rss_ratio"] = res["peak_rss_mb"][f"axonal/{blases[0]}"] / res["peak_rss_mb"]["torch"]
        pk = ""
        if name in FLOPS:
            res["peak_fraction"] = {b: FLOPS[name] / med[f"axonal/{b}"] / (peaks[b] * 1e9)
                                    for b in blases}
            pk = f"{res['peak_fraction'][blases[0]] * 100:>6.0f}%"
        res["first_call_s"] = {lab: statistics.median(v) for lab, v in first.items()}
        results[name] = res
        cols = "".join(f"{med[lab] * 1e3:>{_W}.2f}" if lab in med else f"{'-':>{_W}}"
                       for lab, _, _ in sides)
        rat = "".join(f"{res['ratio'][b]:>12.2f}" for b in blases)
        print(f"{name:<16}{REGISTRY[name][1]:>11}{cols}{rat}{res['rss_ratio']:>10.2f}"
              f"{pk or '':>7}{f'{kept}/{dropped}':>9}"
              + "".join(f"  {lab} {v:.1f}" for lab, v in res["first_call_s"].items())
              + ("" if dropped == 0 and kept == rounds else "   (busy: " + notes[-1] + ")"),
              flush=True)
    return results


def _available_blases():
    try:
        from axonal._threads import mkl_library_paths
    except ImportError:
        return ["openblas"]
    return ["mkl", "openblas"] if mkl_library_paths() else ["openblas"]


def _cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            info = f.read()
    except OSError:
        return platform.processor() or platform.machine()
    model = next((ln.split(":", 1)[1].strip() for ln in info.splitlines()
                  if ln.startswith("model name")), platform.machine())
    flags = set(next((ln.split(":", 1)[1].split() for ln in info.splitlines()
                      if ln.startswith("flags")), []))
    simd = "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else "no AVX2"
    return f"{model} ({simd})"


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
    ap.add_argument("--blas", default=None,
                    help="Axonal's BLAS sides, comma-separated (default: mkl,openblas if MKL is "
                         "installed, else openblas)")
    ap.add_argument("--compile", action="store_true", help="add a torch.compile column")
    ap.add_argument("--jax", action="store_true",
                    help="add a JAX column for mlp_step and the GPT rows (benchmarks/"
                         "jax_workloads.py; JAX from AXONAL_BENCH_JAX_PATH, default " + JAX_PATH
                         + ": pip install --target there jax)")
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
                          args.threads, args.cpu, retry=not args.quick)
        if args.json:
            with open(args.json, "w") as f:
                json.dump(results, f, indent=1)
        return results
    names = args.names or list(REGISTRY)
    blases = args.blas.split(",") if args.blas else _available_blases()
    jax_dir = os.environ.get("AXONAL_BENCH_JAX_PATH", JAX_PATH)
    jax = ("not asked (--jax)" if not args.jax else "from " + jax_dir
           if os.path.isdir(os.path.join(jax_dir, "jax")) else "not installed in " + jax_dir)
    if args.jax and not os.path.isdir(os.path.join(jax_dir, "jax")):
        args.jax = False
    print(f"# {platform.node()} | {_cpu_model()} | {os.cpu_count()} cpus | "
          f"{time.strftime('%Y-%m-%d %H:%M')} | rounds={args.rounds} | threads={args.threads} | "
          f"{'cpu' if args.cpu else 'wall'} time | load {os.getloadavg()[0]:.1f} | jax: {jax}",
          flush=True)
    results = side_by_side(names, args.rounds, args.seconds, args.threads, args.cpu, blases,
                           args.compile, retry=not args.quick, jax=args.jax)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    return results


if __name__ == "__main__":
    main()
