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
"""
import weakref

from .. import _config
from .._errors import GraphError, ShapeError
from ..backend import xp_of
from ..tensor import ARRAY_TYPES, Tensor


class Function:
    save_output = False  # primitives whose backward uses their own output (exp, tanh, softmax, ...)

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError("Function subclasses must define a static forward(ctx, ...)")

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise NotImplementedError(f"{type(ctx).__name__} does not define backward")

    # -- saved state -------------------------------------------------------------------------
    def save_for_backward(self, *tensors):
        self.saved = tensors

    @property
    def saved_tensors(self):
        if self._freed:
            raise GraphError(f"{type(self).__name__}: saved tensors were freed by an earlier "
                             "backward(); pass retain_graph=True to keep them")
        return self.saved

    def output(self, index=0):
        """This node's output `index`, re-attached to the node (for `save_output` primitives).

        Only the array is stored, so the node does not keep its own output Tensor alive (no reference
        cycle). When the backward pass is being recorded the re-attached tensor carries this node as
        its `grad_fn`, so derivatives of the backward flow through the forward correctly.
        """
        if self._freed:
            raise GraphError(f"{type(self).__name__}: saved output was freed by an earlier backward()")
        data = self._out_data[index]
        if _config.is_grad_enabled():
            return Tensor._make(data, True, self, index)
        return Tensor._make(data, False, None, 0)

    def mark_non_differentiable(self, *tensors):
        self._non_diff = {id(t) for t in tensors}

    def set_materialize_grads(self, value: bool):
        self._materialize = bool(value)

    # -- apply: run forward, record the node ---------------------------------------------------
    @classmethod
    def apply(cls, *args, **kwargs):
        ctx = cls.__new__(cls)
        ctx.saved = ()
        grad_on = _config.is_grad_enabled()
        needs = tuple(isinstance(a, Tensor) and a._rg for a in args) if grad_on else ()
        record = True in needs
        ctx.needs_input_grad = needs if record else (False,) * len(args)
        if grad_on:
            _config._set_grad(False)
            try:
                out = cls.forward(ctx, *args, **kwargs)
            finally:
                _config._set_grad(True)
        else:
            out = cls.forward(ctx, *args, **kwargs)

        if type(out) is tuple:
            outs = [ctx._wrap(o, args, record) for o in out]
            result = tuple(outs)
        else:
            result = ctx._wrap(out, args, record)
            outs = (result,)
        if not record:
            return result

        ctx._freed = False
        ctx._retained = None
        ctx.n_out = len(outs)
        ctx.next = tuple(None if not n else (a if a._ctx is None else (a._ctx, a._idx))
                         for a, n in zip(args, needs))
        ctx._in_meta = tuple((a.data.shape, a.data.dtype) if n else None for a, n in zip(args, needs))
        if cls.save_output:
            ctx._out_data = tuple(o.data for o in outs)
        non_diff = getattr(ctx, "_non_diff", ())
        for i, o in enumerate(outs):
            if o.data.dtype.kind == "f" and id(o) not in non_diff:
                o._rg, o._ctx, o._idx = True, ctx, i
        if len(outs) > 1:
            ctx._out_meta = tuple((o.data.shape, o.data.dtype, xp_of(o.data)) for o in outs)
        return result

    def _wrap(self, out, args, record):
        if isinstance(out, Tensor):
            # Adopt a fresh tensor made inside forward (so tensors saved there are the outputs);
            # never re-use an input as the output of a new node.
            if out._ctx is None and not out._rg and not any(out is a for a in args):
                return out
            return Tensor._make(out.data, False, None, 0)
        if not isinstance(out, ARRAY_TYPES):
            out = xp_of(*[a.data for a in args if isinstance(a, Tensor)]).asarray(out)
        return Tensor._make(out, False, None, 0)

    # -- called by the engine --------------------------------------------------------------------
    def _backward_apply(self, grads):
        if len(grads) > 1 and getattr(self, "_materialize", True):
            grads = [g if g is not None else _zeros(meta) for g, meta in zip(grads, self._out_meta)]
        res = type(self).backward(self, *grads)
        if type(res) is not tuple:
            res = (res,)
        if len(res) < len(self.next):
            if len(res) == 0 or any(r is not None for r in res[len(self.next):]):
                raise GraphError(f"{type(self).__name__}.backward returned {len(res)} gradients, "
                                 f"expected {len(self.next)} (one per forward input)")
            res = res + (None,) * (len(self.next) - len(res))
        out = []
        for g, meta in zip(res, self._in_meta):
            if g is None or meta is None:
                out.append(None)
                continue
            if not isinstance(g, Tensor):
                g = Tensor._make(xp_of(g).asarray(g), False, None, 0)
            shape, dtype = meta
            if g.data.shape != shape:
                raise ShapeError(f"{type(self).__name__}.backward returned a gradient of shape "
                                 f"{tuple(g.data.shape)} for an input of shape {tuple(shape)}")
            if g.data.dtype != dtype:
                g = g.to(dtype=_dtype_of(dtype))
            out.append(g)
        return out

    def _release(self):
        self.saved = None
        self._out_data = None
        self._freed = True

    def _retain(self, index, tensor):
        if self._retained is None:
            self._retained = {}
        self._retained[index] = weakref.ref(tensor)

    @property
    def next_functions(self):
        """PyTorch-style view of the graph edges: ((node_or_leaf, index), ...)."""
        return tuple((None, 0) if e is None else (e if type(e) is tuple else (e, 0)) for e in self.next)

    def name(self):
        return type(self).__name__

    def __repr__(self):
        return f"<{type(self).__name__}Backward>"


FunctionCtx = Function  # PyTorch exposes the ctx type under this name


def once_differentiable(backward):
    """Mark a backward that is not itself differentiable: it runs with grad mode off."""
    import functools

    @functools.wraps(backward)
    def wrapper(ctx, *grads):
        with _config.no_grad():
            return backward(ctx, *grads)

    return wrapper


def _zeros(meta):
    shape, dtype, xp = meta
    return Tensor._make(xp.zeros(shape, dtype), False, None, 0)


def _dtype_of(npd):
    from .._dtype import from_numpy_dtype

    return from_numpy_dtype(npd)
