"""One training epoch of the mnist-mlp recipe in PyTorch and in axonal, on the same data.

    python benchmarks/mnist_mlp_torch_epoch.py [--threads N] [--epochs E] [--only torch|axonal]

Model 784-512-512-10 (ReLU, Dropout 0.2), SGD Nesterov momentum 0.9, weight decay 5e-4, lr 0.05,
batch 128, 55,000 training images (the recipe's split), standardized. PyTorch runs the usual
hand-written loop over a shuffled index (its fastest simple form: no DataLoader collation); axonal
runs `Trainer.fit` exactly as `axonal train mnist-mlp` does. The time of each epoch is printed
(training only, no validation); the first epoch includes warm-up (numba cache loads, allocator).
"""
import argparse
import os
import time

os.environ.setdefault("AXONAL_THREADS", "auto")  # Axonal's thread policy, as the CLI uses

import numpy as np

import axonal


def data():
    from axonal.recipes import get_recipe

    train, _, _test = get_recipe("mnist-mlp").datasets()
    x, y = (t.numpy() for t in train.tensors)
    return x, y


def torch_epochs(x, y, epochs, threads):
    import torch
    import torch.nn.functional as F
    from torch import nn

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 512), nn.ReLU(), nn.Dropout(0.2),
                          nn.Linear(512, 512), nn.ReLU(), nn.Dropout(0.2), nn.Linear(512, 10))
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, nesterov=True,
                          weight_decay=5e-4)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    times = []
    for _ in range(epochs):
        start = time.perf_counter()
        model.train()
        perm = torch.randperm(len(xt))
        for i in range(0, len(xt), 128):
            idx = perm[i:i + 128]
            loss = F.cross_entropy(model(xt[idx]), yt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        times.append(time.perf_counter() - start)
    return times


def axonal_epochs(x, y, epochs, threads):
    from axonal.recipes import get_recipe
    from axonal.train import Trainer
    from axonal.utils.data import DataLoader, TensorDataset

    if getattr(axonal, "_threads", None) is not None:  # the thread policy may not be installed yet
        axonal.set_num_threads(threads)
    axonal.manual_seed(0)
    rec = get_recipe("mnist-mlp")
    model = rec.build_model(rec.model_config())
    trainer = Trainer(model, rec.optimizer(model, 0.05), rec.loss_fn())
    loader = DataLoader(TensorDataset(axonal.from_numpy(x), axonal.from_numpy(y)), batch_size=128,
                        shuffle=True)
    hist = trainer.fit(loader, epochs, verbose=0)
    return hist["seconds"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--only", choices=("torch", "axonal"))
    args = ap.parse_args()
    x, y = data()
    print(f"{len(x)} samples, batch 128, {args.threads} threads, {args.epochs} epochs")
    for name, fn in (("torch", torch_epochs), ("axonal", axonal_epochs)):
        if args.only in (None, name):
            times = fn(x, y, args.epochs, args.threads)
            print(f"{name:<7} " + "  ".join(f"{t:.2f}s" for t in times) +
                  f"   best {min(times):.2f} s/epoch")


if __name__ == "__main__":
    np.set_printoptions(precision=3)
    main()
