"""`axonal.func`: composable function transforms (PyTorch's `torch.func`).

    from axonal.func import grad, jacrev, jacfwd, hessian, vjp, jvp, functional_call, vmap

`grad`/`grad_and_value`/`vjp`/`jacrev` use reverse mode, `jvp`/`jacfwd`/`linearize` forward mode
(`autograd.forward_ad`), `hessian` is jacfwd over jacrev, and `functional_call` runs a Module with
substituted parameters so that the transforms can differentiate with respect to them. `vmap`
maps a function over a batch dimension, running its body once where the ops have batching rules.
"""
from ._functional_call import functional_call
from ._jacobians import hessian, jacfwd, jacrev
from ._transforms import grad, grad_and_value, jvp, linearize, vjp

from ._vmap import vmap

__all__ = ["functional_call", "grad", "grad_and_value", "hessian", "jacfwd", "jacrev", "jvp",
           "linearize", "vjp", "vmap"]
