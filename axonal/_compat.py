"""PyTorch-compatibility helpers that need no Tensor: torch.Tensor's legacy constructor arguments,
format specs on 0-d tensors, and the error for a PyTorch name that Axonal does not have yet.

The missing-name error is raised from module-level `__getattr__` (PEP 562) in `axonal`, `axonal.nn`,
`axonal.nn.functional`, `axonal.optim`, which Python calls only when normal lookup fails, and, for
Tensor, from one `MissingAttribute` class attribute per PyTorch method Axonal lacks. Tensor gets no
`__getattr__`: a class with one loses CPython's specialized attribute access on every instance
(3x slower `t.data`), which would cost every op.
"""
import difflib
import numbers

from ._torch_names import NAMES


class MissingTorchName(AttributeError):
    """An AttributeError for a PyTorch name Axonal lacks. Python words a "Did you mean" from an
    AttributeError's `name` and `obj`, which the interpreter fills in after `__getattr__` raises;
    these two read as None here and ignore writes, so the only suggestion is ours."""

    name = property(lambda self: None, lambda self, value: None)
    obj = property(lambda self: None, lambda self, value: None)


def missing_name(space, name, have):
    """The AttributeError for `space.name` ("torch.nn", "torch.Tensor", ...): names PyTorch has get
    "axonal does not implement torch.X yet" and the nearest Axonal name; others a plain message.
    `have` is the names Axonal does define there."""
    ours = space.replace("torch", "axonal", 1)
    if name in NAMES.get(space, ()):
        msg = f"axonal does not implement {space}.{name} yet"
        # 0.75: close enough to be a spelling of it (0.6, difflib's default, offered
        # `autograd` for `histogramdd`)
        close = difflib.get_close_matches(name, [h for h in have if not h.startswith("_")], 1,
                                          0.75)
        if close:
            msg += f" (the nearest Axonal name is {ours}.{close[0]})"
        return MissingTorchName(msg)
    if space == "torch.Tensor":
        msg = f"'Tensor' object has no attribute '{name}'"
    else:
        msg = f"module '{ours}' has no attribute '{name}'"
    return AttributeError(msg)


class MissingAttribute:
    """Stands, on a class, for a PyTorch attribute the class lacks: reading it raises the
    missing-name error (so `hasattr` is False); an instance may still set its own value."""

    def __init__(self, space, name):
        self.space, self.name = space, name

    def __get__(self, obj, owner=None):
        owner = owner if owner is not None else type(obj)
        raise missing_name(self.space, self.name, present_names(owner))


def present_names(cls):
    """The attribute names `cls` really has (not its MissingAttribute stand-ins)."""
    return [n for n in dir(cls) if not isinstance(_static_lookup(cls, n), MissingAttribute)]


def _static_lookup(cls, name):
    for klass in cls.__mro__:
        if name in vars(klass):
            return vars(klass)[name]
    return None


def install_missing(cls, space):
    """A `MissingAttribute` on `cls` for each public name of `space` ("torch.Tensor") that `cls`
    does not define; call it after every method is bound."""
    for name in NAMES.get(space, ()):
        if not name.startswith("_") and _static_lookup(cls, name) is None:
            setattr(cls, name, MissingAttribute(space, name))


def module_getattr(space, namespace):
    """A PEP 562 `__getattr__` for a module whose globals are `namespace` (not a lazy table)."""
    def __getattr__(name):
        if name.startswith("__"):
            raise AttributeError(f"module '{space.replace('torch', 'axonal', 1)}' has no "
                                 f"attribute '{name}'")
        raise missing_name(space, name, list(namespace))
    return __getattr__


def legacy_tensor_args(args, size_type):
    """torch.Tensor(*args): `Tensor(3, 4)` and `Tensor(Size)` are a shape, `Tensor(data)` data,
    `Tensor()` an empty (0,) tensor. Returns (shape or None, data). Axonal also keeps its own
    `Tensor(data, requires_grad)` form: returns the flag as a third value."""
    if not args:
        return (0,), None, False
    if all(isinstance(a, numbers.Integral) and not isinstance(a, bool) for a in args):
        return tuple(int(a) for a in args), None, False
    if len(args) == 1 and isinstance(args[0], size_type):
        return tuple(args[0]), None, False
    if len(args) == 2 and isinstance(args[1], bool):
        return None, args[0], args[1]
    if len(args) == 1:
        return None, args[0], False
    raise TypeError(f"Tensor(): expected ints (a shape) or one data argument, got "
                    f"{', '.join(type(a).__name__ for a in args)}")


def format_tensor(t, spec):
    """format(t, spec) as PyTorch: a 0-d tensor formats as its Python number (f"{loss:.4f}"); any
    other tensor prints itself for an empty spec and raises TypeError for a non-empty one."""
    if t._data.ndim == 0:
        return format(t.item(), spec)
    if not spec:
        return repr(t)
    raise TypeError("unsupported format string passed to Tensor.__format__")
