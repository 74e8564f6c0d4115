"""`axonal.onnx.export`: write a model as an ONNX file, as `torch.onnx.export` does.

The model runs once on the example `args` (in eval mode unless `training=TrainingMode.TRAINING`),
and its op calls are traced into ONNX nodes (see `_graph.py`): Gemm/MatMul, Conv, Relu, MaxPool,
AveragePool, Add/Sub/Mul/Div, Softmax/LogSoftmax, LayerNormalization, BatchNormalization, Gather
(embeddings), Reshape, Transpose, Slice, Concat, Where, Trilu, Erf/Tanh (GELU) and others.
Parameters and buffers are initializers named by their state-dict keys. Shapes computed in
Python are baked in, except the leading (batch) dimension of reshapes, so `dynamic_axes` on the
batch dimension works; other dynamic sizes (a sequence length) need a re-export per size.
Requires the `onnx` package (`pip install axonal[onnx]`); opset 17 or later.
"""
import enum
import inspect
import os

from .. import _config
from ..nn.module import Module
from ..tensor import Tensor

__all__ = ["TrainingMode", "export", "is_in_onnx_export"]

_exporting = [False]


class TrainingMode(enum.IntEnum):
    EVAL = 0
    PRESERVE = 1
    TRAINING = 2


def is_in_onnx_export() -> bool:
    return _exporting[0]


def _onnx():
    try:
        import onnx
    except ImportError:
        raise ImportError("axonal.onnx.export needs the onnx package: pip install onnx (or "
                          "pip install axonal[onnx])") from None
    return onnx


def _axes(spec):
    """dynamic_axes entry: {0: "batch"} or [0] (named like PyTorch's, by position)."""
    if isinstance(spec, dict):
        return {int(k): str(v) for k, v in spec.items()}
    return {int(k): f"dynamic_axes_{i + 1}" for i, k in enumerate(spec)}


def export(model, args, f, *, input_names=None, output_names=None, dynamic_axes=None,
           opset_version=None, training=TrainingMode.EVAL, do_constant_folding=True,
           export_params=True, verbose=False, kwargs=None, **unused):
    """Trace `model(*args)` and write the ONNX model to `f` (a path or a binary file object).
    `args` is a tensor or a tuple of them; `input_names`/`output_names` name the graph's inputs
    and outputs (default: the forward's parameter names, and "output"/"output_i");
    `dynamic_axes` maps those names to the dims left symbolic ({"input": {0: "batch"}})."""
    onnx = _onnx()
    from ._graph import Graph

    opset = 17 if opset_version is None else int(opset_version)
    if opset < 17:
        raise ValueError(f"axonal.onnx.export: opset_version {opset} is not supported (17 or "
                         f"later: LayerNormalization)")
    if not export_params:
        raise NotImplementedError("axonal.onnx.export: export_params=False")
    args = args if isinstance(args, tuple) else (args,)
    kwargs = dict(kwargs or {})
    if args and isinstance(args[-1], dict):  # PyTorch's convention: a trailing dict of kwargs
        kwargs.update(args[-1])
        args = args[:-1]
    inputs = [a for a in args if isinstance(a, Tensor)]
    if input_names is None:
        forward = model.forward if isinstance(model, Module) else model
        params = [p for p in inspect.signature(forward).parameters if p != "self"]
        input_names = [params[i] if i < len(params) else f"input_{i}" for i in range(len(inputs))]
    named = {}
    if isinstance(model, Module):
        named = {id(t): n for n, t in model.state_dict(keep_vars=True).items()}
        modes = {m: m.training for m in model.modules()}
        if training != TrainingMode.PRESERVE:
            model.train(training == TrainingMode.TRAINING)
    graph = Graph(onnx, named)
    for t, name in zip(inputs, input_names):
        graph.define(t, name)
    _exporting[0] = True
    try:
        with _config.no_grad(), graph:
            out = model(*args, **kwargs)
    finally:
        _exporting[0] = False
        if isinstance(model, Module):
            for m, mode in modes.items():
                m.training = mode
    outs = list(out) if isinstance(out, (tuple, list)) else [out]
    if output_names is None:
        output_names = ["output"] if len(outs) == 1 else [f"output_{i}" for i in range(len(outs))]
    for t, name in zip(outs, output_names):
        graph.node("Identity", [graph.name(t)], [name])
    dynamic = {k: _axes(v) for k, v in (dynamic_axes or {}).items()}

    def info(name, t):
        dims = [dynamic.get(name, {}).get(i, d) for i, d in enumerate(t.shape)]
        return onnx.helper.make_tensor_value_info(name, graph.onnx_dtype(t._data.dtype), dims)

    helper = onnx.helper
    inits = [onnx.numpy_helper.from_array(a, name) for name, a in graph.inits.items()]
    g = helper.make_graph(graph.nodes, "axonal_graph",
                          [info(n, t) for t, n in zip(inputs, input_names)],
                          [info(n, t) for t, n in zip(outs, output_names)], inits)
    proto = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)],
                              producer_name="axonal")
    onnx.checker.check_model(proto)
    if isinstance(f, (str, os.PathLike)):
        onnx.save(proto, os.fspath(f))
    else:
        f.write(proto.SerializeToString())
    if verbose:
        print(helper.printable_graph(g))
