"""PyTorch's allow-list for `load`: `serialization.add_safe_globals`, `safe_globals` (a context
manager), `get_safe_globals`, `clear_safe_globals`.

In PyTorch the list names the classes that `load(weights_only=True)` may rebuild while unpickling.
Axonal never unpickles: a checkpoint is data (tensors, numbers, strings, containers), and a pickle
is refused whatever the list says. The list is recorded so that programs calling these run
unchanged, and it is where a loader that rebuilds objects from their class paths (whole-module
save) checks what it may import: `is_safe_global(obj)`.
"""
import threading

__all__ = ["add_safe_globals", "clear_safe_globals", "get_safe_globals", "safe_globals"]

_STATE = threading.local()  # per thread, as PyTorch's


def _allowed():
    if not hasattr(_STATE, "allowed"):
        _STATE.allowed = []
    return _STATE.allowed


def _check(entries):
    if not isinstance(entries, (list, tuple)):
        raise TypeError(f"add_safe_globals: expected a list of classes or functions, got "
                        f"{type(entries).__name__}")
    for e in entries:
        obj = e[0] if isinstance(e, tuple) and len(e) == 2 and isinstance(e[1], str) else e
        if not callable(obj):
            raise TypeError(f"add_safe_globals: {e!r} is not a class or function (or a "
                            "(class, 'module.Name') pair)")
    return list(entries)


def add_safe_globals(safe_globals):
    """Allow these classes/functions (or `(obj, "module.Name")` pairs) from now on (a set, as in
    PyTorch: adding one twice keeps one)."""
    allowed = _allowed()
    allowed.extend(e for e in dict.fromkeys(_check(safe_globals)) if e not in allowed)


def get_safe_globals():
    return list(_allowed())


def clear_safe_globals():
    _allowed().clear()


def is_safe_global(obj):
    """Whether `obj` was allowed (by itself or as the first item of a pair)."""
    return any(obj is (e[0] if isinstance(e, tuple) else e) for e in _allowed())


class safe_globals:  # noqa: N801 - PyTorch's name
    """`with serialization.safe_globals([MyClass]): ...`: allowed inside the block only."""

    def __init__(self, safe_globals):
        self.safe_globals = _check(safe_globals)

    def __enter__(self):
        self._before = get_safe_globals()
        add_safe_globals(self.safe_globals)
        return self

    def __exit__(self, *exc):
        _allowed()[:] = self._before
        return False
