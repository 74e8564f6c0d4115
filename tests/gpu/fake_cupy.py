"""A strict stand-in for CuPy: device arrays that refuse to become host arrays implicitly.

`FakeDeviceArray` wraps a NumPy array (the "device memory") and answers like `cupy.ndarray` for
what Axonal uses: shape/dtype/strides/flags, operators, indexing, the array methods, `.get()`,
`.item()`, `.tolist()`, `.device.id`. This module plays the `cupy` module: its functions take and
return device arrays, computed by NumPy on the wrapped data.

Strictness (the point of the exercise): CuPy raises TypeError when NumPy tries to convert a device
array (`__array__`), and refuses to mix host and device arrays in one operation. Here the same, and
stricter than CuPy in two places, so that the tests catch hidden host round trips:
  * `__array_function__` raises (CuPy would dispatch `np.sum(device_array)` to itself; Axonal must
    ask `xp_of` for the module instead of calling NumPy);
  * `float()`, `int()` and `complex()` raise (CuPy synchronizes and converts; inside an op that is a
    hidden device-to-host copy). `.item()`, `.get()`, `.tolist()` and `bool()` are explicit/allowed.
NumPy ufuncs (`np.exp(device_array)`) are supported through `__array_ufunc__`, as CuPy does, as long
as no host array takes part.
"""
import contextlib
import sys
import types

import numpy as np


class HostDeviceMixError(TypeError):
    pass


def _unwrap(v, what):
    """Device arrays -> their data; host ndarrays refused (Python / NumPy scalars are fine)."""
    if isinstance(v, FakeDeviceArray):
        return v._a
    if isinstance(v, np.ndarray):
        raise HostDeviceMixError(f"{what}: a host numpy.ndarray {v.shape} mixed with device arrays "
                                 "(CuPy raises 'Unsupported type <class numpy.ndarray>')")
    if isinstance(v, (list, tuple)):
        return type(v)(_unwrap(x, what) for x in v)
    if isinstance(v, slice):
        return slice(*(_unwrap(x, what) for x in (v.start, v.stop, v.step)))
    return v


def _wrap(v):
    if isinstance(v, np.ndarray):
        return FakeDeviceArray(v)
    if isinstance(v, np.generic):  # CuPy reductions return 0-d device arrays, never scalars
        return FakeDeviceArray(np.asarray(v))
    if isinstance(v, tuple):
        return tuple(_wrap(x) for x in v)
    if isinstance(v, list):
        return [_wrap(x) for x in v]
    return v


class _DeviceId:
    __slots__ = ("id",)

    def __init__(self, i=0):
        self.id = i

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def use(self):
        return None

    def synchronize(self):
        return None


