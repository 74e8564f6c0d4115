"""An image-classification epoch with augmentation and DataLoader(num_workers=2): Axonal
(axonal.vision transforms, axonal.utils.data.DataLoader) against PyTorch (torchvision transforms,
torch's DataLoader), side by side in separate processes.

    python benchmarks/bench_loader.py                 # 3 rounds, loader-only and training epochs
    python benchmarks/bench_loader.py -r 5 --images 4096
    python benchmarks/bench_loader.py --quick         # one short round (a smoke run)

The data: `--images` CIFAR-sized images (32x32 RGB uint8, generated, fixed seed) held in memory by a
Dataset that returns (PIL Image, label), as torchvision's CIFAR10 does. The transform is the usual
CIFAR augmentation: RandomCrop(32, padding=4), RandomHorizontalFlip(), ToTensor(),
Normalize(mean, std). The loader: batch 64, shuffle=True, num_workers=2 (workers start at every
epoch, as without persistent_workers).

Two measurements per framework, each in a fresh process that runs one framework alone:
  loader  one epoch of iterating the DataLoader (worker start-up, augmentation, collation, the
          transfer of batches between processes)
  epoch   one training epoch: the same loader feeding a small CNN (conv16-3x3, relu, maxpool2,
          conv32-3x3, relu, maxpool2, fc10; cross-entropy, SGD with momentum)
Each process first runs one untimed epoch (imports, numba kernels, the page cache), then times
`--epochs` epochs and reports the median. The main process computes with `--threads` threads (1 by
default, the steadier comparison on a shared machine); the two workers are single-threaded in both
frameworks. Rounds alternate the order of the two frameworks. The ratio is torch time / axonal time
(> 1: Axonal is faster); the median over rounds is reported with its min-max and the load average.

torchvision: the installed one, else the copy .ci/run puts in ~/.cache/axonal/torchvision-oracle
($AXONAL_TORCHVISION_PATH), imported as tests/vision/conftest.py does (its CUDA operator
registrations stubbed).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

MEAN, STD = (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)


def _torchvision():
    import torch
    import torch.library
    path = os.environ.get("AXONAL_TORCHVISION_PATH",
                          os.path.expanduser("~/.cache/axonal/torchvision-oracle"))
    if os.path.isdir(path) and path not in sys.path:
        sys.path.append(path)
    real = torch.library.register_fake
    torch.library.register_fake = lambda *a, **k: (lambda fn: fn)
    try:
        import torchvision
    finally:
        torch.library.register_fake = real
    return torchvision


def _libs(name):
    if name == "torch":
        import torch
        return torch, _torchvision()
    import axonal
    from axonal import vision
    return axonal, vision


class Images:
    """CIFAR-like images in memory; __getitem__ gives (PIL Image, int) through `transform`."""

    def __init__(self, n, transform):
        import numpy as np
        rng = np.random.default_rng(0)
        self.data = rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8)
        self.targets = [int(t) for t in rng.integers(0, 10, n)]
        self.transform = transform

    def __len__(self):
        return len(self.data)

    def __getitem__(self, i):
        from PIL import Image
        return self.transform(Image.fromarray(self.data[i])), self.targets[i]


def _model(lib):
    nn = lib.nn
    lib.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(32 * 8 * 8, 10))


def worker(name, mode, images, epochs, threads):
    lib, tv = _libs(name)
    if name == "torch":
        lib.set_num_threads(threads)
    T = tv.transforms
    augment = T.Compose([T.RandomCrop(32, padding=4), T.RandomHorizontalFlip(), T.ToTensor(),
                         T.Normalize(MEAN, STD)])
    loader = lib.utils.data.DataLoader(Images(images, augment), batch_size=64, shuffle=True,
                                       num_workers=2)
    model = _model(lib)
    opt = lib.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = lib.nn.CrossEntropyLoss()

    def run_epoch():
        seen = 0
        for x, y in loader:
            if mode == "epoch":
                opt.zero_grad()
                loss = loss_fn(model(x), y)
                loss.backward()
                opt.step()
            seen += len(y)
        assert seen == images and tuple(x.shape[1:]) == (3, 32, 32)

    lib.manual_seed(0)
    run_epoch()  # warm-up: imports, kernels, page cache
    times = []
    for _ in range(epochs):
        t0 = time.perf_counter()
        run_epoch()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def measure(name, mode, args):
    env = dict(os.environ, AXONAL_THREADS=str(args.threads), OMP_NUM_THREADS=str(args.threads))
    cmd = [sys.executable, __file__, "--worker", name, "--mode", mode, "--images",
           str(args.images), "--epochs", str(args.epochs), "--threads", str(args.threads)]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if out.returncode:
        raise SystemExit(f"{name} {mode} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])["seconds"]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("-r", "--rounds", type=int, default=3)
    p.add_argument("--images", type=int, default=2048)
    p.add_argument("--epochs", type=int, default=2, help="timed epochs per process (median)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--modes", default="loader,epoch")
    p.add_argument("--quick", action="store_true", help="one round of 512 images, one epoch")
    p.add_argument("--worker", choices=["torch", "axonal"], help=argparse.SUPPRESS)
    p.add_argument("--mode", default="epoch", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        print(json.dumps({"seconds": worker(args.worker, args.mode, args.images, args.epochs,
                                            args.threads)}))
        return
    if args.quick:
        args.rounds, args.images, args.epochs = 1, 512, 1
    print(f"{args.images} images 32x32, batch 64, num_workers=2, {args.threads} thread(s), "
          f"{args.rounds} round(s)")
    for mode in args.modes.split(","):
        load0 = os.getloadavg()[0]
        res = {"axonal": [], "torch": []}
        for r in range(args.rounds):
            order = ("axonal", "torch") if r % 2 == 0 else ("torch", "axonal")
            for name in order:
                res[name].append(measure(name, mode, args))
            print(f"  {mode} round {r + 1}: axonal {res['axonal'][-1]:.3f} s, torch "
                  f"{res['torch'][-1]:.3f} s, ratio {res['torch'][-1] / res['axonal'][-1]:.3f}")
        ratios = [t / a for a, t in zip(res["axonal"], res["torch"])]
        ax, th = statistics.median(res["axonal"]), statistics.median(res["torch"])
        print(f"{mode}: axonal {ax:.3f} s, torch {th:.3f} s per epoch; ratio (torch/axonal) "
              f"median {statistics.median(ratios):.3f} [{min(ratios):.3f}, {max(ratios):.3f}]; "
              f"load average {load0:.2f} -> {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
