"""Axonal's dtypes: thin named wrappers around NumPy dtypes, spelled like PyTorch's.

`axonal.float32` prints as `axonal.float32` and compares equal to itself; `.np` is the NumPy dtype that
the arrays actually use (CuPy shares NumPy's dtype objects).

bfloat16 (float32's 8-bit exponent with a 7-bit mantissa) is not a NumPy type: its arrays use
`ml_dtypes.bfloat16`, the extension type JAX uses, which NumPy's ufuncs, casts and promotion
understand (bfloat16 with float32 gives float32). Its NumPy `kind` is "V", not "f": code that asks
whether an array is floating point tests `kind in FLOAT_KINDS` ("fV"; no other "V" dtype can be
a tensor's, `from_numpy_dtype` refuses them). ml_dtypes is imported on the first use of
`bfloat16.np` (its import takes ~0.5 s, more than the rest of `import axonal`).
"""
import builtins
import importlib

import numpy as np

FLOAT_KINDS = "fV"  # NumPy's kind for float16/32/64, and "V" for ml_dtypes' bfloat16

from . import _config


class dtype:
    __slots__ = ("name", "np", "is_floating_point", "is_signed", "itemsize")

    def __init__(self, name: str):
        self.name = name
        self.np = np.dtype(name)
        self.is_floating_point = self.np.kind in FLOAT_KINDS
        self.is_signed = self.np.kind in "fiV"
        self.itemsize = self.np.itemsize

    def __repr__(self):
        return f"axonal.{self.name}"

    def __reduce__(self):  # dtypes are singletons; copying returns the same object
        return (to_dtype, (self.name,))


class _LazyDtype(dtype):
    """bfloat16: its NumPy dtype (ml_dtypes') is looked up on first use, then kept."""
    __slots__ = ("_np",)

    def __init__(self, name):  # a 16-bit float: floating point, signed, 2 bytes
        self.name, self._np = name, None
        self.is_floating_point, self.is_signed, self.itemsize = True, True, 2

    @property
    def np(self):
        if self._np is None:
            self._np = np.dtype(getattr(importlib.import_module("ml_dtypes"), self.name))
            _BY_NP[self._np] = self
        return self._np


float32 = dtype("float32")
float64 = dtype("float64")
float16 = dtype("float16")
bfloat16 = _LazyDtype("bfloat16")
int64 = dtype("int64")
int32 = dtype("int32")
int16 = dtype("int16")
int8 = dtype("int8")
uint8 = dtype("uint8")
bool_ = dtype("bool")

float = float32  # noqa: A001 - PyTorch aliases
double = float64
half = float16
long = int64
int = int32  # noqa: A001
short = int16

_BY_NP = {d.np: d for d in (float32, float64, float16, int64, int32, int16, int8, uint8, bool_)}
_BY_NAME = {d.name: d for d in list(_BY_NP.values()) + [bfloat16]}
_BY_NAME.update({"bool": bool_, "float": float32, "double": float64, "half": float16,
                 "long": int64, "int": int32, "short": int16})


def to_dtype(spec) -> dtype:
    """Accept an axonal dtype, a NumPy dtype/type, a name, or a Python type (float, int, bool)."""
    if isinstance(spec, dtype):
        return spec
    if spec is None or spec is builtins.float:
        return get_default_dtype()
    if spec is builtins.int:
        return int64
    if spec is builtins.bool:
        return bool_
    if isinstance(spec, str):
        name = spec.replace("torch.", "").replace("axonal.", "")
        if name in _BY_NAME:
            return _BY_NAME[name]
    try:
        npd = np.dtype(spec)
    except TypeError:
        raise TypeError(f"unknown dtype {spec!r}") from None
    return from_numpy_dtype(npd)


def from_numpy_dtype(npd) -> dtype:
    found = _BY_NP.get(npd)
    if found is None:
        if getattr(npd, "kind", None) == "V" and npd == bfloat16.np:  # (loads ml_dtypes once)
            return bfloat16
        raise TypeError(f"dtype {npd} is not supported by axonal (supported: "
                        f"{', '.join(sorted(set(d.name for d in _BY_NAME.values())))})")
    return found


def get_default_dtype() -> dtype:
    return _BY_NAME[_config.get_default_float()]


def set_default_dtype(d) -> None:
    _config.set_default_float(to_dtype(d).name)


def promote(a: dtype, b: dtype) -> dtype:
    """PyTorch's promotion for two tensors: a float beats an integer whatever its width."""
    if a is b:
        return a
    if a.is_floating_point != b.is_floating_point:
        return a if a.is_floating_point else b
    return from_numpy_dtype(np.promote_types(a.np, b.np))
