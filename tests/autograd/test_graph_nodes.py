"""grad_fn nodes as PyTorch 2.13 shows them: type names (`MulBackward0`), `name()`,
`next_functions` (nodes, AccumulateGrad for leaves, (None, 0) for inputs without grad),
`autograd.graph.Node`, `metadata`, `get_gradient_edge`; and the op class names kept for messages."""
import warnings

import pytest

import axonal
from axonal.autograd.graph import GradientEdge, Node, get_gradient_edge
torch = pytest.importorskip("torch")  # the oracle; CI's fresh-clone venv has none

# op -> f(m, x, y) with x, y: (2, 3) float tensors requiring grad. Each gives the same grad_fn name
# (and number of next_functions) in both libraries.
OPS = {
    "add": lambda m, x, y: x + y, "sub": lambda m, x, y: x - y, "mul": lambda m, x, y: x * y,
    "div": lambda m, x, y: x / y, "neg": lambda m, x, y: -x, "pow": lambda m, x, y: x.abs() ** y,
    "exp": lambda m, x, y: x.exp(), "log": lambda m, x, y: x.abs().log(),
    "sin": lambda m, x, y: x.sin(), "cos": lambda m, x, y: x.cos(), "tanh": lambda m, x, y: x.tanh(),
    "sigmoid": lambda m, x, y: x.sigmoid(), "relu": lambda m, x, y: m.relu(x),
    "sqrt": lambda m, x, y: x.abs().sqrt(), "abs": lambda m, x, y: x.abs(),
    "erf": lambda m, x, y: m.erf(x), "log1p": lambda m, x, y: x.abs().log1p(),
    "rsqrt": lambda m, x, y: x.abs().rsqrt(),
    "sum": lambda m, x, y: x.sum(), "sum_dim": lambda m, x, y: x.sum(0),
    "max": lambda m, x, y: x.max(), "max_dim": lambda m, x, y: x.max(1)[0],
    "amax": lambda m, x, y: x.amax(1), "prod": lambda m, x, y: x.prod(1),
    "norm": lambda m, x, y: x.norm(), "cumsum": lambda m, x, y: x.cumsum(0),
    "matmul": lambda m, x, y: x @ y.t(), "softmax": lambda m, x, y: m.softmax(x, 1),
    "log_softmax": lambda m, x, y: m.log_softmax(x, 1),
    "reshape": lambda m, x, y: x.reshape(-1), "view": lambda m, x, y: x.view(3, 2),
    "flatten": lambda m, x, y: x.flatten(), "unsqueeze": lambda m, x, y: x.unsqueeze(0),
    "squeeze": lambda m, x, y: x[:1].squeeze(0), "permute": lambda m, x, y: x.permute(1, 0),
    "transpose3d": lambda m, x, y: x.reshape(1, 2, 3).transpose(1, 2),
    "expand": lambda m, x, y: x[:1].expand(4, 3), "cat": lambda m, x, y: m.cat([x, y]),
    "clone": lambda m, x, y: x.clone(), "repeat": lambda m, x, y: x.repeat(2, 1),
    "flip": lambda m, x, y: x.flip(0), "pad": lambda m, x, y: m.nn.functional.pad(x, (1, 1)),
    "split": lambda m, x, y: x.split(1)[0], "chunk": lambda m, x, y: x.chunk(2, 1)[0],
    "select": lambda m, x, y: x[0], "slice": lambda m, x, y: x[0:1],
    "slice_then_int": lambda m, x, y: x[1:, 0], "newaxis": lambda m, x, y: x[:, None],
    "index": lambda m, x, y: x[m.tensor([0, 1])],
    "gather": lambda m, x, y: x.gather(1, m.tensor([[0], [1]])),
    "where": lambda m, x, y: m.where(x > 0, x, y), "clamp": lambda m, x, y: x.clamp(-0.5, 0.5),
    "maximum": lambda m, x, y: m.maximum(x, y), "tril": lambda m, x, y: x.tril(),
    "to_float64": lambda m, x, y: x.to(m.float64),
    "gelu": lambda m, x, y: m.nn.functional.gelu(x), "silu": lambda m, x, y: m.nn.functional.silu(x),
    "elu": lambda m, x, y: m.nn.functional.elu(x),
    "leaky_relu": lambda m, x, y: m.nn.functional.leaky_relu(x),
    "softplus": lambda m, x, y: m.nn.functional.softplus(x),
    "hardtanh": lambda m, x, y: m.nn.functional.hardtanh(x),
    "linear": lambda m, x, y: m.nn.functional.linear(x, y, y[0, :2]),
    "linear_no_bias": lambda m, x, y: m.nn.functional.linear(x, y),
    "layer_norm": lambda m, x, y: m.nn.functional.layer_norm(x, (3,)),
    "cross_entropy": lambda m, x, y: m.nn.functional.cross_entropy(x, m.tensor([0, 1])),
    "embedding": lambda m, x, y: m.nn.functional.embedding(m.tensor([0, 1]), x),
}


