"""Benchmark workloads, each written twice: once for Axonal and once for PyTorch.

A workload is a function `make(lib, init=None) -> step` where `lib` is the imported module (axonal
or torch) and `step()` runs one iteration. Both versions are written with the same calls wherever
the APIs agree, which is the point: the Axonal version is the PyTorch program with the import
changed. A training workload's step returns its loss, and `init(model)` (see `same_weights`), when
given, overwrites the model's random weights, so that tests/benchmarks can check that both
frameworks compute the same losses from the same weights.
"""
import math

import numpy as np

REGISTRY = {}
TRAINING = []  # the training workloads: side by side from the same weights, the same losses


def workload(name, unit="iter", training=True):
    def deco(fn):
        REGISTRY[name] = (fn, unit)
        if training:
            TRAINING.append(name)
        return fn
    return deco


def same_weights(lib, seed=0):
    """An `init(model)` that sets every parameter from one NumPy generator, in the order of
    `named_parameters()` (the same in both frameworks for the same module tree): tensors of rank
    >= 2 get N(0, 1/fan_in) with fan_in the product of the trailing dimensions, vectors that are
    not constant (biases) U(-0.1, 0.1) / sqrt(n); constant vectors (norm layers' ones and zeros)
    keep their value."""
    def init(model):
        rng = np.random.default_rng(seed)
        with lib.no_grad():
            for _, p in model.named_parameters():
                shape = tuple(p.shape)
                if len(shape) >= 2:
                    a = rng.standard_normal(shape) / math.sqrt(math.prod(shape[1:]))
                else:
                    cur = p.detach().numpy()
                    if cur.size and (cur == cur.flat[0]).all():
                        continue
                    a = rng.uniform(-0.1, 0.1, shape) / math.sqrt(max(1, cur.size))
                p.copy_(lib.from_numpy(a.astype(np.float32)))
    return init


@workload("overhead_chain200", training=False)
def overhead_chain200(lib, init=None):
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
def mlp_step(lib, init=None):
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
        return loss
    return step


@workload("mlp_loader_epoch", unit="epoch(10k)", training=False)  # shuffles differ
def mlp_loader_epoch(lib, init=None):
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
    def make(lib, init=None):
        from bench_cnn import make_step  # the networks and the step of benchmarks/bench_cnn.py

        return make_step(lib, net, init)
    make.__doc__ = f"bench_cnn.py's {net} training step (SGD with momentum)."
    return make


for _net in ("lenet", "cifar", "resnet20", "resnet20_cifar"):
    workload(_net, unit="batch")(_cnn(_net))


@workload("lstm", unit="batch")
def lstm(lib, init=None):
    """bench_lstm.py's step: Embedding(65, 128) -> 2-layer LSTM(256) -> Linear(256, 65) on (32, 64)
    character ids, cross-entropy, backward, clip_grad_norm_(1.0), Adam."""
    vocab, emb_dim, hidden, layers, steps, batch = 65, 128, 256, 2, 64, 32
    nn, F = lib.nn, lib.nn.functional
    lib.manual_seed(0)
    emb, rnn = nn.Embedding(vocab, emb_dim), nn.LSTM(emb_dim, hidden, layers, batch_first=True)
    head = nn.Linear(hidden, vocab)
    if init is not None:
        for m in (emb, rnn, head):
            init(m)
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
        return loss
    return step


