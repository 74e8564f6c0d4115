"""`axonal.backends`: the torch.backends switches scripts set, with a CPU-only PyTorch's defaults,
and the global switches that go with them (`use_deterministic_algorithms`,
`set_float32_matmul_precision`), re-exported at the top level as PyTorch has them.

They are flags only: Axonal does not call cuDNN (convolutions are matmuls through CuPy / NumPy),
has no MPS or oneDNN backend, computes float32 matmuls in full float32 (TF32 never), and its ops
are deterministic on the CPU. So setting them changes no result; they read back what was set,
coupled as PyTorch couples them (`backends.cuda.matmul.allow_tf32` is
`get_float32_matmul_precision() != "highest"`), so code written for PyTorch runs unchanged.
"""
import contextlib
import types
import warnings

from . import cuda as _cuda

__all__ = ["are_deterministic_algorithms_enabled", "cpu", "cuda", "cudnn", "get_deterministic_debug_mode",
           "get_float32_matmul_precision", "is_deterministic_algorithms_warn_only_enabled", "mkl",
           "mkldnn", "mps", "openmp", "set_deterministic_debug_mode",
           "set_float32_matmul_precision", "use_deterministic_algorithms"]

_state = {"precision": "highest", "deterministic": False, "warn_only": False}


# -- torch.use_deterministic_algorithms and its debug mode (0 default, 1 warn, 2 error) ---------
def use_deterministic_algorithms(mode, *, warn_only=False) -> None:
    """Ask for deterministic algorithms. Axonal's CPU ops are deterministic already; the flag is
    recorded and reads back as PyTorch's does."""
    if not isinstance(mode, bool):
        raise TypeError(f"use_deterministic_algorithms(): argument 'mode' must be bool, not "
                        f"{type(mode).__name__}")
    _state["deterministic"], _state["warn_only"] = mode, bool(warn_only) and mode


def are_deterministic_algorithms_enabled() -> bool:
    return _state["deterministic"]


def is_deterministic_algorithms_warn_only_enabled() -> bool:
    return _state["warn_only"]


def get_deterministic_debug_mode() -> int:
    if not _state["deterministic"]:
        return 0
    return 1 if _state["warn_only"] else 2


def set_deterministic_debug_mode(debug_mode) -> None:
    if isinstance(debug_mode, str):
        names = {"default": 0, "warn": 1, "error": 2}
        if debug_mode not in names:
            raise RuntimeError(f"invalid value of debug_mode, expected one of `default`, `warn`, "
                               f"`error`, but got {debug_mode}")
        debug_mode = names[debug_mode]
    if debug_mode not in (0, 1, 2):
        raise RuntimeError(f"invalid value of debug_mode, expected 0, 1, or 2, but got "
                           f"{debug_mode}")
    use_deterministic_algorithms(debug_mode > 0, warn_only=debug_mode == 1)


# -- torch.set_float32_matmul_precision -------------------------------------------------------
def set_float32_matmul_precision(precision) -> None:
    """'highest' (full float32), 'high' or 'medium' (PyTorch may then use TF32 or bfloat16
    passes on a GPU). Axonal always computes in full float32; the setting is recorded."""
    if precision not in ("highest", "high", "medium"):
        warnings.warn(f"{precision} is not one of 'highest', 'high', or 'medium'; the current"
                      f"setFloat32MatmulPrecision call has no effect.", UserWarning, stacklevel=2)
        return
    _state["precision"] = precision


def get_float32_matmul_precision() -> str:
    return _state["precision"]


class _Matmul:
    """backends.cuda.matmul: `allow_tf32` is the float32 matmul precision seen as a flag."""

    allow_fp16_reduced_precision_reduction = True
    allow_bf16_reduced_precision_reduction = True

    @property
    def allow_tf32(self):
        return _state["precision"] != "highest"

    @allow_tf32.setter
    def allow_tf32(self, value):
        _state["precision"] = "high" if value else "highest"


class _Flags(types.SimpleNamespace):
    """A backend's switches with PyTorch's `flags(...)` context manager (set, then restore)."""

    @contextlib.contextmanager
    def flags(self, **values):
        saved = {k: getattr(self, k) for k in values if k in self._names}
        for k, v in values.items():
            if k in self._names and v is not None:
                setattr(self, k, v)
        try:
            yield
        finally:
            for k, v in saved.items():
                setattr(self, k, v)


def _flags(**values):
    ns = _Flags(**values)
    ns._names = tuple(k for k, v in values.items() if not callable(v))
    return ns


# benchmark_limit: None on a CPU-only build (PyTorch reads it from cuDNN)
cudnn = _flags(enabled=True, benchmark=False, benchmark_limit=None, deterministic=False,
               allow_tf32=True, is_available=lambda: False, version=lambda: None)
# oneDNN, MKL and OpenMP are not Axonal's backends (NumPy's BLAS, or MKL's sgemm when installed)
mkldnn = _flags(enabled=True, deterministic=False, allow_tf32=True, is_available=lambda: False)
mkl = types.SimpleNamespace(is_available=lambda: False)
openmp = types.SimpleNamespace(is_available=lambda: False)
mps = types.SimpleNamespace(is_available=lambda: False, is_built=lambda: False)
cpu = types.SimpleNamespace(get_cpu_capability=lambda: "DEFAULT")


def _sdp(name):
    """backends.cuda's scaled-dot-product kernel switches (`flash_sdp_enabled()` and
    `enable_flash_sdp(bool)`): recorded; Axonal has one attention path."""
    on = {"v": True}
    return (lambda: on["v"]), (lambda enabled: on.__setitem__("v", bool(enabled)))


_flash, _enable_flash = _sdp("flash")
_mem, _enable_mem = _sdp("mem_efficient")
_math, _enable_math = _sdp("math")
_cudnn_sdp, _enable_cudnn_sdp = _sdp("cudnn")

cuda = types.SimpleNamespace(
    matmul=_Matmul(), is_built=lambda: _cuda.is_available(),
    flash_sdp_enabled=_flash, enable_flash_sdp=_enable_flash,
    mem_efficient_sdp_enabled=_mem, enable_mem_efficient_sdp=_enable_mem,
    math_sdp_enabled=_math, enable_math_sdp=_enable_math,
    cudnn_sdp_enabled=_cudnn_sdp, enable_cudnn_sdp=_enable_cudnn_sdp)
