"""Generated from the op registry (tests/op_specs.py) and its in-place table (inplace_specs.py):

* `test_inplace_vs_torch`: every registry op with an in-place `_` twin, on every registry case,
  applied to a non-leaf (`x = leaf.clone()`, with the case's transposed / strided / flipped layout
  made in the graph) and to a view inside a larger base: PyTorch's values, returned object, version
  bump and gradients (float64) - or PyTorch's exception type where it refuses (a result type that
  cannot be cast back to `self`, a `self` that would have to broadcast);
* `test_inplace_matches_out_of_place`: the in-place result and gradients equal PyTorch's
  out-of-place op (cast to `self`'s dtype);
* `test_saved_tensor_modified` (and `..._under_no_grad`, on the first case): every
  differentiable registry op, on up to two cases: each differentiable input and each floating
  output is modified in place (`t.mul_(1.5)`) before backward, and each index / mask tensor is
  rewritten with its own values (`t.copy_(t.clone())`: a new version). Where PyTorch raises (the
  tensor was saved for backward), Axonal must raise the same exception with the same normalised
  message - versions, shape, node name; where it does not, Axonal must give PyTorch's gradient of
  the modified program.
"""
import numpy as np
import pytest
from inplace_harness import Raised, compare, run, same, to_plain, torch_mod, under_test
from inplace_specs import (
    INPLACE,
    NO_TWIN,
    VIEW_OPS,
    build_args,
    float_outputs,
    inplace_specs,
    registry_op,
    weight,
)
from op_specs import SPECS, In

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning", "ignore::UserWarning")


def _cases(specs):
    return [(s, c) for s in specs for c in s.get_cases()
            if c.torch and c.args and isinstance(c.args[0], In)]


INPLACE_CASES = _cases(inplace_specs())


def _param(pairs):
    return pytest.mark.parametrize("spec,case", pairs,
                                   ids=[f"{s.name}-{c.label}" for s, c in pairs])


def _inplace_program(spec, case, where):
    twin = INPLACE[spec.name]

    def program(lib):
        args, leaves, kwargs = build_args(lib, spec, case)
        first = case.args[0]
        base = None
        if where == "in_base":  # the same values, as a view of row 1 of a (2, ...) base
            leaf = leaves[0]
            base = lib.zeros((2,) + tuple(leaf.shape), dtype=leaf.dtype) + leaf
            args[0] = VIEW_OPS[first.view](base[1])
        x = args[0]
        before = x._version
        r = twin(x, *args[1:], **kwargs)
        out = {"returns_self": r is x, "bump": x._version - before, "x": x,
               "shape": tuple(x.shape), "requires_grad": x.requires_grad}
        if x.requires_grad:
            loss = (x * weight(lib, x.shape, x.dtype)).sum()
            if base is not None:
                loss = loss + (base * weight(lib, base.shape, base.dtype, 1)).sum()
            loss.backward()
        out["grads"] = [leaf.grad for leaf in leaves]
        return out

    return program


# every case directly; the cases whose first argument is differentiable also inside a base
VARIANTS = [(s, c, w) for s, c in INPLACE_CASES
            for w in (("direct", "in_base") if 0 in s.diff_args(c) else ("direct",))]


@pytest.mark.parametrize("spec,case,where", VARIANTS,
                         ids=[f"{s.name}-{c.label}-{w}" for s, c, w in VARIANTS])
def test_inplace_vs_torch(spec, case, where):
    same(_inplace_program(spec, case, where), rtol=1e-7, atol=1e-9, message=False)


@_param(INPLACE_CASES)
def test_inplace_matches_out_of_place(spec, case):
    torch = torch_mod()

    def out_of_place(lib):
        args, leaves, kwargs = build_args(lib, spec, case)
        x = args[0]
        y = registry_op(lib, spec)(*args, **kwargs)
        if y.dtype != x.dtype:  # the in-place op writes its result in self's dtype
            y = y.to(x.dtype)
        out = {"x": y, "shape": tuple(y.shape), "requires_grad": y.requires_grad}
        if y.requires_grad:
            (y * weight(lib, y.shape, y.dtype)).sum().backward()
        out["grads"] = [leaf.grad for leaf in leaves]
        return out

    expected = run(out_of_place, torch)
    inplace = run(_inplace_program(spec, case, "direct"), torch)
    if isinstance(expected, Raised) or isinstance(inplace, Raised):
        return  # PyTorch refuses one of the two: test_inplace_vs_torch checks Axonal refuses too
    actual = run(_inplace_program(spec, case, "direct"), under_test())
    if isinstance(actual, Raised):
        raise AssertionError(f"axonal raises {actual!r}") from actual.exc
    for key in ("returns_self", "bump"):
        actual.pop(key)
    compare(to_plain(expected), to_plain(actual), rtol=1e-7, atol=1e-9)


