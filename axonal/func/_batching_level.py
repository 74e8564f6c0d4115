"""A vmap level: the transform layer that batches op calls, and the logical autograd graph.

`_Level` is pushed on `_config._state.layers` while the vmapped function runs, so it sees every
`Function.apply` call first (`autograd.function._through_layers`). A call without a batched argument
of this level goes straight on to the layers below; otherwise the batching rule (or the per-sample
loop) computes the physical result once, and the output is wrapped as a batched tensor.

Gradients. Autograd inside vmap (the per-sample-gradient pattern `vmap(grad(f))`) must see one graph
per sample: the gradient of an unbatched weight is different for every sample. So the graph is
recorded at the *logical* level: when grad mode is on and an argument requires grad, the level runs
the rule on fresh physical leaves and records one `_Lift` node whose inputs are the logical
arguments. `_Lift.backward` differentiates that small physical graph with `autograd.grad` and
returns batched gradients. For an unbatched input (a weight shared by the samples) the physical
gradient is the sum over the batch: what a backward from outside vmap needs (after vmap returned,
`loss.backward()` on its output). Inside the vmapped function - the level still active - the
per-sample gradients are needed instead: the op is recomputed once with that input broadcast to the
batch (a view), whose physical gradient is one gradient per sample. The forward thus keeps the
shared-weight form (one GEMM for `linear`), and only `vmap(grad(f))` pays the per-sample form.
`_Wrap` and `_Unwrap` connect the logical graph to the tensors entering and leaving vmap.

Higher-order gradients (create_graph=True inside vmap, as `axonal.func.grad` does there) record the
backward of a `_Lift` as one more lifted call (`_VJPCompute`: the op's forward re-run and
differentiated with create_graph), so gradients of gradients are exact to any order. A recorded
backward from outside the vmap (a Hessian of a vmapped function) is not supported yet and raises.
"""
import numpy as np

from .. import _config
from .. import random as _random
from .._config import enable_grad
from ..autograd import function as _function
from ..autograd import grad as _autograd_grad
from ..autograd.function import Function
from ..ops.shape import movedim
from ..tensor import Tensor, constant
from ._batching import expand_front, run_rule
from ._batching_tensor import batched, has_guard, level_of, make_guard


class _Level:
    """One active vmap: batch size, randomness mode, nesting depth; callable as a layer."""

    def __init__(self, size, randomness, depth):
        self.size = size
        self.randomness = randomness
        self.depth = depth

    def active(self):
        return self in _config._state.layers

    def __call__(self, cls, args, kwargs):
        bat = [level_of(a) is self for a in args]
        if True not in bat and not any(level_of(v) is self for v in kwargs.values()) \
                and not any(has_guard(a, self) for a in args):
            return cls.apply(*args, **kwargs)
        if kwargs and any(level_of(v) is self for v in kwargs.values()):
            raise NotImplementedError(f"vmap: {cls.__name__} with a batched keyword argument")
        compute = _RuleCompute(cls, kwargs, self)
        needs = [_needs(a) for a in args] if _config._state.grad else None
        if not needs or True not in needs:
            phys = [a._data.phys if b else a for a, b in zip(args, bat)]
            out = compute(phys, bat)
            out = tuple(batched(o, self) for o in out) if type(out) is tuple else \
                (batched(out, self),)
        else:
            out = _lift(self, compute, args, bat, needs)
        if _LINK_VIEWS is not None:  # as Function.apply does: outputs sharing memory are views
            _LINK_VIEWS(out, args)
        return out if len(out) > 1 or compute.tuple_out else out[0]


# Function.apply's view bookkeeping, where the autograd has it (views and version counters): the
# guards share their storage as the physical arrays do, so the same memory test applies.
_LINK_VIEWS = getattr(_function, "_link_views", None)
_VIEW_NEEDS = getattr(_function, "_view_needs", None)


_TANGENTS = "_fw_grads"  # where forward-mode AD keeps a tensor's tangents (its instance dict)


def _needs(a):
    if not isinstance(a, Tensor):
        return False
    if _VIEW_NEEDS is not None and getattr(a, "_base", None) is not None:
        return _VIEW_NEEDS(a)
    return a._rg


class _RuleCompute:
    """The physical computation of one op call: its batching rule (or the per-op loop)."""

    def __init__(self, cls, kwargs, level):
        self.cls, self.kwargs, self.level, self.tuple_out = cls, kwargs, level, False
        self.name = cls.__name__

    def __call__(self, phys, bat):
        out = run_rule(self.cls, phys, self.kwargs, list(bat), self.level.size, self.level)
        self.tuple_out = type(out) is tuple
        return out


