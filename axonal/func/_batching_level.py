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

Higher-order gradients through a vmapped op (create_graph=True inside vmap) are not supported yet and
raise.
"""
import numpy as np

from .. import _config
from .._config import enable_grad
from .. import random as _random
from ..autograd.function import Function
from ..autograd.functional import grad as _autograd_grad
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
        if True not in bat and not any(level_of(v) is self for v in kwargs.values()):
            if not any(has_guard(a, self) for a in args):
                return cls.apply(*args, **kwargs)
        B = self.size
        if kwargs and any(level_of(v) is self for v in kwargs.values()):
            raise NotImplementedError(f"vmap: {cls.__name__} with a batched keyword argument")
        needs = [isinstance(a, Tensor) and a._rg for a in args] if _config._state.grad else None
        if not needs or True not in needs:
            phys = [a._data.phys if b else a for a, b in zip(args, bat)]
            return _wrap_out(run_rule(cls, phys, kwargs, bat, B, self), self)
        # a recorded call: the rule runs on fresh physical leaves, the node is logical
        phys, unbatched = [], []
        for k, (a, b, n) in enumerate(zip(args, bat, needs)):
            if b:
                p = a._data.phys
                phys.append(p.detach().requires_grad_() if n else p)
            elif n:  # its physical gradient is the sum over the batch (see _Lift.backward)
                phys.append(a.detach().requires_grad_())
                unbatched.append(k)
            else:
                phys.append(a)
        out = run_rule(cls, phys, kwargs, bat, B, self)
        outs = out if type(out) is tuple else (out,)
        logical = tuple(batched(o.detach(), self) for o in outs)
        node = _Lift.__new__(_Lift)
        node.saved = ()
        node.needs_input_grad = tuple(needs)
        node.save(phys_in=phys, phys_out=outs, level=self, unbatched=tuple(unbatched),
                  op=cls, bat=tuple(bat), kwargs=kwargs)
        node._record(args, needs, logical)
        return logical if type(out) is tuple else logical[0]


def _wrap_out(out, level):
    if type(out) is tuple:
        return tuple(batched(o, level) for o in out)
    return batched(out, level)


def _to_phys(g, level):
    """A gradient for a logical tensor of `level`, as a physical tensor (batch dim 0)."""
    if level_of(g) is level:
        return g._data.phys
    return expand_front(g, level.size)


class _Lift(Function):
    """The logical node of one batched op call (see the module doc)."""

    @staticmethod
    def backward(ctx, *grads):
        if _config._state.grad:
            raise NotImplementedError(
                f"vmap: higher-order gradients (create_graph=True) through the batched op "
                f"{ctx.op.__name__} are not supported yet")
        level = ctx.level
        want = [k for k, n in enumerate(ctx.needs_input_grad) if n]
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
        out = run_rule(ctx.op, phys, ctx.kwargs, bat, B, ctx.level)
    return phys, out if type(out) is tuple else (out,)


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
    node = cls.__new__(cls)
    node.saved = ()
    node.needs_input_grad = (True,)
    node.save(**state)
    node._record((inp,), [True], (out,))


def add_batch_dim(x, in_dim, level):
    """The batched tensor for input x mapped along in_dim (graph kept through a `_Wrap` node)."""
    out = batched(movedim(x.detach(), in_dim, 0), level)
    if x._rg and _config._state.grad:
        _node(_Wrap, x, out, level=level, in_dim=in_dim)
    return out


def remove_batch_dim(y, out_dim, level):
    """The physical result for output y at out_dim; unbatched outputs are broadcast."""
    if level_of(y) is not level:
        return movedim(expand_front(y, level.size), 0, out_dim)
    out = movedim(y._data.phys, 0, out_dim).detach()  # a fresh tensor: the node's output
    if y._rg and _config._state.grad:
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
