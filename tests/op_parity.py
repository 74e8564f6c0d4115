"""The PyTorch names the op registry proves (tests/_parity.py), and the rule a spec must meet to
prove them.

`PROVES` maps a spec to the names it proves. `METHOD_TWINS` derives, from a spec that calls the
function `m.name(x, ...)`, a spec calling the method `x.name(...)` on the same cases (those whose
first argument is a tensor), so that the Tensor method is proved by its own passing tests and not
inferred from the function's; `FUNCTION_TWINS` derives the function form of a method spec.

The rule (`rule_violations`): over the cases that run against PyTorch, at least two input shapes, a
non-contiguous input, and, for a spec with two or more tensor inputs, a case whose tensor inputs
differ in shape (broadcasting, for the ops that broadcast; `SAME_SHAPE` lists the ops whose inputs
must share one shape); for a differentiable spec, at least one
finite-differenced case with a differentiable input. tests/ops/test_ops.py runs every spec's cases
against PyTorch in float32 and float64 and compares gradients, so a spec meeting the rule whose
tests all pass proves its names.
"""
from op_specs import SPEC_BY_NAME, In, OpSpec, spec

# spec name -> the PyTorch names it proves. A spec calling an operator (`a + b`, `x[key]`) proves
# only dunder names, which the coverage table does not count; the function and method forms have
# their own specs.
PROVES = {
    "add_fn_alpha": "torch.add", "sub_fn": "torch.sub", "mul_fn": "torch.mul",
    "div_fn": "torch.div", "pow_fn": "torch.pow", "neg_fn": "torch.neg", "abs": "torch.abs",
    "sign": "torch.sign", "exp": "torch.exp", "log": "torch.log", "log1p": "torch.log1p",
    "sqrt": "torch.sqrt", "rsqrt": "torch.rsqrt", "sin": "torch.sin", "erf": "torch.erf",
    "cos": "torch.cos", "tanh": "torch.tanh", "sigmoid": "torch.sigmoid", "relu": "torch.relu",
    "clamp": "torch.clamp", "clamp_tensor": "torch.clamp", "maximum": "torch.maximum",
    "minimum": "torch.minimum", "where": "torch.where",
    "eq": "torch.eq", "ne": "torch.ne", "lt": "torch.lt", "le": "torch.le", "gt": "torch.gt",
    "ge": "torch.ge", "logical_and": "torch.logical_and", "logical_or": "torch.logical_or",
    "logical_xor": "torch.logical_xor", "logical_not": "torch.logical_not",
    "detach": "torch.Tensor.detach", "matmul": "torch.matmul", "sum": "torch.sum",
    "sum_method": "torch.Tensor.sum", "mean": "torch.mean", "prod": "torch.prod",
    "max_full": "torch.max", "max_dim": "torch.max", "min_full": "torch.Tensor.min",
    "min_dim": "torch.Tensor.min", "amax": "torch.amax", "amin": "torch.amin",
    "argmax": "torch.argmax", "argmin": "torch.Tensor.argmin", "var": "torch.var",
    "std": "torch.Tensor.std", "logsumexp": "torch.logsumexp", "cumsum": "torch.cumsum",
    "tril": "torch.tril", "triu": "torch.Tensor.triu", "norm": "torch.norm",
    "reshape": "torch.reshape", "view": "torch.Tensor.view", "flatten": "torch.flatten",
    "squeeze": "torch.squeeze", "unsqueeze": "torch.Tensor.unsqueeze",
    "permute": "torch.Tensor.permute", "permute_fn": "torch.permute",
    "transpose": "torch.transpose", "T": "torch.Tensor.T", "mT": "torch.Tensor.mT",
    "expand": "torch.Tensor.expand", "repeat": "torch.Tensor.repeat", "cat": "torch.cat",
    "stack": "torch.stack", "split": "torch.split", "chunk": "torch.Tensor.chunk",
    "flip": "torch.flip", "pad": "torch.nn.functional.pad", "index_put": "torch.Tensor.index_put",
    "gather": "torch.gather", "scatter": "torch.Tensor.scatter",
"index_select": "torch.index_select",
    "masked_fill": "torch.Tensor.masked_fill", "softmax": "torch.softmax",
    "log_softmax": "torch.log_softmax", "softmax_method": "torch.Tensor.softmax",
    "diag": "torch.diag", "diag_method": "torch.Tensor.diag", "einsum": "torch.einsum",
    "repeat_interleave": "torch.repeat_interleave",
    "repeat_interleave_method": "torch.Tensor.repeat_interleave", "meshgrid": "torch.meshgrid",
    "unique": "torch.unique", "unique_method": "torch.Tensor.unique",
}

