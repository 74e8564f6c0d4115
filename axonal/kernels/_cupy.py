"""Device-side kernels for CuPy: fused element-wise activations and their backwards, row softmax /
log-softmax and their backwards, and the SGD / Adam(W) parameter updates, each one CUDA kernel
instead of a chain of CuPy calls (one launch and one pass over memory instead of several).

STATUS: NEVER RUN ON A GPU. This code was written on a CPU-only machine; its sources have not been
compiled by NVRTC nor checked against the NumPy paths. It is therefore OFF by default: `enabled()`
is False unless AXONAL_CUPY_KERNELS=1 is set or `enable(True)` is called, and no op calls it yet.
Turn it on only to test it on a GPU (issue 17, part B), against the CPU results.

Kernels are compiled lazily, on first use, and only when CuPy is present; CuPy comes from
`backend` (the one module that imports it). The formulas are the ones of the CPU kernels:
  relu      y = max(x, 0)                       dx = g * (x > 0)
  sigmoid   y = 1 / (1 + exp(-x))               dx = g * y * (1 - y)
  tanh      y = tanh(x)                         dx = g * (1 - y^2)
  silu      y = x * s, s = sigmoid(x)           dx = g * s * (1 + x (1 - s))
  gelu      y = x * Phi(x), Phi(x) = erfc(-x / sqrt 2) / 2   dx = g * (Phi(x) + x phi(x))
  softmax   y = exp(x - m) / sum exp(x - m)     dx = y * (g - sum(g y))
  log_softmax y = x - m - log sum exp(x - m)    dx = g - exp(y) * sum(g)
  sgd       d = g + wd p; b = mu b + (1 - damp) d (b = d on the first step); d = nesterov ? d + mu b : b
            p -= lr d
  adam      g += wd p (Adam) or p *= 1 - lr wd (AdamW); m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2
            p -= lr (m / bc1) / (sqrt(v / bc2) + eps)
"""
import os

from .. import backend

_ENABLED = [os.environ.get("AXONAL_CUPY_KERNELS", "") == "1"]
_COMPILED = {}

# name -> (in_params, out_params, operation): CuPy ElementwiseKernel sources, T the float type
_ELEMENTWISE = {
    "relu": ("T x", "T y", "y = x > (T)0 ? x : (T)0"),
    "relu_backward": ("T x, T g", "T dx", "dx = x > (T)0 ? g : (T)0"),
    "sigmoid": ("T x", "T y", "y = (T)1 / ((T)1 + exp(-x))"),
    "sigmoid_backward": ("T y, T g", "T dx", "dx = g * y * ((T)1 - y)"),
    "tanh": ("T x", "T y", "y = tanh(x)"),
    "tanh_backward": ("T y, T g", "T dx", "dx = g * ((T)1 - y * y)"),
    "silu": ("T x", "T y", "y = x / ((T)1 + exp(-x))"),
    "silu_backward": ("T x, T g", "T dx",
                      "T s = (T)1 / ((T)1 + exp(-x)); dx = g * s * ((T)1 + x * ((T)1 - s))"),
    "gelu": ("T x", "T y", "y = x * (T)0.5 * erfc(-x * (T)0.7071067811865476)"),
    "gelu_backward": ("T x, T g", "T dx",
                      "T cdf = (T)0.5 * erfc(-x * (T)0.7071067811865476);"
                      "T pdf = (T)0.3989422804014327 * exp((T)-0.5 * x * x);"
                      "dx = g * (cdf + x * pdf)"),
    "softmax_finish": ("T x, T m, T s", "T y", "y = exp(x - m) / s"),
    "log_softmax_finish": ("T x, T m, T s", "T y", "y = x - m - log(s)"),
    "softmax_backward_finish": ("T y, T g, T s", "T dx", "dx = y * (g - s)"),
    "log_softmax_backward_finish": ("T y, T g, T s", "T dx", "dx = g - exp(y) * s"),
    "sgd": ("T g, float64 lr, float64 mu, float64 damp, float64 wd, int32 nesterov, int32 first",
            "T p, T buf",
            "T d = g + (T)wd * p;"
            "if (mu != 0) {"
            "  buf = first ? d : (T)mu * buf + (T)(1 - damp) * d;"
            "  d = nesterov ? d + (T)mu * buf : buf;"
            "}"
            "p -= (T)lr * d"),
    "adam": ("T g, float64 lr, float64 b1, float64 b2, float64 eps, float64 bc1, float64 bc2, "
             "float64 wd, int32 decoupled",
             "T p, T m, T v",
             "T gg = g;"
             "if (decoupled) { p *= (T)(1 - lr * wd); } else { gg += (T)wd * p; }"
             "m = (T)b1 * m + (T)(1 - b1) * gg;"
             "v = (T)b2 * v + (T)(1 - b2) * gg * gg;"
             "p -= (T)lr * (m / (T)bc1) / (sqrt(v / (T)bc2) + (T)eps)"),
}

