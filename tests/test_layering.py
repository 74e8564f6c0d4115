"""The structure rules of docs/ARCHITECTURE.md, checked on the source (nothing is imported):

* layers: a file may import only from its own layer or lower (the rank table in the doc);
* no import cycle between files, deferred imports inside functions included, package `__init__`
  files counted as files, no allow-list;
* no file in axonal/ over 400 lines.

Every file under axonal/ is parsed with `ast`. Its imports, wherever they stand (top level, inside
functions or classes), become edges of a file-level graph:

    import axonal.a.b / from axonal.a import b    -> a/b.py (or a/b/__init__.py)
    from .pkg import name                          -> pkg/__init__.py, and pkg/name.py when `name`
                                                      is a submodule
    any import of pkg.mod (from .pkg.mod import name, import axonal.pkg.mod, ...)
                                                   -> pkg/mod.py and pkg/__init__.py too (Python
                                                      runs it first), unless pkg holds the importer
    from . import x                                -> x.py (own package: already being imported)
    importlib.import_module("axonal.x") / (".x", __name__ or __package__ or "axonal.pkg")
    importlib.import_module("." + TABLE[name], __name__) -> every module named in the dict TABLE
    module-level def __getattr__ reading a dict literal of module names (a PEP 562 lazy table)
                                                   -> every module named in it
"""
import ast
import pathlib
import re
import shutil

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
PKG = ROOT / "axonal"
DOC = ROOT / "docs" / "ARCHITECTURE.md"
MAX_LINES = 400


# -- the rank table ---------------------------------------------------------------------------------

def table_entries(text):
    """rank -> the paths of its table row, `| rank | `file.py`, `pkg/` | ... |` (relative to axonal/;
    `pkg/` is the package and everything under it)."""
    ranks = {}
    for line in text.splitlines():
        m = re.match(r"^\|\s*(\d+)\s*\|([^|]*)\|", line)
        if m:
            found = [n.strip() for n in re.findall(r"`([^`]+)`", m.group(2))]
            ranks.setdefault(int(m.group(1)), []).extend(found)
    return ranks


def ranks_from_doc(text):
    """rank -> module patterns: a dotted module name for a file ('' is axonal/__init__.py), "pkg.*"
    for a directory."""
    ranks = {}
    for rank, paths in table_entries(text).items():
        for p in paths:
            if p.endswith("/"):
                ranks.setdefault(rank, []).append(p[:-1].replace("/", ".") + ".*")
            else:
                parts = p[:-3].split("/") if p.endswith(".py") else p.split("/")
                if parts[-1] == "__init__":
                    parts = parts[:-1]
                ranks.setdefault(rank, []).append(".".join(parts))
    return ranks


RANKS = ranks_from_doc(DOC.read_text(encoding="utf-8"))


def rank_of(module, ranks=RANKS):
    """Rank of a dotted module name relative to the package ('' is the package itself): a file row
    beats a directory row, a deeper directory beats a shallower one."""
    best, best_len = None, -1
    for rank, patterns in ranks.items():
        for p in patterns:
            if p.endswith(".*"):
                base = p[:-2]
                if (module == base or module.startswith(base + ".")) and len(base) > best_len:
                    best, best_len = rank, len(base)
            elif module == p and len(p) + 1 > best_len:
                best, best_len = rank, len(p) + 1
    return best


# -- the import graph -------------------------------------------------------------------------------

def module_name(path, root=PKG):
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def all_modules(root=PKG):
    return {module_name(p, root): p for p in sorted(root.rglob("*.py"))}


def _join(*parts):
    return ".".join(p for p in parts if p)


def _resolve_relative(name, package):
    """importlib's rule for ".x" / "..x" against the dotted `package` (relative to axonal)."""
    level = len(name) - len(name.lstrip("."))
    base = package.split(".") if package else []
    if level - 1 > len(base):
        return None
    return _join(*base[:len(base) - (level - 1)], name[level:])


def _absolute(name):
    """'axonal.x.y' -> 'x.y'; None for a module outside axonal."""
    parts = name.split(".")
    return ".".join(parts[1:]) if parts[0] == "axonal" else None


