"""The layering rule of docs/ARCHITECTURE.md: a module may import only from its own layer or lower.

Every module under axonal/ is parsed with `ast` (nothing is imported), mapped to a rank, and every
import statement in it - top level or inside functions, absolute or relative - is resolved to the
axonal module it loads. An import of a higher-ranked module fails; a module without a rank fails too
(add it to the table in docs/ARCHITECTURE.md, which this test reads).
"""
import ast
import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
PKG = ROOT / "axonal"
DOC = ROOT / "docs" / "ARCHITECTURE.md"

# Modules whose file names the table in docs/ARCHITECTURE.md does not spell out.
EXTRA = {
    0: ["_dtype"],  # the table says `dtype`
    1: ["autograd"],  # autograd/__init__.py: the engine re-export plus PEP 562 lazy names
    3: ["autograd.functional"],  # autograd.grad / autograd.backward, beside Function
    4: ["autograd.checks"],  # the table says `autograd.gradcheck`
}


def ranks_from_doc(text):
    """rank -> module patterns, from the table rows `| rank | `mod`, `pkg/` | ... |`.
    `pkg/` means the package and everything under it ("pkg.*"); `__init__` is axonal itself."""
    ranks = {}
    for line in text.splitlines():
        m = re.match(r"^\|\s*(\d+)\s*\|([^|]*)\|", line)
        if not m:
            continue
        names = []
        for name in re.findall(r"`([^`]+)`", m.group(2)):
            name = name.strip()
            names.append(name[:-1].replace("/", ".") + ".*" if name.endswith("/") else
                         "" if name == "__init__" else name)
        ranks.setdefault(int(m.group(1)), []).extend(names)
    return ranks


def _all_ranks():
    ranks = ranks_from_doc(DOC.read_text(encoding="utf-8"))
    for r, names in EXTRA.items():
        ranks.setdefault(r, []).extend(names)
    return ranks


RANKS = _all_ranks()


def rank_of(module, ranks=RANKS):
    """Rank of a dotted module name relative to the package ('' is the package itself)."""
    best, best_len = None, -1
    for rank, patterns in ranks.items():
        for p in patterns:
            if p.endswith(".*"):
                base = p[:-2]
                if module == base or module.startswith(base + "."):
                    if len(base) > best_len:
                        best, best_len = rank, len(base)
            elif module == p and len(p) + 1 > best_len:  # an exact name beats a prefix
                best, best_len = rank, len(p) + 1
    return best


def module_name(path, root=PKG):
    rel = path.relative_to(root).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def all_modules(root=PKG):
    return {module_name(p, root): p for p in sorted(root.rglob("*.py"))}


def imported_modules(source, module, is_package, known):
    """(lineno, target) for every import of an axonal module in `source`.

    Targets are relative to the package ('' for the package itself). `from X import y` resolves to
    X.y when that is a module, else to X. Imports outside axonal are ignored.
    """
    tree = ast.parse(source)
    here = module.split(".") if module else []
    pkg_parts = here if is_package else here[:-1]
    found = []
    for node in ast.walk(tree):  # ast.walk reaches imports nested in functions and classes
        if isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "axonal":
                    found.append((node.lineno, ".".join(parts[1:])))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                up = node.level - 1
                if up > len(pkg_parts):
                    raise ValueError(f"{module}: relative import beyond the package, line "
                                     f"{node.lineno}")
                base = pkg_parts[:len(pkg_parts) - up] + (node.module.split(".") if node.module
                                                         else [])
            else:
                parts = (node.module or "").split(".")
                if parts[0] != "axonal":
                    continue
                base = parts[1:]
            base_name = ".".join(base)
            for alias in node.names:
                sub = ".".join(base + [alias.name])
                found.append((node.lineno, sub if sub in known else base_name))
    return found


def violations(modules, ranks=RANKS):
    """Upward imports and unranked modules, as readable messages."""
    known = set(modules)
    problems = []
    for name, path in modules.items():
        r = rank_of(name, ranks)
        shown = _dotted(name)
        if r is None:
            problems.append(f"{shown} ({path}) has no layer: add it to the table in "
                            "docs/ARCHITECTURE.md")
            continue
        source = path.read_text(encoding="utf-8") if hasattr(path, "read_text") else path
        for line, target in imported_modules(source, name, _is_package(name, path), known):
            t = rank_of(target, ranks)
            if t is None:
                if target in known:
                    continue  # reported above as unranked
                problems.append(f"{shown}:{line} imports {_dotted(target)}, which does not exist")
                continue
            if t > r:
                hint = (" (import the name from the module that defines it instead)"
                        if target == "" else "")
                problems.append(f"{shown} (rank {r}) imports {_dotted(target)} (rank {t}) at "
                                f"line {line}: upward import{hint}")
    return problems


