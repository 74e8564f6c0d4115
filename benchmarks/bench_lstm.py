"""2-layer LSTM character-LM training step: Axonal against PyTorch eager, side by side.

    python benchmarks/bench_lstm.py              # 7 rounds of ~4 s per framework
    python benchmarks/bench_lstm.py -r 5 -s 3    # 5 rounds, 3 s each

The step (the char-lstm recipe's model): Embedding(65, 128) -> LSTM(128, 256, num_layers=2,
batch_first=True) -> Linear(256, 65) on (32, 64) character ids, cross-entropy over the 2048 positions,
backward, clip_grad_norm_(1.0), Adam(lr=2e-3). Both frameworks get the same initial weights and data.

Each measurement runs in its own fresh process with 2 threads (AXONAL_NUM_THREADS / OMP_NUM_THREADS
/ torch.set_num_threads): two frameworks' thread pools in one process disturb each other. Rounds
alternate the order (A B, B A, ...) so that a slow drift of a shared machine hits both alike; each
process warms up (JIT compile, allocator) and then times whole steps for `--seconds`. Reported: the
per-round times, the median step time of each, and ratio = torch time / axonal time (> 1: Axonal
faster), plus the 1-minute load average before and after (other users of the machine show there),
and the same ratio for the CPU time per step (process_time, all threads): on a shared machine whose
cores are oversubscribed, wall time mostly measures how the thread pools cope with being descheduled.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

os.environ.setdefault("AXONAL_THREADS", "auto")  # Axonal's thread policy, as the CLI uses

VOCAB, EMB, HID, LAYERS, T, B = 65, 128, 256, 2, 64, 32


def _data():
    import numpy as np

    rng = np.random.default_rng(0)
    return rng.integers(0, VOCAB, (B, T + 1)).astype(np.int64)


def _torch_step():
    import torch

    torch.set_num_threads(2)
    torch.manual_seed(0)
    emb, lstm = torch.nn.Embedding(VOCAB, EMB), torch.nn.LSTM(EMB, HID, LAYERS, batch_first=True)
    head = torch.nn.Linear(HID, VOCAB)
    params = list(emb.parameters()) + list(lstm.parameters()) + list(head.parameters())
    opt = torch.optim.Adam(params, lr=2e-3)
    d = torch.from_numpy(_data())
    x, y = d[:, :-1], d[:, 1:].reshape(-1)

    def step():
        out, _ = lstm(emb(x))
        loss = torch.nn.functional.cross_entropy(head(out).reshape(-1, VOCAB), y)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        return loss.item()
    return step


def _axonal_step():
    import axonal
    from axonal.nn.layers.rnn import LSTM

    axonal.set_num_threads(2)
    axonal.manual_seed(0)
    nn, F = axonal.nn, axonal.nn.functional
    emb, lstm = nn.Embedding(VOCAB, EMB), LSTM(EMB, HID, LAYERS, batch_first=True)
    head = nn.Linear(HID, VOCAB)
    params = list(emb.parameters()) + list(lstm.parameters()) + list(head.parameters())
    opt = axonal.optim.Adam(params, lr=2e-3)
    d = axonal.from_numpy(_data())
    x, y = d[:, :-1], d[:, 1:].reshape(-1)

    def step():
        out, _ = lstm(emb(x))
        loss = F.cross_entropy(head(out).reshape(-1, VOCAB), y)
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        return loss.item()
    return step


def worker(lib, seconds):
    step = _torch_step() if lib == "torch" else _axonal_step()
    losses = [step() for _ in range(3)]  # warm-up; also shows both frameworks learn alike
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < min(1.0, seconds / 4):
        step()
    times, cpu = [], []
    t0 = time.perf_counter()
    while True:
        s, c = time.perf_counter(), time.process_time()
        step()
        times.append(time.perf_counter() - s)
        cpu.append(time.process_time() - c)
        if time.perf_counter() - t0 >= seconds and len(times) >= 5:
            break
    print(json.dumps({"step_s": statistics.median(times), "cpu_s": statistics.median(cpu),
                      "steps": len(times), "first_losses": losses}))


def measure(lib, seconds):
    env = dict(os.environ, AXONAL_NUM_THREADS="2", OMP_NUM_THREADS="2")
    res = subprocess.run([sys.executable, os.path.abspath(__file__), "--worker", lib, "-s",
                          str(seconds)], capture_output=True, text=True, env=env, check=False)
    if res.returncode != 0:
        raise RuntimeError(f"{lib} worker failed:\n{res.stderr[-3000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("-r", "--rounds", type=int, default=7)
    p.add_argument("-s", "--seconds", type=float, default=4.0)
    p.add_argument("--worker", choices=["torch", "axonal"], help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        worker(args.worker, args.seconds)
        return
    load0 = os.getloadavg()[0]
    res = {"axonal": [], "torch": []}
    cpu = {"axonal": [], "torch": []}
    for r in range(args.rounds):
        for lib in (("axonal", "torch") if r % 2 == 0 else ("torch", "axonal")):
            m = measure(lib, args.seconds)
            res[lib].append(m["step_s"])
            cpu[lib].append(m["cpu_s"])
            if r == 0:
                print(f"{lib:7s} first losses {[round(v, 4) for v in m['first_losses']]}")
        print(f"round {r + 1}: axonal {res['axonal'][-1] * 1e3:6.1f} ms  torch "
              f"{res['torch'][-1] * 1e3:6.1f} ms  ratio {res['torch'][-1] / res['axonal'][-1]:.3f}",
              flush=True)
    ax, th = statistics.median(res["axonal"]), statistics.median(res["torch"])
    ratios = [t / a for a, t in zip(res["axonal"], res["torch"])]
    print(f"median step: axonal {ax * 1e3:.1f} ms, torch {th * 1e3:.1f} ms; ratio (torch/axonal) "
          f"{th / ax:.3f}; per-round ratios median {statistics.median(ratios):.3f} "
          f"[{min(ratios):.3f}, {max(ratios):.3f}]; load average {load0:.2f} -> "
          f"{os.getloadavg()[0]:.2f}")
    ca, ct = statistics.median(cpu["axonal"]), statistics.median(cpu["torch"])
    print(f"median CPU time per step (all threads): axonal {ca * 1e3:.1f} ms, torch {ct * 1e3:.1f} ms; "
          f"ratio {ct / ca:.3f} (less sensitive to other users of the machine than wall time)")


if __name__ == "__main__":
    main()
