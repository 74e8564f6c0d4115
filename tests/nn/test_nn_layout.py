"""The layout of `axonal.nn`: one home per concept, one way down.

* `axonal.nn.functional` keeps every public name it had as a single file (PyTorch's import path).
* Layer files hold Modules only: functional forms live in `nn/functional/`, which never imports a
  layer or `nn.module`.
* No import cycle between any two files of `nn/` (package `__init__` files and imports inside
  functions included).
* `F` means `nn.functional` wherever nn imports it, and no other one-letter module alias is used.
* The Functions in `nn/` follow the op contract: no `ctx.<name> = ...`, no grad-mode tests.

Imports are read with `ast` (nothing is executed) and resolved to the axonal module they load.
"""
import ast
import contextlib
import pathlib

import numpy as np
import pytest

import axonal
import axonal.nn.functional as F

ROOT = pathlib.Path(__file__).resolve().parents[2]
PKG = ROOT / "axonal"
NN = PKG / "nn"

# sorted(n for n in dir(F) if not n.startswith('_')) of the single-file nn/functional.py
FUNCTIONAL_NAMES = [
    "DTypeError", "Function", "IndexAddZeros", "ShapeError", "Tensor", "adaptive_avg_pool1d",
    "adaptive_avg_pool2d", "adaptive_max_pool1d", "adaptive_max_pool2d", "avg_pool1d",
    "avg_pool2d", "backend", "batch_norm", "bilinear", "binary_cross_entropy",
    "binary_cross_entropy_with_logits", "celu", "clamp", "constant", "conv1d", "conv2d",
    "conv_transpose1d", "conv_transpose2d", "cosine_embedding_loss", "cross_entropy", "dropout",
    "dropout1d", "dropout2d", "elu", "embedding", "fold", "gaussian_nll_loss", "gelu",
    "group_norm", "hardtanh", "hinge_embedding_loss", "huber_loss", "interpolate", "kl_div",
    "l1_loss", "layer_norm", "leaky_relu", "linear", "log_softmax", "logsigmoid",
    "margin_ranking_loss", "matmul", "max_pool1d", "max_pool2d", "mish", "mse_loss", "nll_loss",
    "no_grad", "norm", "normalize", "np", "np_generator", "one_hot", "pad", "poisson_nll_loss",
    "prelu", "relu", "relu6", "reshape", "scaled_dot_product_attention", "selu", "sigmoid", "silu",
    "smooth_l1_loss", "soft_margin_loss", "softmax", "softmin", "softplus", "softsign", "tanh",
    "unfold", "upsample", "where", "xp_take",
]
# its __all__ (the documented part of the list above)
FUNCTIONAL_ALL = set(FUNCTIONAL_NAMES) - {
    "DTypeError", "Function", "IndexAddZeros", "ShapeError", "Tensor", "backend", "clamp",
    "constant", "matmul", "no_grad", "norm", "np", "np_generator", "reshape", "where", "xp_take"}


def _module_name(path):
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(PKG.rglob("*.py"))}


