"""`axonal.autograd.functional`: derivatives of whole functions (PyTorch's
`torch.autograd.functional`): `vjp`, `jvp`, `jacobian`, `hessian`, `vhp`, `hvp`.

A port of PyTorch's module (BSD licence) with the same signatures, the same tuple handling (a single
Tensor in gives a single Tensor out; a tuple gives tuples, nested for jacobian and hessian as
(outputs x inputs)) and the same errors. As in PyTorch, `jvp` and `hvp` use the double-backward
trick: for g = J^T u (u a dummy that requires grad), J v = d(g . v)/du, so they work for every op
with a differentiable backward. `jacobian(strategy="forward-mode")` uses forward AD
(`autograd.forward_ad`), one Jacobian column per input element.

`vectorize=True` is accepted and gives the same results, but Axonal loops over the basis vectors
instead of batching them with vmap (so it is not faster). As in PyTorch, forward mode needs it.
"""
from .._config import enable_grad, is_grad_enabled, set_grad_enabled
from ..backend import xp_of
from ..tensor import Tensor, constant
from . import forward_ad as fwAD
from ._grad import grad as _grad
from .function import Function

__all__ = ["hessian", "hvp", "jacobian", "jvp", "vhp", "vjp"]


class _Stack(Function):
    """stack(tensors) along a new dim 0 (autograd may not import ops)."""

    @staticmethod
    def forward(ctx, *xs):
        return xp_of(xs[0]._data).stack([x._data for x in xs])

    @staticmethod
    def backward(ctx, g):
        return tuple(g[i] for i in range(g.shape[0]))

    jvp = fwAD.linear_jvp


def _zeros_like(t, requires_grad=False):
    z = constant(xp_of(t._data).zeros_like(t._data))
    return z.requires_grad_() if requires_grad else z


def _as_tuple(inp, arg_name=None, fn_name=None):
    if arg_name is None and fn_name is None:
        return inp if isinstance(inp, tuple) else tuple(inp) if isinstance(inp, list) else (inp,)
    is_tuple = isinstance(inp, tuple)
    inp = inp if is_tuple else (inp,)
    for i, el in enumerate(inp):
        if not isinstance(el, Tensor):
            where = f" value at index {i} has type {type(el)}" if is_tuple else \
                f" given {arg_name} has type {type(el)}"
            raise TypeError(f"The {arg_name} given to {fn_name} must be either a Tensor or a tuple "
                            f"of Tensors but the{where}.")
    return is_tuple, inp


def _tuple_postprocess(res, to_unpack):
    if isinstance(to_unpack, tuple):
        if not to_unpack[1]:
            res = tuple(el[0] for el in res)
        if not to_unpack[0]:
            res = res[0]
    elif not to_unpack:
        res = res[0]
    return res


def _grad_preprocess(inputs, create_graph, need_graph):
    """Fresh tensors to differentiate with respect to: a differentiable alias of the input when the
    graph is kept (create_graph), else a detached copy of the reference."""
    if create_graph:
        return tuple(fwAD._Alias.apply(x) if x.requires_grad else x.detach().requires_grad_(need_graph)
                     for x in inputs)
    return tuple(x.detach().requires_grad_(need_graph) for x in inputs)


def _grad_postprocess(inputs, create_graph):
    if isinstance(inputs[0], Tensor):
        return inputs if create_graph else tuple(x.detach() for x in inputs)
    return tuple(_grad_postprocess(x, create_graph) for x in inputs)


def _validate_v(v, other, is_other_tuple):
    if len(other) != len(v):
        if is_other_tuple:
            raise RuntimeError(f"v is a tuple of invalid length: should be {len(other)} but got "
                               f"{len(v)}.")
        raise RuntimeError("The given v should contain a single Tensor.")
    for idx, (el_v, el_other) in enumerate(zip(v, other)):
        if el_v.size() != el_other.size():
            prepend = f"Entry {idx} in " if is_other_tuple else ""
            raise RuntimeError(f"{prepend}v has invalid size: should be {el_other.size()} but got "
                               f"{el_v.size()}.")


_STRICT_MSG = {
    "hessian": "The hessian of the user-provided function with respect to input {i} is independent "
               "of the input. This is not allowed in strict mode. You should ensure that your "
               "function is thrice differentiable and that the hessian depends on the inputs.",
    "jacobian": "While computing the hessian, found that the jacobian of the user-provided function "
                "with respect to input {i} is independent of the input. This is not allowed in "
                "strict mode. You should ensure that your function is twice differentiable and that "
                "the jacobian depends on the inputs (this would be violated by a linear function "
                "for example).",
    "grad_inputs": "The gradient with respect to input {i} is independent of the inputs of the "
                   "user-provided function. This is not allowed in strict mode.",
    "outputs": "Output {i} of the user-provided function does not require gradients. The outputs "
               "must be computed in a differentiable manner from the input when running in strict "
               "mode.",
}