def _module_tables(tree):
    """Module-level `NAME = {...}` dict literals -> the string values of the dict (and tuple, list
    or set literals -> their strings: a lazy table may list module names without a mapping)."""
    tables = {}
    for node in tree.body:
        if not isinstance(node, ast.Assign):
            continue
        if isinstance(node.value, ast.Dict):
            items = node.value.values
        elif isinstance(node.value, (ast.Tuple, ast.List, ast.Set)):
            items = node.value.elts
        else:
            continue
        values = [v.value for v in items if isinstance(v, ast.Constant) and isinstance(v.value, str)]
        for target in node.targets:
            if isinstance(target, ast.Name):
                tables[target.id] = (node.lineno, values)
    return tables


def _import_module_names(call, tables):
    """The module names an `importlib.import_module(...)` call can load: a string literal, or a
    literal prefix plus a lookup in a module-level dict (`"." + TABLE[name]`)."""
    if not call.args:
        return []
    arg = call.args[0]
    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
        return [arg.value]
    if (isinstance(arg, ast.BinOp) and isinstance(arg.op, ast.Add)
            and isinstance(arg.left, ast.Constant) and isinstance(arg.left.value, str)
            and isinstance(arg.right, ast.Subscript) and isinstance(arg.right.value, ast.Name)
            and arg.right.value.id in tables):
        return [arg.left.value + v for v in tables[arg.right.value.id][1]]
    return []


def _package_arg(call, module, pkg):
    """The `package=` argument of import_module, relative to axonal (None: not resolvable)."""
    node = call.args[1] if len(call.args) > 1 else next(
        (k.value for k in call.keywords if k.arg == "package"), None)
    if isinstance(node, ast.Name) and node.id == "__name__":
        return module
    if isinstance(node, ast.Name) and node.id == "__package__":
        return pkg
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return _absolute(node.value)
    return None


def imported_modules(source, module, is_package, known):
    """(lineno, target) for every axonal module that `source` (the file of `module`) imports.

    Targets are dotted names relative to the package ('' for axonal/__init__.py). Imports outside
    axonal are ignored; a target that is not in `known` is reported by the callers.
    """
    tree = ast.parse(source)
    here = module.split(".") if module else []
    pkg_parts = here if is_package else here[:-1]
    pkg = ".".join(pkg_parts)
    ancestors = {".".join(here[:k]) for k in range(len(here) + 1)}  # already being imported
    tables = _module_tables(tree)
    found = []

    def from_import(line, base, names):
        subs = [_join(base, n) for n in names if _join(base, n) in known]
        if base not in ancestors or len(subs) < len(names):  # a name read from the package
            found.append((line, base))
        found.extend((line, s) for s in subs if s not in ancestors)

    for node in ast.walk(tree):  # ast.walk reaches imports nested in functions and classes
        if isinstance(node, ast.Import):
            for alias in node.names:
                target = _absolute(alias.name)
                if target is not None:
                    found.append((node.lineno, target))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                up = node.level - 1
                if up > len(pkg_parts):
                    raise ValueError(f"{module}: relative import beyond the package, line "
                                     f"{node.lineno}")
                base = _join(*pkg_parts[:len(pkg_parts) - up], node.module or "")
            else:
                base = _absolute(node.module or "")
                if base is None:
                    continue
            from_import(node.lineno, base, [a.name for a in node.names if a.name != "*"])
        elif isinstance(node, ast.Call) and (
                isinstance(node.func, ast.Attribute) and node.func.attr == "import_module"
                or isinstance(node.func, ast.Name) and node.func.id == "import_module"):
            for name in _import_module_names(node, tables):
                if name.startswith("."):
                    package = _package_arg(node, module, pkg)
                    target = None if package is None else _resolve_relative(name, package)
                else:
                    target = _absolute(name)
                if target is not None:
                    found.append((node.lineno, target))
    # a PEP 562 lazy table: module-level __getattr__ reading a dict of submodule names
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == "__getattr__":
            read = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
            for name in read & set(tables):
                line, values = tables[name]
                for v in values:
                    target = _resolve_relative("." + v.lstrip("."), pkg) if v else None
                    if target in known:
                        found.append((line, target))
    # Python runs the __init__ of every package on the way to a module (axonal.a.b: a/__init__.py
    # first): those are edges too, except the importer's own packages, already being imported
    parents = [(line, ".".join(t.split(".")[:k])) for line, t in found
               for k in range(1, len(t.split(".")))]
    return [(line, t) for line, t in found + parents if t != module and
            (t not in ancestors or (line, t) in found)]


