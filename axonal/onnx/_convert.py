"""ONNX nodes for Axonal's op calls: one converter per `Function` class (by name) and per
semantic call (a pooling, a normalization, an embedding: functions whose statistics or indices
are computed on raw arrays outside their `Function`, so the tracer records the whole call).

A converter gets the graph builder `g`, the output names, and the call's arguments; tensors among
the arguments are passed as their value names (`g.name(t)`), Python values as they are.
"""
import numpy as np

from .. import _dtype as _dt
from ..tensor import Tensor


def _operand(g, v, like):
    """A tensor's value name, or a Python number as a constant of `like`'s dtype."""
    if isinstance(v, Tensor):
        return g.name(v)
    return g.const(np.asarray(v, dtype=like._data.dtype if like is not None else np.float32))


def _binary(op_type):
    def convert(g, outs, a, b, *rest):
        like = a if isinstance(a, Tensor) else b
        g.node(op_type, [_operand(g, a, like), _operand(g, b, like)], outs)
    return convert


def _unary(op_type):
    def convert(g, outs, x, *rest):
        g.node(op_type, [g.name(x)], outs)
    return convert


def _rsqrt(g, outs, x):
    s = g.tmp()
    g.node("Sqrt", [g.name(x)], [s])
    g.node("Reciprocal", [s], outs)


def _linear(g, outs, x, w, b):
    ins = [g.name(x), g.name(w)] + ([g.name(b)] if b is not None else [])
    g.node("Gemm", ins, outs, transB=1)


def _conv(g, outs, x, w, b, geo, groups):
    sh, sw, pt, pb, pl, pr, dh, dw = geo
    ins = [g.name(x), g.name(w)] + ([g.name(b)] if b is not None else [])
    g.node("Conv", ins, outs, strides=[sh, sw], pads=[pt, pl, pb, pr], dilations=[dh, dw],
           group=groups, kernel_shape=list(w.shape[2:]))


def _conv_transpose(g, outs, x, w, geo, groups, x_shape):
    """ConvTFn (conv_transpose2d): pads p on both sides and the output_padding that gives the
    traced output size (Axonal's geo keeps p - output_padding as the end pad)."""
    sh, sw, pt, _, pl, _, dh, dw = geo
    kh, kw = w.shape[2:]
    full = [sh * (x.shape[2] - 1) + dh * (kh - 1) + 1 - 2 * pt,
            sw * (x.shape[3] - 1) + dw * (kw - 1) + 1 - 2 * pl]
    g.node("ConvTranspose", [g.name(x), g.name(w)], outs, strides=[sh, sw],
           pads=[pt, pl, pt, pl], dilations=[dh, dw], group=groups, kernel_shape=[kh, kw],
           output_padding=[int(x_shape[2]) - full[0], int(x_shape[3]) - full[1]])


def _reshape(g, outs, x, shape):
    shape = list(shape)
    # keep the leading (batch) dim dynamic: copy it (0) when unchanged, else infer it (-1)
    if shape and x.ndim and shape[0] == x.shape[0]:
        shape[0] = 0
    elif shape and -1 not in shape and 0 not in shape:
        shape[0] = -1
    g.node("Reshape", [g.name(x), g.const(np.array(shape, np.int64))], outs)


def _permute(g, outs, x, dims):
    g.node("Transpose", [g.name(x)], outs, perm=[int(d) for d in dims])


def _expand(g, outs, x, shape):
    g.node("Expand", [g.name(x), g.const(np.array(shape, np.int64))], outs)


def _softmax(op_type):
    def convert(g, outs, x, dim):
        g.node(op_type, [g.name(x)], outs, axis=int(dim))
    return convert


def _sum(g, outs, x, dims, keepdim):
    dims = list(range(x.ndim)) if dims is None else [int(d) for d in np.atleast_1d(dims)]
    g.node("ReduceSum", [g.name(x), g.const(np.array(dims, np.int64))], outs,
           keepdims=int(bool(keepdim)))