def _check_requires_grad(inputs, input_type, strict):
    if not strict:
        return
    for i, inp in enumerate(inputs):
        if inp is None:
            raise RuntimeError(f"The output of the user-provided function is independent of input "
                               f"{i}. This is not allowed in strict mode.")
        if not inp.requires_grad:
            raise RuntimeError(_STRICT_MSG[input_type].format(i=i))


def _autograd_grad(outputs, inputs, grad_outputs=None, create_graph=False, retain_graph=None):
    """autograd.grad over the outputs that require grad; None for every input when none does."""
    if grad_outputs is None:
        grad_outputs = (None,) * len(outputs)
    pairs = [(o, g) for o, g in zip(outputs, grad_outputs) if o is not None and o.requires_grad]
    if not pairs:
        return (None,) * len(inputs)
    return _grad([o for o, _ in pairs], list(inputs), [g for _, g in pairs], allow_unused=True,
                 create_graph=create_graph, retain_graph=retain_graph)


_FILL_MSG = {
    "back": "The output of the user-provided function is independent of input {i}. This is not "
            "allowed in strict mode.",
    "back_trick": "The gradient with respect to the input is independent of entry {i} in the "
                  "grad_outputs when using the double backward trick to compute forward mode "
                  "gradients. This is not allowed in strict mode.",
    "double_back": "The jacobian of the user-provided function is independent of input {i}. This "
                   "is not allowed in strict mode.",
    "double_back_trick": "The hessian of the user-provided function is independent of entry {i} in "
                         "the grad_jacobian. This is not allowed in strict mode as it prevents from "
                         "using the double backward trick to replace forward mode AD.",
}


def _fill_in_zeros(grads, refs, strict, create_graph, stage):
    res = ()
    for i, g in enumerate(grads):
        if g is None:
            if strict:
                raise RuntimeError(_FILL_MSG[stage].format(i=i))
            g = _zeros_like(refs[i])
        elif strict and create_graph and not g.requires_grad:
            what = "hessian" if "double" in stage else "jacobian"
            raise RuntimeError(f"The {what} of the user-provided function is independent of input "
                               f"{i}. This is not allowed in strict mode when create_graph=True.")
        res += (g,)
    return res


def _prepare(func, inputs, v, create_graph, name, v_against_outputs):
    """The shared opening of vjp/jvp/vhp/hvp: preprocessed inputs, outputs and v."""
    is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", name)
    inputs = _grad_preprocess(inputs, create_graph=create_graph, need_graph=True)
    if not v_against_outputs:
        v = _check_v(v, inputs, is_inputs_tuple, create_graph, name, "the input to the "
                     "user-provided function is a single Tensor with a single element.")
    outputs = func(*inputs)
    is_outputs_tuple, outputs = _as_tuple(outputs, "outputs of the user-provided function", name)
    return is_inputs_tuple, inputs, is_outputs_tuple, outputs, v


def _check_v(v, against, is_tuple, create_graph, name, what):
    if v is not None:
        _, v = _as_tuple(v, "v", name)
        v = _grad_preprocess(v, create_graph=create_graph, need_graph=False)
        _validate_v(v, against, is_tuple)
        return v
    if len(against) != 1 or against[0].nelement() != 1:
        raise RuntimeError(f"The vector v can only be None if {what}")
    return None


def vjp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), v^T J): the vector-Jacobian product at `inputs`."""
    with enable_grad():
        is_in, inputs, is_out, outputs, _ = _prepare(func, inputs, None, create_graph, "vjp", True)
        _check_requires_grad(outputs, "outputs", strict=strict)
        v = _check_v(v, outputs, is_out, create_graph, "vjp", "the user-provided function returns "
                     "a single Tensor with a single element.")
    with set_grad_enabled(True if create_graph else is_grad_enabled()):
        res = _autograd_grad(outputs, inputs, v, create_graph=create_graph)
        res = _fill_in_zeros(res, inputs, strict, create_graph, "back")
    return (_tuple_postprocess(_grad_postprocess(outputs, create_graph), is_out),
            _tuple_postprocess(_grad_postprocess(res, create_graph), is_in))


def jvp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), J v): the Jacobian-vector product, by the double-backward trick."""
    with enable_grad():
        _, inputs, is_out, outputs, v = _prepare(func, inputs, v, create_graph, "jvp", False)
        _check_requires_grad(outputs, "outputs", strict=strict)
        grad_outputs = tuple(_zeros_like(out, requires_grad=True) for out in outputs)
        grad_inputs = _autograd_grad(outputs, inputs, grad_outputs, create_graph=True)
        _check_requires_grad(grad_inputs, "grad_inputs", strict=strict)
    with set_grad_enabled(True if create_graph else is_grad_enabled()):
        res = _autograd_grad(grad_inputs, grad_outputs, v, create_graph=create_graph)
        res = _fill_in_zeros(res, outputs, strict, create_graph, "back_trick")
    return (_tuple_postprocess(_grad_postprocess(outputs, create_graph), is_out),
            _tuple_postprocess(_grad_postprocess(res, create_graph), is_out))


