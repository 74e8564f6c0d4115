"""Global switches: gradient mode (per thread) and the default floating dtype.

Grad mode decides whether ops record the graph. It is thread-local, like PyTorch's, so a data-loading
or serving thread cannot switch recording off for the training thread.
"""
import functools
import threading


class _State(threading.local):
    grad = True  # class attribute: the default seen by every new thread
    # Active function transforms (forward-mode AD levels, vmap levels), innermost last. Each is a
    # callable `layer(cls, args, kwargs)` that sees every `Function.apply` call first; see
    # `axonal.autograd.function._through_layers`. Empty (falsy) in ordinary code.
    layers = ()


_state = _State()


def is_grad_enabled() -> bool:
    return _state.grad


def _set_grad(mode: bool) -> None:
    _state.grad = bool(mode)


class _GradMode:
    """Context manager and decorator that sets grad mode and restores the previous one."""

    mode = True

    def __new__(cls, *args):
        if cls is not set_grad_enabled and len(args) == 1 and callable(args[0]):
            return cls()(args[0])  # bare `@no_grad` / `@enable_grad`, as PyTorch allows
        return super().__new__(cls)

    def __enter__(self):
        self._prev = is_grad_enabled()
        _set_grad(self.mode)
        return self

    def __exit__(self, *exc):
        _set_grad(self._prev)
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self.__class__():
                return fn(*args, **kwargs)

        return wrapper


class no_grad(_GradMode):
    """Disable graph recording: `with axonal.no_grad(): ...` or `@axonal.no_grad()`."""

    mode = False


class enable_grad(_GradMode):
    """Enable graph recording inside a `no_grad` block."""

    mode = True


class set_grad_enabled(_GradMode):
    """`set_grad_enabled(False)` works as a call, a context manager and a decorator."""

    def __init__(self, mode: bool):
        self.mode = bool(mode)
        self._prev = is_grad_enabled()
        _set_grad(self.mode)  # takes effect immediately when used as a plain call

    def __enter__(self):
        return self

    def __call__(self, fn):
        _set_grad(self._prev)
        mode = self.mode

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with set_grad_enabled(mode):
                return fn(*args, **kwargs)

        return wrapper


# The default dtype is held as a NumPy dtype here; `axonal.dtype` maps it to the public dtype objects.
_default_float = "float32"


def get_default_float() -> str:
    return _default_float


def set_default_float(name: str) -> None:
    global _default_float
    if name not in ("float32", "float64", "float16"):
        raise TypeError(f"set_default_dtype: only floating dtypes are allowed, got {name}")
    _default_float = name