def _cat(g, outs, dim, *xs):
    g.node("Concat", [g.name(x) for x in xs], outs, axis=int(dim))


def _split(g, outs, x, sizes, dim):
    g.node("Split", [g.name(x), g.const(np.array(sizes, np.int64))], outs, axis=int(dim))


def _where(g, outs, cond, a, b):
    like = a if isinstance(a, Tensor) else b
    g.node("Where", [_operand(g, cond, None) if isinstance(cond, Tensor) else
                     g.const(np.asarray(cond, bool)), _operand(g, a, like), _operand(g, b, like)],
           outs)


def _pow(g, outs, a, b):
    like = a if isinstance(a, Tensor) else b
    g.node("Pow", [_operand(g, a, like), _operand(g, b, like)], outs)


def _neg(g, outs, x):
    g.node("Neg", [g.name(x)], outs)


def _clamp(g, outs, x, lo, hi):
    ins = [g.name(x), "" if lo is None else _operand(g, lo, x), "" if hi is None else
           _operand(g, hi, x)]
    g.node("Clip", ins, outs)


def _maximum(g, outs, a, b, take_max=True):
    g.node("Max" if take_max else "Min", [_operand(g, a, a), _operand(g, b, a)], outs)


def _cast(g, outs, x, npd):
    g.node("Cast", [g.name(x)], outs, to=g.onnx_dtype(np.dtype(npd)))


def _getitem(g, outs, x, key, basic):
    """Basic indexing: slices, integers and one Ellipsis, as Slice (+ Squeeze for integers)."""
    if not basic or any(k is None or isinstance(k, (Tensor, np.ndarray, list)) for k in key):
        raise NotImplementedError("axonal.onnx.export: only basic indexing (slices, integers, "
                                  "...) converts to ONNX")
    key = list(key)
    if Ellipsis in key:
        i = key.index(Ellipsis)
        key[i:i + 1] = [slice(None)] * (x.ndim - len(key) + 1)
    starts, ends, axes, steps, squeeze = [], [], [], [], []
    for axis, k in enumerate(key):
        if isinstance(k, slice):
            if k == slice(None):
                continue
            start, stop, step = k.indices(x.shape[axis])
            starts.append(start)
            ends.append(stop if stop >= 0 else -(2 ** 62))
            axes.append(axis)
            steps.append(step)
        else:
            k = int(k) % x.shape[axis]
            starts.append(k)
            ends.append(k + 1)
            axes.append(axis)
            steps.append(1)
            squeeze.append(axis)
    src = g.name(x)
    if not axes:
        g.node("Identity", [src], outs)
        return
    mid = g.tmp() if squeeze else outs[0]
    g.node("Slice", [src] + [g.const(np.array(v, np.int64)) for v in (starts, ends, axes, steps)],
           [mid])
    if squeeze:
        g.node("Squeeze", [mid, g.const(np.array(squeeze, np.int64))], outs)


def _triangle(g, outs, x, diagonal, upper):
    g.node("Trilu", [g.name(x), g.const(np.array(diagonal, np.int64))], outs, upper=int(upper))


def _gelu(g, outs, x, approximate="none"):
    """0.5 x (1 + erf(x / sqrt 2)), or the tanh form (ONNX's Gelu op needs opset 20)."""
    dt = x._data.dtype
    def c(v):
        return g.const(np.asarray(v, dt))
    xn = g.name(x)
    inner = g.tmp()
    if approximate == "tanh":
        x3, t = g.tmp(), g.tmp()
        g.node("Mul", [xn, xn], [t])
        g.node("Mul", [t, xn], [x3])
        a, s = g.tmp(), g.tmp()
        g.node("Mul", [x3, c(0.044715)], [a])
        g.node("Add", [xn, a], [s])
        u = g.tmp()
        g.node("Mul", [s, c(np.sqrt(2 / np.pi))], [u])
        g.node("Tanh", [u], [inner])
    else:
        u = g.tmp()
        g.node("Div", [xn, c(np.sqrt(2.0))], [u])
        g.node("Erf", [u], [inner])
    one, half = g.tmp(), g.tmp()
    g.node("Add", [inner, c(1.0)], [one])
    g.node("Mul", [xn, c(0.5)], [half])
    g.node("Mul", [half, one], outs)