def import_graph(modules):
    """module -> {target: first line}, over the files in `modules` (name -> path or source)."""
    known = set(modules)
    graph = {}
    for name, path in modules.items():
        edges = graph.setdefault(name, {})
        for line, target in imported_modules(_source(path), name, _is_package(name, path), known):
            edges[target] = min(line, edges.get(target, line))
    return graph


def cycles(modules):
    """The import cycles: strongly connected components of more than one file (Tarjan), each as a
    sorted tuple of module names, in sorted order."""
    graph = import_graph(modules)
    index, low, on_stack, stack, found = {}, {}, set(), [], []
    counter = [0]

    def visit(v):
        # iterative Tarjan: (node, iterator over its successors)
        work = [(v, iter(sorted(graph.get(v, ()))))]
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        while work:
            node, successors = work[-1]
            advanced = False
            for w in successors:
                if w not in graph:
                    continue  # a missing module: reported by violations()
                if w not in index:
                    index[w] = low[w] = counter[0]
                    counter[0] += 1
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(graph[w]))))
                    advanced = True
                    break
                if w in on_stack:
                    low[node] = min(low[node], index[w])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    component.append(w)
                    if w == node:
                        break
                if len(component) > 1:
                    found.append(tuple(sorted(component)))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(found)


def describe_cycle(component, modules):
    graph = import_graph(modules)
    members = set(component)
    edges = [f"  {_file(a, modules)}:{line} imports {_file(b, modules)}"
             for a in component for b, line in sorted(graph[a].items()) if b in members]
    return "import cycle between " + ", ".join(_file(m, modules) for m in component) + ":\n" + \
        "\n".join(edges)


def violations(modules, ranks=RANKS):
    """Upward imports, unranked modules and imports of modules that do not exist, as messages."""
    known = set(modules)
    problems = []
    for name, path in modules.items():
        r = rank_of(name, ranks)
        shown = _dotted(name)
        if r is None:
            problems.append(f"{shown} ({path}) has no layer: add it (or its package) to the table "
                            "in docs/ARCHITECTURE.md")
            continue
        for line, target in imported_modules(_source(path), name, _is_package(name, path), known):
            if target not in known:
                problems.append(f"{shown}:{line} imports {_dotted(target)}, which does not exist")
                continue
            t = rank_of(target, ranks)
            if t is not None and t > r:
                hint = (" (import the name from the module that defines it instead)"
                        if target == "" else "")
                problems.append(f"{shown} (rank {r}) imports {_dotted(target)} (rank {t}) at "
                                f"line {line}: upward import{hint}")
    return problems


def _source(path):
    return path.read_text(encoding="utf-8") if hasattr(path, "read_text") else path


def _dotted(name):
    return f"axonal.{name}" if name else "axonal (the package namespace, axonal/__init__.py)"


def _file(name, modules):
    """'ops.shape' -> 'axonal/ops/shape.py' (or its __init__.py)."""
    path = modules[name]
    if not hasattr(path, "relative_to"):
        return name
    depth = (len(name.split(".")) if name else 0) + (path.name == "__init__.py")
    return "axonal/" + path.relative_to(path.parents[depth - 1]).as_posix()


def _is_package(name, path):
    return str(path).endswith("__init__.py") or name == ""


# -- the rules on the real tree ---------------------------------------------------------------------

def test_every_module_has_a_rank():
    missing = [n for n in all_modules() if rank_of(n) is None]
    assert not missing, ("modules without a layer: " + ", ".join(f"axonal.{m}" for m in missing)
                         + "\nadd them (or their package) to the layer table in "
                         "docs/ARCHITECTURE.md (read by tests/test_layering.py)")


def test_the_layer_table_names_only_files_that_exist():
    entries = [p for paths in table_entries(DOC.read_text(encoding="utf-8")).values()
               for p in paths]
    assert entries
    missing = [p for p in entries
               if not (PKG / p).is_file() and not (p.endswith("/") and (PKG / p).is_dir())]
    assert not missing, f"the layer table in docs/ARCHITECTURE.md names missing files: {missing}"


def test_no_upward_imports():
    problems = [p for p in violations(all_modules()) if "has no layer" not in p]
    assert not problems, "\n".join(problems)


