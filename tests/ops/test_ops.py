"""Every op in tests/op_specs.py, three ways:

* forward (float32, the default dtype) against the op's NumPy formula evaluated in float64, with the
  output dtype, shape, and whether the output requires grad;
* backward (float64) against central finite differences (`axonal.autograd.gradcheck`);
* forward and backward (float32) against PyTorch on the same inputs, with a random upstream gradient
  - outputs, dtypes, `requires_grad` and every input gradient must agree.

Plus dtype behaviour (default dtypes, PyTorch's type promotion) checked against PyTorch.
"""
import numpy as np
import pytest
from op_specs import (
    PARITY_ONLY,
    SPECS,
    Case,
    In,
    OpSpec,
    all_cases,
    as_function_of_diff_args,
    as_list,
    ax_inputs,
    convert_static,
)

import axonal

# NumPy warns on the edge cases we test on purpose (log(0), 0/0...); torch warns about var with
# one degree of freedom. The values are checked, so the warnings are noise here.
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning",
                                        "ignore:.*degrees of freedom:UserWarning")

# the registry, the method twins and the ops added for API coverage (tests/op_specs.py)
ALL_SPECS = SPECS + PARITY_ONLY
CASES = all_cases(ALL_SPECS)


def _param(pairs):
    """Parametrize over (spec, case); each test carries its spec's PyTorch names (tests/_parity.py),
    so a name is proved only when every forward, gradient and PyTorch test of its spec passes."""
    return pytest.mark.parametrize("spec,case", [
        pytest.param(s, c, id=f"{s.name}-{c.label}", marks=pytest.mark.torch_parity(*s.names))
        for s, c in pairs])


FD_CASES = [(s, c) for s, c in CASES if s.differentiable and c.fd and s.diff_args(c)]


# -- converting a case for one library ------------------------------------------------------------

def _th_array(a):
    import torch

    return torch.from_numpy(np.array(a, order="C")) if isinstance(a, np.ndarray) else a








def th_inputs(spec, case, dtype, requires_grad=True):
    import torch

    diff = spec.diff_args(case) if requires_grad else ()
    args = []
    for i, a in enumerate(case.args):
        if isinstance(a, In):
            t = torch.from_numpy(np.array(a.realize(dtype), order="C"))
            if i in diff:
                t.requires_grad_(True)
            args.append(t)
        else:
            args.append(a)
    kwargs = {k: convert_static(v, _th_array) for k, v in case.kwargs.items()}
    return args, [args[i] for i in diff], kwargs


def np_inputs(case):
    return [a.realize() if isinstance(a, In) else a for a in case.args], dict(case.kwargs)





def _expected_dtype(ref_out, float_dtype):
    kind = np.asarray(ref_out).dtype.kind
    return {"f": float_dtype, "b": "bool"}.get(kind, "int64")


def assert_close(actual, expected, rtol, atol, what):
    actual, expected = np.asarray(actual, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol, equal_nan=True,
                               err_msg=what)


# -- forward vs NumPy ---------------------------------------------------------------------------

@_param(CASES)
def test_forward_vs_numpy(spec, case):
    args, diff, kwargs = ax_inputs(spec, case, np.float32)
    outs = as_list(spec.ax(*args, **kwargs))
    np_args, np_kwargs = np_inputs(case)
    with np.errstate(all="ignore"):
        refs = as_list(spec.ref(*np_args, **np_kwargs))
    assert len(outs) == len(refs), f"{len(outs)} outputs, expected {len(refs)}"
    for k, (o, r) in enumerate(zip(outs, refs)):
        assert isinstance(o, axonal.Tensor), f"output {k} is a {type(o).__name__}"
        r = np.asarray(r)
        assert tuple(o.shape) == r.shape, f"output {k}: shape {tuple(o.shape)} != {r.shape}"
        assert o.dtype.name == _expected_dtype(r, "float32"), f"output {k}: dtype {o.dtype}"
        if r.dtype.kind == "f":
            assert_close(o.detach().numpy(), r, spec.rtol, spec.atol, f"output {k}")
        else:
            np.testing.assert_array_equal(o.numpy(), r, err_msg=f"output {k}")
        wants_grad = bool(diff) and o.dtype.is_floating_point and spec.differentiable
        assert o.requires_grad == wants_grad, f"output {k}: requires_grad {o.requires_grad}"
    for a in args:  # the op must not write into its inputs
        if isinstance(a, axonal.Tensor):
            assert a.grad is None


