"""PyTorch API coverage, measured against PyTorch's own name lists (torch 2.13, the test oracle).

    AXONAL_PARITY_JSON=parity.json python -m pytest       # the suite records the proved names
    python tools/api_coverage.py --parity parity.json --write    # docs/COMPATIBILITY.md
    python tools/api_coverage.py --parity parity.json --check    # CI: below a floor -> exit 1
    python tools/api_coverage.py --parity parity.json --update-floors   # docs/compatibility.json

For each category (a PyTorch namespace) the tool lists PyTorch's public names, sets aside the
out-of-scope ones (`OUT_OF_SCOPE`: quantization, named tensors, nested tensors, complex-only,
CUDA/graph internals; each with its reason), and counts a name as covered only when Axonal has it
AND a parity test tagged with it passed in the run that wrote the parity file (tests/_parity.py:
random inputs, two shapes or more with broadcasting and a non-contiguous input, float32 and float64,
gradients where differentiable). A name Axonal has without such a test is listed as "present,
unproved"; it does not count. docs/compatibility.json holds, per category, the number of names in
scope (the denominator) and the floor: `--check` fails when a category's covered count drops below
its floor or its denominator changes (a new PyTorch, or a changed classification: rerun with
--update-floors and commit both files).
"""
import argparse
import importlib
import inspect
import json
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "COMPATIBILITY.md"
FLOORS = ROOT / "docs" / "compatibility.json"

# key (PyTorch namespace), target % (None: no target in issue 15), what the category holds
CATEGORIES = [
    ("torch", 90, "the tensor functions of torch's top-level namespace"),
    ("torch.Tensor", 90, "Tensor methods and attributes"),
    ("torch.nn", 90, "modules, containers, parameters"),
    ("torch.nn.functional", 90, "functional forms"),
    ("torch.nn.init", 90, "initialisers"),
    ("torch.optim", 90, "optimizers"),
    ("torch.optim.lr_scheduler", 90, "learning-rate schedulers (part of optim's target)"),
    ("torch.optim.swa_utils", 90, "weight averaging (part of optim's target)"),
    ("torch.utils.data", 90, "datasets, samplers, loaders"),
    ("torch.linalg", 90, "linear algebra"),
    ("torch.special", 90, "special functions"),
    ("torch.fft", None, "discrete Fourier transforms"),
    ("torch.distributions", None, "probability distributions"),
    ("torch.autograd", None, "autograd entry points"),
]

_QUANT = re.compile(r"quantiz|^q_|^qscheme$|^int_repr$|^fbgemm_|^choose_qparams|^dequantize$|"
                    r"fake_quant|^quint|^qint")
_INTERNAL = re.compile(r"^cudnn_|^miopen_|^mkldnn_|^native_|^batch_norm_(backward|elemt|gather|"
                       r"stats|update)|^sym_constrain|^parse_ir$|^import_ir_module|^fork$|^wait$|"
                       r"^is_vulkan|^profiler_allow_cudagraph")
_NAMED = {"names", "rename", "rename_", "refine_names", "align_to", "align_as", "has_names"}
_NESTED = re.compile(r"nested|padded_tensor")
_COMPLEX = {"view_as_complex", "view_as_complex_copy", "view_as_real", "view_as_real_copy",
            "complex", "polar", "imag", "cfloat", "cdouble", "chalf", "conj_physical",
            "conj_physical_", "is_conj", "resolve_conj"}
# torch.fft: everything but the real-valued helpers takes or returns complex tensors
_FFT_REAL = {"fftfreq", "rfftfreq", "fftshift", "ifftshift"}

OUT_OF_SCOPE = {
    "quantization": "quantized dtypes and their kernels (Axonal has no quantized tensors)",
    "named tensors": "PyTorch's experimental named-tensor API",
    "nested tensors": "ragged (nested) tensors, a separate tensor type",
    "complex-only": "takes or returns complex tensors, or concerns only them "
                    "(Axonal has no complex dtypes)",
    "CUDA/graph internals": "kernels bound to one backend (cuDNN, MIOpen, MKL-DNN, the "
                            "SyncBatchNorm CUDA kernels, native_* entry points) or the "
                            "TorchScript/graph machinery; not a user API",
}


def out_of_scope(space, name):
    """The out-of-scope category of `space.name`, or None."""
    if _QUANT.search(name):
        return "quantization"
    if name in _NAMED:
        return "named tensors"
    if _NESTED.search(name):
        return "nested tensors"
    if name in _COMPLEX or (space == "torch.fft" and name not in _FFT_REAL):
        return "complex-only"
    if space == "torch.linalg" and name in ("eig", "eigvals"):
        return "complex-only"
    if _INTERNAL.search(name):
        return "CUDA/graph internals"
    return None