def test_no_import_cycles():
    mods = all_modules()
    found = cycles(mods)
    assert not found, "\n".join(describe_cycle(c, mods) for c in found)


def test_no_file_over_400_lines():
    long = {str(p.relative_to(ROOT)): n for p in sorted(PKG.rglob("*.py"))
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert not long, f"files over {MAX_LINES} lines (split them by concept): {long}"


def test_the_layer_table_is_read_from_the_architecture_doc():
    assert sorted(RANKS) == list(range(10)), RANKS
    expected = {"_errors": 0, "_config": 0, "_threads": 0, "_dtype": 0, "backend": 0,
                "kernels": 0, "kernels.elementwise": 0, "random": 1, "_engine": 1,
                "tensor": 2, "autograd.function": 3, "autograd._grad": 3, "autograd.forward_ad": 3,
                "autograd.functional": 4, "ops._jvp": 4, "func": 6, "func._functional_call": 6,
                "ops": 4, "ops.shape": 4, "autograd": 4, "autograd.checks": 4, "nn": 5,
                "nn.layers.conv": 5, "utils.data": 5, "serialization": 5, "datasets.mnist": 5,
                "optim.adam": 6, "distributed.init": 6, "train.trainer": 7, "models.lenet": 8,
                "cli": 9, "__main__": 9, "": 9}
    wrong = {m: (rank_of(m), r) for m, r in expected.items() if rank_of(m) != r}
    assert not wrong, f"module: (rank from the doc, expected): {wrong}"


def test_the_scan_sees_the_core():
    mods = all_modules()
    for name in ("tensor", "_engine", "autograd.function", "autograd", "ops.arith", ""):
        assert name in mods
    assert rank_of("somethingnew") is None and rank_of("ops.somethingnew") == 4
    # the core really imports things, so an empty result would mean a broken resolver
    graph = import_graph(mods)
    assert {"_config", "_engine", "backend"} <= set(graph["tensor"])
    assert {"autograd.function", "autograd._grad", "autograd.functional", "autograd.forward_ad",
            "autograd.checks"} <= set(graph["autograd"])
    assert "tensor" in graph["autograd.function"] and "tensor" not in graph["_engine"]
    assert {"autograd.function", "tensor", "ops._util"} <= set(graph["ops.arith"])


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
    "import importlib\nimportlib.import_module('axonal.optim')",  # a string literal
    "import importlib\ndef f():\n    return importlib.import_module('.optim', __package__)\n",
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
    assert len(problems) >= 1 and all("axonal.tensor (rank 2)" in p for p in problems), problems
    assert all("upward import" in p for p in problems)


def test_checker_accepts_downward_and_same_layer_imports(tmp_path):
    mods = _fake_tree(tmp_path, {
        "__init__.py": "from .nn import functional\nfrom . import tensor\n",
        "tensor.py": "from . import _errors\nfrom . import _engine\n",
        "_errors.py": "", "_engine.py": "from . import _config\n", "_config.py": "",
        "nn/__init__.py": "from . import functional\n",
        "nn/functional.py": "from ..tensor import Tensor\nfrom ..ops.shape import reshape\n",
        "ops/__init__.py": "", "ops/shape.py": "from ..tensor import Tensor\nimport os\n",
    })
    assert violations(mods) == []
    assert cycles(mods) == []


def test_checker_reports_unranked_and_missing_modules(tmp_path):
    mods = _fake_tree(tmp_path, {
        "__init__.py": "", "tensor.py": "from .nonexistent import x\n",
        "mystery.py": "",
    })
    problems = violations(mods)
    assert any("axonal.mystery" in p and "no layer" in p for p in problems)
    assert any("axonal.nonexistent" in p and "does not exist" in p for p in problems)


def test_a_cycle_written_into_a_copy_of_the_tree_is_reported(tmp_path):
    """Two real files added to a copy of axonal/: one imports the other at the top, the other
    imports it back inside a function. The checker reports exactly that cycle."""
    root = tmp_path / "axonal"
    shutil.copytree(PKG, root, ignore=shutil.ignore_patterns("__pycache__", "_files"))
    before = cycles(all_modules(root))
    (root / "ops" / "zz_alpha.py").write_text(
        '"""first half of a cycle"""\nfrom .zz_beta import helper\n\n\n'
        "def op(x):\n    return helper(x)\n")
    (root / "ops" / "zz_beta.py").write_text(
        '"""second half: the import back is deferred, which hides it from Python, not from us"""\n'
        "def helper(x):\n    from . import zz_alpha\n    return zz_alpha, x\n")
    mods = all_modules(root)
    found = cycles(mods)
    assert found == sorted(before + [("ops.zz_alpha", "ops.zz_beta")])
    message = describe_cycle(("ops.zz_alpha", "ops.zz_beta"), mods)
    assert "axonal/ops/zz_alpha.py:2 imports axonal/ops/zz_beta.py" in message
    assert "axonal/ops/zz_beta.py:3 imports axonal/ops/zz_alpha.py" in message


def test_cycles_through_package_inits_lazy_tables_and_import_module(tmp_path):
    # pkg/__init__ <-> pkg/a through a PEP 562 table; pkg/b -> c -> b through import_module
    mods = _fake_tree(tmp_path, {
        "__init__.py": "",
        "pkg/__init__.py": (
            "_LAZY = {'thing': 'a'}\n\n\n"
            "def __getattr__(name):\n    import importlib\n\n"
            "    return getattr(importlib.import_module('.' + _LAZY[name], __name__), name)\n"),
        "pkg/a.py": "from . import b\nfrom ..pkg import something\n",
        "pkg/b.py": "import importlib\nC = importlib.import_module('axonal.pkg.c')\n",
        "pkg/c.py": "def f():\n    import importlib\n    return importlib.import_module('..pkg.b', "
                    "package='axonal.pkg')\n",
        "pkg/d.py": "from .. import pkg\n",  # the own package is already importing: no edge
    })
    graph = import_graph(mods)
    assert graph["pkg"] == {"pkg.a": 1}
    assert set(graph["pkg.a"]) == {"pkg.b", "pkg"} and graph["pkg.b"] == {"pkg.c": 2}
    assert graph["pkg.c"] == {"pkg.b": 3} and graph["pkg.d"] == {}
    assert cycles(mods) == [("pkg", "pkg.a"), ("pkg.b", "pkg.c")]


def test_the_lazy_table_pattern_alone_is_an_edge(tmp_path):
    mods = _fake_tree(tmp_path, {
        "__init__.py": "",
        "lazy/__init__.py": "_EXPORTS = {'relu': 'act', 'pool2d': 'pool'}\n"
                            "_FAMILIES = ('act', 'conv', 'not_a_module')\n"
                            "UNUSED = ('norm',)\n\n\n"
                            "def __getattr__(name):\n"
                            "    if name in _FAMILIES:\n        return _load(name)\n"
                            "    return getattr(_load(_EXPORTS[name]), name)\n",
        "lazy/act.py": "", "lazy/pool.py": "", "lazy/conv.py": "", "lazy/norm.py": "",
    })
    assert import_graph(mods)["lazy"] == {"lazy.act": 1, "lazy.pool": 1, "lazy.conv": 2}


def test_a_parent_package_init_is_an_edge_and_can_close_a_cycle(tmp_path):
    # b/__init__ imports a; a imports b.sub: Python runs b/__init__ first, so a -> b is real
    mods = _fake_tree(tmp_path, {
        "__init__.py": "", "a.py": "def f():\n    from .b.sub import x\n",
        "b/__init__.py": "from .. import a\nfrom . import sub\n", "b/sub.py": "x = 1\n",
        "b/c.py": "from ..b.sub import x\nimport axonal.b.sub\n",  # own package: no edge to b
    })
    graph = import_graph(mods)
    assert graph["a"] == {"b.sub": 2, "b": 2}
    assert graph["b.c"] == {"b.sub": 1}
    assert cycles(mods) == [("a", "b")]


# CuPy is optional and its import can fail with a driver error: one module (backend.py) imports it
# and hands it out; the NCCL bindings (cupy.cuda.nccl, imported only when backend="nccl" is chosen)
# are the one other place, on purpose.
_CUPY_IMPORTERS = {"backend.py", "distributed/nccl.py", "distributed/process_group.py"}


def test_only_backend_imports_cupy():
    found = set()
    for path in PKG.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            if any(n.split(".")[0] in ("cupy", "cupyx") for n in names):
                found.add(path.relative_to(PKG).as_posix())
    extra = sorted(found - _CUPY_IMPORTERS)
    assert not extra, f"import CuPy through axonal.backend: {extra}"
