"""The tracer behind `axonal.onnx.export`: runs the model once and turns the op calls into an
ONNX graph.

How it traces: a transform layer (`_config._state.layers`, as autocast and forward AD) sees every
op call (`Function.apply`) of the forward run. A call with at least one *dynamic* tensor argument
(a graph input, or the output of a recorded call) becomes ONNX nodes through its converter
(`_convert.FUNCTIONS`) and its outputs become dynamic; a call on constants only (a causal mask
built with `triu`, a slice of a weight) is folded: its result is stored as an initializer when a
recorded call uses it. Functions that compute on raw arrays outside their `Function` (pooling,
normalization statistics, embedding lookups) are recorded whole: during the export their
`nn.functional` entries (and the pooling modules' `_fn`) are replaced by recording wrappers that
hide the calls inside them (`_convert.SEMANTIC`). An in-place op computes its result out of
place and writes it into the tensor (ops/inplace.py); the tracer hears of the write through the
hook forward AD uses (`forward_ad.after_inplace`), and the tensor takes the result's name. An op with a dynamic input and no converter
raises, naming the op, rather than baking a value that depends on the input.

Parameters and buffers become initializers named by their state-dict keys, as PyTorch names them.
"""
import itertools

import numpy as np

from .. import _config
from ..autograd import forward_ad
from ..nn import functional as F
from ..nn.layers import pooling as _pooling
from ..tensor import Tensor
from . import _convert


class Graph:
    def __init__(self, onnx, param_names):
        self.onnx, self.helper = onnx, onnx.helper
        self.nodes, self.inits = [], {}
        self.names, self.dynamic, self.keep = {}, set(), []
        self.param_names = param_names
        self.count = itertools.count()
        self.depth = 0  # > 0 inside a recorded semantic call: its inner op calls are hidden

    # -- names ----------------------------------------------------------------------------------
    def tmp(self):
        return f"/tmp_{next(self.count)}"

    def const(self, array):
        name = f"/const_{next(self.count)}"
        self.inits[name] = np.asarray(array)
        return name

    def name(self, t):
        """The value name of tensor `t`; a tensor no recorded call made is a constant."""
        found = self.names.get(id(t))
        if found is None:
            found = self.param_names.get(id(t)) or f"/const_{next(self.count)}"
            self.inits[found] = np.array(t.detach().numpy(force=True))
            self.names[id(t)] = found
            self.keep.append(t)
        return found

    def define(self, t, name=None):
        """A fresh value name for `t`, the output of a recorded call (or a graph input)."""
        name = name or f"/{next(self.count)}"
        self.names[id(t)] = name
        self.dynamic.add(id(t))
        self.keep.append(t)
        return name

    def is_dynamic(self, v):
        if isinstance(v, Tensor):
            return id(v) in self.dynamic
        if isinstance(v, (list, tuple)):
            return any(self.is_dynamic(x) for x in v)
        return False

    def node(self, op_type, inputs, outputs, **attrs):
        self.nodes.append(self.helper.make_node(op_type, list(inputs), list(outputs), **attrs))

    onnx_dtype = staticmethod(_convert.onnx_dtype)

    # -- the two recording paths ----------------------------------------------------------------
    def layer(self, cls, args, kwargs):
        out = cls.apply(*args, **kwargs)
        if self.depth or not (self.is_dynamic(args) or self.is_dynamic(tuple(kwargs.values()))):
            return out
        convert = _convert.FUNCTIONS.get(cls.__name__)
        if convert is None:
            raise NotImplementedError(f"axonal.onnx.export: no ONNX conversion for the op "
                                      f"{cls.__name__} (on a value computed from the inputs)")
        self._record(convert, out, args, kwargs)
        return out

    def semantic(self, name, fn):
        def wrapper(*args, **kwargs):
            if self.depth:
                return fn(*args, **kwargs)
            self.depth += 1
            try:
                out = fn(*args, **kwargs)
            finally:
                self.depth -= 1
            if self.is_dynamic(args) or self.is_dynamic(tuple(kwargs.values())):
                self._record(_convert.SEMANTIC[name], out, args, kwargs)
            return out
        wrapper.__wrapped__ = fn
        return wrapper

    def _record(self, convert, out, args, kwargs):
        outs = out if isinstance(out, tuple) else (out,)
        if any(o is a for o in outs for a in (*args, *kwargs.values())):
            return  # the call returned its input (dropout in eval mode): nothing to record
        names = [self.define(o) for o in outs]
        convert(self, names, *args, **kwargs)

    def after_inplace(self, target, result):
        """An in-place op wrote `result`'s values into `target` (ops/inplace.py tells forward AD
        the same way): from now on `target` is `result`'s value."""
        self._after_inplace(target, result)
        if self.depth:
            return
        if id(result) in self.dynamic:
            self.names[id(target)] = self.name(result)
            self.dynamic.add(id(target))
            self.keep.append(target)
        else:  # a constant written over a traced value: the current values are the constant
            self.names.pop(id(target), None)
            self.dynamic.discard(id(target))

    # -- installing and removing the tracer -------------------------------------------------------
    def __enter__(self):
        self._patched = []
        for name in _convert.SEMANTIC:
            fn = getattr(F, name, None)
            if fn is not None:
                self._patch(F, name, self.semantic(name, fn))
        originals = {getattr(F, n).__wrapped__: n for n in _convert.SEMANTIC if hasattr(F, n)}
        for cls in vars(_pooling).values():
            fn = vars(cls).get("_fn") if isinstance(cls, type) else None
            if isinstance(fn, staticmethod) and fn.__func__ in originals:
                self._patch(cls, "_fn", staticmethod(
                    self.semantic(originals[fn.__func__], fn.__func__)))
        self._after_inplace = forward_ad.after_inplace
        self._patch(forward_ad, "after_inplace", self.after_inplace)
        state = _config._state
        self._saved_layers = state.layers
        state.layers = (*state.layers, self.layer)
        return self

    def _patch(self, owner, attr, value):
        self._patched.append((owner, attr, vars(owner)[attr] if isinstance(owner, type)
                              else getattr(owner, attr)))
        setattr(owner, attr, value)

    def __exit__(self, *exc):
        _config._state.layers = self._saved_layers
        for owner, attr, value in reversed(self._patched):
            setattr(owner, attr, value)
        return False
