"""Toy data: the TensorFlow Playground's two-dimensional generators, moons, and the Mackey-Glass
time series (the chaotic benchmark of reservoir computing, `mackey_glass`).

The formulas are those of tensorflow/playground `src/dataset.ts`, vectorized. Points lie in about
[-6, 6]^2. Where the Playground adds noise to a point it does so only to *compute the label*: the point
is drawn clean, a uniform offset times `noise` is added, and the label is read at the shifted spot. So
noise flips labels near the boundary while the points themselves keep the clean shape (circle, xor,
regression sets). For gauss and spiral the noise moves the points instead (wider Gaussians, jittered
arms), again as in the Playground. `noise` is the Playground's slider value / 100, i.e. 0.0 to 0.5.

Labels: the Playground uses -1/+1. Here classification labels are int64 0/1 (+1 -> 1, -1 -> 0) so they
feed `cross_entropy` / `BCEWithLogits` directly; `signed=True` returns the Playground's float32 -1/+1
(for a tanh output trained with squared error, as the Playground does). Regression targets are float32
in about [-1, 1].

Every maker takes `seed`: an int, an axonal/NumPy Generator, or None (one draw from axonal's default
generator, so `axonal.manual_seed` fixes the data too). Points are shuffled (the Playground shuffles
before its train/test cut), so `X[:k]` is a fair training part.
"""
import numpy as np

from ..utils.data import _bridge

N_CLASSIFY = 500  # the Playground's NUM_SAMPLES_CLASSIFY
N_REGRESS = 1200  # and NUM_SAMPLES_REGRESS


def _check(n_samples, noise):
    if int(n_samples) != n_samples or n_samples < 1:
        raise ValueError(f"n_samples must be a positive int, got {n_samples!r}")
    if noise < 0:
        raise ValueError(f"noise must be >= 0, got {noise}")
    return int(n_samples)


def _finish(rng, x, y, shuffle, signed):
    """Shuffle together, cast: X float32 (n, 2); y int64 0/1, or float32 -1/+1 if `signed`."""
    if shuffle:
        order = rng.permutation(len(x))
        x, y = x[order], y[order]
    x = np.ascontiguousarray(x, dtype=np.float32)
    if signed:
        return x, np.where(y > 0, 1.0, -1.0).astype(np.float32)
    return x, y.astype(np.int64)


def _halves(n):
    # the Playground loops `i < numSamples / 2` per class; we split n exactly: n // 2 and the rest
    return n - n // 2, n // 2


def make_circle(n_samples=N_CLASSIFY, noise=0.0, seed=None, shuffle=True, signed=False):
    """Label 1: disc of radius 2.5; label 0: ring 3.5 <= r <= 5. The label is whether the point
    shifted by U(-5, 5) * noise per axis lies within radius 2.5 of the origin."""
    n = _check(n_samples, noise)
    rng = _bridge.resolve_seed(seed)
    radius = 5.0
    parts = []
    for count, (r_lo, r_hi) in zip(_halves(n), ((0.0, radius * 0.5), (radius * 0.7, radius))):
        r = rng.uniform(r_lo, r_hi, count)
        angle = rng.uniform(0.0, 2 * np.pi, count)
        pts = np.stack([r * np.sin(angle), r * np.cos(angle)], axis=1)
        shift = rng.uniform(-radius, radius, (count, 2)) * noise
        parts.append((pts, np.hypot(*(pts + shift).T) < radius * 0.5))
    x = np.concatenate([p for p, _ in parts])
    y = np.concatenate([lab for _, lab in parts])
    return _finish(rng, x, y, shuffle, signed)


def make_xor(n_samples=N_CLASSIFY, noise=0.0, seed=None, shuffle=True, signed=False):
    """x, y ~ U(-5, 5) pushed 0.3 away from the axes; label 1 where x * y >= 0 (quadrants I and III),
    read at the point shifted by U(-5, 5) * noise per axis."""
    n = _check(n_samples, noise)
    rng = _bridge.resolve_seed(seed)
    pts = rng.uniform(-5.0, 5.0, (n, 2))
    pts += np.where(pts > 0, 0.3, -0.3)  # the padding keeps a clear gap along both axes
    shifted = pts + rng.uniform(-5.0, 5.0, (n, 2)) * noise
    return _finish(rng, pts, shifted[:, 0] * shifted[:, 1] >= 0, shuffle, signed)


