"""Hook handles and the hook tables of graph nodes and leaves (below Tensor: no Tensor import).

`RemovableHandle` is PyTorch's `torch.utils.hooks.RemovableHandle`: what every `register_*hook`
returns; `remove()` unregisters the hook (twice is harmless), and `with handle:` removes it on exit.

Gradient hooks live in two places, read by the engine (`axonal._engine`):
  * a graph node (an `autograd.Function` instance) holds `_hooks`, a `NodeHooks`, once any hook
    is registered on it or on one of its output tensors (class default `None`: the engine's only
    check per node);
  * a leaf tensor holds `_grad_hooks` (an OrderedDict in its `__dict__`) for `register_hook`, and
    `_post_acc_hooks` for `register_post_accumulate_grad_hook`. `leaf_hooks.count` counts the
    registrations on leaves still in place: while it is 0 the engine skips the leaf bookkeeping.
"""
import collections
import itertools
import os
import traceback
import weakref

_ids = itertools.count()


class RemovableHandle:
    """Returned by hook registration: `remove()` takes the hook out of its table(s)."""

    def __init__(self, hooks_dict, *, extra_dict=None, on_remove=None):
        self.id = next(_ids)
        self._tables = [hooks_dict]
        if extra_dict is not None:
            extra = extra_dict if isinstance(extra_dict, (list, tuple)) else [extra_dict]
            self._tables.extend(extra)
        self._on_remove = on_remove

    def remove(self):
        found = False
        for table in self._tables:
            if table is not None and self.id in table:
                del table[self.id]
                found = True
        if found and self._on_remove is not None:
            self._on_remove()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


class HookHandle(RemovableHandle):
    """`RemovableHandle` that also stores `hook` under its id (`HookHandle(table, hook)`)."""

    def __init__(self, table, hook, *, on_remove=None):
        super().__init__(table, on_remove=on_remove)
        table[self.id] = hook


class _LeafHooks:
    count = 0  # hooks registered on leaf tensors and not removed (the engine's switch)


leaf_hooks = _LeafHooks()


def _leaf_removed():
    leaf_hooks.count -= 1


def add_leaf_hook(table, hook, prepend=False):
    """Register `hook` in a leaf tensor's table; the engine buffers that leaf's gradients."""
    leaf_hooks.count += 1
    h = HookHandle(table, hook, on_remove=_leaf_removed)
    if prepend:
        table.move_to_end(h.id, last=False)
    return h


class NodeHooks:
    """The hooks of one graph node, in PyTorch's order of execution:
    `tensor_pre` (per output index: `Tensor.register_hook` on a non-leaf output), then `retain`
    (`retain_grad`, which sees the gradient after those hooks), then `pre` (`node.register_prehook`,
    on the tuple of output gradients), the backward itself, then `post`
    (`node.register_hook(fn(grad_inputs, grad_outputs))`)."""

    __slots__ = ("post", "pre", "retain", "tensor_pre")

    def __init__(self):
        self.tensor_pre = None  # {output index: OrderedDict id -> hook}
        self.retain = None      # {output index: weakref to the tensor}
        self.pre = collections.OrderedDict()
        self.post = collections.OrderedDict()


def node_hooks(node):
    h = node.__dict__.get("_hooks")
    if h is None:
        h = node.__dict__["_hooks"] = NodeHooks()
    return h


def add_tensor_hook(tensor, hook):
    """`Tensor.register_hook`: on a leaf the hook runs before accumulation; on an op's output, when
    that output's gradient is complete and before the node's backward. The hook gets the gradient
    and may return a replacement."""
    if not callable(hook):
        raise TypeError(f"register_hook: hook must be callable, got {type(hook).__name__}")
    if not tensor._rg:
        raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
    node = tensor._ctx
    if node is None:
        table = tensor.__dict__.get("_grad_hooks")
        if table is None:
            table = tensor.__dict__["_grad_hooks"] = collections.OrderedDict()
        return add_leaf_hook(table, hook)
    h = node_hooks(node)
    if h.tensor_pre is None:
        h.tensor_pre = {}
    table = h.tensor_pre.setdefault(tensor._idx, collections.OrderedDict())
    return HookHandle(table, hook)


def run_tensor_hooks(table, grad):
    """Call each hook on the gradient; a hook's return value (if not None) replaces it."""
    for hook in tuple(table.values()):
        res = hook(grad)
        if res is not None:
            if grad is not None and getattr(res, "shape", None) != grad.shape:
                raise RuntimeError(f"hook '{getattr(hook, '__name__', hook)}' has changed the "
                                   "size of value")
            grad = res
    return grad


