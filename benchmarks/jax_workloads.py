"""Reference columns for benchmarks/run.py --jax: the MLP and GPT steps of workloads.py written in
JAX's idiom (pure functions, one `jax.jit` over forward, backward and the update), the same shapes,
data and update rules. JAX is not a dependency of Axonal or of its tests: run.py imports it from
`--jax-path` (default ~/.cache/axonal/jax-ref, where `pip install --target` put it) in the worker
process only. The first call (tracing and XLA compilation) is reported apart, as torch.compile's.
"""
import math

import numpy as np

from workloads import _mlp_data


def mlp_step():
    import jax
    import jax.numpy as jnp

    g = np.random.default_rng(1)
    shapes = [(512, 784), (512,), (512, 512), (512,), (10, 512), (10,)]
    params = [jnp.asarray((g.standard_normal(s) * 0.03).astype(np.float32)) for s in shapes]
    xs, ys = _mlp_data(128 * 8)
    batches = [(jnp.asarray(xs[i:i + 128]), jnp.asarray(ys[i:i + 128]))
               for i in range(0, len(xs), 128)]

    def loss_fn(p, x, y):
        w1, b1, w2, b2, w3, b3 = p
        h = jax.nn.relu(x @ w1.T + b1)
        h = jax.nn.relu(h @ w2.T + b2)
        logits = h @ w3.T + b3
        return -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(logits), y[:, None], 1))

    @jax.jit
    def update(p, x, y):
        loss, grads = jax.value_and_grad(loss_fn)(p, x, y)
        return [w - 0.01 * gw for w, gw in zip(p, grads)], loss

    state = {"i": 0, "p": params}

    def step():
        x, y = batches[state["i"] % len(batches)]
        state["i"] += 1
        state["p"], loss = update(state["p"], x, y)
        return loss.block_until_ready()
    return step


def _gpt(d, T, batch, layers=4, heads=4, vocab=96):
    import jax
    import jax.numpy as jnp

    rng = np.random.default_rng(0)

    def w(*shape):
        return jnp.asarray((rng.standard_normal(shape) / math.sqrt(shape[-1])).astype(np.float32))

    def zeros(n):
        return jnp.zeros(n, jnp.float32)

    blocks = [dict(ln1=(jnp.ones(d), zeros(d)), attn=(w(3 * d, d), zeros(3 * d)),
                   proj=(w(d, d), zeros(d)), ln2=(jnp.ones(d), zeros(d)),
                   fc=(w(4 * d, d), zeros(4 * d)), out=(w(d, 4 * d), zeros(d)))
              for _ in range(layers)]
    params = dict(wte=w(vocab, d), wpe=w(T, d), h=blocks, lnf=(jnp.ones(d), zeros(d)))

    def ln(x, p):
        mu = x.mean(-1, keepdims=True)
        var = ((x - mu) ** 2).mean(-1, keepdims=True)
        return (x - mu) / jnp.sqrt(var + 1e-5) * p[0] + p[1]

    def lin(x, p):
        return x @ p[0].T + p[1]

    mask = jnp.tril(jnp.ones((T, T), bool))

    def loss_fn(p, idx, tgt):
        x = p["wte"][idx] + p["wpe"][jnp.arange(T)]
        for b in p["h"]:
            q, k, v = jnp.split(lin(ln(x, b["ln1"]), b["attn"]), 3, axis=-1)
            q, k, v = (t.reshape(batch, T, heads, d // heads).transpose(0, 2, 1, 3)
                       for t in (q, k, v))
            att = jnp.where(mask, q @ k.transpose(0, 1, 3, 2) / math.sqrt(d // heads), -jnp.inf)
            y = (jax.nn.softmax(att, -1) @ v).transpose(0, 2, 1, 3).reshape(batch, T, d)
            x = x + lin(y, b["proj"])
            x = x + lin(jax.nn.gelu(lin(ln(x, b["ln2"]), b["fc"]), approximate=False), b["out"])
        logits = ln(x, p["lnf"]) @ p["wte"].T  # the head tied to the token embedding
        logp = jax.nn.log_softmax(logits.reshape(-1, vocab))
        return -jnp.mean(jnp.take_along_axis(logp, tgt.reshape(-1, 1), 1))

    lr, b1, b2, eps, wd = 3e-4, 0.9, 0.95, 1e-8, 0.1

    @jax.jit
    def update(p, m, v, t, idx, tgt):
        loss, g = jax.value_and_grad(loss_fn)(p, idx, tgt)
        norm = jnp.sqrt(sum(jnp.sum(x * x) for x in jax.tree_util.tree_leaves(g)))
        g = jax.tree_util.tree_map(lambda x: x * jnp.minimum(1.0, 1.0 / (norm + 1e-6)), g)
        m = jax.tree_util.tree_map(lambda a, b_: b1 * a + (1 - b1) * b_, m, g)
        v = jax.tree_util.tree_map(lambda a, b_: b2 * a + (1 - b2) * b_ * b_, v, g)
        c1, c2 = 1 - b1 ** t, 1 - b2 ** t
        p = jax.tree_util.tree_map(
            lambda w_, a, b_: w_ * (1 - lr * wd) - lr * (a / c1) / (jnp.sqrt(b_ / c2) + eps),
            p, m, v)
        return p, m, v, loss

    chunks = [rng.integers(0, vocab, (batch, T + 1)).astype(np.int32) for _ in range(4)]
    data = [(jnp.asarray(c[:, :-1]), jnp.asarray(c[:, 1:])) for c in chunks]
    zeros_like = jax.tree_util.tree_map(jnp.zeros_like, params)
    state = {"i": 0, "p": params, "m": zeros_like, "v": zeros_like}

    def step():
        x, y = data[state["i"] % len(data)]
        state["i"] += 1
        state["p"], state["m"], state["v"], loss = update(
            state["p"], state["m"], state["v"], float(state["i"]), x, y)
        return loss.block_until_ready()
    return step


REGISTRY = {"mlp_step": mlp_step, "gpt": lambda: _gpt(256, 128, 16),
            "gpt_offshape": lambda: _gpt(384, 64, 8)}
