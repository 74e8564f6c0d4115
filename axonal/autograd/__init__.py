"""Automatic differentiation: `Function`, `grad`, `backward`, the gradient checkers, forward-mode AD
(`forward_ad`) and the functional API (`functional.jacobian`, `hessian`, `vjp`, `jvp`, `hvp`, `vhp`).

Everything here sits above `tensor` (the backward pass itself is `axonal._engine`, below it), so the
package imports its modules eagerly: `_config -> _engine -> tensor -> autograd.function -> ops`.
None of them imports `ops` (ops import `autograd.function` and `autograd.forward_ad`, which would
close a cycle); they use Tensor methods, bound by the time they run.
"""
from .._config import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from . import forward_ad, functional
from ._grad import backward, grad
from . import anomaly_mode, graph
from .anomaly_mode import detect_anomaly, set_detect_anomaly
from .checks import GradcheckError, gradcheck, gradgradcheck
from .function import Function, FunctionCtx, once_differentiable

__all__ = ["Function", "FunctionCtx", "GradcheckError", "backward", "detect_anomaly", "enable_grad",
           "forward_ad", "functional", "grad", "gradcheck", "gradgradcheck", "is_grad_enabled",
           "no_grad", "once_differentiable", "set_detect_anomaly", "set_grad_enabled"]
