"""`Function`: the unit of differentiation, and the node type of the graph.

A subclass defines two static methods:

    forward(ctx, *args, **kwargs) -> array | Tensor | tuple of them
    backward(ctx, *grad_outputs)  -> one Tensor (or None) per positional argument of forward

`forward` runs with grad mode off; Tensors arrive as Tensors (primitives read `x.data` and return
arrays). `backward` receives Tensors and is written with differentiable Tensor ops, so when the engine
runs it with `create_graph=True` the backward computation is itself recorded and can be differentiated
again (higher-order gradients for free, as in Chainer's FunctionNode or needle's `gradient`).

The `ctx` passed to both methods is the instance of the subclass created by `apply`; when the output
needs a gradient that instance becomes the graph node.

The op contract (one way for every op):

* Everything `forward` keeps for `backward` goes through one of two calls, and both are released
  after backward (unless `retain_graph=True`): `ctx.save_for_backward(*tensors)` for Tensors (read
  back as `ctx.saved_tensors`) and `ctx.save(name=value, ...)` for anything else (arrays, shapes,
  flags; read back as `ctx.name`). Ops never assign `ctx.<name> = ...` themselves.
* An op may add a first-order fast path, `backward_arrays(ctx, *grad_arrays)`: raw arrays in, raw
  arrays (or None) out, one per forward input, free to call kernels. The engine picks it when the
  backward pass is not being recorded (`create_graph=False`); it may return `NotImplemented` to
  defer to the differentiable `backward`. Ops never test the grad mode themselves.
* Arrays are wrapped as graph-free tensors with `axonal.tensor.constant(array)`.
"""
import weakref

import numpy as np

from .. import _config, _hooks, _storage
from .._engine import anomaly as _anomaly
from .._errors import GraphError, ShapeError
from ..backend import xp_of
from ..tensor import ARRAY_TYPES, Tensor, constant
from . import versions as _versions

_link_views = _versions.link_views
name_views = _versions.name_views  # for the shape ops
_EPOCH = _storage.EPOCH
version_counter = _storage.version_counter

_make = Tensor._make
_new = object.__new__
_NDARRAY = np.ndarray
_NO_GRADS = [(False,) * n for n in range(8)]


def _no_grads(n):
    return _NO_GRADS[n] if n < 8 else (False,) * n