def _foreign(obj):
    """A name a namespace imports from outside PyTorch (typing, math, builtins...)."""
    mod = getattr(obj, "__module__", None)
    if inspect.isclass(obj) or inspect.isfunction(obj):
        return mod is not None and not mod.startswith("torch")
    return inspect.ismodule(obj) or type(obj).__module__ == "typing"


def torch_names(torch, space):
    """PyTorch's public names of `space`: its `__all__` when it has one, else its public
    attributes; minus submodules and names imported from outside PyTorch. For "torch", only the
    tensor functions: ATen's functions bound at the top level (torch._C._VariableFunctions) and
    those of torch.functional, plus the Python-defined low-rank routines."""
    mod = importlib.import_module(space) if space != "torch.Tensor" else None
    if space == "torch":
        vf = torch._C._VariableFunctions
        names = [n for n in dir(torch) if not n.startswith("_") and (
            getattr(vf, n, None) is getattr(torch, n) or
            getattr(getattr(torch, n), "__module__", None) == "torch.functional")]
        return sorted(set(names) | {"lobpcg", "pca_lowrank", "svd_lowrank"})
    if space == "torch.Tensor":
        return sorted(n for n in dir(torch.Tensor) if not n.startswith("_"))
    names = getattr(mod, "__all__", None) or [n for n in dir(mod) if not n.startswith("_")]
    out = []
    for n in names:
        obj = getattr(mod, n, None)
        if n.startswith("_") or obj is None or inspect.ismodule(obj) or _foreign(obj):
            continue
        if obj is torch.Tensor and space != "torch":
            continue
        out.append(n)
    return sorted(set(out))


def axonal_has(axonal, space, name):
    """Axonal defines `space.name` (a missing-name stand-in does not count)."""
    path = space.replace("torch", "axonal", 1).split(".")
    try:
        obj = importlib.import_module(".".join(path)) if space != "torch.Tensor" else \
            axonal.Tensor
    except ImportError:
        try:  # a namespace that is an attribute, not a module (axonal.linalg ...)
            obj = axonal
            for part in path[1:]:
                obj = getattr(obj, part)
        except AttributeError:
            return False
    try:
        getattr(obj, name)
    except AttributeError:  # including axonal's MissingTorchName
        return False
    except Exception:  # noqa: BLE001 - a property that needs an instance: the name exists
        return True
    return True


def measure(parity):
    import torch

    import axonal

    proved = set(parity.get("proved", ()))
    result = {}
    for space, target, what in CATEGORIES:
        row = {"target": target, "what": what, "proved": [], "present": [], "absent": [],
               "out": {}}
        for n in torch_names(torch, space):
            cat = out_of_scope(space, n)
            if cat:
                row["out"].setdefault(cat, []).append(n)
            elif not axonal_has(axonal, space, n):
                row["absent"].append(n)
            elif f"{space}.{n}" in proved:
                row["proved"].append(n)
            else:
                row["present"].append(n)
        row["in_scope"] = len(row["proved"]) + len(row["present"]) + len(row["absent"])
        result[space] = row
    return result


def unknown_tags(parity):
    """Tagged names PyTorch does not have (a misspelt tag)."""
    import torch

    bad = []
    for full in parity.get("names", {}):
        obj = torch
        for part in full.split(".")[1:]:
            if not hasattr(obj, part):
                bad.append(full)
                break
            obj = getattr(obj, part)
    return bad


def _pct(a, b):
    return f"{100.0 * a / b:.1f}%" if b else "-"


def _names(names):
    return ", ".join(f"`{n}`" for n in names) if names else "none"


