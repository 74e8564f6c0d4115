"""In-place optimizer updates with PyTorch's semantics (torch.optim.SGD, Adam, AdamW; no amsgrad,
no maximize): one fused pass over each parameter instead of 3-8 NumPy temporaries.

Scalars arrive as Python floats (float64) and are rounded to float32 once at the top of the kernel,
as PyTorch does for float32 parameters; float64 scalars in the loop would turn every multiply into
a float64 one and halve the vector width. Per-step scalars (bias corrections) are computed in float64
in Python, also as PyTorch does. The wrappers coerce every scalar (float(), bool(), int()) so each
kernel is only ever compiled for one signature.
"""
import numpy as np
from numba import njit, prange

from ._jit import JIT, PJIT, block_bounds, ftz_enter, ftz_exit, is_f32c, parallel_blocks
from ._thresholds import THRESHOLDS

_ONE = np.float32(1.0)


@njit(**JIT)
def _sgd_core(p, g, lr, wd):
    """p -= lr * (g + wd p)."""
    old = ftz_enter()
    lr32, wd32 = np.float32(lr), np.float32(wd)
    for i in range(p.size):
        p[i] -= lr32 * (g[i] + wd32 * p[i])
    ftz_exit(old)


@njit(**JIT)
def _momentum_core(p, g, buf, lr, mom, damp, nesterov, wd, first):
    """d = g + wd p; buf = d on the first step, else mom buf + (1 - damp) d;
    p -= lr * (d + mom buf if nesterov else buf)."""
    old = ftz_enter()
    lr32, mom32, wd32 = np.float32(lr), np.float32(mom), np.float32(wd)
    keep = np.float32(1.0 - damp)
    for i in range(p.size):
        d = g[i] + wd32 * p[i]
        b = d if first else mom32 * buf[i] + keep * d
        buf[i] = b
        step = d + mom32 * b if nesterov else b
        p[i] -= lr32 * step
    ftz_exit(old)


@njit(**JIT)
def _adam_core(p, g, m, v, lr, beta1, beta2, eps, wd, decoupled, step_size, bc2_sqrt):
    """m = lerp(m, g, 1 - beta1); v = beta2 v + (1 - beta2) g^2;
    p -= step_size * m / (sqrt(v) / bc2_sqrt + eps), step_size = lr / (1 - beta1^t),
    bc2_sqrt = sqrt(1 - beta2^t). Weight decay: AdamW (decoupled) scales p by 1 - lr wd first;
    Adam adds wd p to the gradient."""
    old = ftz_enter()
    w = np.float32(1.0 - beta1)
    b2 = np.float32(beta2)
    w2 = np.float32(1.0 - beta2)
    wd32 = np.float32(wd)
    shrink = np.float32(1.0 - lr * wd)
    ss = np.float32(step_size)
    inv_bc2 = np.float32(1.0 / bc2_sqrt)
    eps32 = np.float32(eps)
    low = (1.0 - beta1) < 0.5     # torch.lerp's two forms, both exact at their end point
    wm = np.float32(beta1)
    for i in range(p.size):
        pi = p[i]
        gi = g[i]
        if decoupled:
            pi = pi * shrink
        else:
            gi = gi + wd32 * pi
        mi = m[i]
        mi = mi + w * (gi - mi) if low else gi - (gi - mi) * wm
        vi = b2 * v[i] + w2 * gi * gi
        m[i] = mi
        v[i] = vi
        p[i] = pi - ss * (mi / (np.sqrt(vi) * inv_bc2 + eps32))
    ftz_exit(old)


@njit(**PJIT)
def _sgd_par(p, g, lr, wd, nb):
    for k in prange(nb):
        lo, hi = block_bounds(k, nb, p.size)
        _sgd_core(p[lo:hi], g[lo:hi], lr, wd)


@njit(**PJIT)
def _momentum_par(p, g, buf, lr, mom, damp, nesterov, wd, first, nb):
    for k in prange(nb):
        lo, hi = block_bounds(k, nb, p.size)
        _momentum_core(p[lo:hi], g[lo:hi], buf[lo:hi], lr, mom, damp, nesterov, wd, first)


@njit(**PJIT)
def _adam_par(p, g, m, v, lr, beta1, beta2, eps, wd, decoupled, step_size, bc2_sqrt, nb):
    for k in prange(nb):
        lo, hi = block_bounds(k, nb, p.size)
        _adam_core(p[lo:hi], g[lo:hi], m[lo:hi], v[lo:hi], lr, beta1, beta2, eps, wd,
                   decoupled, step_size, bc2_sqrt)


