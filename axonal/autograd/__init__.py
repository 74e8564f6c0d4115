"""Reverse-mode automatic differentiation.

`engine` (the backward pass) sits below `tensor`; `Function`, `grad`, `backward` and the gradient
checkers sit above it. To keep imports one-way, the upper names are loaded on first use (PEP 562).
"""
from .engine import run_backward  # noqa: F401

_LAZY = {
    "Function": "function", "FunctionCtx": "function", "once_differentiable": "function",
    "grad": "functional", "backward": "functional",
    "gradcheck": "checks", "gradgradcheck": "checks", "GradcheckError": "checks",
}


def __getattr__(name):
    import importlib

    if name in _LAZY:
        return getattr(importlib.import_module("." + _LAZY[name], __name__), name)
    if name in ("no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled"):
        from .. import _config

        return getattr(_config, name)
    raise AttributeError(f"module 'axonal.autograd' has no attribute {name!r}")