def _lift(level, compute, args, bat, needs):
    """Run `compute` on fresh physical leaves and record one logical `_Lift` node over `args`;
    returns the batched outputs (a tuple)."""
    phys, unbatched = [], []
    for k, (a, b, n) in enumerate(zip(args, bat, needs)):
        if b or n:
            p = a._data.phys if b else a
            if n and p.__dict__.get(_TANGENTS):
                raise NotImplementedError(
                    "vmap: forward-mode tangents through a batched op that also records a reverse "
                    "graph (jvp/jacfwd over vmap of a function using tensors that require grad) "
                    "are not supported yet")
            phys.append(p.detach().requires_grad_() if n else p)
            if not b:  # its physical gradient is the sum over the batch (see _Lift.backward)
                unbatched.append(k)
        else:
            phys.append(a)
    out = compute(phys, bat)
    outs = out if type(out) is tuple else (out,)
    logical = tuple(batched(o.detach(), level) for o in outs)
    for t in logical:
        t._data.recorded = True
    node = _Lift.__new__(_Lift)
    node.saved = ()
    node.needs_input_grad = tuple(needs)
    node.save(phys_in=phys, phys_out=outs, level=level, unbatched=tuple(unbatched),
              compute=compute, bat=tuple(bat), args=tuple(args))
    node._record(args, needs, logical)
    return logical


def _to_phys(g, level):
    """A gradient for a logical tensor of `level`, as a physical tensor (batch dim 0)."""
    if level_of(g) is level:
        return g._data.phys
    return expand_front(g, level.size)


class _Lift(Function):
    """The logical node of one batched op call (see the module doc)."""

    @staticmethod
    def backward(ctx, *grads):
        level = ctx.level
        want = [k for k, n in enumerate(ctx.needs_input_grad) if n]
        if _config._state.grad:  # create_graph: the backward is a batched op of its own
            return _recorded_backward(ctx, grads, want)
        phys_in, phys_out = ctx.phys_in, ctx.phys_out
        per_sample = level.active() and any(k in ctx.unbatched for k in want)
        if per_sample:
            phys_in, phys_out = _recompute_per_sample(ctx)
        outs, seeds = [], []
        for o, g in zip(phys_out, grads):
            if g is not None and o._rg:
                outs.append(o)
                seeds.append(_to_phys(g, level))
        if not outs:
            return (None,) * len(ctx.needs_input_grad)
        res = _autograd_grad(outs, [phys_in[k] for k in want], seeds, retain_graph=True,
                             allow_unused=True)
        result = [None] * len(ctx.needs_input_grad)
        for k, r in zip(want, res):
            if r is not None:
                # an unbatched input's gradient is summed over the batch unless recomputed
                result[k] = r if k in ctx.unbatched and not per_sample else batched(r, level)
        return tuple(result)


def _recompute_per_sample(ctx):
    """The op again, with each unbatched input that needs a gradient broadcast to the batch (a
    view), so that its physical gradient is one gradient per sample: what autograd inside the
    vmapped function (vmap(grad(f))) must see. The forward keeps the cheap shared-weight form."""
    B, bat, phys = ctx.level.size, list(ctx.bat), list(ctx.phys_in)
    for k in ctx.unbatched:
        if ctx.needs_input_grad[k]:
            phys[k] = expand_front(phys[k].detach(), B).requires_grad_()
            bat[k] = True
    with enable_grad():
        out = ctx.compute(phys, bat)
    return phys, out if type(out) is tuple else (out,)


def _recorded_backward(ctx, grads, want):
    """create_graph=True (a gradient to be differentiated again, or `axonal.func.grad` inside
    vmap): the vector-Jacobian product is recorded as one more lifted call, a function of the op's
    logical inputs and of the output gradients, so that its own backward is exact to any order."""
    level = ctx.level
    if not level.active():
        raise NotImplementedError(
            f"vmap: higher-order gradients (create_graph=True) through the batched op "
            f"{ctx.compute.name} from outside the vmap are not supported yet")
    pairs = [(i, g) for i, (o, g) in enumerate(zip(ctx.phys_out, grads))
             if g is not None and o._rg]
    if not pairs:
        return (None,) * len(ctx.needs_input_grad)
    args = list(ctx.args) + [g for _, g in pairs]
    bat = [level_of(a) is level for a in args]
    needs = [isinstance(a, Tensor) and a._rg for a in args]
    compute = _VJPCompute(ctx.compute, len(ctx.args), [i for i, _ in pairs], want, level)
    if True in needs:
        outs = _lift(level, compute, args, bat, needs)
    else:
        phys = [a._data.phys if b else a for a, b in zip(args, bat)]
        outs = tuple(batched(o, level) for o in compute(phys, bat))
    result = [None] * len(ctx.needs_input_grad)
    for k, r in zip(want, outs):
        result[k] = r
    return tuple(result)