def _fast(name, p, *others):
    if p.size < THRESHOLDS[name][0] or not is_f32c(p):
        return False
    return all(is_f32c(o) and o.shape == p.shape for o in others)


def sgd_update(p, g, lr, weight_decay=0.0):
    """In place: p -= lr * (g + weight_decay * p). Returns p."""
    lr, wd = float(lr), float(weight_decay)
    if _fast("sgd_update", p, g):
        pf, gf = p.reshape(-1), g.reshape(-1)
        nb = parallel_blocks(p.size, THRESHOLDS["sgd_update"][1])
        if nb:
            _sgd_par(pf, gf, lr, wd, nb)
        else:
            _sgd_core(pf, gf, lr, wd)
        return p
    d = g + wd * p if wd != 0 else g
    p -= lr * d
    return p


def sgd_momentum_update(p, g, buf, lr, momentum, dampening=0.0, nesterov=False,
                        weight_decay=0.0, first_step=False):
    """In place, torch.optim.SGD with momentum: d = g + weight_decay p; buf = d if first_step
    else momentum buf + (1 - dampening) d; p -= lr (d + momentum buf if nesterov else buf).
    `buf` is preallocated by the caller (its content is ignored on the first step). Returns p."""
    lr, mom, damp, wd = float(lr), float(momentum), float(dampening), float(weight_decay)
    nesterov, first = bool(nesterov), bool(first_step)
    if _fast("sgd_momentum_update", p, g, buf):
        pf, gf, bf = p.reshape(-1), g.reshape(-1), buf.reshape(-1)
        nb = parallel_blocks(p.size, THRESHOLDS["sgd_momentum_update"][1])
        if nb:
            _momentum_par(pf, gf, bf, lr, mom, damp, nesterov, wd, first, nb)
        else:
            _momentum_core(pf, gf, bf, lr, mom, damp, nesterov, wd, first)
        return p
    d = g + wd * p if wd != 0 else g
    if first:
        buf[...] = d
    else:
        buf *= mom
        buf += (1.0 - damp) * d
    p -= lr * (d + mom * buf if nesterov else buf)
    return p


def adam_update(p, g, m, v, step, lr, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0,
                decoupled=False):
    """In place, torch.optim.Adam (decoupled=False) or AdamW (decoupled=True) without amsgrad.
    `step` is the 1-based step count after this update's increment; m and v are the first and
    second moment buffers (zeros before step 1). Returns p."""
    step, lr, beta1, beta2 = int(step), float(lr), float(beta1), float(beta2)
    eps, wd, decoupled = float(eps), float(weight_decay), bool(decoupled)
    if step < 1:
        raise ValueError("adam_update: step counts from 1")
    step_size = lr / (1.0 - beta1 ** step)
    bc2_sqrt = (1.0 - beta2 ** step) ** 0.5
    if _fast("adam_update", p, g, m, v):
        args = (p.reshape(-1), g.reshape(-1), m.reshape(-1), v.reshape(-1), lr, beta1, beta2, eps,
                wd, decoupled, step_size, bc2_sqrt)
        nb = parallel_blocks(p.size, THRESHOLDS["adam_update"][1])
        if nb:
            _adam_par(*args, nb)
        else:
            _adam_core(*args)
        return p
    if wd != 0:
        if decoupled:
            p *= 1.0 - lr * wd
        else:
            g = g + wd * p
    w = 1.0 - beta1
    if w < 0.5:
        m += w * (g - m)
    else:
        m[...] = g - (g - m) * beta1
    v *= beta2
    v += (1.0 - beta2) * g * g
    p -= step_size * (m / ((v ** 0.5) / bc2_sqrt + eps))
    return p


def warmup_cases():
    p, g = np.zeros(64, np.float32), np.ones(64, np.float32)
    m, v = np.zeros(64, np.float32), np.zeros(64, np.float32)
    adam = (0.1, 0.9, 0.999, 1e-8, 0.0, False, 1.0, 1.0)
    momentum = (0.1, 0.9, 0.0, False, 0.0, True)
    return [(_sgd_core, (p, g, 0.1, 0.0)), (_sgd_par, (p, g, 0.1, 0.0, 2)),
            (_momentum_core, (p, g, m, *momentum)), (_momentum_par, (p, g, m, *momentum, 2)),
            (_adam_core, (p, g, m, v, *adam)), (_adam_par, (p, g, m, v, *adam, 2))]
