"""`Module`: the base class of every layer and model.

A Module owns three ordered registries, filled by plain attribute assignment (`__setattr__`):
`_parameters` (Parameters, learnable), `_buffers` (Tensors that are state but not learnable, e.g.
BatchNorm's running statistics) and `_modules` (child Modules). Everything else - iteration over
parameters, `state_dict`, `train()/eval()`, `to()` - walks that tree. Walks are iterative (an
explicit stack), so deep models do not hit Python's recursion limit, and they yield shared
parameters/modules once, like PyTorch.
"""
from collections import OrderedDict

from .. import _config, backend
from .. import _dtype as _dt
from ..tensor import Tensor, constant
from ._init_record import init_subclass as _init_subclass
from . import _module_hooks as _mh
from ._state import IncompatibleKeys, addindent
from ._state import load_state_dict as _load_state_dict
from .parameter import Buffer, Parameter

__all__ = ["Buffer", "IncompatibleKeys", "Module", "Parameter"]


class Module(_mh.HookMethods):
    training: bool
    __init_subclass__ = _init_subclass  # records constructor arguments (whole-module save)

    def __init__(self, *args, **kwargs):
        if args or kwargs:
            raise TypeError(f"{type(self).__name__}.__init__() got unexpected arguments "
                            f"(Module.__init__ takes none): {args} {kwargs}")
        d = self.__dict__
        d["training"] = True
        d["_parameters"] = OrderedDict()
        d["_buffers"] = OrderedDict()
        d["_non_persistent_buffers_set"] = set()
        d["_modules"] = OrderedDict()
        _mh.init_tables(d)

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f'Module [{type(self).__name__}] is missing the required '
                                  '"forward" function')

    def __call__(self, *args, **kwargs):
        if not (self._forward_pre_hooks or self._forward_hooks or self._backward_hooks
                or self._backward_pre_hooks or _mh.active.n):
            return self.forward(*args, **kwargs)
        return _mh.call_impl(self, args, kwargs)

    # -- registration ----------------------------------------------------------------------------
    def _check_name(self, kind, name):
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"cannot assign {kind} before Module.__init__() call "
                                 f"(call super().__init__() first in {type(self).__name__})")
        if not isinstance(name, str):
            raise TypeError(f"{kind} name should be a string, got {type(name).__name__}")
        if "." in name or name == "":
            raise KeyError(f"{kind} name can't contain \".\" or be empty, got {name!r}")

    def register_parameter(self, name, param):
        self._check_name("parameter", name)
        if hasattr(self, name) and name not in self._parameters:
            raise KeyError(f"attribute '{name}' already exists")
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"cannot assign '{type(param).__name__}' object to parameter "
                            f"'{name}' (axonal.nn.Parameter or None required)")
        if _mh._global_parameter_registration_hooks:
            param = _mh.run_registration_hooks(_mh._global_parameter_registration_hooks, self,
                                               name, param)
        self._parameters[name] = param

    def register_buffer(self, name, tensor, persistent=True):
        self._check_name("buffer", name)
        if hasattr(self, name) and name not in self._buffers:
            raise KeyError(f"attribute '{name}' already exists")
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"cannot assign '{type(tensor).__name__}' object to buffer '{name}' "
                            "(Tensor or None required)")
        if isinstance(tensor, Buffer):
            persistent = tensor.persistent
            tensor = constant(tensor._data)
        if _mh._global_buffer_registration_hooks:
            tensor = _mh.run_registration_hooks(_mh._global_buffer_registration_hooks, self,
                                                name, tensor)
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent_buffers_set.discard(name)
        else:
            self._non_persistent_buffers_set.add(name)

    def add_module(self, name, module):
        self._check_name("module", name)
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        if hasattr(self, name) and name not in self._modules:
            raise KeyError(f"attribute '{name}' already exists")
        if _mh._global_module_registration_hooks:
            module = _mh.run_registration_hooks(_mh._global_module_registration_hooks, self, name,
                                                module)
        self._modules[name] = module

    register_module = add_module

    def __setattr__(self, name, value):
        d = self.__dict__
        params, modules, buffers = d.get("_parameters"), d.get("_modules"), d.get("_buffers")
        if isinstance(value, Parameter):
            self._check_name("parameter", name)
            self._discard(name, keep="_parameters")
            self.register_parameter(name, value)
        elif params is not None and name in params:
            if value is not None:
                raise TypeError(f"cannot assign '{type(value).__name__}' as parameter '{name}' "
                                "(axonal.nn.Parameter or None expected)")
            params[name] = None
        elif isinstance(value, Module):
            self._check_name("module", name)
            self._discard(name, keep="_modules")
            if _mh._global_module_registration_hooks:
                value = _mh.run_registration_hooks(_mh._global_module_registration_hooks, self,
                                                   name, value)
            modules[name] = value
        elif modules is not None and name in modules:
            if value is not None:
                raise TypeError(f"cannot assign '{type(value).__name__}' as child module "
                                f"'{name}' (Module or None expected)")
            modules[name] = None
        elif isinstance(value, Buffer):
            self._check_name("buffer", name)
            self._discard(name, keep="_buffers")
            self.register_buffer(name, value)
        elif buffers is not None and name in buffers:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign '{type(value).__name__}' as buffer '{name}' "
                                "(Tensor or None expected)")
            buffers[name] = value
        else:
            object.__setattr__(self, name, value)

    def _discard(self, name, keep):
        d = self.__dict__  # re-assigning keeps the name's place in its own table, as PyTorch
        d.pop(name, None)
        for key in ("_parameters", "_buffers", "_modules"):
            if key != keep:
                d[key].pop(name, None)
        d["_non_persistent_buffers_set"].discard(name)

    def __getattr__(self, name):
        # only called when normal lookup fails: look in the registries
        d = self.__dict__
        for key in ("_parameters", "_buffers", "_modules"):
            table = d.get(key)
            if table is not None and name in table:
                return table[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name):
        for key in ("_parameters", "_buffers", "_modules"):
            if name in self.__dict__.get(key, ()):
                del self.__dict__[key][name]
                self._non_persistent_buffers_set.discard(name)
                return
        object.__delattr__(self, name)

    def __dir__(self):
        keys = set(super().__dir__())
        for key in ("_parameters", "_buffers", "_modules"):
            keys.update(self.__dict__[key])
        return sorted(k for k in keys if not k[:1].isdigit())

    # -- traversal -------------------------------------------------------------------------------
    def named_modules(self, memo=None, prefix="", remove_duplicate=True):
        """Pre-order walk of the module tree: (qualified name, module), self first."""
        memo = set() if memo is None else memo
        stack = [(prefix, self)]
        while stack:
            name, mod = stack.pop()
            if remove_duplicate:
                if id(mod) in memo:
                    continue
                memo.add(id(mod))
            yield name, mod
            children = [(name + ("." if name else "") + k, m)
                        for k, m in mod._modules.items() if m is not None]
            stack.extend(reversed(children))

    def modules(self):
        for _, m in self.named_modules():
            yield m

    def named_children(self):
        seen = set()
        for name, m in self._modules.items():
            if m is not None and id(m) not in seen:
                seen.add(id(m))
                yield name, m

    def children(self):
        for _, m in self.named_children():
            yield m

    def _named_members(self, table, prefix, recurse, remove_duplicate):
        seen = set()
        mods = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) if recurse \
            else [(prefix, self)]
        for mod_prefix, mod in mods:
            for name, v in mod.__dict__[table].items():
                if v is None or (remove_duplicate and id(v) in seen):
                    continue
                seen.add(id(v))
                yield mod_prefix + ("." if mod_prefix else "") + name, v

    def named_parameters(self, prefix="", recurse=True, remove_duplicate=True):
        return self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse=True):
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix="", recurse=True, remove_duplicate=True):
        return self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse=True):
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    # -- state -----------------------------------------------------------------------------------
    def state_dict(self, destination=None, prefix="", keep_vars=False):
        """Parameters and persistent buffers by qualified name (detached unless keep_vars)."""
        out = OrderedDict() if destination is None else destination
        for mod_prefix, mod in self.named_modules(prefix=prefix.rstrip(".")):
            dot = mod_prefix + "." if mod_prefix else ""
            for name, p in mod._parameters.items():
                if p is not None:
                    out[dot + name] = p if keep_vars else p.detach()
            for name, b in mod._buffers.items():
                if b is not None and name not in mod._non_persistent_buffers_set:
                    out[dot + name] = b if keep_vars else b.detach()
        return out

    def load_state_dict(self, state_dict, strict=True, assign=False):
        """Copy `state_dict` (values: Tensors or NumPy arrays) into this module's parameters and
        persistent buffers. Returns (missing_keys, unexpected_keys); raises on size mismatch, and on
        missing/unexpected keys when strict."""
        return _load_state_dict(self, state_dict, strict, assign)

    def _load_fill_defaults(self, state_dict, prefix):
        """Hook for subclasses to fill keys older checkpoints lack (e.g. num_batches_tracked)."""

    # -- modes and conversion --------------------------------------------------------------------
    def train(self, mode=True):
        if not isinstance(mode, bool):
            raise ValueError(f"train(mode): mode is expected to be a bool, got "
                             f"{type(mode).__name__}")
        for m in self.modules():
            m.__dict__["training"] = mode
        return self

    def eval(self):
        return self.train(False)

    def requires_grad_(self, requires_grad=True):
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def apply(self, fn):
        """Call fn on every submodule and then on self (post-order, like PyTorch's recursion),
        with an explicit stack so deep models do not hit the recursion limit."""
        stack = [(self, False)]
        while stack:
            m, children_done = stack.pop()
            if children_done:
                fn(m)
                continue
            stack.append((m, True))
            stack.extend((c, False) for c in reversed(list(m.children())))
        return self

    def _apply_arrays(self, fn):
        """Replace every parameter's/buffer's (and grad's) array by fn(array), keeping objects."""
        with _config.no_grad():
            for m in self.modules():
                for table in (m._parameters, m._buffers):
                    for t in table.values():
                        if t is None:
                            continue
                        t._data = fn(t._data)
                        if t.grad is not None:
                            t.grad._data = fn(t.grad._data)
        return self

    def to(self, *args, dtype=None, device=None, non_blocking=False):
        """`to(dtype)`, `to(device)`, `to(device, dtype)` or `to(tensor)`: in place, returns self.
        Only floating point parameters and buffers change dtype (num_batches_tracked stays
        int64)."""
        for a in args:
            if isinstance(a, Tensor):
                dtype, device = a.dtype, a.device
            elif isinstance(a, backend.Device) or (
                    isinstance(a, str) and a.split(":")[0] in backend.DEVICE_TYPES):
                device = a
            else:
                dtype = a
        npd = None
        if dtype is not None:
            d = _dt.to_dtype(dtype)
            if not d.is_floating_point:
                raise TypeError(f"{type(self).__name__}.to: only floating point dtypes are "
                                f"accepted, got {d}")
            npd = d.np
        dev = backend.Device(device) if device is not None else None

        def convert(arr):
            if npd is not None and arr.dtype.kind in "fV" and arr.dtype != npd:
                arr = arr.astype(npd)
            if dev is not None and not backend.same_place(backend.device_of(arr), dev):
                arr = backend.to_device(arr, dev)
            return arr

        return self._apply_arrays(convert)

    def float(self):
        return self.to(_dt.float32)

    def double(self):
        return self.to(_dt.float64)

    def half(self):
        return self.to(_dt.float16)

    def bfloat16(self):
        return self.to(_dt.bfloat16)

    def cpu(self):
        return self.to("cpu")

    def cuda(self, device=None):
        return self.to("cuda" if device is None else f"cuda:{int(device)}")

    def type(self, dst_type):
        return self.to(dst_type)

    # -- printing --------------------------------------------------------------------------------
    def extra_repr(self):
        return ""

    def _get_name(self):
        return type(self).__name__

    def __repr__(self):
        lines = self.extra_repr().split("\n") if self.extra_repr() else []
        for name, m in self._modules.items():
            lines.append(f"({name}): " + addindent(repr(m), 2))
        head = self._get_name() + "("
        if not lines:
            return head + ")"
        if len(lines) == 1 and not self._modules:
            return head + lines[0] + ")"
        return head + "\n  " + "\n  ".join(lines) + "\n)"