def run_pre(node, hooks, grads, retain_fn):
    """Tensor pre-hooks, retained gradients, then node pre-hooks, on `grads` (one per output).
    Returns the (maybe replaced) list."""
    if hooks.tensor_pre:
        for idx, table in hooks.tensor_pre.items():
            if table:  # called even without a gradient (with None), as PyTorch does
                grads[idx] = run_tensor_hooks(table, grads[idx])
    if hooks.retain:
        for idx, ref in hooks.retain.items():
            t = ref()
            if t is not None and grads[idx] is not None:
                retain_fn(t, (node, idx), grads[idx])
    for hook in tuple(hooks.pre.values()):
        res = hook(tuple(grads))
        if res is not None:
            grads = _check_len(list(res), len(grads), node, "pre-hook", "grad_outputs")
    return grads


def run_post(node, hooks, in_grads, grads):
    """Node post-hooks `hook(grad_inputs, grad_outputs)`; a return value replaces grad_inputs."""
    n = len(node.next)
    in_grads = tuple(in_grads) if in_grads is not None else (None,) * n
    for hook in tuple(hooks.post.values()):
        res = hook(in_grads, tuple(grads))
        if res is not None:
            in_grads = tuple(_check_len(list(res), n, node, "hook", "grad_inputs"))
    return list(in_grads)


def _check_len(res, n, node, kind, what):
    if len(res) != n:
        raise RuntimeError(f"{node.name()}: {kind} returned {len(res)} {what}, expected {n}")
    return res


# -- graph nodes as PyTorch shows them -------------------------------------------------------------

def metadata(node):
    """`node.metadata`: a dict kept with the node (anomaly mode stores "traceback_" there)."""
    d = node.__dict__.get("_metadata")
    if d is None:
        d = node.__dict__["_metadata"] = {}
    return d


class AccumulateGrad:
    """The node PyTorch puts in `next_functions` for a leaf that requires grad: `variable` is the
    leaf. One per leaf (cached weakly on the leaf, so it lives while someone holds it)."""

    __slots__ = ("__dict__", "__weakref__", "_metadata", "variable")
    next_functions = ()

    def __init__(self, variable):
        self.variable = variable

    def name(self):
        return "torch::autograd::AccumulateGrad"

    @property
    def metadata(self):
        return metadata(self)

    def register_prehook(self, fn):
        """`fn((grad,))` before the gradient is accumulated; may return a replacement tuple."""
        def hook(grad):
            res = fn((grad,))
            return None if res is None else res[0]
        return add_leaf_hook(leaf_table(self.variable, "_grad_hooks"), hook)

    def register_hook(self, fn):
        """`fn((), (grad,))` after the gradient is accumulated (its return value is ignored)."""
        return add_leaf_hook(leaf_table(self.variable, "_acc_post_hooks"), fn)

    def __repr__(self):
        return f"<AccumulateGrad object at {id(self):#x}>"


def leaf_table(tensor, key):
    table = tensor.__dict__.get(key)
    if table is None:
        table = tensor.__dict__[key] = collections.OrderedDict()
    return table


def accumulate_grad(leaf):
    ref = leaf.__dict__.get("_acc_node")
    node = ref() if ref is not None else None
    if node is None:
        node = AccumulateGrad(leaf)
        leaf.__dict__["_acc_node"] = weakref.ref(node)
    return node


_PKG = os.path.dirname(os.path.abspath(__file__)) + os.sep
_INTERNAL = tuple(_PKG + p for p in ("ops" + os.sep, "autograd" + os.sep, "kernels" + os.sep,
                                    "tensor.py", "_"))


def record_stack(node):
    """Anomaly mode: keep the Python stack of this forward call, up to the user's line (the
    frames of Axonal's op machinery are dropped from the end)."""
    frames = traceback.extract_stack()[:-2]
    while frames and frames[-1].filename.startswith(_INTERNAL):
        frames.pop()
    metadata(node)["traceback_"] = traceback.format_list(frames)


def node_name(cls):
    """The class name of the graph nodes of op class `cls`, as PyTorch names them: a class's own
    `_node_name`, else the table below for Axonal's ops (`<Name>Backward0` when absent), else
    `<Name>Backward` (PyTorch's name for the nodes of a user's `autograd.Function`)."""
    own = cls.__dict__.get("_node_name")
    if own:
        return own
    if (cls.__module__ or "").startswith("axonal."):
        entry = TORCH_NAMES.get(cls.__name__)
        return entry[0] if entry else cls.__name__ + "Backward0"
    return cls.__name__ + "Backward"


