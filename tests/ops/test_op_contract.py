"""The op contract of `axonal.autograd.function` (see its module docstring), checked two ways:

* over the source of `axonal/ops/`: no `ctx.<name> = ...` (state goes through ctx.save /
  ctx.save_for_backward), no grad-mode test (the first-order fast path is `backward_arrays`, chosen
  by the engine), no import inside a function; and one spelling of a constant tensor in the package;
* over every op of the registry (tests/op_specs.py) plus the ops it does not list (conv, pool,
  linear, recurrence, resample): after a float64 forward and backward, every array a graph node held
  (saved tensors, ctx.save state, the saved output, and anything else in the node) is freed while
  the nodes themselves are still alive. State kept outside the contract is not released by the
  engine, so it fails this check (`test_the_checker_catches_state_outside_the_contract`).
"""
import ast
import gc
import pathlib
import re
import weakref

import numpy as np
import pytest
from op_specs import SPECS, In

import axonal
from axonal.autograd.function import Function

# the registry's edge cases (log(0), 0/0 ...) warn on purpose; the values are checked in test_ops
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")

ROOT = pathlib.Path(axonal.__file__).parent
OPS = sorted((ROOT / "ops").glob("*.py"))


def _grep(paths, pattern):
    rx = re.compile(pattern)
    return [f"{p.relative_to(ROOT)}:{i}: {line.strip()}" for p in paths
            for i, line in enumerate(p.read_text().splitlines(), 1) if rx.search(line)]


# -- the source --------------------------------------------------------------------------------

def test_ops_assign_no_ctx_attributes():
    # `ctx.x = v` and `ctx.x, ctx.y = v, w`; comparisons (==) do not count
    assert _grep(OPS, r"\bctx\.\w+\s*(,\s*ctx\.\w+\s*)*=(?!=)") == []


def test_ops_never_test_the_grad_mode():
    assert _grep(OPS, r"_config|_state\.grad|is_grad_enabled|set_grad_enabled") == []


def test_ops_import_at_the_top_only():
    deferred = []
    for p in OPS:
        for fn in ast.walk(ast.parse(p.read_text())):
            if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                deferred += [f"{p.name}:{n.lineno}" for n in ast.walk(fn)
                             if isinstance(n, (ast.Import, ast.ImportFrom))]
    assert deferred == []


def test_one_spelling_of_a_constant_tensor():
    files = [p for p in ROOT.rglob("*.py") if p != ROOT / "tensor.py"]
    assert _grep(files, r"\b_const\b") == []
    made = [f"{p.relative_to(ROOT)}" for p in files
            if re.search(r"_make\([^()]*,\s*False,\s*None,\s*0\s*\)", p.read_text())]
    assert made == []


# -- saved state is released --------------------------------------------------------------------

_GRAPH = ("next", "_in_meta", "_out_meta", "needs_input_grad", "_retained")  # edges and metadata


def _arrays_in(value, found):
    if isinstance(value, np.ndarray):
        found.append(value)
    elif isinstance(value, axonal.Tensor):
        found.append(value._data)
    elif isinstance(value, (tuple, list)):
        for v in value:
            _arrays_in(v, found)
    elif isinstance(value, dict):
        for v in value.values():
            _arrays_in(v, found)
    return found


def _nodes(outputs):
    nodes, seen = [], set()
    stack = [o._ctx for o in outputs if o._ctx is not None]
    while stack:
        node = stack.pop()
        if id(node) not in seen:
            seen.add(id(node))
            nodes.append(node)
            stack.extend(e[0] for e in node.next if type(e) is tuple)
    return nodes


def _weakrefs(nodes, owned):
    """Weak references to every array the nodes hold, except the caller's own arrays."""
    refs = []
    for node in nodes:
        for name, value in vars(node).items():
            if name not in _GRAPH:
                refs += [(node._fn_name, name, weakref.ref(a))
                         for a in _arrays_in(value, []) if id(a) not in owned]
    return refs


def assert_released(run, inputs, static=()):
    """run() -> outputs of a forward on `inputs` (tensors requiring grad); `static`: other objects
    the caller keeps (index tensors, ...). Backward once, drop the outputs, keep the nodes: no array
    a node held may still be alive."""
    outs = [o for o in run() if isinstance(o, axonal.Tensor) and o.requires_grad]
    if not outs:
        return
    nodes = _nodes(outs)
    owned = {id(a) for a in _arrays_in([list(inputs), list(static)], [])}
    refs = _weakrefs(nodes, owned)
    seeds = [axonal.tensor(np.ones(tuple(o.shape), o._data.dtype)) for o in outs]
    axonal.autograd.grad(outs, list(inputs), seeds, allow_unused=True)
    del outs, seeds
    if any(r() is not None for _, _, r in refs):
        gc.collect()  # only when needed: cheap tests stay cheap
    alive = sorted({f"{node}.{name}" for node, name, r in refs if r() is not None})
    assert alive == [], f"arrays still held after backward: {alive}"
    assert all(n._freed for n in nodes)