def _dotted(name):
    return f"axonal.{name}" if name else "axonal (the package namespace, axonal/__init__.py)"


def _is_package(name, path):
    return str(path).endswith("__init__.py") or name == ""


# -- the rule on the real tree ---------------------------------------------------------------------

def test_every_module_has_a_rank():
    missing = [n for n in all_modules() if rank_of(n) is None]
    assert not missing, ("modules without a layer: " + ", ".join(f"axonal.{m}" for m in missing)
                         + "\nadd them to the layer table in docs/ARCHITECTURE.md (read by "
                         "tests/test_layering.py)")


def test_no_upward_imports():
    problems = [p for p in violations(all_modules()) if "has no layer" not in p]
    assert not problems, "\n".join(problems)


def test_the_layer_table_is_read_from_the_architecture_doc():
    assert sorted(RANKS) == list(range(10)), RANKS
    expected = {"_errors": 0, "_config": 0, "_threads": 0, "_dtype": 0, "backend": 0,
                "kernels": 0, "kernels.elementwise": 0, "random": 1, "autograd.engine": 1,
                "autograd": 1, "tensor": 2, "autograd.function": 3, "autograd.functional": 3,
                "ops": 4, "ops.shape": 4, "autograd.checks": 4, "nn": 5, "nn.layers.conv": 5,
                "utils.data": 5, "serialization": 5, "datasets.mnist": 5, "optim.adam": 6,
                "train.trainer": 7, "models.lenet": 8, "cli": 9, "__main__": 9, "": 9}
    wrong = {m: (rank_of(m), r) for m, r in expected.items() if rank_of(m) != r}
    assert not wrong, f"module: (rank from the doc, expected): {wrong}"


def test_the_scan_sees_the_core():
    mods = all_modules()
    for name in ("tensor", "autograd.engine", "autograd.function", "ops.arith", ""):
        assert name in mods
    assert rank_of("kernels.elementwise") == 0 and rank_of("autograd") == 1
    assert rank_of("autograd.checks") == 4 and rank_of("ops") == 4 and rank_of("") == 9
    assert rank_of("nn.layers.conv") == 5 and rank_of("somethingnew") is None
    # the core really imports things, so an empty result would mean a broken resolver
    src = mods["ops.arith"].read_text()
    targets = {t for _, t in imported_modules(src, "ops.arith", False, set(mods))}
    assert {"autograd.function", "tensor", "ops._util"} <= targets


# -- the checker itself ---------------------------------------------------------------------------

def _fake_tree(tmp_path, files):
    root = tmp_path / "axonal"
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return all_modules(root)


@pytest.mark.parametrize("stmt", [
    "from .nn import Module",                    # relative, top level
    "from . import nn",                          # relative, module as a name
    "import axonal.nn.functional",               # absolute
    "from axonal.nn.functional import relu",     # absolute from-import
    "def f():\n    from .nn import functional\n",  # inside a function
    "class C:\n    def m(self):\n        import axonal.optim as o\n",  # inside a method
])
def test_checker_catches_a_synthetic_upward_import(tmp_path, stmt):
    mods = _fake_tree(tmp_path, {
        "__init__.py": "from . import tensor\n",
        "tensor.py": "import numpy as np\nfrom ._errors import ShapeError\n" + stmt + "\n",
        "_errors.py": "",
        "nn/__init__.py": "", "nn/functional.py": "from ..tensor import Tensor\n",
        "optim/__init__.py": "",
    })
    problems = violations(mods)
    assert len(problems) == 1 and "axonal.tensor (rank 2)" in problems[0], problems
    assert "upward import" in problems[0]


def test_checker_accepts_downward_and_same_layer_imports(tmp_path):
    mods = _fake_tree(tmp_path, {
        "__init__.py": "from .nn import functional\nfrom . import tensor\n",
        "tensor.py": "from . import _errors\nfrom .autograd import engine\n",
        "_errors.py": "", "autograd/__init__.py": "from .engine import run\n",
        "autograd/engine.py": "from .. import _config\n", "_config.py": "",
        "nn/__init__.py": "from . import functional\n",
        "nn/functional.py": "from ..tensor import Tensor\nfrom ..ops.shape import reshape\n",
        "ops/__init__.py": "", "ops/shape.py": "from ..tensor import Tensor\nimport os\n",
    })
    assert violations(mods) == []


def test_checker_reports_unranked_and_missing_modules(tmp_path):
    mods = _fake_tree(tmp_path, {
        "__init__.py": "", "tensor.py": "from .nonexistent import x\n",
        "mystery.py": "",
    })
    problems = violations(mods)
    assert any("axonal.mystery" in p and "no layer" in p for p in problems)
    assert any("axonal.nonexistent" in p and "does not exist" in p for p in problems)
