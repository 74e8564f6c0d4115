"""`torch.utils.checkpoint`: trade compute for memory by recomputing a segment in backward.

    y = checkpoint(block, x, use_reentrant=False)

The forward runs `block` once, reads which tensors the result depends on, and then drops the
segment's graph (and so every activation it saved), keeping only the outputs. In backward the
segment is run again from the same inputs, with the random number generator restored to its
state at the first call (dropout draws the same masks), and its gradients are taken with respect
to the inputs and to every other tensor it used that requires grad (the module's parameters,
tensors captured from outside): they reach those tensors through the outer graph, so `.backward()`
and `autograd.grad` both work, with or without inputs that require grad (use_reentrant=False
semantics). Only one segment's activations are alive at a time.

The recomputation must produce outputs of the same shapes and dtypes as the first run
(determinism_check='default'), else a CheckpointError is raised. use_reentrant=True is accepted
with PyTorch's visible differences: keyword arguments are refused and, when no tensor input
requires grad, a warning is given and the output carries no graph (parameters get no gradient).
use_reentrant=None behaves as True, with PyTorch's warning to pass it explicitly.
"""
import contextlib
import warnings

from .. import _config
from .. import random as _random
from ..autograd import grad as _grad
from ..autograd.function import Function
from ..tensor import Tensor

__all__ = ["CheckpointError", "checkpoint", "checkpoint_sequential"]


class CheckpointError(RuntimeError):
    """The recomputation in backward did not reproduce the forward's outputs."""


def noop_context_fn():
    return contextlib.nullcontext(), contextlib.nullcontext()


def _dependencies(outputs, inputs):
    """The tensors requiring grad, other than `inputs`, that the graph of `outputs` reaches
    (leaves: parameters, captured tensors' leaves)."""
    ids = {id(t) for t in inputs}
    found, seen = {}, set()
    stack = [o._ctx for o in outputs if isinstance(o, Tensor) and o._ctx is not None]
    stack += [o for o in outputs if isinstance(o, Tensor) and o._ctx is None and o._rg]
    while stack:
        node = stack.pop()
        if isinstance(node, Tensor):  # a leaf edge
            if id(node) not in ids and node._rg:
                found.setdefault(id(node), node)
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        for edge in getattr(node, "next", ()) or ():
            if edge is None:
                continue
            stack.append(edge if isinstance(edge, Tensor) else edge[0])
    return list(found.values())


class _Checkpoint(Function):
    """forward(ctx, run, n_inputs, *inputs_and_dependencies) -> the outputs' arrays."""

    @staticmethod
    def forward(ctx, run, n_in, *tensors):
        ctx.save(run=run, saved_inputs=tensors[:n_in], deps=tensors[n_in:])
        outs = run.first_outputs
        run.first_outputs = None  # the graph of the first run is dropped with them
        return tuple(o._data for o in outs) if len(outs) > 1 else outs[0]._data

    @staticmethod
    def backward(ctx, *grads):
        run = ctx.run
        inputs = [t.detach().requires_grad_(t.requires_grad) if t._data.dtype.kind == "f"
                  else t.detach() for t in ctx.saved_inputs]
        outs = run.recompute(inputs)
        if len(outs) != len(grads) or any(
                tuple(o.shape) != s or o.dtype != d for o, (s, d) in zip(outs, run.meta)):
            raise CheckpointError(
                "torch.utils.checkpoint: Recomputed values for the following tensors have "
                f"different metadata than during the forward pass: forward gave "
                f"{[(s, str(d)) for s, d in run.meta]}, recomputation gave "
                f"{[(tuple(o.shape), str(o.dtype)) for o in outs]}")
        wrt = [t for t in inputs if t.requires_grad] + list(ctx.deps)
        pairs = [(o, g) for o, g in zip(outs, grads) if o.requires_grad and g is not None]
        got = _grad([o for o, _ in pairs], wrt, [g for _, g in pairs], retain_graph=True,
                    allow_unused=True) if pairs and wrt else [None] * len(wrt)
        got = list(got)
        in_grads = [got.pop(0) if t.requires_grad else None for t in inputs]
        return (None, None, *in_grads, *got)


class _Run:
    """One checkpointed call: the function, its non-tensor arguments, the RNG state."""

    def __init__(self, function, args, kwargs, preserve_rng_state, recompute_context):
        self.function, self.args, self.kwargs = function, args, kwargs
        self.slots = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        self.rng = _random.get_rng_state() if preserve_rng_state else None
        self.recompute_context = recompute_context

    def call(self, tensors):
        args = list(self.args)
        for i, t in zip(self.slots, tensors):
            args[i] = t
        return self.function(*args, **self.kwargs)

    def recompute(self, inputs):
        ctx = self.recompute_context
        if self.rng is None:
            with _config.enable_grad(), ctx:
                return _as_outputs(self.call(inputs))[0]
        current = _random.get_rng_state()
        _random.set_rng_state(self.rng)
        try:
            with _config.enable_grad(), ctx:
                return _as_outputs(self.call(inputs))[0]
        finally:
            _random.set_rng_state(current)


