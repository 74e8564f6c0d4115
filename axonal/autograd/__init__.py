"""Reverse-mode automatic differentiation: `Function`, `grad`, `backward` and the gradient checkers.

Everything here sits above `tensor` (the backward pass itself is `axonal._engine`, below it), so the
package imports its modules eagerly: `_config -> _engine -> tensor -> autograd.function -> ops`.
"""
from .._config import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from . import anomaly_mode, graph
from .anomaly_mode import detect_anomaly, set_detect_anomaly
from .checks import GradcheckError, gradcheck, gradgradcheck
from .function import Function, FunctionCtx, once_differentiable
from .functional import backward, grad

__all__ = [
           "Function",
           "FunctionCtx",
           "GradcheckError",
           "backward",
           "detect_anomaly",
           "enable_grad",
           "grad",
           "gradcheck",
           "gradgradcheck",
           "is_grad_enabled",
           "no_grad",
           "once_differentiable",
           "set_detect_anomaly",
           "set_grad_enabled",
]