class Function:
    save_output = False  # primitives whose backward uses their own output (exp, tanh, softmax, ...)
    backward_arrays = None  # optional first-order fast path: (ctx, *grad_arrays) -> arrays
    _non_diff = ()  # ids of outputs marked non-differentiable
    _saved_names = ()  # names stored by ctx.save(...), released after backward
    _ep = 0  # the global in-place write count when the node recorded (axonal/_storage.py)
    _hooks = None  # a `_hooks.NodeHooks` once a hook is registered on the node or its outputs
    _fn_name = "Function"  # the op's class name (error messages); type(node).__name__ is PyTorch's

    def __init_subclass__(cls, **kwargs):
        """Each op class gets a node class, the type of its graph nodes: a subclass named as
        PyTorch's node (`Mul` -> `MulBackward0`, a user's `MyFn` -> `MyFnBackward`; see
        `_hooks.node_name`). The op class keeps its name; `_fn_name` gives it to messages."""
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("_is_node"):
            return
        cls._fn_name, cls._fn_cls = cls.__name__, cls
        name = _hooks.node_name(cls)
        cls._node = _node_class(cls, name)
        rule = _hooks.variant_rule(cls)
        if rule is not None:  # one op class, several PyTorch ops: name the node per call
            cls._record = _record_variant(rule)

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError("Function subclasses must define a static forward(ctx, ...)")

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise NotImplementedError(f"{ctx._fn_name} does not define backward")

    # -- saved state -------------------------------------------------------------------------
    def save_for_backward(self, *tensors):
        """Keep Tensors (or None) for backward; read them back with `ctx.saved_tensors`."""
        self.saved = tensors

    def save(self, **state):
        """Keep non-Tensor state for backward (arrays, shapes, flags), read back as `ctx.<name>`.

        The names are remembered so that `_release` drops them with the saved tensors: a node kept
        alive by a retained output does not keep its forward's arrays alive too. (No `__getattr__`
        guards reads after the release: a class with one loses CPython's specialized attribute
        access on every instance, 3x slower for the many ctx reads of each op.)
        """
        d = self.__dict__
        d.update(state)
        names = d.get("_saved_names")  # most ops save once: the kwargs dict itself names them
        d["_saved_names"] = state if names is None else (*names, *state)

    def save_for_forward(self, *tensors):
        """Keep Tensors for `jvp` (forward-mode AD); inside `jvp`, `ctx.saved_tensors` reads them."""
        self.__dict__["_fw_saved"] = tensors

    @property
    def saved_tensors(self):
        if self._freed:
            raise GraphError(f"{self._fn_name}: saved tensors were freed by an earlier "
                             "backward(); pass retain_graph=True to keep them")
        return self.saved

    def output(self, index=0):
        """This node's output `index`, re-attached to the node (for `save_output` primitives).

        Only the array is stored, so the node does not keep its own output Tensor alive (no reference
        cycle). When the backward pass is being recorded the re-attached tensor carries this node as
        its `grad_fn`, so derivatives of the backward flow through the forward correctly.
        """
        if self._freed:
            raise GraphError(f"{self._fn_name}: saved output was freed by an earlier backward()")
        data = self._out_data[index]
        out = Tensor._make(data, True, self, index) if _config.is_grad_enabled() else constant(data)
        fw = self.__dict__.get("_fw_out")
        if fw is not None:  # forward AD: the output's tangents, so a recorded backward carries them
            out.__dict__["_fw_grads"] = fw[index]
        return out

    def mark_non_differentiable(self, *tensors):
        self._non_diff = {id(t) for t in tensors}

    def set_materialize_grads(self, value: bool):
        self._materialize = bool(value)

    # -- apply: run forward, record the node ---------------------------------------------------
    @classmethod
    def apply(cls, *args, **kwargs):
        state = _config._state
        if state.layers:  # a transform (forward AD, vmap) is active: it sees the call first
            return _through_layers(cls, args, kwargs)
        ctx = _new(cls._node)
        ctx.saved = ()
        if state.grad:
            if _versions.graph_writes[0]:  # an in-place op changed a graph: views may be stale
                _versions.refresh_views(args)
            needs = [isinstance(a, Tensor) and a._rg for a in args]
            record = True in needs
            ctx.needs_input_grad = tuple(needs) if record else _no_grads(len(args))
            state.grad = False
            try:
                out = cls.forward(ctx, *args, **kwargs)
            finally:
                state.grad = True
        else:
            record = False
            ctx.needs_input_grad = _no_grads(len(args))
            out = cls.forward(ctx, *args, **kwargs)

        if type(out) is not tuple:
            result = constant(out) if type(out) is _NDARRAY else ctx._wrap(out, args)
            outs = (result,)
            if result._data.base is not None:  # may be a view of an input (autograd/versions.py)
                _link_views(outs, args)
        else:
            outs = result = tuple(ctx._wrap(o, args) for o in out)
            _link_views(outs, args)
        if record:
            ctx._record(args, needs, outs)
        return result

    @classmethod
    def _apply_with_ctx(cls, *args, **kwargs):
        """`apply` past the transform layers, returning (result, ctx): forward AD runs the op's
        `jvp` on the very ctx its forward filled. The same steps as `apply` (keep them in step)."""
        state = _config._state
        ctx = _new(cls._node)
        ctx.saved = ()
        if state.grad and _versions.graph_writes[0]:
            _versions.refresh_views(args)
        needs = [isinstance(a, Tensor) and a._rg for a in args] if state.grad else []
        record = True in needs
        ctx.needs_input_grad = tuple(needs) if record else _no_grads(len(args))
        prev, state.grad = state.grad, False
        try:
            out = cls.forward(ctx, *args, **kwargs)
        finally:
            state.grad = prev
        if type(out) is not tuple:
            result = constant(out) if type(out) is _NDARRAY else ctx._wrap(out, args)
            outs = (result,)
            if result._data.base is not None:
                _link_views(outs, args)
        else:
            outs = result = tuple(ctx._wrap(o, args) for o in out)
            _link_views(outs, args)
        if record:
            ctx._record(args, needs, outs)
        return result, ctx

    def _record(self, args, needs, outs):
        """Make this call a graph node: edges to the inputs, outputs pointing back here."""
        self._freed = False
        made = _versions.collecting[0]
        if made is not None:  # an in-place op is running its out-of-place op: it wants the nodes
            made.append(self)
        if _anomaly.enabled:  # anomaly mode: remember where this forward was called
            _hooks.record_stack(self)
        self.n_out = len(outs)
        # one edge per forward argument: None, a leaf tensor, or (node, output index)
        self.next = [(a if a._ctx is None else (a._ctx, a._idx)) if n else None
                     for a, n in zip(args, needs)]
        self._in_meta = [(a._data.shape, a._data.dtype) if n else None for a, n in zip(args, needs)]
        if self.save_output:
            self._out_data = tuple(o._data for o in outs)
            if len(outs) == 1:  # the outputs' counters: a write into one is caught in backward
                o = outs[0]
                vc = o._vc
                if vc is None:
                    vc = o._vc = [0, 0, None, None]
                self._out_vc = (vc,)
            else:
                self._out_vc = tuple(version_counter(o) for o in outs)
        self._ep = _EPOCH[0]  # in-place writes so far: backward checks the saved tensors if more
        if len(outs) == 1:
            o = outs[0]
            if o._data.dtype.kind in "fV" and not self._non_diff:
                o._rg, o._ctx = True, self
            return
        for i, o in enumerate(outs):
            if o._data.dtype.kind in "fV" and id(o) not in self._non_diff:
                o._rg, o._ctx, o._idx = True, self, i
        self._out_meta = tuple((o._data.shape, o._data.dtype, xp_of(o._data)) for o in outs)

    def _wrap(self, out, args):
        if isinstance(out, Tensor):
            # Adopt a fresh tensor made inside forward (so tensors saved there are the outputs);
            # never re-use an input as the output of a new node.
            if out._ctx is None and not out._rg and not any(out is a for a in args):
                return out
            return constant(out._data)
        if not isinstance(out, ARRAY_TYPES):
            out = xp_of(*[a._data for a in args if isinstance(a, Tensor)]).asarray(out)
        return constant(out)

    # -- called by the engine --------------------------------------------------------------------
    def _backward_apply(self, grads):
        """Run backward and check that each input gradient has the input's shape and dtype."""
        if _EPOCH[0] != self._ep:
            _versions.check(self)  # a saved tensor written in place since raises PyTorch's error
        if len(grads) > 1 and getattr(self, "_materialize", True):
            grads = [g if g is not None else _zeros(meta) for g, meta in zip(grads, self._out_meta)]
        res = NotImplemented
        fast = type(self).backward_arrays
        if fast is not None and not _config._state.grad:  # first order: arrays in, arrays out
            res = fast(self, *[None if g is None else g._data for g in grads])
        if res is NotImplemented:
            res = type(self).backward(self, *grads)
        if type(res) is not tuple:
            res = (res,)
        n = len(self.next)
        if len(res) != n:
            if len(res) < n or any(r is not None for r in res[n:]):
                raise GraphError(f"{self._fn_name}.backward returned {len(res)} gradients, "
                                 f"expected {n} (one per forward input)")
        out = [None] * n
        for k in range(n):
            g, meta = res[k], self._in_meta[k]
            if g is None or meta is None:
                continue
            if type(g) is not Tensor:
                g = g if isinstance(g, Tensor) else constant(xp_of(g).asarray(g))
            data = g._data
            if data.shape != meta[0]:
                raise ShapeError(f"{self._fn_name}.backward returned a gradient of shape "
                                 f"{tuple(data.shape)} for an input of shape {tuple(meta[0])}")
            if data.dtype != meta[1]:
                g = g.to(dtype=_dtype_of(meta[1]))
            out[k] = g
        return out

    def _release(self):
        self.saved = None
        self._out_data = None
        self._freed = True
        names = self._saved_names
        if names:  # a second backward is refused by the engine (the node is marked freed)
            d = self.__dict__
            for name in names:
                d.pop(name, None)
            self._saved_names = ()

    def _retain(self, index, tensor):
        h = _hooks.node_hooks(self)
        if h.retain is None:
            h.retain = {}
        h.retain[index] = weakref.ref(tensor)

    # -- the node as PyTorch shows it (torch.autograd.graph.Node) ----------------------------------
    @property
    def next_functions(self):
        """((node, output index), ...) per forward input: the producing node, an `AccumulateGrad`
        for a leaf that requires grad (one per leaf while it is alive), `(None, 0)` otherwise."""
        edges = self.__dict__.get("next")
        if edges is None:
            return ()
        n = _hooks.n_edges(self)
        return tuple((None, 0) if e is None else e if type(e) is tuple else
                     (_hooks.accumulate_grad(e), 0)
                     for e in (edges[n] if type(n) is slice else edges[:n]))

    def name(self):
        return type(self).__name__

    @property
    def metadata(self):
        return _hooks.metadata(self)

    def register_hook(self, fn):
        """`fn(grad_inputs, grad_outputs)` after this node's backward; may return new
        grad_inputs."""
        return _hooks.HookHandle(_hooks.node_hooks(self).post, fn)

    def register_prehook(self, fn):
        """`fn(grad_outputs)` before this node's backward; may return new grad_outputs."""
        return _hooks.HookHandle(_hooks.node_hooks(self).pre, fn)

    def __repr__(self):
        return f"<{type(self).__name__} object at {id(self):#x}>"