def render(result, floors, torch_version):
    """docs/COMPATIBILITY.md: the summary table, then per category its missing names."""
    cats = floors.get("categories", {})
    lines = [
        "# PyTorch API coverage",
        "",
        f"Generated by `tools/api_coverage.py` from torch {torch_version}'s own name lists and a",
        "parity record of the test suite; do not edit by hand. To regenerate:",
        "",
        "```text",
        "AXONAL_PARITY_JSON=/tmp/parity.json python -m pytest",
        "python tools/api_coverage.py --parity /tmp/parity.json --write",
        "```",
        "",
        "**What counts.** A PyTorch name counts as covered only when Axonal has it and a test",
        "tagged with it (`@pytest.mark.torch_parity(...)`, tests/_parity.py) passed in the run,",
        "with no tagged test failing. A tagged test compares the name with PyTorch on random",
        "inputs, on two shapes or more including broadcasting (for ops of several tensors) and a",
        "non-contiguous input, in float32 and float64, and compares gradients where the name is",
        "differentiable. The op registry (tests/op_specs.py, tests/op_specs_more.py, method",
        "twins in tests/op_parity.py) is where most tags come from: `test_ops.py` runs every",
        "spec forward against NumPy, backward against float64 finite differences, and forward",
        "and backward against PyTorch in float32 and float64, and",
        "`test_parity_names_meet_the_rule` fails for a spec whose cases fall short of the rule.",
        "A name Axonal has without such a test is listed as *present, unproved*: it does not",
        "count. CI (.ci/run, step 1) runs the suite with the record on, then",
        "`tools/api_coverage.py --check`, which fails when a category falls below its floor in",
        "`docs/compatibility.json` (today's numbers) or its number of names in scope changes.",
        "",
        "| category | covered | in scope | % | target | floor | present, unproved | absent |"
        " out of scope |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for space, row in result.items():
        n, k = row["in_scope"], len(row["proved"])
        target = f"{row['target']}%" if row["target"] else "-"
        floor = cats.get(space, {}).get("floor", "-")
        lines.append(f"| `{space}` ({row['what']}) | {k} | {n} | {_pct(k, n)} | {target} | "
                     f"{floor} | {len(row['present'])} | {len(row['absent'])} | "
                     f"{sum(map(len, row['out'].values()))} |")
    lines += ["", "## Out of scope", "",
              "Exactly these categories, set aside in every namespace (`OUT_OF_SCOPE` in the tool):",
              ""]
    lines += [f"- **{cat}**: {why}." for cat, why in OUT_OF_SCOPE.items()]
    for space, row in result.items():
        lines += ["", f"## `{space}`", "",
                  f"Covered ({len(row['proved'])}): {_names(row['proved'])}", "",
                  f"Present, unproved ({len(row['present'])}): {_names(row['present'])}", "",
                  f"Absent ({len(row['absent'])}): {_names(row['absent'])}"]
        for cat, names in sorted(row["out"].items()):
            lines += ["", f"Out of scope, {cat} ({len(names)}): {_names(names)}"]
    return "\n".join(lines) + "\n"


def check(result, floors):
    """Error lines: a category below its floor, or whose denominator changed."""
    errors = []
    for space, row in result.items():
        f = floors.get("categories", {}).get(space)
        if f is None:
            errors.append(f"{space}: no floor in {FLOORS.name} (run --update-floors)")
            continue
        if row["in_scope"] != f["in_scope"]:
            errors.append(f"{space}: {row['in_scope']} names in scope, {FLOORS.name} says "
                          f"{f['in_scope']} (PyTorch or the classification changed: "
                          f"--update-floors)")
        if len(row["proved"]) < f["floor"]:
            errors.append(f"{space}: {len(row['proved'])} names proved, below the floor "
                          f"{f['floor']}")
    return errors


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--parity", required=True, help="the JSON written by AXONAL_PARITY_JSON")
    ap.add_argument("--write", action="store_true", help=f"write {DOC.relative_to(ROOT)}")
    ap.add_argument("--check", action="store_true", help="exit 1 below a committed floor")
    ap.add_argument("--update-floors", action="store_true",
                    help=f"write today's numbers to {FLOORS.relative_to(ROOT)}")
    args = ap.parse_args(argv)
    import torch

    parity = json.loads(pathlib.Path(args.parity).read_text(encoding="utf-8"))
    result = measure(parity)
    version = torch.__version__.split("+")[0]
    floors = json.loads(FLOORS.read_text(encoding="utf-8")) if FLOORS.exists() else {}
    if args.update_floors:
        floors = {"torch": version, "categories": {
            s: {"in_scope": r["in_scope"], "floor": len(r["proved"])} for s, r in result.items()}}
        FLOORS.write_text(json.dumps(floors, indent=1) + "\n", encoding="utf-8")
    if args.write:
        DOC.write_text(render(result, floors, version), encoding="utf-8")
    for space, row in result.items():
        print(f"{space:26s} {len(row['proved']):4d} / {row['in_scope']:4d} proved "
              f"({_pct(len(row['proved']), row['in_scope'])}), {len(row['present'])} present "
              f"unproved, {sum(map(len, row['out'].values()))} out of scope")
    errors = unknown_tags(parity)
    errors = [f"tagged name PyTorch does not have: {n}" for n in errors]
    if args.check:
        if floors.get("torch") not in (None, version):
            errors.append(f"floors are for torch {floors.get('torch')}, the oracle is {version}")
        errors += check(result, floors)
    for e in errors:
        print("error:", e, file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