def make_gauss(n_samples=N_CLASSIFY, noise=0.0, seed=None, shuffle=True, signed=False):
    """Two Gaussian blobs: label 1 around (2, 2), label 0 around (-2, -2). The variance maps noise
    0..0.5 linearly to 0.5..4 (d3.scale.linear, not clamped), per axis."""
    n = _check(n_samples, noise)
    rng = _bridge.resolve_seed(seed)
    variance = 0.5 + noise * (4.0 - 0.5) / 0.5
    n_pos, n_neg = _halves(n)
    centers = np.concatenate([np.full((n_pos, 2), 2.0), np.full((n_neg, 2), -2.0)])
    x = centers + np.sqrt(variance) * rng.standard_normal((n, 2))
    y = np.concatenate([np.ones(n_pos, bool), np.zeros(n_neg, bool)])
    return _finish(rng, x, y, shuffle, signed)


def make_spiral(n_samples=N_CLASSIFY, noise=0.0, seed=None, shuffle=True, signed=False, classes=2):
    """Interleaved spiral arms, 1.75 turns out to radius 5; point i of an arm with n points:
    r = 5 i / n, t = 1.75 * 2 pi i / n + delta, (x, y) = (r sin t, r cos t) + U(-1, 1) * noise.

    With `classes=C` arm k (label k) has delta = 2 pi ((k + C/2) / C mod 1). For C = 2 this is the
    Playground: label 1 has delta 0 (its +1 arm), label 0 has delta pi (its -1 arm).
    """
    n = _check(n_samples, noise)
    if int(classes) != classes or classes < 2:
        raise ValueError(f"classes must be an int >= 2, got {classes!r}")
    if signed and classes != 2:
        raise ValueError("signed=True (labels -1/+1) needs classes=2")
    rng = _bridge.resolve_seed(seed)
    xs, ys = [], []
    for k in range(classes):
        count = n // classes + (k < n % classes)
        i = np.arange(count) / max(count, 1)
        delta = 2 * np.pi * (((k + classes / 2) / classes) % 1.0)
        r, t = 5 * i, 1.75 * i * 2 * np.pi + delta
        pts = np.stack([r * np.sin(t), r * np.cos(t)], axis=1)
        xs.append(pts + rng.uniform(-1.0, 1.0, (count, 2)) * noise)
        ys.append(np.full(count, k))
    return _finish(rng, np.concatenate(xs), np.concatenate(ys), shuffle, signed)


def make_moons(n_samples=N_CLASSIFY, noise=0.0, seed=None, shuffle=True, signed=False):
    """Two interleaving half circles (scikit-learn's make_moons): label 0 the upper arc of the unit
    circle, label 1 the lower arc shifted to (1, 0.5); noise is the std of Gaussian jitter (sklearn's
    meaning, not the Playground's). Points lie in about [-1, 2] x [-0.5, 1]."""
    n = _check(n_samples, noise)
    rng = _bridge.resolve_seed(seed)
    n_out, n_in = n // 2, n - n // 2
    t_out, t_in = np.linspace(0, np.pi, n_out), np.linspace(0, np.pi, n_in)
    x = np.concatenate([np.stack([np.cos(t_out), np.sin(t_out)], 1),
                        np.stack([1 - np.cos(t_in), 1 - np.sin(t_in) - 0.5], 1)])
    if noise:
        x = x + rng.normal(scale=noise, size=x.shape)
    y = np.concatenate([np.zeros(n_out, np.int64), np.ones(n_in, np.int64)])
    return _finish(rng, x, y, shuffle, signed)


def make_regress_plane(n_samples=N_REGRESS, noise=0.0, seed=None, shuffle=True):
    """x, y ~ U(-6, 6); target (x' + y') / 10 where (x', y') is the point shifted by U(-6, 6) * noise
    (d3 maps x + y from [-10, 10] to [-1, 1], unclamped). Returns X float32 (n, 2), y float32 (n,)."""
    n = _check(n_samples, noise)
    rng = _bridge.resolve_seed(seed)
    pts = rng.uniform(-6.0, 6.0, (n, 2))
    shifted = pts + rng.uniform(-6.0, 6.0, (n, 2)) * noise
    return _regression(rng, pts, shifted.sum(axis=1) / 10.0, shuffle)


