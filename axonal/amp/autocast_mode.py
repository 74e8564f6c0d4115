"""`autocast`: PyTorch's automatic mixed precision, as an op interception layer.

Inside `with autocast("cpu", dtype=bfloat16):` every op call passes through a transform layer
(`_config._state.layers`, the stack forward AD and vmap use; see
`autograd.function._through_layers`), which looks up the op's class in PyTorch's CPU autocast
lists (aten/src/ATen/autocast_mode.cpp, `TORCH_LIBRARY_IMPL(aten, AutocastCPU, m)`):

* lower precision (matmul, mm, bmm, linear, conv*, conv_transpose*, einsum through bmm):
  the floating inputs (not float64) are rounded to the autocast dtype, the op computes in float32
  (Axonal's BLAS has no bfloat16/float16 products; PyTorch's CPU kernels also accumulate in float32)
  and the result is rounded to the autocast dtype. The rounding steps are ordinary casts in the
  graph, so the gradients of float32 parameters come back in float32, rounded where PyTorch's are.
* float32 (the losses, prod, ...): floating inputs of lower precision are cast up to float32.
  Losses that are compositions of other ops (mse_loss, nll_loss ...) are wrapped at their entry in
  `nn.functional` by `fp32_op`, the same cast done before the composite runs.
* reductions and normalizations (sum, cumsum, norm, softmax, log_softmax, layer/group norm) of
  float16/bfloat16 inputs compute in float32 and round once, as PyTorch's CPU kernels accumulate.
* everything else runs in the dtypes it is given (a bfloat16 relu gives bfloat16), and ops that
  combine dtypes promote as always (cat, stack, add).

Only tensors of the autocast's device type are touched. The layer costs nothing when no autocast
is active (an empty layer stack is the one check `Function.apply` makes).
"""
import functools
import warnings

from .. import _autocast_state, _config, backend, cuda
from .. import _dtype as _dt
from ..tensor import Tensor

__all__ = ["autocast", "custom_bwd", "custom_fwd", "fp32_op", "get_autocast_dtype",
           "is_autocast_available", "is_autocast_enabled"]

# Axonal's Function classes on PyTorch's CPU lists (by class name: the classes live in ops and
# nn.functional, above this module's imports)
LOWER_PRECISION = frozenset({"MatMul", "Linear", "ConvFn", "ConvTFn", "ConvWFn", "Einsum"})
FP32 = frozenset({"SoftmaxCrossEntropy", "BinaryCrossEntropy", "BCEWithLogits", "Prod"})
# ops whose PyTorch CPU kernels accumulate float16/bfloat16 inputs in float32 ("opmath") and
# round once: under autocast they compute in float32 and round the result to the input's dtype
OPMATH = frozenset({"Sum", "Cumsum", "Norm2", "Softmax", "LogSoftmax", "Normalize"})
# nn.functional entry points on the float32 list whose body is a composite of other ops
FP32_FUNCTIONALS = frozenset({
    "mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss", "kl_div", "nll_loss", "cross_entropy",
    "binary_cross_entropy", "binary_cross_entropy_with_logits", "poisson_nll_loss",
    "margin_ranking_loss", "hinge_embedding_loss", "soft_margin_loss", "cosine_embedding_loss",
    "triplet_margin_loss", "multi_margin_loss", "multilabel_margin_loss", "ctc_loss",
    "multilabel_soft_margin_loss", "gaussian_nll_loss"})

_DEFAULT_DTYPE = {"cpu": "bfloat16", "cuda": "float16"}
_SUPPORTED = {"cpu": ("bfloat16", "float16"), "cuda": ("bfloat16", "float16", "float32")}


_local = _autocast_state.local


def is_autocast_available(device_type) -> bool:
    return device_type in _DEFAULT_DTYPE


def is_autocast_enabled(device_type=None) -> bool:
    """Whether autocast is on for `device_type` (None: "cuda", PyTorch's legacy default)."""
    return _local.on.get("cuda" if device_type is None else device_type) is not None


def get_autocast_dtype(device_type):
    return _dt.to_dtype(_local.dtype.get(device_type, _DEFAULT_DTYPE.get(device_type, "float32")))


def _eligible(t, device_type):
    """A floating tensor autocast may cast: not float64, on the autocast's device type."""
    return (type(t) is Tensor or isinstance(t, Tensor)) and t._data.dtype.kind in "fV" \
        and t._data.dtype.itemsize < 8 and t.device.type == device_type


class _Layer:
    """The transform layer of one active autocast region (see the module docstring)."""

    __slots__ = ("device_type", "low")

    def __init__(self, device_type, dtype):
        self.device_type, self.low = device_type, dtype

    def _cast(self, args, npd, via_low=False):
        out = []
        for a in args:
            if _eligible(a, self.device_type):
                if via_low and a._data.dtype != self.low.np:
                    a = a.to(self.low)  # round to the low dtype, as PyTorch's cast
                if a._data.dtype != npd:
                    a = a.to(npd)
            elif isinstance(a, (list, tuple)) and a and isinstance(a[0], Tensor):
                a = type(a)(self._cast(a, npd, via_low))
            out.append(a)
        return out

    def __call__(self, cls, args, kwargs):
        name = cls.__name__
        if name in LOWER_PRECISION:
            if self.low is _dt.float32:
                return cls.apply(*self._cast(args, _dt.float32.np), **kwargs)
            cast = self._cast(args, _dt.float32.np, via_low=True)
            out = cls.apply(*cast, **kwargs)
            if isinstance(out, Tensor) and out._data.dtype == _dt.float32.np and \
                    any(c is not a for c, a in zip(cast, args)):  # float64 operands: untouched
                return out.to(self.low)
            return out
        if name in FP32:
            return cls.apply(*self._cast(args, _dt.float32.np), **kwargs)
        if name in OPMATH:
            low = next((a._data.dtype for a in args if isinstance(a, Tensor)
                        and a._data.dtype.itemsize == 2 and a._data.dtype.kind in "fV"), None)
            if low is not None:
                out = cls.apply(*[a.to(_dt.float32) if isinstance(a, Tensor) and a._data.dtype
                                  == low else a for a in args], **kwargs)
                if isinstance(out, Tensor) and out._data.dtype == _dt.float32.np:
                    return out.to(_dt.from_numpy_dtype(low))
                return out
        return cls.apply(*args, **kwargs)