def _gpt(lib, d, T, batch, layers=4, heads=4, vocab=96, init=None):
    """A nanoGPT-style language model written as nanoGPT writes it: token and position embeddings,
    pre-norm blocks (LayerNorm, one Linear for q, k, v split into heads, causal
    scaled_dot_product_attention, output projection; LayerNorm, Linear 4d, GELU, Linear), a final
    LayerNorm and a head tied to the token embedding; AdamW (weight decay 0.1), dropout 0."""
    nn, F = lib.nn, lib.nn.functional

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln_1, self.c_attn, self.c_proj = nn.LayerNorm(d), nn.Linear(d, 3 * d), nn.Linear(d, d)
            self.ln_2, self.c_fc, self.c_out = nn.LayerNorm(d), nn.Linear(d, 4 * d), nn.Linear(4 * d, d)

        def forward(self, x):
            B, T, C = x.size()
            q, k, v = self.c_attn(self.ln_1(x)).split(C, dim=2)
            q = q.view(B, T, heads, C // heads).transpose(1, 2)
            k = k.view(B, T, heads, C // heads).transpose(1, 2)
            v = v.view(B, T, heads, C // heads).transpose(1, 2)
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            y = y.transpose(1, 2).contiguous().view(B, T, C)
            x = x + self.c_proj(y)
            return x + self.c_out(F.gelu(self.c_fc(self.ln_2(x))))

    class GPT(nn.Module):
        def __init__(self):
            super().__init__()
            self.wte, self.wpe = nn.Embedding(vocab, d), nn.Embedding(T, d)
            self.h = nn.ModuleList([Block() for _ in range(layers)])
            self.ln_f = nn.LayerNorm(d)
            self.lm_head = nn.Linear(d, vocab, bias=False)
            self.lm_head.weight = self.wte.weight  # weight tying, as nanoGPT
            self.apply(self._init_weights)

        def _init_weights(self, module):  # nanoGPT's: N(0, 0.02) weights, zero biases
            if isinstance(module, nn.Linear):
                nn.init.normal_(module.weight, mean=0.0, std=0.02)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
            elif isinstance(module, nn.Embedding):
                nn.init.normal_(module.weight, mean=0.0, std=0.02)

        def forward(self, idx, targets):
            pos = lib.arange(0, idx.size(1), dtype=lib.long)
            x = self.wte(idx) + self.wpe(pos)
            for block in self.h:
                x = block(x)
            logits = self.lm_head(self.ln_f(x))
            return F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1))

    lib.manual_seed(0)
    model = GPT()
    if init is not None:
        init(model)
    opt = lib.optim.AdamW(model.parameters(), lr=3e-4, betas=(0.9, 0.95), weight_decay=0.1)
    rng = np.random.default_rng(0)
    chunks = [rng.integers(0, vocab, (batch, T + 1)).astype(np.int64) for _ in range(4)]
    data = [(lib.from_numpy(c[:, :-1].copy()), lib.from_numpy(c[:, 1:].copy())) for c in chunks]
    state = {"i": 0}

    def step():
        x, y = data[state["i"] % len(data)]
        state["i"] += 1
        loss = model(x, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        lib.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        return loss
    return step


@workload("gpt", unit="batch")
def gpt(lib, init=None):
    """GPT training step: 4 layers, d=256, 4 heads, T=128, batch 16, vocab 96, AdamW."""
    return _gpt(lib, 256, 128, 16, init=init)


@workload("gpt_offshape", unit="batch")
def gpt_offshape(lib, init=None):
    """The same GPT at another shape, so that nothing is tuned to one: d=384, T=64, batch 8."""
    return _gpt(lib, 384, 64, 8, init=init)


# Floating-point operations of one training step (forward + backward = 3 x the forward's
# multiply-adds x 2) counted over the matrix products only: the MLP's three layers, and the GPT's
# linear layers, attention products (causal: the full T x T products are computed) and head.
def _mlp_flops(batch=128):
    return 3 * 2 * batch * (784 * 512 + 512 * 512 + 512 * 10)


def _gpt_flops(d, T, batch, layers=4, vocab=96):
    per_token = layers * (3 * d * d + d * d + 8 * d * d) + d * vocab
    attention = layers * 2 * T * T * d  # QK^T and AV over all heads, per sequence
    return 3 * 2 * (batch * T * per_token + batch * attention)


FLOPS = {"mlp_step": _mlp_flops(), "gpt": _gpt_flops(256, 128, 16),
         "gpt_offshape": _gpt_flops(384, 64, 8)}

# `run.py --against COMMIT` by default: the training workloads and the framework-overhead chain
AGAINST = ("mlp_step", "lenet", "cifar", "resnet20", "lstm", "gpt", "overhead_chain200")
