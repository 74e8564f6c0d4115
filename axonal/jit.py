"""`torch.jit` and `torch.compile` for programs written for PyTorch: Axonal runs eagerly, so
these return what they are given, unchanged (the program runs exactly as without them).
"""

__all__ = ["compile", "export", "ignore", "is_scripting", "is_tracing", "script", "trace", "unused"]


def script(obj, *args, **kwargs):
    """`torch.jit.script`: runs eagerly; returns `obj` (a module or a function) unchanged."""
    return obj


def trace(func, example_inputs=None, *args, **kwargs):
    """`torch.jit.trace`: runs eagerly; returns `func` (a module or a function) unchanged."""
    return func


def ignore(drop=False, **kwargs):
    """`torch.jit.ignore` as a decorator, with or without arguments: the function is unchanged."""
    return drop if callable(drop) else (lambda fn: fn)


unused = export = ignore


def is_scripting():
    return False


def is_tracing():
    return False


def compile(model=None, *, fullgraph=False, dynamic=None, backend="inductor", mode=None,  # noqa: A001
            options=None, disable=False):
    """`torch.compile`: runs eagerly; returns `model` unchanged (a module or a function), or, used
    as `@compile(...)` with options only, a decorator that does the same."""
    if model is None:
        return lambda fn: fn
    return model
