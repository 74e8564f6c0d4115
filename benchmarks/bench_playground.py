"""Frames per second the Playground streams: the default network on the spiral data set.

    python benchmarks/bench_playground.py                 # 10 s of playing, one tab
    python benchmarks/bench_playground.py --seconds 20 --tabs 2 --json out.json

A real server on 127.0.0.1 (uvicorn, a free port) and a WebSocket client that acts like the page:
it sets `dataset=spiral` (the Playground's defaults otherwise: inputs X1, X2, hidden layers [4, 2],
tanh, learning rate 0.03, batch size 10, 50% training data = 250 points, 25 steps an epoch),
presses play and acks every frame as soon as it arrives. One frame is one epoch, as in the
Playground, so frames/s = epochs/s. The goal is >= 30 frames/s.

Also printed, measured in-process without the socket: the time of one training epoch and of one
frame (losses on both parts, the 50 x 50 output grid and every neuron's map in one batched forward
pass, encoding), which bound the rate from above.
"""
import argparse
import json
import os
import platform
import statistics
import threading
import time

from websockets.sync.client import connect

os.environ.setdefault("AXONAL_THREADS", "auto")  # Axonal's thread policy, as the CLI uses

from axonal.playground import Session
from axonal.playground.run import BackgroundServer

SETTINGS = {"dataset": "spiral"}
GOAL = 30.0


def stream(ws_url, seconds, warmup, out):
    """Play in one tab; append (frames, seconds, bytes) measured after the warm-up to `out`."""
    with connect(ws_url, max_size=None) as ws:
        def recv():
            return json.loads(ws.recv(timeout=30))

        while recv()["type"] != "frame":  # hello, setup, the first frame
            pass
        ws.send(json.dumps({"type": "config", "config": SETTINGS}))
        while recv()["type"] != "frame":
            pass
        ws.send(json.dumps({"type": "play"}))
        start, frames, nbytes, t0 = time.perf_counter(), 0, 0, None
        while True:
            text = ws.recv(timeout=30)
            msg = json.loads(text)
            if msg["type"] != "frame":
                continue
            ws.send('{"type": "ack"}')
            now = time.perf_counter()
            if t0 is None:
                if now - start >= warmup:
                    t0 = now
                continue
            frames += 1
            nbytes += len(text)
            if now - t0 >= seconds:
                break
        ws.send(json.dumps({"type": "pause"}))
        out.append((frames, now - t0, nbytes))


def in_process(repeats=30):
    s = Session(SETTINGS)
    for _ in range(5):  # warm-up: numba kernels, allocator
        s.train_epoch()
        s.frame()
    epoch, frame, cpu = [], [], []
    for _ in range(repeats):
        t, c = time.perf_counter(), time.thread_time()
        s.train_epoch()
        epoch.append(time.perf_counter() - t)
        t = time.perf_counter()
        json.dumps(s.frame())
        frame.append(time.perf_counter() - t)
        cpu.append(time.thread_time() - c)
    return statistics.median(epoch), statistics.median(frame), statistics.median(cpu)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=10.0, help="measured time per tab")
    ap.add_argument("--warmup", type=float, default=2.0, help="seconds of play before measuring")
    ap.add_argument("--tabs", type=int, default=1, help="independent sessions playing at once")
    ap.add_argument("--json", metavar="PATH", help="also write the results here")
    args = ap.parse_args()

    epoch_s, frame_s, cpu_s = in_process()
    # CPU time of this thread: what an epoch + frame costs on a core of its own, so a machine
    # shared with other work (load average above the core count) can still be judged
    print(f"in-process: one epoch {epoch_s * 1e3:.1f} ms, one frame {frame_s * 1e3:.1f} ms "
          f"-> at most {1 / (epoch_s + frame_s):.0f} frames/s; CPU time {cpu_s * 1e3:.1f} ms "
          f"-> {1 / cpu_s:.0f} frames/s on an idle core")
    with BackgroundServer() as srv:
        results = []
        threads = [threading.Thread(target=stream, args=(srv.ws_url, args.seconds, args.warmup,
                                                         results)) for _ in range(args.tabs)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    rates = [f / s for f, s, _ in results]
    per_frame_kb = sum(b for _, _, b in results) / max(1, sum(f for f, _, _ in results)) / 1024
    for i, rate in enumerate(rates):
        print(f"tab {i + 1}: {rate:.1f} frames/s (= epochs/s), {per_frame_kb:.1f} kB a frame")
    verdict = "meets" if min(rates) >= GOAL else "misses"
    print(f"streamed: {min(rates):.1f} frames/s per tab ({verdict} the goal of {GOAL:g})")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"frames_per_s": rates, "epoch_ms": epoch_s * 1e3, "frame_ms": frame_s * 1e3,
                       "cpu_ms_per_frame": cpu_s * 1e3,
                       "kb_per_frame": per_frame_kb, "tabs": args.tabs, "goal": GOAL,
                       "machine": platform.platform(), "python": platform.python_version()},
                      f, indent=2)


if __name__ == "__main__":
    main()
