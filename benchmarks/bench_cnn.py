"""CNN training steps, Axonal against PyTorch eager, side by side in separate processes.

    python benchmarks/bench_cnn.py                    # lenet and cifar, 5 rounds each
    python benchmarks/bench_cnn.py resnet20 -r 3      # the resnet recipe's network
    python benchmarks/bench_cnn.py cifar -r 7 --seconds 3
    python benchmarks/bench_cnn.py --memory           # peak resident memory only
    python benchmarks/bench_cnn.py --threads 1        # 1 thread each (less sensitive to load)

Workloads (one training step = zero_grad, forward, cross-entropy, backward, SGD with momentum):
  lenet  batch 128, 1x28x28: conv6-5x5, relu, maxpool2, conv16-5x5, relu, maxpool2, fc120, relu,
         fc84, relu, fc10
  cifar  batch 64, 3x32x32: conv32-3x3, conv32, maxpool2, conv64, conv64, maxpool2 (padding 1, relu
         after every conv), fc256, relu, fc10
  resnet20  batch 128, 1x28x28: the CIFAR ResNet-20 of the resnet recipe (3x3 stem, 3 stages of 3
         basic blocks with 16/32/64 channels, batch norm after every conv, 1x1 projection
         shortcuts, global average pooling, fc10), written here with plain layers for both
  resnet20_cifar  the same network on batch 128, 3x32x32 (CIFAR's shape)

Every measurement is a fresh process running one framework alone with 2 threads (--threads; the
two frameworks' thread pools disturb each other inside one process). Rounds alternate the order
A B, B A, ... so a slow drift of the machine hits both sides alike; each process warms up first
(numba compiles or loads its kernels, allocators settle). The ratio is torch time / axonal time
per round (> 1: Axonal is faster); the median over rounds is reported with its min-max, together
with the load average of the machine, because on a shared machine the other processes decide a
large part of the spread. On an oversubscribed machine every parallel region waits until all its
threads have been scheduled again, so 2-thread timings there measure the scheduler as much as the
framework; 1-thread timings are the steadier comparison of the work each framework does.

Memory: the peak resident set (getrusage ru_maxrss) of a process that imports the framework, builds
the model and runs 5 training steps, and the part of it added by the steps (the peak minus the
resident set just before the first step), each in a fresh process.
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

os.environ.setdefault("AXONAL_THREADS", "auto")  # Axonal's thread policy, as the CLI uses

NETS = {"lenet": (128, (1, 28, 28)), "cifar": (64, (3, 32, 32)), "resnet20": (128, (1, 28, 28)),
        "resnet20_cifar": (128, (3, 32, 32))}


def build(lib, net):
    nn = lib.nn
    Conv2d, MaxPool2d = nn.Conv2d, nn.MaxPool2d
    lib.manual_seed(0)
    if net.startswith("resnet20"):
        return _resnet20(lib, NETS[net][1][0])
    if net == "lenet":
        return nn.Sequential(
            Conv2d(1, 6, 5), nn.ReLU(), MaxPool2d(2), Conv2d(6, 16, 5), nn.ReLU(), MaxPool2d(2),
            nn.Flatten(), nn.Linear(256, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
            nn.Linear(84, 10))
    return nn.Sequential(
        Conv2d(3, 32, 3, padding=1), nn.ReLU(), Conv2d(32, 32, 3, padding=1), nn.ReLU(),
        MaxPool2d(2),
        Conv2d(32, 64, 3, padding=1), nn.ReLU(), Conv2d(64, 64, 3, padding=1), nn.ReLU(),
        MaxPool2d(2),
        nn.Flatten(), nn.Linear(64 * 8 * 8, 256), nn.ReLU(), nn.Linear(256, 10))


def _resnet20(lib, channels=1):
    nn, F = lib.nn, lib.nn.functional
    Conv2d = nn.Conv2d

    class Block(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.c1, self.b1 = Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout)
            self.c2, self.b2 = Conv2d(cout, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout)
            self.short = nn.Sequential()
            if stride != 1 or cin != cout:
                self.short = nn.Sequential(Conv2d(cin, cout, 1, stride, bias=False),
                                           nn.BatchNorm2d(cout))

        def forward(self, x):
            return F.relu(self.b2(self.c2(F.relu(self.b1(self.c1(x))))) + self.short(x))

    layers, cin = [Conv2d(channels, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU()], 16
    for cout, stride in ((16, 1), (32, 2), (64, 2)):
        for k in range(3):
            layers.append(Block(cin, cout, stride if k == 0 else 1))
            cin = cout
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10))


def make_step(lib, net, init=None):
    """One training step of `net`; `init(model)`, when given, sets the weights (the parity test
    gives both frameworks the same ones). The step returns the loss tensor."""
    import numpy as np

    batch, shape = NETS[net]
    model = build(lib, net)
    if init is not None:
        init(model)
    opt = lib.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = lib.nn.CrossEntropyLoss()
    rng = np.random.default_rng(0)
    data = [(lib.from_numpy(rng.standard_normal((batch,) + shape).astype(np.float32)),
             lib.from_numpy(rng.integers(0, 10, batch).astype(np.int64))) for _ in range(4)]
    state = {"i": 0}

    def step():
        x, y = data[state["i"] % len(data)]
        state["i"] += 1
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss
    return step


def _rss_kb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def worker(lib_name, net, seconds, memory, threads):
    if lib_name == "torch":
        import torch as lib
    else:
        import axonal as lib
    lib.set_num_threads(threads)
    step = make_step(lib, net)
    if memory:
        if lib_name == "axonal":  # compile/load the kernels outside the measured steps
            step()
        base = _rss_kb()
        for _ in range(5):
            step()
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(json.dumps({"peak_kb": peak, "base_kb": base}))
        return
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < max(1.0, seconds / 2):  # warm-up
        step()
    n, t0 = 0, time.perf_counter()
    while True:
        step()
        n += 1
        elapsed = time.perf_counter() - t0
        if elapsed >= seconds and n >= 5:
            break
    print(json.dumps({"seconds_per_step": elapsed / n, "steps": n}))


def run(lib_name, net, seconds, memory=False, threads=2):
    env = dict(os.environ, AXONAL_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads))
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", lib_name, net,
           "--seconds", str(seconds), "--threads", str(threads)] + (["--memory"] if memory else [])
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"{lib_name}/{net} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def bench(nets, rounds, seconds, threads):
    for net in nets:
        times, ratios = {"axonal": [], "torch": []}, []
        loads = [os.getloadavg()[0]]
        for r in range(rounds):
            order = ("axonal", "torch") if r % 2 == 0 else ("torch", "axonal")
            got = {name: run(name, net, seconds, threads=threads)["seconds_per_step"]
                   for name in order}
            for name, t in got.items():
                times[name].append(t)
            ratios.append(got["torch"] / got["axonal"])
            loads.append(os.getloadavg()[0])
            print(f"  {net} round {r + 1}: axonal {got['axonal'] * 1e3:7.2f} ms  torch "
                  f"{got['torch'] * 1e3:7.2f} ms  ratio {ratios[-1]:.2f}", flush=True)
        ax, th = statistics.median(times["axonal"]), statistics.median(times["torch"])
        print(f"{net:6s} axonal {ax * 1e3:7.2f} ms/step  torch {th * 1e3:7.2f} ms/step  "
              f"ratio (torch/axonal, median of rounds) {statistics.median(ratios):.2f} "
              f"[{min(ratios):.2f}-{max(ratios):.2f}]  load avg {min(loads):.1f}-{max(loads):.1f} "
              f"on {os.cpu_count()} cpus", flush=True)


def memory(nets, rounds):
    for net in nets:
        res = {"axonal": [], "torch": []}
        for r in range(rounds):
            for name in (("axonal", "torch") if r % 2 == 0 else ("torch", "axonal")):
                res[name].append(run(name, net, 0, memory=True))
        ax = {k: statistics.median(m[k] for m in res["axonal"]) / 1024 for k in ("peak_kb",
                                                                                 "base_kb")}
        th = {k: statistics.median(m[k] for m in res["torch"]) / 1024 for k in ("peak_kb",
                                                                                "base_kb")}
        print(f"{net:6s} peak RSS: axonal {ax['peak_kb']:6.0f} MB, torch {th['peak_kb']:6.0f} MB "
              f"(ratio {ax['peak_kb'] / th['peak_kb']:.2f}); added by the steps: axonal "
              f"{ax['peak_kb'] - ax['base_kb']:5.0f} MB, torch {th['peak_kb'] - th['base_kb']:5.0f}"
              f" MB", flush=True)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("nets", nargs="*", default=["lenet", "cifar"], help=", ".join(NETS))
    ap.add_argument("-r", "--rounds", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--memory", action="store_true", help="measure peak memory only")
    ap.add_argument("--threads", type=int, default=2, help="threads per framework (default 2)")
    ap.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        return worker(*args.worker, args.seconds, args.memory, args.threads)
    if args.memory:
        return memory(args.nets, max(1, args.rounds // 2))
    print(f"# {time.strftime('%Y-%m-%d %H:%M')} | {os.cpu_count()} cpus | {args.threads} "
          f"thread(s) each | rounds={args.rounds} | {args.seconds:.0f} s per measurement",
          flush=True)
    bench(args.nets, args.rounds, args.seconds, args.threads)
    memory(args.nets, 1)


if __name__ == "__main__":
    main()