def _xy(m):
    x = m.tensor([[0.3, -1.2, 0.7], [1.5, -0.4, 0.2]], requires_grad=True)
    y = m.tensor([[0.5, 0.1, -0.9], [0.2, 0.8, -0.3]], requires_grad=True)
    return x, y


def _describe(node, depth=3):
    """(name, [children]) down `depth` levels; leaves as 'leaf', missing edges as None."""
    if node is None:
        return None
    name = type(node).__name__
    if name == "AccumulateGrad":
        return "leaf"
    kids = [_describe(n, depth - 1) for n, _ in node.next_functions] if depth else "..."
    return name, node.name(), kids


@pytest.mark.parametrize("op", sorted(OPS))
def test_grad_fn_names_and_next_functions_match_torch(op):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = _describe(OPS[op](axonal, *_xy(axonal)).grad_fn)
        theirs = _describe(OPS[op](torch, *_xy(torch)).grad_fn)
    assert ours[:2] == theirs[:2] and ours[0] == ours[1]
    assert len(ours[2]) == len(theirs[2])


def test_next_functions_of_a_small_network_match_torch():
    def run(m):
        x = m.tensor([[1.0, 2.0]])  # input without grad
        w = m.tensor([[0.5, -1.0], [2.0, 0.1]], requires_grad=True)
        b = m.tensor([0.1, 0.2], requires_grad=True)
        return _describe(((x @ w + b).tanh() * x).sum().grad_fn, 6)

    assert run(axonal) == run(torch)


def test_accumulate_grad_nodes():
    for m in (axonal, torch):
        x, y = _xy(m)
        a, b = x * 2, x + y
        acc = a.grad_fn.next_functions[0][0]
        assert type(acc).__name__ == "AccumulateGrad" and acc.variable is x
        assert acc.name() == "torch::autograd::AccumulateGrad" and acc.next_functions == ()
        assert b.grad_fn.next_functions[0][0] is acc  # one per leaf while it is alive
        assert isinstance(acc, (Node if m is axonal else torch.autograd.graph.Node))
        assert (x * m.ones(2, 3)).grad_fn.next_functions[1] == (None, 0)


def test_accumulate_grad_prehook():
    def run(m):
        x, _ = _xy(m)
        y = x * 3
        seen = []
        y.grad_fn.next_functions[0][0].register_prehook(
            lambda go: seen.append(go[0].clone()) or (go[0] * 2,))
        y.sum().backward()
        return [s.tolist() for s in seen], x.grad.tolist()

    assert run(axonal) == run(torch)


def test_node_types_are_nodes_and_op_classes_keep_their_names():
    x, _ = _xy(axonal)
    y = x * 2
    assert isinstance(y.grad_fn, Node) and not isinstance(x, Node)
    assert isinstance(y.grad_fn, axonal.ops.arith.Mul)  # the node's class derives from the op's
    assert axonal.ops.arith.Mul.__name__ == "Mul" and y.grad_fn._fn_name == "Mul"
    assert repr(y).endswith("grad_fn=<MulBackward0>)")
    assert repr(y.grad_fn).startswith("<MulBackward0 object at 0x")


def test_custom_function_node_is_named_like_pytorchs():
    class Twice(axonal.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x._data * 2

        @staticmethod
        def backward(ctx, g):
            return g * 2

    y = Twice.apply(axonal.ones(2, requires_grad=True))
    assert type(y.grad_fn).__name__ == y.grad_fn.name() == "TwiceBackward"
    assert isinstance(y.grad_fn, Twice) and isinstance(y.grad_fn, Node)


def test_metadata_and_gradient_edge():
    x, _ = _xy(axonal)
    y = x.exp()
    y.grad_fn.metadata["tag"] = 1
    assert y.grad_fn.metadata == {"tag": 1}
    assert get_gradient_edge(y) == GradientEdge(y.grad_fn, 0)
    edge = get_gradient_edge(x)
    assert edge.node.variable is x and edge.output_nr == 0
    with pytest.raises(RuntimeError, match="does not require gradients"):
        get_gradient_edge(axonal.ones(1))


def test_multi_output_node_edges():
    for m in (axonal, torch):
        x, _ = _xy(m)
        a, b = x.split(1)
        z = a * b
        (ea, ia), (eb, ib) = z.grad_fn.next_functions
        assert ea is eb and (ia, ib) == (0, 1) and type(ea).__name__ == "SplitBackward0"
