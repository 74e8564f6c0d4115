"""Lazy modules: parameters whose shapes come from the first input.

`UninitializedParameter` is a Parameter with no data yet (shape unknown). It can be handed to an
optimizer, moved with `module.to(dtype)`, and is filled in place by `materialize(shape)`: the
object keeps its identity and becomes a plain `Parameter`, so an optimizer built before the first
forward updates the materialized weights, as in PyTorch. `UninitializedBuffer` is the same for
buffers (running statistics).

`LazyModuleMixin` registers a forward pre-hook that calls `initialize_parameters(*input)` on the
first call; once nothing is uninitialized the hook is removed and the module's class becomes
`cls_to_become` (LazyLinear -> Linear). Loading a state dict into a lazy module materializes the
parameters with the stored shapes first; as in PyTorch it stays a Lazy* module until its first
forward, which then only reads the input size from the loaded weights (PyTorch leaves e.g.
in_features at 0 in that case; here it is set, since the eager layers check their input).

Construction draws no random numbers (the shapes are unknown); the first forward draws the
initialization exactly as the eager layer's constructor would, so seeded runs match PyTorch.
"""
import numpy as np

from .. import random as _random
from ..backend import xp_of
from ..tensor import Tensor
from ._init_record import RECORD
from .parameter import Parameter

__all__ = ["LazyModuleMixin", "UninitializedBuffer", "UninitializedParameter"]


class _UninitializedMixin:
    cls_to_become = None

    def materialize(self, shape, device=None, dtype=None):
        """Allocate the data with `shape` (zeros; the module's reset_parameters fills them) and
        turn this object into a `cls_to_become` in place."""
        shape = (int(shape),) if isinstance(shape, (int, np.integer)) else tuple(map(int, shape))
        old = self._data
        xp = xp_of(old)
        dt = old.dtype if dtype is None else getattr(dtype, "np", dtype)
        self._data = xp.zeros(shape, dtype=dt)
        if device is not None:
            from ..backend import Device, to_device
            self._data = to_device(self._data, Device(device))
        self.__class__ = self.cls_to_become

    @property
    def shape(self):
        raise RuntimeError("Can't access the shape of an uninitialized parameter or buffer. "
                           "This error usually happens in `load_state_dict` when trying to load "
                           "an uninitialized parameter into an initialized one. Call "
                           "`forward` to initialize the parameters before accessing their "
                           "attributes.")

    def numel(self):
        raise ValueError(f"Attempted to use an uninitialized parameter in numel. This error "
                         f"happens when you are using a `LazyModule` or explicitly manipulating "
                         f"`{type(self).__name__}` objects. When using LazyModules Call "
                         f"`forward` with a dummy batch to initialize the parameters before "
                         f"calling torch functions")

    def __repr__(self):
        return f"<{type(self).__name__}>"


class UninitializedParameter(_UninitializedMixin, Parameter):
    """A Parameter whose shape is not known yet (see the module docstring)."""

    cls_to_become = Parameter

    def __init__(self, requires_grad=True, device=None, dtype=None):
        from .. import _dtype as _dt
        dt = _dt.to_dtype(dtype if dtype is not None else _dt.get_default_dtype()).np
        super().__init__(Tensor(np.empty((0,), dtype=dt)), requires_grad)

    def __deepcopy__(self, memo):
        if id(self) not in memo:
            memo[id(self)] = type(self)(self.requires_grad, dtype=self._data.dtype)
        return memo[id(self)]


class UninitializedBuffer(_UninitializedMixin, Tensor):
    """A buffer whose shape is not known yet."""

    cls_to_become = Tensor

    def __init__(self, requires_grad=False, device=None, dtype=None):
        from .. import _dtype as _dt
        dt = _dt.to_dtype(dtype if dtype is not None else _dt.get_default_dtype()).np
        super().__init__(np.empty((0,), dtype=dt))


def _is_lazy(t):
    return isinstance(t, _UninitializedMixin)


class LazyModuleMixin:
    """Mixin of the Lazy* layers: subclasses implement `initialize_parameters(*input)` and set
    `cls_to_become`."""

    cls_to_become = None
    _lazy_size = None  # the attribute inferred from the input: in_features, in_channels, ...

    def _lazy_setup(self):
        self._initialize_hook = self.register_forward_pre_hook(_infer_parameters,
                                                               with_kwargs=True)

    def has_uninitialized_params(self):
        tables = list(self._parameters.values()) + list(self._buffers.values())
        return any(_is_lazy(t) for t in tables)

    def initialize_parameters(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__}.initialize_parameters")

    def _load_fill_defaults(self, state_dict, prefix):
        # a checkpoint of the initialized module: take its shapes
        for table in (self._parameters, self._buffers):
            for name, t in table.items():
                key = prefix + name
                if _is_lazy(t) and key in state_dict:
                    t.materialize(tuple(state_dict[key].shape))
        super()._load_fill_defaults(state_dict, prefix)

    def _finish_lazy(self):
        self._initialize_hook.remove()
        del self.__dict__["_initialize_hook"]
        # whole-module save rebuilds from the recorded constructor call: the eager class takes
        # the inferred size as its first argument (Linear(in_features, out_features, ...))
        rec = self.__dict__.get(RECORD)
        if rec is not None and self._lazy_size is not None:
            self.__dict__[RECORD] = ((getattr(self, self._lazy_size),) + tuple(rec[0]), rec[1])
        if self.cls_to_become is not None:
            self.__class__ = self.cls_to_become


def _infer_parameters(module, args, kwargs=None):
    """The forward pre-hook: materialize from the first input, then become the eager class."""
    module.initialize_parameters(*args, **(kwargs or {}))
    if module.has_uninitialized_params():
        raise RuntimeError(f"module {type(module).__name__} has not been fully initialized")
    module._finish_lazy()


def materialize_reset(module, shapes):
    """Materialize each named parameter/buffer with its shape, then draw the initialization."""
    for name, shape in shapes.items():
        t = getattr(module, name)
        if t is not None and _is_lazy(t):
            t.materialize(shape)
    module.reset_parameters()


def rng_neutral(build):
    """Run `build()` without consuming the global random stream (a lazy constructor draws
    nothing; PyTorch's draws nothing for its zero-element weights either)."""
    state = _random.get_rng_state()
    try:
        return build()
    finally:
        _random.set_rng_state(state)