# -- backward vs finite differences ----------------------------------------------------------------

@_param(FD_CASES)
def test_gradcheck(spec, case):
    fn, diff = as_function_of_diff_args(spec, case, np.float64)
    assert axonal.autograd.gradcheck(fn, diff, eps=1e-6, atol=1e-6, rtol=1e-4)


# -- forward and backward vs PyTorch -------------------------------------------------------------

def _th_dtype_name(t):
    return str(t.dtype).replace("torch.", "")


TORCH_CASES = [(s, c) for s, c in CASES if c.torch]


@_param(TORCH_CASES)
def test_vs_torch(spec, case):
    _compare_with_torch(spec, case, np.float32)


@_param(TORCH_CASES)
def test_vs_torch_float64(spec, case):
    _compare_with_torch(spec, case, np.float64)


def _compare_with_torch(spec, case, dtype):
    import torch

    ax_args, ax_diff, ax_kw = ax_inputs(spec, case, dtype)
    th_args, th_diff, th_kw = th_inputs(spec, case, dtype)
    ax_outs = as_list(spec.ax(*ax_args, **ax_kw))
    th_outs = as_list(spec.th(*th_args, **th_kw))
    assert len(ax_outs) == len(th_outs), f"{len(ax_outs)} outputs, torch has {len(th_outs)}"
    rng = np.random.default_rng(0)
    ax_pairs, th_pairs = [], []
    for k, (a, t) in enumerate(zip(ax_outs, th_outs)):
        assert a.dtype.name == _th_dtype_name(t), f"output {k}: dtype {a.dtype} vs torch {t.dtype}"
        assert tuple(a.shape) == tuple(t.shape), f"output {k}: shape {tuple(a.shape)} vs torch " \
                                                 f"{tuple(t.shape)}"
        assert_close(a.detach().numpy(), t.detach().numpy(), spec.th_rtol, spec.th_atol,
                     f"output {k}")
        assert a.requires_grad == t.requires_grad, f"output {k}: requires_grad " \
                                                   f"{a.requires_grad} vs torch {t.requires_grad}"
        if t.requires_grad:
            g = rng.standard_normal(tuple(t.shape)).astype(t.detach().numpy().dtype)
            ax_pairs.append((a, axonal.tensor(g)))
            th_pairs.append((t, torch.from_numpy(g)))
    if not spec.differentiable or not ax_pairs:
        return
    ax_grads = axonal.autograd.grad([p[0] for p in ax_pairs], ax_diff, [p[1] for p in ax_pairs],
                                    allow_unused=True)
    th_grads = torch.autograd.grad([p[0] for p in th_pairs], th_diff, [p[1] for p in th_pairs],
                                   allow_unused=True)
    for k, (ga, gt, x) in enumerate(zip(ax_grads, th_grads, ax_diff)):
        ga = np.zeros(tuple(x.shape)) if ga is None else ga.numpy()
        gt = np.zeros(tuple(x.shape)) if gt is None or gt._is_zerotensor() else gt.numpy()
        assert ga.dtype == np.float32 or np.asarray(ga).size == 0 or ga.dtype == np.float64
        assert_close(ga, gt, spec.th_rtol, spec.th_atol, f"grad of input {k}")


def test_registry_covers_the_core_ops():
    names = {s.name for s in SPECS}
    required = {
        "add", "sub", "mul", "div", "pow_tensor", "pow_scalar", "neg", "abs", "sign", "exp", "log",
        "log1p", "sqrt", "rsqrt", "sin", "cos", "tanh", "sigmoid", "relu", "clamp", "maximum",
        "minimum", "where", "eq", "ne", "lt", "le", "gt", "ge", "logical_and", "logical_or",
        "logical_not", "matmul", "__matmul__", "sum", "mean", "prod", "max_full", "max_dim",
        "min_full", "min_dim", "amax", "amin", "argmax", "argmin", "var", "std", "logsumexp",
        "cumsum", "norm", "reshape", "view", "flatten", "squeeze", "unsqueeze", "permute",
        "transpose", "expand", "repeat", "cat", "stack", "split", "chunk", "flip", "pad", "getitem",
        "index_put", "gather", "scatter", "index_select", "masked_fill", "softmax", "log_softmax",
        "detach"}
    assert required <= names, f"missing specs: {sorted(required - names)}"
    # every spec exercises the layouts the registry promises
    for s in SPECS:
        assert s.get_cases(), s.name
    views = {a.view for _, c in CASES for a in c.args if isinstance(a, In)}
    assert {"c", "T", "s", "f"} <= views
    assert any(0 in a.base.shape for _, c in CASES for a in c.args if isinstance(a, In))


