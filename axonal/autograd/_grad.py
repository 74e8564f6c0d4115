"""`axonal.autograd.grad` and `axonal.autograd.backward`: the functional entry points."""
from .. import _engine as engine
from .._errors import GraphError
from ..tensor import Tensor, constant


def _seeds(outputs, grad_outputs):
    seeds = []
    for k, (out, g) in enumerate(zip(outputs, grad_outputs)):
        if not isinstance(out, Tensor) or not out.requires_grad:
            raise GraphError(f"grad: output {k} does not require grad and has no grad_fn")
        if g is None:
            if out._data.size != 1:
                raise GraphError(f"grad: output {k} has shape {tuple(out.shape)}; grad can be "
                                 "implicitly created only for scalar outputs - pass grad_outputs")
            g = _ones(out)
        elif not isinstance(g, Tensor):
            g = Tensor(g, dtype=out.dtype)
        if tuple(g.shape) != tuple(out.shape):
            raise GraphError(f"grad: grad_outputs[{k}] has shape {tuple(g.shape)} but output {k} "
                             f"has shape {tuple(out.shape)}")
        seeds.append(g)
    return seeds


def _ones(t):
    from ..backend import xp_of

    return constant(xp_of(t._data).ones_like(t._data))


def _as_list(x):
    if x is None:
        return None
    return [x] if isinstance(x, Tensor) else list(x)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         allow_unused=False, materialize_grads=False):
    """Gradients of `outputs` with respect to `inputs`, returned (not accumulated into `.grad`)."""
    outputs, inputs = _as_list(outputs), _as_list(inputs)
    grad_outputs = _as_list(grad_outputs) or [None] * len(outputs)
    if len(grad_outputs) != len(outputs):
        raise ValueError(f"grad: got {len(grad_outputs)} grad_outputs for {len(outputs)} outputs")
    for k, t in enumerate(inputs):
        if not isinstance(t, Tensor) or not t.requires_grad:
            raise GraphError(f"grad: input {k} does not require grad")
    if retain_graph is None:
        retain_graph = create_graph
    res = engine.run_backward(outputs, _seeds(outputs, grad_outputs), retain_graph=retain_graph,
                              create_graph=create_graph, inputs=inputs, accumulate=False,
                              allow_unused=allow_unused or materialize_grads)
    if materialize_grads:
        from ..backend import xp_of

        res = [r if r is not None else constant(xp_of(t._data).zeros_like(t._data)) for r, t in zip(res, inputs)]
    return tuple(res)


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, inputs=None):
    """Accumulate gradients of several outputs at once (sum of their vector-Jacobian products)."""
    tensors = _as_list(tensors)
    grad_tensors = _as_list(grad_tensors) or [None] * len(tensors)
    if retain_graph is None:
        retain_graph = create_graph
    engine.run_backward(tensors, _seeds(tensors, grad_tensors), retain_graph=retain_graph,
                        create_graph=create_graph, inputs=_as_list(inputs))