def _registry_cases():
    out = []
    for spec in SPECS:
        if spec.differentiable:
            out += [(spec, c) for c in spec.get_cases() if spec.diff_args(c)]
    return out


CASES = _registry_cases()


@pytest.mark.parametrize("spec,case", CASES, ids=[f"{s.name}-{c.label}" for s, c in CASES])
def test_saved_state_is_released_after_backward(spec, case):
    diff = spec.diff_args(case)
    args = []
    for i, a in enumerate(case.args):
        if isinstance(a, In):
            a = axonal.from_numpy(a.realize(np.float64)).requires_grad_(i in diff)
        args.append(a)
    kwargs = {k: _tensors(v) for k, v in case.kwargs.items()}
    inputs = [args[i] for i in diff]

    def run():
        out = spec.ax(*args, **kwargs)
        return list(out) if isinstance(out, (tuple, list)) else [out]

    assert_released(run, inputs, static=[args, kwargs])


def _tensors(value):
    if isinstance(value, np.ndarray):
        return axonal.tensor(value)
    if isinstance(value, tuple):
        return tuple(_tensors(v) for v in value)
    return value


def _leaf(*shape, seed=0):
    rng = np.random.default_rng(seed)
    return axonal.from_numpy(rng.standard_normal(shape)).requires_grad_()


def _recurrence(mode):
    g = {"lstm": 4, "gru": 3}.get(mode, 1)
    gx, w, b, h0 = _leaf(6, g * 3), _leaf(g * 3, 3, seed=1), _leaf(g * 3, seed=2), _leaf(2, 3)
    c0 = _leaf(2, 3, seed=3) if mode == "lstm" else None
    ins = [t for t in (gx, w, b, h0, c0) if t is not None]
    return (lambda: [o for o in axonal.ops.rnn.recurrence(mode, gx, w, b, h0, c0, [2, 2, 2])
                     if o is not None]), ins


def _linear():
    x, w, b = _leaf(5, 4), _leaf(3, 4, seed=1), _leaf(3, seed=2)
    return (lambda: [F.linear(x, w, b)]), [x, w, b]


def _unary_op(fn, *shape):
    x = _leaf(*shape)
    return (lambda: [fn(x)]), [x]


F = axonal.nn.functional
MORE = {  # Functions the registry does not list
    "linear": _linear,
    "conv2d": lambda: _unary_op(lambda x: F.conv2d(x, _W, stride=2, padding=1), 2, 2, 6, 6),
    "conv_transpose2d": lambda: _unary_op(lambda x: F.conv_transpose2d(x, _WT, stride=2), 2, 2, 4, 4),
    "max_pool2d": lambda: _unary_op(lambda x: F.max_pool2d(x, 2), 2, 3, 6, 6),
    "avg_pool2d": lambda: _unary_op(lambda x: F.avg_pool2d(x, 3, 2, 1), 2, 3, 7, 7),
    "adaptive_max_pool2d": lambda: _unary_op(lambda x: F.adaptive_max_pool2d(x, (2, 3)), 1, 2, 5, 7),
    "interpolate": lambda: _unary_op(lambda x: F.interpolate(x, scale_factor=2, mode="bilinear",
                                                               align_corners=False), 1, 2, 3, 4),
    "unfold_fold": lambda: _unary_op(lambda x: F.fold(F.unfold(x, 2), (4, 4), 2), 1, 2, 4, 4),
    "lstm": lambda: _recurrence("lstm"),
    "gru": lambda: _recurrence("gru"),
    "rnn_tanh": lambda: _recurrence("rnn_tanh"),
}
_W = axonal.from_numpy(np.random.default_rng(5).standard_normal((4, 2, 3, 3)))
_WT = axonal.from_numpy(np.random.default_rng(6).standard_normal((2, 3, 3, 3)))


@pytest.mark.parametrize("name", sorted(MORE))
def test_saved_state_is_released_by_the_ops_outside_the_registry(name):
    run, inputs = MORE[name]()
    assert_released(run, inputs, static=[_W, _WT])


def test_the_checker_catches_state_outside_the_contract():
    class Rogue(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.__dict__["mask"] = x._data > 0  # what `ctx.mask = ...` would do: never released
            return x._data * ctx.mask

        @staticmethod
        def backward(ctx, g):
            return g * axonal.tensor(ctx.mask.astype(g._data.dtype))

    x = _leaf(3, 4)
    with pytest.raises(AssertionError, match=r"Rogue\.mask"):
        assert_released(lambda: [Rogue.apply(x) * 2.0], [x])


def test_backward_arrays_is_the_first_order_path():
    # the engine picks the array fast path without create_graph, the differentiable one with it
    x = _leaf(4, 5)
    y = axonal.tanh(x)
    (g1,) = axonal.autograd.grad(y.sum(), [x], retain_graph=True)
    (g2,) = axonal.autograd.grad(y.sum(), [x], create_graph=True)
    assert not g1.requires_grad and g2.requires_grad
    np.testing.assert_allclose(g1.numpy(), g2.detach().numpy(), rtol=1e-12)