def n_edges(node):
    """Which forward arguments are tensor inputs, i.e. PyTorch's `next_functions` entries (the
    rest are options: dims, shapes, flags): a count of leading ones, a slice, or None (all)."""
    if type(node).__name__ == "MmBackward0":  # F.linear without bias
        return 2
    cls = node._fn_cls
    entry = TORCH_NAMES.get(cls.__name__) if (cls.__module__ or "").startswith("axonal.") else None
    return entry[1] if entry else None


# Axonal op class -> (PyTorch's node name, number of tensor inputs). One Axonal class may serve
# several PyTorch ops (Reshape: view, flatten, squeeze...): the name is that of the most common one
# (checked against torch 2.13 in tests/autograd/test_graph_nodes.py).
TORCH_NAMES = {
    "Add": ("AddBackward0", 2), "Sub": ("SubBackward0", 2), "Mul": ("MulBackward0", 2),
    "Div": ("DivBackward0", 2), "Pow": ("PowBackward1", 2), "Neg": ("NegBackward0", 1),
    "Abs": ("AbsBackward0", 1), "Cos": ("CosBackward0", 1), "Sin": ("SinBackward0", 1),
    "Exp": ("ExpBackward0", 1), "Log": ("LogBackward0", 1), "Log1p": ("Log1PBackward0", 1),
    "Erf": ("ErfBackward0", 1), "Relu": ("ReluBackward0", 1), "Rsqrt": ("RsqrtBackward0", 1),
    "Sigmoid": ("SigmoidBackward0", 1), "Sqrt": ("SqrtBackward0", 1),
    "Tanh": ("TanhBackward0", 1), "Cast": ("ToCopyBackward0", 1),
    "_ToDevice": ("ToCopyBackward0", 1),
    "ZeroGrad": ("SignBackward0", 1),
    "Sum": ("SumBackward0", 1), "Prod": ("ProdBackward1", 1), "AMax": ("MaxBackward1", 1),
    "MaxDim": ("MaxBackward0", 1), "Cumsum": ("CumsumBackward0", 1),
    "Norm2": ("LinalgVectorNormBackward0", 1), "SumTo": ("SumBackward1", 1),
    "Clamp": ("ClampBackward1", 1), "Maximum": ("MaximumBackward0", 2),
    "Where": ("WhereBackward0", slice(1, 3)),
    "Reshape": ("ViewBackward0", 1), "Permute": ("PermuteBackward0", 1),
    "Cat": ("CatBackward0", slice(1, None)),
    "Expand": ("ExpandBackward0", 1), "Repeat": ("RepeatBackward0", 1),
    "Flip": ("FlipBackward0", 1), "Pad": ("ConstantPadNdBackward0", 1),
    "Clone": ("CloneBackward0", 1), "Split": ("SplitBackward0", 1),
    "GetItem": ("SelectBackward0", 1), "Gather": ("GatherBackward0", 1),
    "Scatter": ("ScatterBackward0", None), "ScatterAddZeros": ("ScatterAddBackward0", 1),
    "IndexAddZeros": ("IndexAddBackward0", 1), "IndexPut": ("IndexPutBackward0", 2),
    "MatMul": ("MmBackward0", 2), "Linear": ("AddmmBackward0", 3),
    "Einsum": ("EinsumBackward0", slice(2, None)),
    "_Triangle": ("TrilBackward0", 1), "_DiagTake": ("DiagonalBackward0", 1),
    "_DiagEmbed": ("DiagEmbedBackward0", 1),
    "Softmax": ("SoftmaxBackward0", 1), "LogSoftmax": ("LogSoftmaxBackward0", 1),
    "ConvFn": ("ConvolutionBackward0", 3), "ConvTFn": ("ConvolutionBackward0", 2),
    "AvgPoolFn": ("AvgPool2DBackward0", 1), "PlaneGather": ("MaxPool2DWithIndicesBackward0", 1),
    "UnfoldFn": ("Im2ColBackward0", 1), "FoldFn": ("Col2ImBackward0", 1),
    "SoftmaxCrossEntropy": ("NllLossBackward0", 1), "_Embedding": ("EmbeddingBackward0", 1),
    "BinaryCrossEntropy": ("BinaryCrossEntropyBackward0", 2),
    "BCEWithLogits": ("BinaryCrossEntropyWithLogitsBackward0", 3),
    "Normalize": ("NativeBatchNormBackward0", 3),
    "Elu": ("EluBackward0", 1), "Gelu": ("GeluBackward0", 1), "Silu": ("SiluBackward0", 1),
    "Hardtanh": ("HardtanhBackward0", 1), "LeakyRelu": ("LeakyReluBackward0", 1),
    "Softplus": ("SoftplusBackward0", 1), "Hardsigmoid": ("HardsigmoidBackward0", 1),
    "Hardswish": ("HardswishBackward0", 1),
    # in-place writes (ops/inplace*.py): the base after a write into a view, a view re-read from
    # its base, new values written over a tensor (copy_; PyTorch names fill_ FillBackward*)
    "CopySlices": ("CopySlices", 2), "ViewOf": ("AsStridedBackward0", 1),
    "Overwrite": ("CopyBackwards", 2),
}