class FakeDeviceArray:
    """Device memory that behaves like cupy.ndarray for Axonal's uses."""

    __slots__ = ("__weakref__", "_a")
    __array_priority__ = 100

    def __init__(self, a):
        self._a = a

    # -- refusals ------------------------------------------------------------------------------
    def __array__(self, dtype=None, copy=None):
        raise TypeError("Implicit conversion to a NumPy array is not allowed. "
                        "Please use `.get()` to construct a NumPy array explicitly.")

    def __array_function__(self, func, types, args, kwargs):
        raise TypeError(f"numpy.{func.__name__} called on a device array: use xp_of(...) "
                        "(the fake device refuses NumPy functions on device data)")

    def __float__(self):
        raise TypeError("float() of a device array: a hidden device-to-host sync; use .item()")

    def __int__(self):
        raise TypeError("int() of a device array: a hidden device-to-host sync; use .item()")

    def __complex__(self):
        raise TypeError("complex() of a device array: use .item()")

    def __iter__(self):  # CuPy iterates (one device array per row); so do we
        return (FakeDeviceArray(np.asarray(r)) for r in self._a)

    # -- ufuncs, as CuPy: device-only inputs ------------------------------------------------------
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        ins = _unwrap(inputs, f"numpy.{ufunc.__name__}")
        if "out" in kwargs:
            kwargs["out"] = _unwrap(kwargs["out"], f"numpy.{ufunc.__name__}(out=)")
        return _wrap(getattr(ufunc, method)(*ins, **kwargs))

    # -- explicit transfers ---------------------------------------------------------------------
    def get(self, stream=None, order="C", out=None):
        return np.array(self._a, order=order if order != "K" else "K")

    def item(self, *args):
        return self._a.item(*args)

    def tolist(self):
        return self._a.tolist()

    def __bool__(self):
        return bool(self._a)

    def __len__(self):
        return len(self._a)

    def __repr__(self):
        return "fake_device_array(" + repr(self._a)[6:]

    def __str__(self):
        return str(self._a)

    def __hash__(self):
        raise TypeError("unhashable type: 'cupy.ndarray'")

    def __reduce__(self):  # pickling a device array is not allowed by Axonal's checkpoints
        raise TypeError("pickling a device array: checkpoints must copy it to the host first")

    # -- attributes -----------------------------------------------------------------------------
    device = property(lambda self: _DeviceId(0))
    shape = property(lambda self: self._a.shape)
    dtype = property(lambda self: self._a.dtype)
    ndim = property(lambda self: self._a.ndim)
    size = property(lambda self: self._a.size)
    itemsize = property(lambda self: self._a.itemsize)
    nbytes = property(lambda self: self._a.nbytes)
    strides = property(lambda self: self._a.strides)
    flags = property(lambda self: self._a.flags)
    T = property(lambda self: FakeDeviceArray(self._a.T))
    real = property(lambda self: FakeDeviceArray(self._a.real))
    imag = property(lambda self: FakeDeviceArray(self._a.imag))
    base = property(lambda self: None if self._a.base is None else FakeDeviceArray(self._a.base))
    data = property(lambda self: types.SimpleNamespace(ptr=self._a.ctypes.data))

    @property
    def __cuda_array_interface__(self):  # CuPy arrays carry it; Axonal's index code looks for it
        return {"shape": self._a.shape, "typestr": self._a.dtype.str, "version": 3,
                "data": (self._a.ctypes.data, False), "strides": self._a.strides}

    def __getitem__(self, key):
        return _wrap(self._a[_unwrap(key, "indexing")])

    def __setitem__(self, key, value):
        self._a[_unwrap(key, "indexing")] = _unwrap(value, "assignment")

    def __getattr__(self, name):  # the array methods (sum, reshape, astype, ...): on the device
        attr = getattr(self._a, name)
        if not callable(attr):
            raise AttributeError(name)

        def method(*args, **kwargs):
            args, kwargs = _unwrap(args, name), {k: _unwrap(v, name) for k, v in kwargs.items()}
            return _wrap(attr(*args, **kwargs))

        return method


def _operator(name):
    def op(self, *others):
        fn = getattr(self._a, name)
        res = fn(*_unwrap(others, name))
        if res is NotImplemented:
            return res
        if name.startswith("__i"):
            return self
        return _wrap(res)

    op.__name__ = name
    return op


for _name in ["add", "radd", "sub", "rsub", "mul", "rmul", "truediv", "rtruediv", "floordiv", "rfloordiv", "mod", "rmod", "pow", "rpow", "matmul", "rmatmul", "and", "rand", "or", "ror", "xor", "rxor", "lshift", "rshift", "eq", "ne", "lt", "le", "gt", "ge", "neg", "pos", "abs", "invert", "iadd", "isub", "imul", "itruediv", "ipow", "iand", "ior", "ixor", "ifloordiv", "imod"]:
    setattr(FakeDeviceArray, f"__{_name}__", _operator(f"__{_name}__"))


# -- the module ----------------------------------------------------------------------------------

def _asarray(a, dtype=None, order=None, **kw):
    if isinstance(a, FakeDeviceArray):
        return a if dtype is None or a.dtype == dtype else FakeDeviceArray(a._a.astype(dtype))
    return FakeDeviceArray(np.array(a, dtype=dtype, order=order or "K"))


def _array(a, dtype=None, copy=True, order="K", ndmin=0, **kw):
    if isinstance(a, FakeDeviceArray):
        a = a._a
    return FakeDeviceArray(np.array(a, dtype=dtype, copy=copy, order=order, ndmin=ndmin))


def _asnumpy(a, stream=None, order="C", out=None):
    return a.get() if isinstance(a, FakeDeviceArray) else np.asarray(a)


def _function(name, fn):
    def call(*args, **kwargs):
        args = _unwrap(args, f"cupy.{name}")
        kwargs = {k: _unwrap(v, f"cupy.{name}") for k, v in kwargs.items()}
        return _wrap(fn(*args, **kwargs))

    call.__name__ = name
    if isinstance(fn, np.ufunc):  # cupy ufuncs have .at / .reduce / .accumulate / .outer too
        for m in ("at", "reduce", "accumulate", "outer"):
            setattr(call, m, _function(f"{name}.{m}", getattr(fn, m)))
    return call