# name -> (in_params, out_params, map_expr, reduce_expr, post_map_expr, identity): ReductionKernels
_REDUCTION = {
    "sum_exp_shifted": ("T x, T m", "T s", "exp(x - m)", "a + b", "s = a", "0"),
    "sum_product": ("T g, T y", "T s", "g * y", "a + b", "s = a", "0"),
}


def enable(on=True):
    """Switch the device kernels on or off (they are off by default: never run on a GPU)."""
    _ENABLED[0] = bool(on)


def enabled() -> bool:
    """True when the kernels are switched on and CuPy (with a GPU) is present."""
    return _ENABLED[0] and backend.cuda_available()


def kernel(name):
    """The compiled kernel `name` (compiled on first use; CuPy caches the binary on disk)."""
    if not enabled():
        raise RuntimeError("the CuPy kernels are off (never run on a GPU yet): set "
                           "AXONAL_CUPY_KERNELS=1 or call axonal.kernels._cupy.enable()")
    k = _COMPILED.get(name)
    if k is None:
        cp = backend.cupy()
        if name in _ELEMENTWISE:
            k = cp.ElementwiseKernel(*_ELEMENTWISE[name], name=f"axonal_{name}")
        else:
            k = cp.ReductionKernel(*_REDUCTION[name], name=f"axonal_{name}")
        _COMPILED[name] = k
    return k


def activation(name, x):
    """relu / sigmoid / tanh / silu / gelu of a device array."""
    return kernel(name)(x)


def activation_backward(name, saved, g):
    """The input gradient; `saved` is x (relu, silu, gelu) or the output y (sigmoid, tanh)."""
    return kernel(f"{name}_backward")(saved, g)


def softmax(x, log=False):
    """Softmax or log-softmax over the last axis: one max, one fused sum of exp(x - m), one fused
    finishing pass."""
    m = x.max(axis=-1, keepdims=True)
    s = kernel("sum_exp_shifted")(x, m, axis=-1, keepdims=True)
    return kernel("log_softmax_finish" if log else "softmax_finish")(x, m, s)


def softmax_backward(y, g, log=False):
    """dx from the forward output y and the upstream g (last axis)."""
    if log:
        s = g.sum(axis=-1, keepdims=True)
        return kernel("log_softmax_backward_finish")(y, g, s)
    s = kernel("sum_product")(g, y, axis=-1, keepdims=True)
    return kernel("softmax_backward_finish")(y, g, s)


def sgd_step(p, g, buf, lr, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False,
             first=False):
    """One SGD step in place on p (and the momentum buffer buf, same shape)."""
    kernel("sgd")(g, lr, momentum, dampening, weight_decay, int(nesterov), int(first), p, buf)


def adam_step(p, g, m, v, step, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
              decoupled=False):
    """One Adam (decoupled=False) or AdamW step in place on p, m, v; `step` counts from 1."""
    b1, b2 = betas
    kernel("adam")(g, lr, b1, b2, eps, 1 - b1 ** step, 1 - b2 ** step, weight_decay,
                   int(decoupled), p, m, v)
