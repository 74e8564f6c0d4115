"""Benchmark workloads, each written twice: once for Axonal and once for PyTorch.

A workload is a function `make(lib) -> step` where `lib` is the imported module (axonal or torch)
and `step()` runs one iteration. Both versions are written with the same calls wherever the APIs
agree, which is the point: the Axonal version is the PyTorch program with the import changed.
"""
import numpy as np

REGISTRY = {}


def workload(name, unit="iter"):
    def deco(fn):
        REGISTRY[name] = (fn, unit)
        return fn
    return deco


@workload("overhead_chain200")
def overhead_chain200(lib):
    """200 small element-wise ops on 16-element tensors, forward + backward: pure framework overhead."""
    x = lib.randn(16, requires_grad=True)

    def step():
        y = x
        for _ in range(40):  # 5 ops per round
            y = ((y * 1.01 + 0.1).tanh() - 0.05) * y
        y.sum().backward()
    return step


def _mlp_data(n, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.random((n, 784), dtype=np.float32)
    y = rng.integers(0, 10, n).astype(np.int64)
    return x, y


@workload("mlp_step", unit="batch")
def mlp_step(lib):
    """784-512-512-10 MLP, batch 128, softmax cross-entropy, forward+backward+SGD written by hand."""
    F = lib.nn.functional
    g = np.random.default_rng(1)
    shapes = [(512, 784), (512,), (512, 512), (512,), (10, 512), (10,)]
    params = [lib.tensor((g.standard_normal(s) * 0.03).astype(np.float32), requires_grad=True)
              for s in shapes]
    xs, ys = _mlp_data(128 * 8)
    batches = [(lib.from_numpy(xs[i:i + 128]), lib.from_numpy(ys[i:i + 128]))
               for i in range(0, len(xs), 128)]
    state = {"i": 0}

    def step():
        x, y = batches[state["i"] % len(batches)]
        state["i"] += 1
        w1, b1, w2, b2, w3, b3 = params
        h = F.relu(F.linear(x, w1, b1))
        h = F.relu(F.linear(h, w2, b2))
        loss = F.cross_entropy(F.linear(h, w3, b3), y)
        loss.backward()
        with lib.no_grad():
            for p in params:
                p.data -= 0.01 * p.grad.data
                p.grad = None
    return step


@workload("mlp_loader_epoch", unit="epoch(10k)")
def mlp_loader_epoch(lib):
    """The same MLP trained through DataLoader + nn.Module + optim.SGD: one pass over 10,240 samples."""
    nn = lib.nn
    lib.manual_seed(0)
    model = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(),
                          nn.Linear(512, 10))
    opt = lib.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    xs, ys = _mlp_data(10240)
    data = lib.utils.data.TensorDataset(lib.from_numpy(xs), lib.from_numpy(ys))
    loader = lib.utils.data.DataLoader(data, batch_size=128, shuffle=True)

    def step():
        for x, y in loader:
            opt.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            opt.step()
    return step


def _cnn(net):
    def make(lib):
        from bench_cnn import make_step  # the networks and the step of benchmarks/bench_cnn.py

        return make_step(lib, net)
    make.__doc__ = f"bench_cnn.py's {net} training step (SGD with momentum)."
    return make


for _net in ("lenet", "cifar", "resnet20"):
    workload(_net, unit="batch")(_cnn(_net))


@workload("lstm", unit="batch")
def lstm(lib):
    """bench_lstm.py's step: Embedding(65, 128) -> 2-layer LSTM(256) -> Linear(256, 65) on (32, 64)
    character ids, cross-entropy, backward, clip_grad_norm_(1.0), Adam."""
    vocab, emb_dim, hidden, layers, steps, batch = 65, 128, 256, 2, 64, 32
    nn, F = lib.nn, lib.nn.functional
    lib.manual_seed(0)
    emb, rnn = nn.Embedding(vocab, emb_dim), nn.LSTM(emb_dim, hidden, layers, batch_first=True)
    head = nn.Linear(hidden, vocab)
    params = list(emb.parameters()) + list(rnn.parameters()) + list(head.parameters())
    opt = lib.optim.Adam(params, lr=2e-3)
    ids = np.random.default_rng(0).integers(0, vocab, (batch, steps + 1)).astype(np.int64)
    d = lib.from_numpy(ids)
    x, y = d[:, :-1], d[:, 1:].reshape(-1)

    def step():
        out, _ = rnn(emb(x))
        loss = F.cross_entropy(head(out).reshape(-1, vocab), y)
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
    return step


# `run.py --against COMMIT` by default: the training workloads and the framework-overhead chain
AGAINST = ("mlp_step", "lenet", "cifar", "resnet20", "lstm", "overhead_chain200")