def test_parity_names_meet_the_rule():
    """A spec that names PyTorch functions proves them only on the inputs the rule asks for
    (tests/op_parity.py): a spec that falls short fails here rather than counting silently."""
    from op_parity import rule_violations

    bad = {s.name: v for s in ALL_SPECS if s.names for v in [rule_violations(s)] if v}
    assert not bad, bad
    import torch

    for s in ALL_SPECS:  # every name is one PyTorch has (a misspelt tag would prove nothing)
        for n in s.names:
            obj = torch
            for part in n.split(".")[1:]:
                assert hasattr(obj, part), f"{s.name}: {n} is not a PyTorch name"
                obj = getattr(obj, part)


def test_parity_rule_can_fail():
    from op_parity import rule_violations

    one = OpSpec("one_shape", None, None, None,
                 lambda r: [Case((In(np.zeros((2, 3))),), {}, "a", fd=False)])
    assert set(rule_violations(one)) == {"fewer than two input shapes", "no non-contiguous input",
                                         "no finite-differenced case"}


def test_gradcheck_can_fail():
    """The oracle is not vacuous: a wrong backward is caught."""

    class BadSquare(axonal.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x._data * x._data

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * x  # should be 2 * g * x

    x = axonal.randn(3, dtype=axonal.float64, requires_grad=True)
    with pytest.raises(AssertionError):
        axonal.autograd.gradcheck(BadSquare.apply, (x,))
    assert not axonal.autograd.gradcheck(BadSquare.apply, (x,), raise_exception=False)


# -- dtype behaviour ------------------------------------------------------------------------------

def test_default_dtypes():
    assert axonal.tensor([1.0, 2.0]).dtype is axonal.float32
    assert axonal.tensor(1.5).dtype is axonal.float32
    assert axonal.tensor([1, 2]).dtype is axonal.int64
    assert axonal.tensor([True, False]).dtype is axonal.bool
    assert axonal.zeros(2).dtype is axonal.float32
    assert axonal.arange(3).dtype is axonal.int64
    assert axonal.arange(3.0).dtype is axonal.float32
    assert axonal.full((2,), 3).dtype is axonal.int64
    assert axonal.full((2,), 3.0).dtype is axonal.float32
    assert axonal.Tensor([1, 2]).dtype is axonal.float32  # the legacy constructor
    assert axonal.from_numpy(np.zeros(2)).dtype is axonal.float64
    assert axonal.tensor(np.zeros(2, np.int32)).dtype is axonal.int32
    assert axonal.get_default_dtype() is axonal.float32
    # NumPy scalars keep their dtype, as in torch.tensor
    assert axonal.tensor(np.float64(0.5)).dtype is axonal.float64
    assert axonal.tensor(np.int32(3)).dtype is axonal.int32
    assert axonal.tensor(np.float16(1)).dtype is axonal.float16


def test_set_default_dtype():
    try:
        axonal.set_default_dtype(axonal.float64)
        assert axonal.tensor([1.0]).dtype is axonal.float64
        assert axonal.randn(2).dtype is axonal.float64
        assert (axonal.tensor([1]) + 0.5).dtype is axonal.float64
        with pytest.raises(TypeError):
            axonal.set_default_dtype(axonal.int64)
    finally:
        axonal.set_default_dtype(axonal.float32)
    assert axonal.tensor([1.0]).dtype is axonal.float32


def test_named_promotions():
    i = axonal.tensor([1, 2])
    f32, f64 = axonal.ones(2), axonal.ones(2, dtype=axonal.float64)
    assert (i + 2.5).dtype is axonal.float32
    assert (2.5 * i).dtype is axonal.float32
    assert (i + 2).dtype is axonal.int64
    assert (f32 + f64).dtype is axonal.float64
    assert (f32 + i).dtype is axonal.float32
    assert (i / 2).dtype is axonal.float32
    assert (i / i).dtype is axonal.float32
    assert (f32 + 2).dtype is axonal.float32
    assert (f32 * np.float64(2.0)).dtype is axonal.float32  # NumPy scalars act like Python scalars
    assert (f32 + axonal.tensor(2.0, dtype=axonal.float64)).dtype is axonal.float32  # 0-d: scalar
    assert (axonal.tensor([True]) + 1).dtype is axonal.int64
    assert axonal.sum(axonal.tensor([1, 2], dtype=axonal.int32)).dtype is axonal.int64
    assert axonal.sum(axonal.tensor([True, True])).item() == 2
    with pytest.raises((TypeError, RuntimeError)):
        axonal.mean(i)  # PyTorch refuses the mean of an integer tensor too


_DTYPES = ["bool", "uint8", "int32", "int64", "float16", "float32", "float64"]
_OPERANDS = [("t", d) for d in _DTYPES] + [("0d", "int64"), ("0d", "float64"), ("0d", "float32"),
                                            ("py", 2), ("py", 2.5), ("py", True)]


def _operand(lib, kind, what):
    if kind == "py":
        return what
    if lib == "torch":
        import torch

        dt = getattr(torch, what)
        return torch.tensor([1, 0, 1], dtype=dt) if kind == "t" else torch.tensor(1, dtype=dt)
    dt = getattr(axonal, "bool" if what == "bool" else what)
    return axonal.tensor([1, 0, 1], dtype=dt) if kind == "t" else axonal.tensor(1, dtype=dt)


@pytest.mark.parametrize("op", ["add", "mul", "sub", "div", "maximum", "where", "cat"])
def test_promotion_matrix_vs_torch(op):
    """Result dtype of binary ops over a matrix of tensor/0-d/Python-scalar operands."""
    import torch

    def run(lib, a, b):
        m = torch if lib == "torch" else axonal
        if op == "sub" and "bool" in (str(getattr(a, "dtype", "")) + str(getattr(b, "dtype", ""))):
            return None  # torch refuses bool subtraction
        if op in ("add", "mul", "sub", "div"):
            return getattr(m, op)(a, b) if not isinstance(a, (int, float)) else \
                getattr(m, op)(b, a)
        if op == "maximum":
            if not (hasattr(a, "dtype") and hasattr(b, "dtype")):
                return None
            return m.maximum(a, b)
        if op == "where":
            if not hasattr(a, "dtype"):
                return None
            cond = m.tensor([True, False, True])
            return m.where(cond, a, b)
        if op == "cat":
            if not (hasattr(a, "dtype") and hasattr(b, "dtype")) or a.ndim == 0 or b.ndim == 0:
                return None
            return m.cat([a, b])

    failures = []
    for ka, wa in _OPERANDS[:7]:
        for kb, wb in _OPERANDS:
            ta, tb = _operand("torch", ka, wa), _operand("torch", kb, wb)
            try:
                expected = run("torch", ta, tb)
            except RuntimeError:
                continue  # torch refuses the combination (e.g. bool - bool)
            if expected is None:
                continue
            got = run("axonal", _operand("axonal", ka, wa), _operand("axonal", kb, wb))
            if got.dtype.name != _th_dtype_name(expected):
                failures.append(f"{op}({ka}:{wa}, {kb}:{wb}) -> {got.dtype.name}, torch "
                                f"{_th_dtype_name(expected)}")
            elif not np.allclose(got.numpy().astype(np.float64),
                                 expected.numpy().astype(np.float64), equal_nan=True):
                failures.append(f"{op}({ka}:{wa}, {kb}:{wb}) values differ")
    assert not failures, "\n".join(failures)


def test_float16_storage_and_compute():
    x = axonal.tensor([1.0, 2.5, -3.0], dtype=axonal.float16)
    assert x.dtype is axonal.float16 and x.element_size() == 2
    assert x.numpy().dtype == np.float16
    y = (x * 2 + 1).exp()
    assert y.dtype is axonal.float16
    assert (x + axonal.ones(3)).dtype is axonal.float32
    assert x.float().dtype is axonal.float32 and x.half().dtype is axonal.float16