# NumPy names CuPy does not have: Axonal must not use them on a device path.
_NOT_IN_CUPY = {"errstate", "seterr", "geterr", "asfortranarray", "matrix", "vectorize"}


def _cuda_namespace():
    class _Stream:
        null = None

        def __init__(self, non_blocking=False):
            self.ptr = 0

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def synchronize(self):
            return None

    class _Pool:
        def __init__(self):
            self.free_all_blocks = lambda: None
            self.used_bytes = lambda: 0
            self.total_bytes = lambda: 0

    runtime = types.SimpleNamespace(
        getDeviceCount=lambda: 1,
        getDevice=lambda: 0,
        getDeviceProperties=lambda i: {"name": b"Fake Device", "totalGlobalMem": 1 << 30},
        deviceSynchronize=lambda: None,
        runtimeGetVersion=lambda: 12000, driverGetVersion=lambda: 12000)
    pool = _Pool()
    return types.SimpleNamespace(Device=_DeviceId, runtime=runtime, Stream=_Stream,
                                 get_current_stream=lambda: _Stream(),
                                 get_default_memory_pool=lambda: pool,
                                 get_pinned_memory_pool=lambda: pool)


class FakeCupy(types.ModuleType):
    """`import cupy` as seen by Axonal under the fake device."""

    def __init__(self):
        super().__init__("fake_cupy")
        self.ndarray = FakeDeviceArray
        self.asarray = _asarray
        self.array = _array
        self.ascontiguousarray = lambda a, dtype=None: _wrap(
            np.ascontiguousarray(_unwrap(a, "ascontiguousarray"), dtype=dtype))
        self.asnumpy = _asnumpy
        self.get_array_module = lambda *a: self
        self.cuda = _cuda_namespace()
        self.get_default_memory_pool = self.cuda.get_default_memory_pool
        self.get_pinned_memory_pool = self.cuda.get_pinned_memory_pool
        self.random = types.SimpleNamespace(
            seed=lambda s=None: None,
            default_rng=lambda seed=None: _Generator(np.random.default_rng(seed)),
            **{n: _function(n, getattr(np.random, n)) for n in
               ("rand", "randn", "random", "uniform", "normal", "randint", "standard_normal")})
        self.special = types.SimpleNamespace(erf=_function("erf", _erf), erfc=_function("erfc", _erfc))
        self.ogrid, self.mgrid = _Grid(np.ogrid), _Grid(np.mgrid)
        self.ElementwiseKernel = self.ReductionKernel = self.RawKernel = _no_kernels

    def __getattr__(self, name):
        if name.startswith("__") or name in _NOT_IN_CUPY:
            raise AttributeError(f"cupy has no attribute {name!r}")
        attr = getattr(np, name)
        if isinstance(attr, np.ufunc) or callable(attr) and not isinstance(attr, type):
            fn = _function(name, attr)
            setattr(self, name, fn)
            return fn
        return attr  # dtypes, constants (cupy.float32 is numpy.float32)


class _Generator:  # cupy.random.Generator: its draws are device arrays
    def __init__(self, gen):
        self.gen = gen

    def __getattr__(self, name):
        return _function(name, getattr(self.gen, name))


class _Grid:  # cupy.ogrid / cupy.mgrid build device arrays
    def __init__(self, grid):
        self.grid = grid

    def __getitem__(self, key):
        return _wrap(self.grid[key])


def _erf(x):
    import math

    return np.vectorize(math.erf, otypes=[x.dtype])(x) if x.size else x.copy()


def _erfc(x):
    import math

    return np.vectorize(math.erfc, otypes=[x.dtype])(x) if x.size else x.copy()


def _no_kernels(*args, **kwargs):
    raise RuntimeError("the fake device cannot compile CUDA kernels")


@contextlib.contextmanager
def fake_device():
    """Within the block, Axonal sees a CUDA device backed by `FakeCupy`."""
    from axonal import backend

    module = FakeCupy()
    saved = []
    types_ = (np.ndarray, FakeDeviceArray)
    # modules that took `ARRAY_TYPES` from axonal.tensor at import (a tuple, fixed at import)
    for mod in list(sys.modules.values()):
        name = getattr(mod, "__name__", "") or ""
        if name.startswith("axonal") and isinstance(getattr(mod, "ARRAY_TYPES", None), tuple):
            saved.append((mod, mod.ARRAY_TYPES))
            mod.ARRAY_TYPES = types_
    with backend.use_device_module(module):
        try:
            yield module
        finally:
            for mod, value in saved:
                mod.ARRAY_TYPES = value