# -- one Axonal op, several PyTorch ops: the node's name from the call's arguments --------------
# (an op class listed here records its nodes through `autograd.function._record_variant`, which
# re-types the node; the other ops pay nothing)

def _ndim(t):
    return t._data.ndim


def _all_or_dims(op):  # sum / prod: <op>Backward0 over every dim (no keepdim), 1 over some
    def rule(args):
        x, dims, keepdim = args[:3]
        full = dims is None or (len(tuple(dims)) == _ndim(x) and not keepdim)
        return f"{op}Backward0" if full else f"{op}Backward1"
    return rule


def _amax_name(args):  # max() / min() of every element (the flag after take_max), or amax / amin
    if len(args) > 4 and args[4]:
        return "MaxBackward1" if args[3] else "MinBackward1"
    return "AmaxBackward0" if args[3] else "AminBackward0"


def _reshape_name(args):
    """view/reshape/flatten are one op here; a shape that only gains or loses one size-1 dim is
    unsqueeze / squeeze(dim)."""
    old, new = tuple(args[0]._data.shape), tuple(args[1]) if isinstance(args[1], (tuple, list)) \
        else None
    if new is not None and -1 not in new:
        if len(new) == len(old) + 1 and any(new[:i] + new[i + 1:] == old and new[i] == 1
                                            for i in range(len(new))):
            return "UnsqueezeBackward0"
        if len(new) + 1 == len(old) and any(old[:i] + old[i + 1:] == new and old[i] == 1
                                            for i in range(len(old))):
            return "SqueezeBackward1"
    return "ViewBackward0"


def _permute_name(args):
    """transpose (two of three or more axes swapped) or permute (on a matrix, `.T` and
    `permute(1, 0)` are PermuteBackward0 in PyTorch, `t()` TBackward0: the first is kept)."""
    dims = tuple(args[1])
    moved = [i for i, d in enumerate(dims) if i != d]
    return "TransposeBackward0" if len(moved) == 2 and len(dims) > 2 else "PermuteBackward0"


def _getitem_name(args):
    """The last step of the indexing, as PyTorch applies it: select (int), slice (a non-full
    slice), unsqueeze (None), index (tensors, lists, masks)."""
    x, key, basic = args[:3]
    if not basic:
        return "IndexBackward0"
    name, dim = "SliceBackward0", 0  # x[:] is a slice
    shape = x._data.shape
    for k in key if isinstance(key, tuple) else (key,):
        if k is None:
            name = "UnsqueezeBackward0"
        elif k is Ellipsis:
            dim = len(shape) - sum(1 for j in key if j is not None and j is not Ellipsis)
            continue
        elif isinstance(k, slice):
            n = shape[dim] if dim < len(shape) else 0
            if k.indices(n) != (0, n, 1):  # full slices make no node after another step
                name = "SliceBackward0"
            dim += 1
        else:
            name = "SelectBackward0"
            dim += 1
    return name


def _linear_name(args):
    return "MmBackward0" if args[2] is None else "AddmmBackward0"


def _normalize_name(args):
    return "NativeBatchNormBackward0" if 0 in tuple(args[5]) else "NativeLayerNormBackward0"


VARIANTS = {"Sum": _all_or_dims("Sum"), "Prod": _all_or_dims("Prod"), "AMax": _amax_name,
            "Reshape": _reshape_name, "Permute": _permute_name, "GetItem": _getitem_name,
            "Linear": _linear_name, "Normalize": _normalize_name}


def variant_rule(cls):
    if (cls.__module__ or "").startswith("axonal."):
        return VARIANTS.get(cls.__name__)
    return None