def _regression(rng, x, target, shuffle):
    if shuffle:
        order = rng.permutation(len(x))
        x, target = x[order], target[order]
    return np.ascontiguousarray(x, dtype=np.float32), target.astype(np.float32)


# six bumps (cx, cy, sign) of the Playground's regress-gauss
_BUMPS = np.array([[-4, 2.5, 1], [0, 2.5, -1], [4, 2.5, 1], [-4, -2.5, -1], [0, -2.5, 1], [4, -2.5, -1]],
                  dtype=np.float64)


def make_regress_gauss(n_samples=N_REGRESS, noise=0.0, seed=None, shuffle=True):
    """x, y ~ U(-6, 6); six bumps of alternating sign at (-4|0|4, +-2.5). Each bump gives
    sign * clamp(1 - d / 2, 0, 1) at distance d; the target is the bump value of largest magnitude
    (the first one on ties, 0 far from all), read at the point shifted by U(-6, 6) * noise."""
    n = _check(n_samples, noise)
    rng = _bridge.resolve_seed(seed)
    pts = rng.uniform(-6.0, 6.0, (n, 2))
    shifted = pts + rng.uniform(-6.0, 6.0, (n, 2)) * noise
    dist = np.hypot(shifted[:, None, 0] - _BUMPS[:, 0], shifted[:, None, 1] - _BUMPS[:, 1])  # (n, 6)
    values = _BUMPS[:, 2] * np.clip(1.0 - dist / 2.0, 0.0, 1.0)
    pick = np.abs(values).argmax(axis=1)  # first maximum, like the strict '>' scan in dataset.ts
    target = values[np.arange(n), pick] + 0.0  # + 0.0 turns -0.0 into 0.0
    return _regression(rng, pts, target, shuffle)


# the Playground's dataset names (state.ts) -> makers; "moons" is ours
PLAYGROUND = {
    "circle": make_circle, "xor": make_xor, "gauss": make_gauss, "spiral": make_spiral,
    "moons": make_moons, "reg-plane": make_regress_plane, "reg-gauss": make_regress_gauss,
}


def make_playground(name, n_samples=None, noise=0.0, seed=None, **kwargs):
    """`make_playground("spiral", noise=0.1, seed=0)`: a set by its Playground name, with the
    Playground's default size (500 classification, 1200 regression) unless `n_samples` is given."""
    if name not in PLAYGROUND:
        raise ValueError(f"unknown playground dataset {name!r}; choose from {sorted(PLAYGROUND)}")
    maker = PLAYGROUND[name]
    if n_samples is None:
        n_samples = N_REGRESS if name.startswith("reg-") else N_CLASSIFY
    return maker(n_samples, noise=noise, seed=seed, **kwargs)


def mackey_glass(n_samples, tau=17, beta=0.2, gamma=0.1, n=10, dt=0.1, sample_every=10, x0=1.2,
                 washout=1000, seed=None):
    """The Mackey-Glass delay differential equation dx/dt = beta x(t - tau) / (1 + x(t - tau)^n)
    - gamma x(t), integrated with 4th-order Runge-Kutta (step dt, the delayed value linearly
    interpolated from the history) and sampled every `sample_every` steps (every 1.0 time unit by
    default). tau = 17 gives the classic mildly chaotic series. Returns a float64 array (n_samples,)
    after discarding `washout` samples. `seed` adds a tiny random perturbation to the constant
    initial history."""
    lag = round(tau / dt)
    total = (n_samples + washout) * sample_every
    rng = np.random.default_rng(seed)
    x = np.empty(total + lag + 1)
    x[:lag + 1] = x0 + (rng.uniform(-0.01, 0.01, lag + 1) if seed is not None else 0.0)

    def f(xt, xd):
        return beta * xd / (1.0 + xd ** n) - gamma * xt

    for i in range(lag, lag + total):
        d0, d1 = x[i - lag], x[i - lag + 1]
        dh = 0.5 * (d0 + d1)  # delayed value at the half step
        k1 = f(x[i], d0)
        k2 = f(x[i] + 0.5 * dt * k1, dh)
        k3 = f(x[i] + 0.5 * dt * k2, dh)
        k4 = f(x[i] + dt * k3, d1)
        x[i + 1] = x[i] + dt / 6.0 * (k1 + 2 * k2 + 2 * k3 + k4)
    series = x[lag + 1:][::sample_every]
    return series[washout:washout + n_samples]
