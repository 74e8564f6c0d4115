"""`Tensor`: an n-dimensional array that remembers how it was computed.

A Tensor holds one NumPy or CuPy array in `._data` (PyTorch's `.data` is a graph-free Tensor sharing it). When it is the output of an op recorded by
autograd, `_ctx` points at the graph node (the op's `Function` instance) and `_idx` says which of the
node's outputs it is. Leaves (tensors created by the user) have `_ctx = None` and receive gradients in
`.grad`.

This module holds only what every tensor needs regardless of ops: construction, properties,
conversion, `backward()`, gradient accumulation and the few in-place operations that are allowed
(on data outside the graph). The arithmetic and shape methods (`+`, `.sum()`, `.reshape()` ...) are
bound in `axonal/ops/methods.py`, the one place that resolves the tensor <-> ops import cycle.
"""
import sys

import numpy as np

from . import _compat, _config, _hooks, backend
from . import _dtype as _dt
from . import _engine as engine
from ._errors import DETACH_VIEW, DTypeError, GraphError
from ._storage import fresh, version_counter

ARRAY_TYPES = (np.ndarray,) if backend._cupy is None else (np.ndarray, backend._cupy.ndarray)


def _infer_array(data, dtype=None, device=None):
    """Turn Python/NumPy/Tensor data into an array, with PyTorch's dtype inference:
    Python floats -> the default float dtype, ints -> int64, bools -> bool; arrays keep theirs."""
    if isinstance(data, Tensor):
        data = data._data
    elif isinstance(data, np.generic):  # NumPy scalars keep their dtype, as in torch.tensor
        data = np.asarray(data)
    if not isinstance(data, ARRAY_TYPES):
        data = np.asarray(data)
        if dtype is None:
            kind = data.dtype.kind
            if kind not in "fiub":
                raise DTypeError(f"tensor: cannot build a tensor from {type(data).__name__} "
                                 f"data (NumPy inferred dtype {data.dtype})")
            dtype = (_dt.get_default_dtype() if kind == "f" else
                     _dt.bool_ if kind == "b" else _dt.int64)
    npd = _dt.to_dtype(dtype).np if dtype is not None else _dt.from_numpy_dtype(data.dtype).np
    here = backend.device_of(data)
    target = backend.Device(device) if device is not None else here
    if target != here or data.dtype != npd:
        return backend.asarray_on(data, npd, target)
    return data