def _single_output(name, is_out, outputs):
    if is_out or not isinstance(outputs[0], Tensor):
        raise RuntimeError(f"The function given to {name} should return a single Tensor")
    if outputs[0].nelement() != 1:
        raise RuntimeError(f"The Tensor returned by the function given to {name} should contain a "
                           "single element")


def vhp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), v^T H) for a scalar function."""
    with enable_grad():
        is_in, inputs, is_out, outputs, v = _prepare(func, inputs, v, create_graph, "vhp", False)
        _check_requires_grad(outputs, "outputs", strict=strict)
        _single_output("vhp", is_out, outputs)
        jac = _autograd_grad(outputs, inputs, create_graph=True)
        _check_requires_grad(jac, "jacobian", strict=strict)
    with set_grad_enabled(True if create_graph else is_grad_enabled()):
        res = _autograd_grad(jac, inputs, v, create_graph=create_graph)
        res = _fill_in_zeros(res, inputs, strict, create_graph, "double_back")
    return (_tuple_postprocess(_grad_postprocess(outputs, create_graph), is_out),
            _tuple_postprocess(_grad_postprocess(res, create_graph), is_in))


def hvp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), H v) for a scalar function, by the double-backward trick."""
    with enable_grad():
        is_in, inputs, is_out, outputs, v = _prepare(func, inputs, v, create_graph, "hvp", False)
        _check_requires_grad(outputs, "outputs", strict=strict)
        _single_output("hvp", is_out, outputs)
        jac = _autograd_grad(outputs, inputs, create_graph=True)
        _check_requires_grad(jac, "jacobian", strict=strict)
        grad_jac = tuple(_zeros_like(x, requires_grad=True) for x in inputs)
        double_back = _autograd_grad(jac, inputs, grad_jac, create_graph=True)
        _check_requires_grad(jac, "hessian", strict=strict)
    with set_grad_enabled(True if create_graph else is_grad_enabled()):
        res = _autograd_grad(double_back, grad_jac, v, create_graph=create_graph)
        res = _fill_in_zeros(res, inputs, strict, create_graph, "double_back_trick")
    return (_tuple_postprocess(_grad_postprocess(outputs, create_graph), is_out),
            _tuple_postprocess(_grad_postprocess(res, create_graph), is_in))


# -- Jacobians and Hessians ---------------------------------------------------------------------
def _jacfwd(func, inputs, strict, vectorize):
    """Forward mode: column k of the Jacobian is J e_k, one dual-level pass per input element."""
    if strict:
        raise RuntimeError('torch.autograd.functional.jacobian: `strict=True` and '
                           '`strategy="forward-mode"` are not supported together (yet). Please '
                           'either set `strict=False` or `strategy="reverse-mode"`.')
    if not vectorize:
        raise NotImplementedError("Computing Jacobian using forward-AD or forward-over-reverse "
                                  "Hessian is only implemented for `vectorize=True`.")
    is_in, inputs = _as_tuple(inputs, "inputs", "jacobian")
    columns, outputs, is_out = [], None, False  # columns[k][i]: d output_i / d (element k)
    for j, x in enumerate(inputs):
        xp = xp_of(x._data)
        for k in range(x.nelement()):
            with fwAD.dual_level():
                duals = []
                for jj, y in enumerate(inputs):
                    t = xp.zeros(y._data.size, y._data.dtype)
                    if jj == j:
                        t[k] = 1
                    duals.append(fwAD.make_dual(y, constant(t.reshape(y._data.shape))))
                is_out, outs = _as_tuple(func(*duals), "outputs")
                pairs = [fwAD.unpack_dual(o) for o in outs]
                outputs = [p.primal for p in pairs]
                columns.append([p.tangent if p.tangent is not None else _zeros_like(p.primal)
                                for p in pairs])
    jac, start = [], 0
    for i, out in enumerate(outputs):
        row = []
        for x in inputs:
            n = x.nelement()
            cols = [columns[start + k][i].reshape(-1) for k in range(n)]
            mat = _Stack.apply(*cols) if cols else constant(xp_of(out._data).zeros((0, out.nelement()), out._data.dtype))
            dims = tuple(range(1, mat.ndim)) + (0,)
            row.append(mat.permute(*dims).reshape(tuple(out.shape) + tuple(x.shape)).detach())
            start += n
        start = 0
        jac.append(row)
    # lists, not tuples, where PyTorch's forward-mode jacobian returns lists
    return _tuple_postprocess(jac, (is_out, is_in))