def fp32_op(fn):
    """Wrap an nn.functional entry on PyTorch's float32 list: under autocast its floating inputs
    of lower precision are cast to float32 first (outside autocast: one check, then `fn`)."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        if _config._state.layers:
            for layer in _local.on.values():
                if layer is not None:
                    args = layer._cast(args, _dt.float32.np)
                    kwargs = dict(zip(kwargs, layer._cast(kwargs.values(), _dt.float32.np)))
        return fn(*args, **kwargs)
    return wrapper


class autocast:
    """`torch.autocast(device_type, dtype=None, enabled=True, cache_enabled=None)`: a context
    manager and a decorator. The default dtype is bfloat16 on "cpu", float16 on "cuda"; "cpu"
    accepts bfloat16 and float16 (others warn and disable it, as PyTorch). Nested regions
    replace the outer one's dtype; `enabled=False` turns autocast off inside."""

    def __init__(self, device_type, dtype=None, enabled=True, cache_enabled=None):
        if not isinstance(device_type, str):
            raise ValueError(f"Expected `device_type` of type `str`, got: `{type(device_type)}`")
        if not is_autocast_available(device_type):
            backend.Device(device_type)  # not a device type at all: PyTorch's parser error
            raise RuntimeError(f"User specified an unsupported autocast device_type "
                               f"'{device_type}': Axonal keeps tensors on 'cpu' and 'cuda'")
        self.device_type, self.fast_dtype = device_type, _dt.to_dtype(
            dtype if dtype is not None else get_autocast_dtype(device_type))
        self._enabled, self._cache_enabled = bool(enabled), cache_enabled
        if device_type == "cuda" and enabled:
            if not cuda.is_available():
                warnings.warn("CUDA is not available or torch_xla is imported. Disabling "
                              "autocast.", UserWarning, stacklevel=2)
                self._enabled = False
        if self._enabled and self.fast_dtype.name not in _SUPPORTED[device_type]:
            if device_type == "cpu":
                warnings.warn("In CPU autocast, but the target dtype is not supported. Disabling "
                              "autocast.\nCPU Autocast only supports dtypes of torch.bfloat16, "
                              "torch.float16 currently.", UserWarning, stacklevel=2)
            else:
                warnings.warn(f"In {device_type} autocast, but the target dtype "
                              f"{self.fast_dtype} is not supported. Disabling autocast.",
                              UserWarning, stacklevel=2)
            self._enabled = False

    def __enter__(self):
        state = _config._state
        self._saved = (state.layers, _local.on[self.device_type],
                       _local.dtype.get(self.device_type))
        previous = _local.on[self.device_type]
        layers = tuple(la for la in state.layers if la is not previous)
        if self._enabled:
            layer = _Layer(self.device_type, self.fast_dtype)
            _local.on[self.device_type] = layer
            _local.dtype[self.device_type] = self.fast_dtype.name
            layers = (*layers, layer)
        else:
            _local.on[self.device_type] = None
        self._layer = _local.on[self.device_type]
        state.layers = layers
        return self

    def __exit__(self, *exc):
        state = _config._state
        saved_layers, on, dtype = self._saved
        # layers pushed inside this region and not popped (none, normally) stay
        extra = tuple(la for la in state.layers if la not in saved_layers and la is not self._layer)
        state.layers = saved_layers + extra
        _local.on[self.device_type] = on
        if dtype is None:
            _local.dtype.pop(self.device_type, None)
        else:
            _local.dtype[self.device_type] = dtype
        return False

    def __call__(self, func):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with autocast(self.device_type, self.fast_dtype, self._enabled, self._cache_enabled):
                return func(*args, **kwargs)
        return wrapper


def custom_fwd(fwd=None, *, device_type="cuda", cast_inputs=None):
    """For the `forward` of a custom autograd Function: with `cast_inputs`, its floating inputs
    are cast to that dtype and it runs with autocast off; without, it runs as called."""
    if fwd is None:
        return functools.partial(custom_fwd, device_type=device_type, cast_inputs=cast_inputs)

    @functools.wraps(fwd)
    def wrapper(*args, **kwargs):
        if cast_inputs is None or not is_autocast_enabled(device_type):
            return fwd(*args, **kwargs)
        npd = _dt.to_dtype(cast_inputs)
        cast = [a.to(npd) if _eligible(a, device_type) else a for a in args]
        with autocast(device_type, enabled=False):
            return fwd(*cast, **kwargs)
    return wrapper


def custom_bwd(bwd=None, *, device_type="cuda"):
    """For the `backward` of a custom autograd Function: runs as called (Axonal's backward does
    not run under autocast unless the caller's region is still open)."""
    if bwd is None:
        return functools.partial(custom_bwd, device_type=device_type)
    return bwd


# torch's top-level spellings of the queries
def is_autocast_cpu_enabled() -> bool:
    return is_autocast_enabled("cpu")


def get_autocast_cpu_dtype():
    return get_autocast_dtype("cpu")


def get_autocast_gpu_dtype():
    return get_autocast_dtype("cuda")