def _leaky_relu(g, outs, x, slope):
    g.node("LeakyRelu", [g.name(x)], outs, alpha=float(slope))


def _elu(g, outs, x, alpha, scale):
    if scale == 1.0:
        g.node("Elu", [g.name(x)], outs, alpha=float(alpha))
    else:  # selu: scale * elu(x, alpha)
        g.node("Selu", [g.name(x)], outs, alpha=float(alpha), gamma=float(scale))


def _hardtanh(g, outs, x, lo, hi):
    dt = x._data.dtype
    g.node("Clip", [g.name(x), g.const(np.asarray(lo, dt)), g.const(np.asarray(hi, dt))], outs)


def _hardsigmoid(g, outs, x):
    g.node("HardSigmoid", [g.name(x)], outs, alpha=1.0 / 6.0, beta=0.5)  # PyTorch's slope


def _silu(g, outs, x):
    s = g.tmp()
    g.node("Sigmoid", [g.name(x)], [s])
    g.node("Mul", [g.name(x), s], outs)


FUNCTIONS = {
    "Add": _binary("Add"), "Sub": _binary("Sub"), "Mul": _binary("Mul"), "Div": _binary("Div"),
    "Pow": _pow, "Neg": _neg, "MatMul": _binary("MatMul"), "Linear": _linear, "ConvFn": _conv,
    "ConvTFn": _conv_transpose,
    "Relu": _unary("Relu"), "Sigmoid": _unary("Sigmoid"), "Tanh": _unary("Tanh"),
    "Exp": _unary("Exp"), "Log": _unary("Log"), "Sqrt": _unary("Sqrt"), "Abs": _unary("Abs"),
    "Erf": _unary("Erf"), "Sin": _unary("Sin"), "Cos": _unary("Cos"), "Rsqrt": _rsqrt,
    "Gelu": _gelu, "LeakyRelu": _leaky_relu, "Elu": _elu, "Hardtanh": _hardtanh,
    "Hardsigmoid": _hardsigmoid, "Hardswish": _unary("HardSwish"), "Silu": _silu, "Softmax": _softmax("Softmax"), "LogSoftmax": _softmax("LogSoftmax"),
    "Reshape": _reshape, "Permute": _permute, "Expand": _expand, "Sum": _sum, "Cat": _cat, "Split": _split,
    "Where": _where, "Clamp": _clamp, "Maximum": _maximum, "Cast": _cast, "GetItem": _getitem,
    "_Triangle": _triangle, "Clone": _unary("Identity"),
}


# -- semantic calls: (g, outs, *args, **kwargs) of the functional form -------------------------
def _pair(v):
    return [int(v), int(v)] if isinstance(v, (int, np.integer)) else [int(a) for a in v]


def _max_pool2d(g, outs, x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
                return_indices=False):
    if return_indices:
        raise NotImplementedError("axonal.onnx.export: max_pool2d(return_indices=True)")
    k = _pair(kernel_size)
    s = _pair(stride) if stride not in (None, ()) else k
    p = _pair(padding)
    g.node("MaxPool", [g.name(x)], outs, kernel_shape=k, strides=s, pads=[p[0], p[1], p[0], p[1]],
           dilations=_pair(dilation), ceil_mode=int(bool(ceil_mode)))