# -- saved tensors modified in place before backward --------------------------------------------

def _first_array(value):
    """The first array (a tensor once converted) inside a keyword value, or None."""
    if isinstance(value, np.ndarray) or hasattr(value, "_version"):
        return value
    if isinstance(value, tuple):
        return next((v for v in (_first_array(x) for x in value) if v is not None), None)
    return None


def _safety_cases():
    """Up to two cases per differentiable op: the first with non-empty float inputs, and the first
    with a non-contiguous one. Targets: each differentiable input, each floating output."""
    out = []
    for s in SPECS:
        if not s.differentiable:
            continue
        picked = []
        for c in s.get_cases():
            ins = [a for a in c.args if isinstance(a, In) and a.is_float]
            if not c.torch or not ins or any(a.base.size == 0 for a in ins) or not s.diff_args(c):
                continue
            noncontig = any(a.view != "c" for a in ins)
            if not picked or (noncontig and not any(p[1] for p in picked)):
                picked.append((c, noncontig))
            if len(picked) == 2:
                break
        for c, _ in picked:
            np_args = [a.realize() if isinstance(a, In) else a for a in c.args]
            with np.errstate(all="ignore"):
                refs = s.ref(*np_args, **c.kwargs)
            refs = list(refs) if isinstance(refs, (tuple, list)) else [refs]
            targets = [("input", i) for i in s.diff_args(c)]
            targets += [("output", k) for k, r in enumerate(refs)
                        if np.asarray(r).dtype.kind == "f"]
            # index / mask tensors (non-differentiable inputs and keyword arrays) are saved too
            targets += [("static", i) for i, a in enumerate(c.args)
                        if isinstance(a, In) and i not in s.diff_args(c)]
            targets += [("kwarg", k) for k, v in c.kwargs.items() if _first_array(v) is not None]
            out += [(s, c, t) for t in targets]
    return out


SAFETY = _safety_cases()
# the same writes under no_grad (not recorded, but still a new version): the first case of each
# op, inputs and outputs
_FIRST = {}
for _s, _c, _t in SAFETY:
    _FIRST.setdefault(_s.name, _c)
SAFETY_NO_GRAD = [(s, c, t) for s, c, t in SAFETY if _FIRST[s.name] is c]


def _saved_program(spec, case, target, no_grad=False):
    kind, index = target

    def program(lib):
        args, leaves, kwargs = build_args(lib, spec, case)
        outs = registry_op(lib, spec)(*args, **kwargs)
        outs = list(outs) if isinstance(outs, (tuple, list)) else [outs]
        if kind in ("input", "output"):
            t = args[index] if kind == "input" else outs[index]
            if no_grad:
                with lib.no_grad():
                    t.mul_(1.5)
            else:
                t.mul_(1.5)
        else:  # an index or mask: a write of the same values (still a new version)
            t = args[index] if kind == "static" else _first_array(kwargs[index])
            t.copy_(t.clone())
        terms = [(o * weight(lib, o.shape, o.dtype, k)).sum()
                 for k, o in enumerate(float_outputs(outs)) if o.requires_grad]
        if terms:
            sum(terms[1:], terms[0]).backward()
        return {"outs": outs, "grads": [leaf.grad for leaf in leaves]}

    return program


@pytest.mark.parametrize("spec,case,target", SAFETY,
                         ids=[f"{s.name}-{c.label}-{t[0]}{t[1]}" for s, c, t in SAFETY])
def test_saved_tensor_modified(spec, case, target):
    same(_saved_program(spec, case, target), rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("spec,case,target", SAFETY_NO_GRAD,
                         ids=[f"{s.name}-{c.label}-{t[0]}{t[1]}" for s, c, t in SAFETY_NO_GRAD])
def test_saved_tensor_modified_under_no_grad(spec, case, target):
    same(_saved_program(spec, case, target, no_grad=True), rtol=1e-7, atol=1e-9)


def test_every_registry_op_is_classified():
    """A new registry op must be given its in-place twin or be declared without one."""
    names = {s.name for s in SPECS}
    assert not (set(INPLACE) & NO_TWIN)
    assert names <= set(INPLACE) | NO_TWIN, sorted(names - set(INPLACE) - NO_TWIN)
    assert set(INPLACE) <= names, sorted(set(INPLACE) - names)


def test_the_safety_generator_covers_saved_inputs_and_outputs():
    ops = {s.name for s, _, _ in SAFETY}
    differentiable = {s.name for s in SPECS if s.differentiable}
    assert len(ops) >= len(differentiable) - 3, sorted(differentiable - ops)
    assert {"input", "output", "static", "kwarg"} == {t[0] for _, _, t in SAFETY}