def jacobian(func, inputs, create_graph=False, strict=False, vectorize=False,
             strategy="reverse-mode"):
    """The Jacobian of `func` at `inputs`: J[i][j] has shape outputs[i].shape + inputs[j].shape."""
    if strategy not in ("forward-mode", "reverse-mode"):
        raise AssertionError('Expected strategy to be either "forward-mode" or "reverse-mode". '
                             'Hint: If your function has more outputs than inputs, "forward-mode" '
                             'tends to be more performant. Otherwise, prefer to use "reverse-mode".')
    if strategy == "forward-mode":
        if create_graph:
            raise NotImplementedError('torch.autograd.functional.jacobian: `create_graph=True` and '
                                      '`strategy="forward-mode"` are not supported together (yet). '
                                      'Please either set `create_graph=False` or '
                                      '`strategy="reverse-mode"`.')
        return _jacfwd(func, inputs, strict, vectorize)
    with enable_grad():
        is_in, inputs = _as_tuple(inputs, "inputs", "jacobian")
        inputs = _grad_preprocess(inputs, create_graph=create_graph, need_graph=True)
        is_out, outputs = _as_tuple(func(*inputs), "outputs of the user-provided function",
                                    "jacobian")
        _check_requires_grad(outputs, "outputs", strict=strict)
        if vectorize and strict:
            raise RuntimeError("torch.autograd.functional.jacobian: `strict=True` and "
                               "`vectorized=True` are not supported together. Please either set "
                               "`strict=False` or `vectorize=False`.")
        jac = ()
        for i, out in enumerate(outputs):
            rows = tuple([] for _ in inputs)
            flat = out.reshape(-1)
            for j in range(out.nelement()):
                vj = _autograd_grad((flat[j],), inputs, retain_graph=True, create_graph=create_graph)
                for k, (acc, g, x) in enumerate(zip(rows, vj, inputs)):
                    if g is not None:
                        if strict and create_graph and not g.requires_grad:
                            raise RuntimeError("The jacobian of the user-provided function is "
                                               f"independent of input {i}. This is not allowed in "
                                               "strict mode when create_graph=True.")
                        acc.append(g)
                    else:
                        if strict:
                            raise RuntimeError(f"Output {i} of the user-provided function is "
                                               f"independent of input {k}. This is not allowed in "
                                               "strict mode.")
                        acc.append(_zeros_like(x))
            jac += (tuple((_Stack.apply(*acc) if acc else constant(
                xp_of(x._data).zeros((0,) + tuple(x.shape), x._data.dtype))).reshape(
                    tuple(out.shape) + tuple(x.shape)) for acc, x in zip(rows, inputs)),)
        jac = _grad_postprocess(jac, create_graph)
        return _tuple_postprocess(jac, (is_out, is_in))


def hessian(func, inputs, create_graph=False, strict=False, vectorize=False,
            outer_jacobian_strategy="reverse-mode"):
    """The Hessian of a scalar `func`: H[i][j] has shape inputs[i].shape + inputs[j].shape."""
    is_in, inputs = _as_tuple(inputs, "inputs", "hessian")
    if outer_jacobian_strategy not in ("forward-mode", "reverse-mode"):
        raise AssertionError('Expected strategy to be either "forward-mode" or "reverse-mode".')

    def ensure_single_output_function(*inp):
        out = func(*inp)
        is_out_tuple, t_out = _as_tuple(out, "outputs of the user-provided function", "hessian")
        _check_requires_grad(t_out, "outputs", strict=strict)
        _single_output("hessian", is_out_tuple, t_out)
        return out.squeeze()

    def jac_func(*inp):
        if outer_jacobian_strategy == "forward-mode":
            inp = tuple(t.requires_grad_(True) for t in inp)
        jac = jacobian(ensure_single_output_function, inp, create_graph=True)
        _check_requires_grad(jac, "jacobian", strict=strict)
        return jac

    res = jacobian(jac_func, inputs, create_graph=create_graph, strict=strict,
                   vectorize=vectorize, strategy=outer_jacobian_strategy)
    return _tuple_postprocess(res, (is_in, is_in))