def _avg_pool2d(g, outs, x, kernel_size, stride=None, padding=0, ceil_mode=False,
                count_include_pad=True, divisor_override=None):
    if divisor_override is not None:
        raise NotImplementedError("axonal.onnx.export: avg_pool2d(divisor_override=...)")
    k = _pair(kernel_size)
    s = _pair(stride) if stride not in (None, ()) else k
    p = _pair(padding)
    g.node("AveragePool", [g.name(x)], outs, kernel_shape=k, strides=s,
           pads=[p[0], p[1], p[0], p[1]], ceil_mode=int(bool(ceil_mode)),
           count_include_pad=int(bool(count_include_pad)))


def _adaptive_avg_pool2d(g, outs, x, output_size):
    """GlobalAveragePool for 1x1; AveragePool when the input size is a multiple of the output
    size (then the windows are regular); a 1x1 input spread by Expand. Other sizes raise."""
    h, w = x.shape[-2:]
    size = _pair(output_size) if not isinstance(output_size, (tuple, list)) else \
        [h if o is None else int(o) for o in (output_size[0], output_size[1])]
    if size == [1, 1]:
        g.node("GlobalAveragePool", [g.name(x)], outs)
    elif h % size[0] == 0 and w % size[1] == 0:
        k = [h // size[0], w // size[1]]
        g.node("AveragePool", [g.name(x)], outs, kernel_shape=k, strides=k)
    elif (h, w) == (1, 1):
        g.node("Expand", [g.name(x), g.const(np.array([1, 1, *size], np.int64))], outs)
    else:
        raise NotImplementedError(f"axonal.onnx.export: adaptive_avg_pool2d from {h}x{w} to "
                                  f"{size[0]}x{size[1]} (irregular windows)")


def _layer_norm(g, outs, x, normalized_shape, weight=None, bias=None, eps=1e-5):
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    dt = x._data.dtype
    w = g.name(weight) if weight is not None else g.const(np.ones(shape, dt))
    ins = [g.name(x), w] + ([g.name(bias)] if bias is not None else [])
    g.node("LayerNormalization", ins, outs, axis=-len(shape), epsilon=float(eps))


def _batch_norm(g, outs, x, running_mean, running_var, weight=None, bias=None, training=False,
                momentum=0.1, eps=1e-5):
    if training or running_mean is None:
        raise NotImplementedError("axonal.onnx.export: batch_norm with batch statistics "
                                  "(export the model in eval mode)")
    c, dt = x.shape[1], x._data.dtype
    ins = [g.name(x), g.name(weight) if weight is not None else g.const(np.ones(c, dt)),
           g.name(bias) if bias is not None else g.const(np.zeros(c, dt)),
           g.name(running_mean), g.name(running_var)]
    g.node("BatchNormalization", ins, outs, epsilon=float(eps))


def _embedding(g, outs, input, weight, padding_idx=None, max_norm=None, *rest, **kwargs):
    if max_norm is not None:
        raise NotImplementedError("axonal.onnx.export: embedding(max_norm=...) renormalizes "
                                  "the weight in place")
    g.node("Gather", [g.name(weight), g.name(input)], outs, axis=0)


def _dropout(g, outs, input, p=0.5, training=False, inplace=False):
    if training:
        raise NotImplementedError("axonal.onnx.export: dropout in training mode (export the "
                                  "model in eval mode)")
    g.node("Identity", [g.name(input)], outs)


SEMANTIC = {"max_pool2d": _max_pool2d, "avg_pool2d": _avg_pool2d,
            "adaptive_avg_pool2d": _adaptive_avg_pool2d, "layer_norm": _layer_norm,
            "batch_norm": _batch_norm, "embedding": _embedding, "dropout": _dropout,
            "dropout1d": _dropout, "dropout2d": _dropout}

_ONNX_DTYPES = {"float32": 1, "uint8": 2, "int8": 3, "int16": 5, "int32": 6, "int64": 7,
                "bool": 9, "float16": 10, "float64": 11, "bfloat16": 16}


def onnx_dtype(npd):
    """TensorProto's element type for a NumPy dtype (bfloat16 through Axonal's dtype names)."""
    name = _dt.from_numpy_dtype(np.dtype(npd)).name
    return _ONNX_DTYPES[name]