# spec name -> the function name its method twin calls as `x.<name>(...)`
METHOD_TWINS = {
    "add_fn_alpha": "add", "sub_fn": "sub", "mul_fn": "mul", "div_fn": "div", "pow_fn": "pow",
    "neg_fn": "neg", "abs": "abs", "sign": "sign", "exp": "exp", "log": "log", "log1p": "log1p",
    "sqrt": "sqrt", "rsqrt": "rsqrt", "sin": "sin", "cos": "cos", "tanh": "tanh",
    "sigmoid": "sigmoid", "relu": "relu", "erf": "erf", "clamp": "clamp", "maximum": "maximum",
    "minimum": "minimum", "eq": "eq", "ne": "ne", "lt": "lt", "le": "le", "gt": "gt", "ge": "ge",
    "logical_and": "logical_and", "logical_or": "logical_or", "logical_xor": "logical_xor",
    "logical_not": "logical_not", "matmul": "matmul", "mean": "mean", "prod": "prod",
    "max_dim": "max", "amax": "amax", "amin": "amin", "argmax": "argmax", "var": "var",
    "logsumexp": "logsumexp", "cumsum": "cumsum", "tril": "tril", "norm": "norm",
    "reshape": "reshape", "flatten": "flatten", "squeeze": "squeeze", "transpose": "transpose",
    "flip": "flip", "gather": "gather", "index_select": "index_select", "log_softmax": "log_softmax",
    "split": "split", "max_full": "max",
}

# spec name -> the method its function twin calls as `torch.<name>(x, ...)`
FUNCTION_TWINS = {
    "triu": "triu", "argmin": "argmin", "min_dim": "min", "min_full": "min", "std": "std",
    "unsqueeze": "unsqueeze", "chunk": "chunk", "masked_fill": "masked_fill",
    "scatter": "scatter", "index_put": "index_put",
}


# ops whose tensor inputs must all have one shape (nothing to broadcast)
SAME_SHAPE = {"stack", "vdot_fn", "vdot_method", "dot_fn", "dot_method", "bincount_fn",
              "bincount_method"}


class _AsMethod:
    """The library module with one function replaced by a call of the method of that name on
    the function's first argument: `f(_AsMethod(m, "exp"), x)` runs `x.exp()`."""

    def __init__(self, module, name):
        self._module, self._name = module, name

    def __getattr__(self, attr):
        if attr == self._name:
            return lambda x, *args, **kwargs: getattr(x, attr)(*args, **kwargs)
        return getattr(self._module, attr)


class _AsFunction:
    """A tensor whose method `name` is replaced by the library function of that name:
    `f(m, _AsFunction(m, x, "triu"))` runs `m.triu(x, ...)` where f calls `x.triu(...)`."""

    def __init__(self, module, tensor, name):
        self._module, self._tensor, self._name = module, tensor, name

    def __getattr__(self, attr):
        if attr == self._name:
            fn = getattr(self._module, attr)
            return lambda *args, **kwargs: fn(self._tensor, *args, **kwargs)
        return getattr(self._tensor, attr)


def function_twin(base: OpSpec, name: str) -> OpSpec:
    f, th_f = base.src
    kw = {k: getattr(base, k) for k in ("diff", "differentiable", "rtol", "atol", "th_rtol",
                                        "th_atol")}
    return spec(f"{base.name}_as_function",
                lambda m, x, *a, **k: f(m, _AsFunction(m, x, name), *a, **k), base.ref,
                base.cases, th=lambda m, x, *a, **k: th_f(m, _AsFunction(m, x, name), *a, **k),
                **kw)


def method_twin(base: OpSpec, name: str) -> OpSpec:
    f, th_f = base.src

    def cases(rng, _gen=base.cases):
        return [c for c in _gen(rng) if c.args and isinstance(c.args[0], In)]

    kw = {k: getattr(base, k) for k in ("diff", "differentiable", "rtol", "atol", "th_rtol",
                                        "th_atol")}
    return spec(f"{base.name}_as_method", lambda m, *a, **k: f(_AsMethod(m, name), *a, **k),
                base.ref, cases, th=lambda m, *a, **k: th_f(_AsMethod(m, name), *a, **k), **kw)


def rule_violations(s: OpSpec):
    """What keeps `s` from proving its names ([] when it meets the rule)."""
    cases = [c for c in s.get_cases() if c.torch]
    tensors = [[a for a in c.args if isinstance(a, In)] for c in cases]
    shapes = {tuple(a.realize().shape) for ts in tensors for a in ts}
    out = []
    if len(shapes) < 2:
        out.append("fewer than two input shapes")
    if not any(a.view != "c" and a.realize().ndim and not a.realize().flags.c_contiguous
               for ts in tensors for a in ts):
        out.append("no non-contiguous input")
    if s.name not in SAME_SHAPE and any(len(ts) >= 2 for ts in tensors) and not any(
            len({tuple(a.realize().shape) for a in ts}) >= 2 for ts in tensors):
        out.append("no case whose tensor inputs differ in shape")
    if s.differentiable and not any(c.fd and s.diff_args(c) for c in s.get_cases()):
        out.append("no finite-differenced case")
    return out


def install():
    """Set the registry specs' `names`; return the method twins (each naming its method)."""
    for name, proves in PROVES.items():
        SPEC_BY_NAME[name].names = (proves,) if isinstance(proves, str) else tuple(proves)
    twins = []
    for base_name, method in METHOD_TWINS.items():
        twin = method_twin(SPEC_BY_NAME[base_name], method)
        twin.names = (f"torch.Tensor.{method}",)
        twins.append(twin)
    for base_name, fn in FUNCTION_TWINS.items():
        twin = function_twin(SPEC_BY_NAME[base_name], fn)
        twin.names = (f"torch.{fn}",)
        twins.append(twin)
    return twins