def _as_outputs(result):
    """(list of output Tensors, rebuild(list) -> result of the function's structure)."""
    if isinstance(result, Tensor):
        return [result], lambda ts: ts[0]
    if isinstance(result, (tuple, list)):
        tensors = [r for r in result if isinstance(r, Tensor)]

        def rebuild(ts):
            it = iter(ts)
            return type(result)(next(it) if isinstance(r, Tensor) else r for r in result)

        return tensors, rebuild
    raise TypeError(f"checkpoint: the checkpointed function must return a Tensor or a tuple / "
                    f"list of Tensors, got {type(result).__name__}")


def checkpoint(function, *args, use_reentrant=None, context_fn=noop_context_fn,
               determinism_check="default", debug=False, preserve_rng_state=True, **kwargs):
    """function(*args, **kwargs), with its activations recomputed in backward instead of kept."""
    if use_reentrant is None:
        warnings.warn("torch.utils.checkpoint: the use_reentrant parameter should be passed "
                      "explicitly. Starting in PyTorch 2.9, calling checkpoint without "
                      "use_reentrant will raise an exception. use_reentrant=False is "
                      "recommended, but if you need to preserve the current default behavior, "
                      "you can pass use_reentrant=True. Refer to docs for more details on the "
                      "differences between the two variants.", UserWarning, stacklevel=2)
        use_reentrant = True
    if determinism_check not in ("default", "none"):
        raise ValueError(f"determinism_check should be one of ['default', 'none'], but got "
                         f"{determinism_check}")
    if use_reentrant:
        if kwargs:
            raise ValueError("Unexpected keyword arguments: " + ",".join(kwargs))
        if context_fn is not noop_context_fn:
            raise ValueError("Passing `context_fn` is only supported when use_reentrant=False.")
    fwd_ctx, recompute_ctx = context_fn()
    run = _Run(function, args, kwargs, preserve_rng_state, recompute_ctx)
    tensors = [args[i] for i in run.slots]
    if not _config.is_grad_enabled():
        with fwd_ctx:
            return function(*args, **kwargs)
    if use_reentrant and not any(t.requires_grad for t in tensors):
        warnings.warn("None of the inputs have requires_grad=True. Gradients will be None",
                      UserWarning, stacklevel=2)
        with _config.no_grad(), fwd_ctx:
            return function(*args, **kwargs)
    detached = [t.detach().requires_grad_(t.requires_grad) if t._data.dtype.kind == "f"
                else t.detach() for t in tensors]
    with fwd_ctx:
        result = run.call(detached)
    outs, rebuild = _as_outputs(result)
    deps = _dependencies(outs, detached)
    if not any(t.requires_grad for t in tensors) and not deps:
        return result  # nothing to differentiate: no graph to recompute
    run.meta = [(tuple(o.shape), o.dtype) for o in outs]
    run.first_outputs = [o.detach() for o in outs]
    new = _Checkpoint.apply(run, len(tensors), *tensors, *deps)
    return rebuild(list(new) if isinstance(new, tuple) else [new])


def checkpoint_sequential(functions, segments, input, use_reentrant=None, **kwargs):
    """Run a Sequential (or list of modules) in `segments` chunks, checkpointing all but the
    last one."""
    if use_reentrant is None:
        warnings.warn("torch.utils.checkpoint.checkpoint_sequential: the use_reentrant "
                      "parameter should be passed explicitly. use_reentrant=False is "
                      "recommended.", UserWarning, stacklevel=2)
        use_reentrant = True
    preserve = kwargs.pop("preserve_rng_state", True)
    if kwargs:
        raise ValueError("Unexpected keyword arguments: " + ",".join(kwargs))
    funcs = list(functions.children()) if hasattr(functions, "children") else list(functions)

    def run_function(start, end, funcs):
        def forward(x):
            for j in range(start, end + 1):
                x = funcs[j](x)
            return x
        return forward

    size = len(funcs) // segments
    end = -1
    for start in range(0, size * (segments - 1), size):
        end = start + size - 1
        input = checkpoint(run_function(start, end, funcs), input, use_reentrant=use_reentrant,
                           preserve_rng_state=preserve)
    return run_function(end + 1, len(funcs) - 1, funcs)(input)