class Tensor:
    __slots__ = ("_data", "grad", "_rg", "_ctx", "_idx", "_retains", "_vc", "_base", "__weakref__",
                 "__dict__")
    __array_priority__ = 1000  # so that ndarray + Tensor defers to Tensor.__radd__
    _post_acc_hooks = None  # {id: hook} in the instance __dict__ once a hook is registered
    _vg = 0  # a view's copy of its counter's graph generation (_storage.fresh)

    def __init__(self, *args, data=None, requires_grad=False, dtype=None, device=None):
        # torch.Tensor's legacy constructor: Tensor(3, 4) is a shape (zero-filled here, where
        # PyTorch leaves memory uninitialised), Tensor([3, 4]) / Tensor(array) is data
        args = args or ((data,) if data is not None else ())
        shape, data, grad_arg = _compat.legacy_tensor_args(args, Size)
        if shape is not None:
            data = np.zeros(shape, (_dt.to_dtype(dtype) if dtype else _dt.get_default_dtype()).np)
        elif not isinstance(data, (Tensor,) + ARRAY_TYPES) and dtype is None:
            dtype = _dt.get_default_dtype()  # torch.Tensor([1, 2]) is float32
        requires_grad = requires_grad or grad_arg
        self._data = _infer_array(data, dtype, device)
        self.grad = None
        self._rg = False
        self._ctx = None
        self._idx = 0
        self._retains = False
        self._vc = self._base = None
        if requires_grad:
            self.requires_grad_(True)

    @classmethod
    def _make(cls, data, requires_grad, ctx, idx):
        """Fast internal constructor: `data` must already be an array."""
        t = object.__new__(Tensor)
        t._data = data
        t.grad = None
        t._rg = requires_grad
        t._ctx = ctx
        t._idx = idx
        t._retains = False
        t._vc = t._base = None
        return t

    # -- the data, as PyTorch's `.data`: the same storage, outside the graph -------------------
    @property
    def data(self):
        """This tensor's memory outside the graph, with its own version counter (as PyTorch's):
        `p.data.add_(...)` changes `p` unseen by autograd. The raw array is `t.numpy()`."""
        return constant(self._data)

    @data.setter
    def data(self, value):  # `t.data = other`: t now uses other's array (a new storage)
        self._data = value._data if isinstance(value, Tensor) else _infer_array(value)
        self._vc = None

    @property
    def _version(self):
        """How many in-place writes this tensor's storage has seen (shared by all its views)."""
        vc = self._vc
        return 0 if vc is None else vc[0]

    def _is_view(self):
        return self._base is not None

    def data_ptr(self):
        return backend.data_ptr(self._data)

    # -- properties ----------------------------------------------------------------------------
    @property
    def shape(self):
        return Size(self._data.shape)

    @property
    def ndim(self):
        return self._data.ndim

    def dim(self):
        return self._data.ndim

    def size(self, dim=None):
        if dim is None:
            return Size(self._data.shape)
        return self._data.shape[dim]

    def numel(self):
        return int(self._data.size)

    nelement = numel

    @property
    def dtype(self):
        return _dt.from_numpy_dtype(self._data.dtype)

    @property
    def device(self):
        return backend.device_of(self._data)

    @property
    def is_cuda(self):
        return backend.is_cupy_array(self._data)

    # the device types Axonal does not keep tensors on (torch.device parses them all)
    is_xpu = is_mps = is_meta = is_mkldnn = is_vulkan = is_ipu = property(lambda self: False)
    is_cpu = property(lambda self: not backend.is_cupy_array(self._data))

    def get_device(self):
        """The CUDA device index, -1 for a CPU tensor (PyTorch's)."""
        return self.device.index if backend.is_cupy_array(self._data) else -1

    def is_floating_point(self):
        return self._data.dtype.kind in "fV"  # "V": bfloat16 (ml_dtypes), see _dtype.py

    def element_size(self):
        return self._data.itemsize

    def is_contiguous(self):
        return bool(self._data.flags.c_contiguous)

    @property
    def requires_grad(self):
        return fresh(self)._rg

    @requires_grad.setter
    def requires_grad(self, value):
        self.requires_grad_(value)

    def requires_grad_(self, requires_grad=True):
        if requires_grad and self._data.dtype.kind not in "fV":
            raise DTypeError(f"requires_grad: only floating point tensors can require gradients, "
                             f"this tensor has dtype {self.dtype}")
        if not requires_grad and self._ctx is not None:
            raise GraphError("requires_grad_(False) on a non-leaf tensor: use .detach() instead")
        self._rg = bool(requires_grad)
        return self

    @property
    def is_leaf(self):
        return self._ctx is None

    @property
    def grad_fn(self):
        return fresh(self)._ctx

    # -- conversion ------------------------------------------------------------------------------
    def numpy(self, *, force=False):
        if self._rg and not force:
            raise GraphError("numpy(): can't convert a tensor that requires grad; "
                             "use tensor.detach().numpy()")
        if backend.is_cupy_array(self._data):
            if not force:
                raise TypeError("numpy(): tensor is on cuda; call .cpu() first")
            return backend.to_numpy(self._data)
        return self._data

    def __array__(self, dtype=None, copy=None):
        if backend.is_cupy_array(self._data):  # as PyTorch: no implicit device-to-host copy
            raise TypeError(f"can't convert {self.device} device type tensor to numpy. Use "
                            "Tensor.cpu() to copy the tensor to host memory first.")
        arr = backend.to_numpy(self._data)
        return arr.astype(dtype) if dtype is not None else arr

    def item(self):
        if self._data.size != 1:
            raise ValueError(f"item(): only one-element tensors can be converted to Python "
                             f"scalars, this one has shape {tuple(self.data.shape)}")
        return self._data.reshape(-1)[0].item()

    def tolist(self):
        return backend.to_numpy(self._data).tolist()

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __index__(self):
        if self._data.dtype.kind not in "iu":
            raise TypeError("only integer tensors of a single element can be used as an index")
        return int(self.item())

    def __bool__(self):
        if self._data.size != 1:
            raise RuntimeError(f"the truth value of a tensor with {self.data.size} elements is "
                               "ambiguous; use .any() or .all()")
        return bool(self._data.reshape(-1)[0])

    def __len__(self):
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self):
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self._data.shape[0]))

    __hash__ = object.__hash__

    def detach(self):
        """A new tensor sharing this one's data and version counter, cut from the graph."""
        t = constant(self._data)
        t._vc = version_counter(self)
        return t

    def detach_(self):
        if self._base is not None:  # any view, as PyTorch (grad or not)
            raise GraphError(DETACH_VIEW)
        self._ctx, self._idx, self._rg = None, 0, False
        return self

    def cpu(self):
        return self.to("cpu")

    def cuda(self, device=None):
        return self.to("cuda" if device is None else f"cuda:{int(device)}")

    # -- autograd --------------------------------------------------------------------------------
    def retain_grad(self):
        if not self._rg:
            raise GraphError("retain_grad() on a tensor that does not require grad")
        if self._ctx is not None and not self._retains:
            self._ctx._retain(self._idx, self)
            self._retains = True

    @property
    def retains_grad(self):
        return self._retains

    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
        """Accumulate d self / d leaf into every leaf's `.grad` (see axonal._engine)."""
        fresh(self)
        if not self._rg:
            raise GraphError("backward(): tensor does not require grad and has no grad_fn "
                             "(did you forget requires_grad=True, or run under no_grad?)")
        if gradient is None:
            if self._data.size != 1:
                raise GraphError(f"backward(): grad can be implicitly created only for scalar "
                                 f"outputs, this tensor has shape {tuple(self.data.shape)}; pass "
                                 "gradient= (a tensor of the same shape)")
            gradient = constant(backend.xp_of(self._data).ones_like(self._data))
        elif not isinstance(gradient, Tensor):
            gradient = Tensor(gradient, dtype=self.dtype, device=self.device)
        if tuple(gradient.shape) != tuple(self.shape):
            raise GraphError(f"backward(): gradient has shape {tuple(gradient.shape)} but the "
                             f"tensor has shape {tuple(self.shape)}")
        if retain_graph is None:
            retain_graph = create_graph
        if inputs is not None:
            inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
        engine.run_backward([self], [gradient], retain_graph=retain_graph,
                            create_graph=create_graph, inputs=inputs)

    def _accumulate_grad(self, grad, seen_arrays):
        """grad += g, as PyTorch's AccumulateGrad: without create_graph, into the existing `.grad`
        (same tensor and memory, a new version). The first gradient is kept without a copy only
        when nothing else can hold its array: no view or other tensor on it (its reference count),
        not a seed, not handed to another leaf, no hook saw it."""
        if not _config.is_grad_enabled():  # plain backward: store data only, never a graph
            data, g = grad._data, self.grad
            if g is None:
                if data.base is not None or id(data) in seen_arrays or grad._ctx is not None \
                        or engine.HOOKED in seen_arrays or _hooks.leaf_hooks.count \
                        or sys.getrefcount(data) > engine.FRESH_REFS:  # another holder
                    data = data.copy()
                seen_arrays.add(id(data))
                self.grad = constant(data)
            elif not engine.add_into(g, data, seen_arrays):
                self.grad = constant(g._data + data)
        else:  # create_graph=True: keep the graph of the gradient for higher derivatives
            self.grad = grad if self.grad is None else self.grad + grad
        if self._post_acc_hooks:
            for hook in tuple(self._post_acc_hooks.values()):
                hook(self)

    def register_post_accumulate_grad_hook(self, hook):
        """Call `hook(self)` each time backward has added a gradient into this leaf's `.grad`
        (PyTorch's name): once per backward, after the leaf's contributions are summed and
        accumulated. DistributedDataParallel uses it to start reducing gradients while the rest of
        the backward pass runs. Returns a handle; `handle.remove()` unregisters the hook."""
        if self._ctx is not None:
            raise GraphError("register_post_accumulate_grad_hook: only leaf tensors accumulate "
                             "gradients; this tensor is the output of an op")
        if not callable(hook):
            raise TypeError(f"register_post_accumulate_grad_hook: hook must be callable, got "
                            f"{type(hook).__name__}")
        return _hooks.add_leaf_hook(_hooks.leaf_table(self, "_post_acc_hooks"), hook)

    def register_hook(self, hook):
        """`hook(grad)` each time this tensor's gradient is computed; a returned tensor replaces
        it (on a leaf: before accumulation into `.grad`). Returns a removable handle."""
        return _hooks.add_tensor_hook(self, hook)

    # -- printing --------------------------------------------------------------------------------
    def __format__(self, spec):
        return _compat.format_tensor(self, spec)

    def __dir__(self):  # without the stand-ins for PyTorch names Axonal lacks (_compat)
        return sorted(set(_compat.present_names(type(self))) | set(getattr(self, "__dict__", ())))

    def __repr__(self):
        arr = backend.to_numpy(self._data)
        if arr.dtype.kind == "V":  # bfloat16 prints its values as float32 (NumPy ignores precision=)
            arr = arr.astype(np.float32)
        body = np.array2string(arr, separator=", ", precision=4, threshold=1000,
                               prefix="tensor(")
        extras = []
        if self._data.dtype not in (_dt.get_default_dtype().np, np.dtype("int64"), np.dtype("bool")) \
                or arr.size == 0:
            extras.append(f"dtype={self.dtype}")
        if self.is_cuda:
            extras.append(f"device='{self.device}'")
        if self._ctx is not None:
            extras.append(f"grad_fn=<{self._ctx.name()}>")
        elif self._rg:
            extras.append("requires_grad=True")
        return "tensor(" + body + "".join(", " + e for e in extras) + ")"


def constant(array):
    """A tensor that wraps `array` as it is (no copy) and stands outside the graph: no gradient, no
    node. The one spelling for the arrays that ops return and that backward formulas combine."""
    t = object.__new__(Tensor)
    t._data = array
    t.grad = None
    t._rg = False
    t._ctx = None
    t._idx = 0
    t._retains = False
    t._vc = t._base = None
    return t


class Size(tuple):
    """`tensor.shape`: a tuple that prints like PyTorch's `torch.Size([2, 3])`."""

    def numel(self):
        n = 1
        for s in self:
            n *= s
        return n

    def __repr__(self):
        return f"axonal.Size({list(self)})"


def _index_key(index):
    """Replace Tensors inside an index expression by their arrays."""
    if isinstance(index, Tensor):
        return index._data
    if isinstance(index, tuple):
        return tuple(i._data if isinstance(i, Tensor) else i for i in index)
    return index