class _VJPCompute:
    """Physical computation of a recorded backward: (op inputs, output gradients) -> per-sample
    input gradients, by re-running the op's forward and differentiating it with create_graph."""

    tuple_out = True

    def __init__(self, forward, n_in, out_idx, want, level):
        self.forward, self.n_in, self.out_idx, self.want, self.level = \
            forward, n_in, out_idx, want, level
        self.name = f"{forward.name}Backward"

    def __call__(self, phys, bat):
        B, n = self.level.size, self.n_in
        ins, bat_in = list(phys[:n]), list(bat[:n])
        for k in self.want:
            if not bat_in[k]:  # a shared input: its gradient per sample (the level is active)
                ins[k] = expand_front(ins[k], B)
                bat_in[k] = True
            if not ins[k]._rg:
                ins[k] = ins[k].detach().requires_grad_()
        seeds = [s if b else expand_front(s, B) for s, b in zip(phys[n:], bat[n:])]
        with enable_grad():
            out = self.forward(ins, bat_in)
            outs = out if type(out) is tuple else (out,)
            res = _autograd_grad([outs[i] for i in self.out_idx], [ins[k] for k in self.want],
                                 seeds, create_graph=True, allow_unused=True)
        return tuple(r if r is not None else _zeros_like(ins[k])
                     for k, r in zip(self.want, res))


def _zeros_like(t):
    return constant(np.zeros(t.shape, t._data.dtype)) if level_of(t) is None else t * 0


class _Wrap(Function):
    """Entry: a tensor `x` batched along `in_dim`; the gradient goes back to x's layout."""

    @staticmethod
    def backward(ctx, g):
        return movedim(_to_phys(g, ctx.level), 0, ctx.in_dim)


class _Unwrap(Function):
    """Exit: the physical result moved to `out_dim`; its gradient is batched again."""

    @staticmethod
    def backward(ctx, g):
        return batched(movedim(g, ctx.out_dim, 0), ctx.level)


def _node(cls, inp, out, **state):
    node = object.__new__(cls._node)
    node.saved = ()
    node.needs_input_grad = (True,)
    node.save(**state)
    node._record((inp,), [True], (out,))


def add_batch_dim(x, in_dim, level):
    """The batched tensor for input x mapped along in_dim (graph kept through a `_Wrap` node).
    A graph-free x is moved as it is, so that what the transforms below vmap keep on the tensor
    itself (forward-mode tangents) stays on its physical value."""
    out = batched(movedim(x.detach() if x._rg else x, in_dim, 0), level)
    if x._rg and _config._state.grad:
        _node(_Wrap, x, out, level=level, in_dim=in_dim)
    return out


def remove_batch_dim(y, out_dim, level):
    """The physical result for output y at out_dim; unbatched outputs are broadcast."""
    if level_of(y) is not level:
        return movedim(expand_front(y, level.size), 0, out_dim)
    out = movedim(y._data.phys, 0, out_dim)
    if y._rg and _config._state.grad:
        out = out.detach()  # a fresh tensor: the node's output
        _node(_Unwrap, y, out, level=level, out_dim=out_dim)
    return out


# -- randomness ------------------------------------------------------------------------------------
_RANDOM_ERROR = ("vmap: called random operation while in randomness error mode. Please either use "
                 "the 'same' or 'different' randomness flags on vmap or perform the randomness "
                 "operation out of vmap")


class _ErrorRng:
    """Stands in for the default NumPy generator in randomness='error' mode: any draw raises."""

    def __getattr__(self, name):  # a stand-in object, not a Tensor or a Function
        raise RuntimeError(_RANDOM_ERROR)


class _DifferentRng:
    """randomness='different': every draw gets a leading batch dim and comes back batched."""

    def __init__(self, inner, level):
        self._inner, self._level = inner, level

    def _batched(self, arr):
        return make_guard(constant(np.asarray(arr)), self._level)

    def _size(self, size):
        size = () if size is None else (size,) if isinstance(size, int) else tuple(size)
        return (self._level.size,) + size

    def random(self, size=None, dtype=np.float64):
        return self._batched(self._inner.random(self._size(size), dtype=dtype))

    def standard_normal(self, size=None, dtype=np.float64):
        return self._batched(self._inner.standard_normal(self._size(size), dtype=dtype))

    def uniform(self, low=0.0, high=1.0, size=None):
        return self._batched(self._inner.uniform(low, high, self._size(size)))

    def normal(self, loc=0.0, scale=1.0, size=None):
        return self._batched(self._inner.normal(loc, scale, self._size(size)))

    def integers(self, low, high=None, size=None, dtype=np.int64, endpoint=False):
        return self._batched(self._inner.integers(low, high, size=self._size(size), dtype=dtype,
                                                  endpoint=endpoint))

    def permutation(self, x):
        return self._batched(np.stack([self._inner.permutation(x)
                                       for _ in range(self._level.size)]))

    def __getattr__(self, name):
        raise NotImplementedError(f"vmap(randomness='different'): numpy Generator.{name} is not "
                                  "batched yet")


class random_mode:
    """Context: the default generator's NumPy generator replaced as `randomness` asks.

    The default generator is shared by all threads: a random op in another thread while a vmap
    runs sees the stand-in too (vmap in several threads at once is not supported)."""

    def __init__(self, randomness, level):
        self.randomness, self.level = randomness, level

    def __enter__(self):
        gen = _random.default_generator
        self.prev = gen.np
        if self.randomness == "error":
            gen.np = _ErrorRng()
        elif self.randomness == "different":
            gen.np = _DifferentRng(self.prev, self.level)
        return self

    def __exit__(self, *exc):
        _random.default_generator.np = self.prev
        return False