def _imports(module):
    """(node, axonal module it loads) for every import statement in `module`, at any depth."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("axonal"):
                    yield node, alias, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")
            base = base[:len(base) - node.level + 1] if node.level else []
            base = ".".join(base + ([node.module] if node.module else []))
            if not base.startswith("axonal"):
                continue
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                yield node, alias, sub if sub in MODULES else base


def _graph(prefix):
    return {m: {t for _, _, t in _imports(m) if t.startswith(prefix) and t in MODULES}
            for m in MODULES if m == prefix or m.startswith(prefix + ".")}


def test_functional_keeps_every_public_name():
    names = {n for n in dir(F) if not n.startswith("_")}
    assert set(FUNCTIONAL_NAMES) <= names, sorted(set(FUNCTIONAL_NAMES) - names)
    assert FUNCTIONAL_ALL <= set(F.__all__)
    for name in F.__all__:
        assert callable(getattr(F, name)), name


def test_functional_submodules_do_not_shadow_functions():
    # importing a submodule binds it on the package: none may be named like a function of F
    for path in (NN / "functional").glob("*.py"):
        assert path.stem == "__init__" or path.stem.startswith("_"), path.name
    assert callable(F.dropout) and callable(F.cross_entropy) and callable(F.embedding)


def test_layer_files_define_modules_only():
    bad = []
    for path in sorted((NN / "layers").glob("*.py")):
        if path.name.startswith("_"):
            continue   # _util: helpers shared by the layers
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.FunctionDef) and not node.name.startswith("_"):
                bad.append(f"{path.name}: def {node.name}")
    assert not bad, bad


def test_functional_never_imports_layers_or_module():
    start = [m for m in MODULES if m.startswith("axonal.nn.functional")]
    seen, todo = set(start), list(start)
    while todo:   # everything `import axonal.nn.functional` loads, transitively
        for _, _, target in _imports(todo.pop()):
            if target in MODULES and target not in seen:
                seen.add(target)
                todo.append(target)
    banned = sorted(m for m in seen if m.startswith(("axonal.nn.layers", "axonal.nn.module"))
                    or m in ("axonal.nn", "axonal"))
    assert not banned, banned


# (import cycles anywhere in axonal/, nn included, are the layering test's: tests/test_layering.py)


def test_module_aliases_have_one_meaning():
    for module in (m for m in MODULES if m.startswith("axonal.nn")):
        for _, alias, target in _imports(module):
            name = alias.asname
            if name == "F":
                assert target == "axonal.nn.functional", (module, target)
            elif name is not None and len(name) == 1 and target in MODULES:
                pytest.fail(f"{module}: one-letter alias {name} for module {target}")


@pytest.mark.parametrize("path", sorted(NN.rglob("*.py")), ids=lambda p: str(p.relative_to(NN)))
def test_nn_functions_follow_the_op_contract(path):
    text = path.read_text(encoding="utf-8")
    tree = ast.parse(text)
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                for t in ast.walk(target):
                    assert not (isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name)
                                and t.value.id == "ctx"), f"ctx.{t.attr} = ... (use ctx.save)"
    for cls in ast.walk(tree):
        if isinstance(cls, ast.ClassDef) and any(getattr(b, "id", "") == "Function"
                                                 for b in cls.bases):
            names = {getattr(n, "id", getattr(n, "attr", None)) for n in ast.walk(cls)}
            assert not names & {"is_grad_enabled", "_state"}, f"{cls.name} tests the grad mode"
    assert "except ImportError" not in text   # the kernels and numba are always there


# -- masks are drawn with the input's array module (the CuPy path, checked with a stand-in) ------
class _OtherArrayModule:
    """Stands in for CuPy: records the seeds its generators are made with."""

    def __init__(self):
        self.seeds = []
        self.random = self
        self.cuda = self

    def Device(self, index):   # noqa: N802 - CuPy's name: a context selecting the GPU
        return contextlib.nullcontext()

    def default_rng(self, seed):
        self.seeds.append(seed)
        return np.random.default_rng(seed)


def test_dropout_mask_on_the_cpu_is_the_axonal_generator_stream():
    x = axonal.ones(4, 5)
    axonal.manual_seed(7)
    y = F.dropout(x, 0.25).numpy()
    keep = np.random.Generator(np.random.PCG64(7)).random((4, 5), dtype=np.float32) >= 0.25
    np.testing.assert_array_equal(y, keep / np.float32(0.75))
    axonal.manual_seed(7)
    y2 = F.dropout2d(axonal.ones(2, 3, 2, 2), 0.5).numpy()
    keep2 = np.random.Generator(np.random.PCG64(7)).random((2, 3, 1, 1)) >= 0.5
    np.testing.assert_array_equal(y2, np.broadcast_to(keep2 * np.float32(2), (2, 3, 2, 2)))


@pytest.mark.parametrize("fn", [lambda x: F.dropout(x, 0.5),
                                lambda x: F.dropout2d(x, 0.5),
                                lambda x: F.dropout1d(x.reshape(2, 3, 4), 0.5)])
def test_dropout_mask_of_another_array_module_is_drawn_by_it_seeded(fn, monkeypatch):
    from axonal.nn.functional import _dropout

    other = _OtherArrayModule()
    monkeypatch.setattr(_dropout, "xp_of", lambda a: other)
    x = axonal.ones(2, 3, 2, 2)
    axonal.manual_seed(11)
    first = fn(x).numpy()
    axonal.manual_seed(11)
    again = fn(x).numpy()
    assert len(other.seeds) == 2 and other.seeds[0] == other.seeds[1]
    np.testing.assert_array_equal(first, again)


def test_causal_masks_are_built_with_the_scores_array_module(monkeypatch):
    from axonal.kernels import attention as kernels_attention
    from axonal.nn.functional import _attention

    used = []
    real, real_keep = _attention._causal, kernels_attention.causal_keep
    monkeypatch.setattr(_attention, "_causal", lambda xp, *a: used.append(xp) or real(xp, *a))
    monkeypatch.setattr(kernels_attention, "causal_keep",
                        lambda xp, *a: used.append(xp) or real_keep(xp, *a))
    q = axonal.randn(2, 3, 4, dtype=axonal.float64)  # float64: the causal softmax's array path
    F.scaled_dot_product_attention(q, q, q, is_causal=True)
    mask = _attention.causal_mask(3, device="cpu")
    assert used == [np, np]
    np.testing.assert_array_equal(mask.numpy(), np.triu(np.full((3, 3), -np.inf, np.float32), 1))