FunctionCtx = Function  # PyTorch exposes the ctx type under this name


def _node_class(cls, name):
    """The node class `name` of op class `cls` (cached: one class per name)."""
    table = cls.__dict__.get("_node_classes")
    if table is None:
        table = {}
        type.__setattr__(cls, "_node_classes", table)
    node = table.get(name)
    if node is None:
        body = {"_is_node": True, "__module__": cls.__module__, "__qualname__": name}
        node = table[name] = type(cls)(name, (cls,), body)
    return node


def _record_variant(rule):
    def _record(self, args, needs, outs):
        Function._record(self, args, needs, outs)
        name = rule(args)
        if name != type(self).__name__:
            self.__class__ = _node_class(self._fn_cls, name)

    return _record


def once_differentiable(backward):
    """Mark a backward that is not itself differentiable: it runs with grad mode off."""
    import functools

    @functools.wraps(backward)
    def wrapper(ctx, *grads):
        with _config.no_grad():
            return backward(ctx, *grads)

    return wrapper


def _through_layers(cls, args, kwargs):
    """Hand an op call to the innermost active transform (as functorch's interpreter stack).

    The transform runs with itself popped, so when it calls `cls.apply(...)` on unwrapped arguments
    the call goes to the transforms below it, and finally to the plain op. Transforms are pushed with
    `_config._state.layers = (*layers, layer)` and restored by whoever pushed them.
    """
    state = _config._state
    layers = state.layers
    state.layers = layers[:-1]
    try:
        return layers[-1](cls, args, kwargs)
    finally:
        state.layers = layers


def _zeros(meta):
    shape, dtype, xp = meta
    return constant(xp.zeros(shape, dtype))


def _dtype_of(npd):
    from .._dtype import from_numpy_dtype

    return from_numpy_dtype(npd)
