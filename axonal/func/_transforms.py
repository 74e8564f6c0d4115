"""`grad`, `grad_and_value`, `vjp`, `jvp`, `jacrev`, `jacfwd`, `hessian`: PyTorch's `torch.func`.

Function transforms built on the two autograd engines:

* reverse mode (`grad`, `vjp`, `jacrev`): the differentiated arguments are lifted to fresh tensors
  that require grad (a differentiable alias when the caller's tensor already requires grad, so the
  result stays connected to the caller's graph), the function runs, and `autograd.grad` pulls the
  gradient back. The backward is recorded whenever grad mode is on or a forward level is active, so
  transforms compose: `grad(grad(f))`, `jacfwd(jacrev(f))` (forward over reverse: the backward's
  own ops carry tangents).
* forward mode (`jvp`, `jacfwd`): a private dual level of `autograd.forward_ad`, one per call, so
  they nest (`jacfwd(jacfwd(f))`).

Results are cut from the graph (keeping forward tangents) unless they depend on a tensor the
caller made require grad, as functorch's results are. Arguments and outputs may be pytrees (nested
tuples, lists, dicts of tensors). `jacrev`/`jacfwd` build one row/column per element with a Python
loop; `chunk_size` is accepted and ignored.
"""
import functools

from .. import _config
from .._config import enable_grad, no_grad
from ..autograd import _grad as _autograd
from ..autograd import forward_ad as fwAD
from ..backend import xp_of
from ..tensor import Tensor, constant
from ._pytree import tree_flatten, tree_unflatten


# -- lifting inputs, finishing outputs ------------------------------------------------------------
def _lift(x, fn, what="argument"):
    if not isinstance(x, Tensor):
        raise TypeError(f"{fn}: expected the differentiated {what} to be Tensors, got "
                        f"{type(x).__name__}")
    if x._data.dtype.kind not in "fV":
        raise TypeError(f"{fn}: can only differentiate with respect to floating point Tensors, "
                        f"got {x.dtype}")
    return fwAD._Alias.apply(x).requires_grad_()


def _reaches_outside(t, internal):
    """Does t's reverse graph reach a leaf that requires grad other than our lifted inputs?"""
    if t._ctx is None:
        return t._rg and id(t) not in internal
    seen, stack_ = {t._ctx}, [t._ctx]
    while stack_:
        node = stack_.pop()
        for e in node.next:
            if e is None:
                continue
            if type(e) is tuple:
                if e[0] not in seen:
                    seen.add(e[0])
                    stack_.append(e[0])
            elif id(e) not in internal:
                return True
    return False


def _finish(t, internal):
    """The result as functorch returns it: cut from the graph unless it depends on the caller's
    tensors; forward tangents are kept (the alias runs through the active dual levels)."""
    if not isinstance(t, Tensor):
        return t
    if t._rg and not _reaches_outside(t, internal):
        with no_grad():
            t = fwAD._Alias.apply(t)
    tangents = t.__dict__.get(fwAD._KEY)
    if tangents:  # a tangent computed from our lifted inputs is cut the same way
        for level, tan in tangents.items():
            tangents[level] = _finish(tan, internal)
    return t


def _create_graph(outs, internal):
    """Record the backward only when something can differentiate the result again: an active
    forward level (its tangents flow through the backward's ops), or, with grad mode on, outputs
    that depend on tensors outside this transform (the caller's, or an enclosing transform's)."""
    if _config._state.layers:
        return True
    return _config.is_grad_enabled() and any(_reaches_outside(o, internal) for o in outs)


def _zeros_like(t):
    return constant(xp_of(t._data).zeros_like(t._data))


def _argnums(argnums, nargs, fn):
    nums = (argnums,) if isinstance(argnums, int) else argnums
    if not isinstance(nums, tuple) or not nums or not all(isinstance(n, int) for n in nums):
        raise RuntimeError(f"{fn}: argnums must be int or Tuple[int, ...], got: {argnums}")
    for n in nums:
        if not -nargs <= n < nargs:
            raise RuntimeError(f"Got argnum={n}, but only {nargs} positional inputs")
    return tuple(n % nargs for n in nums)


def _split_aux(out, has_aux, fn):
    if not has_aux:
        return out, None
    if not (isinstance(out, tuple) and len(out) == 2):
        raise RuntimeError(f"{fn}(f)(*args): output of function f should be a tuple: (output, aux) "
                           "if has_aux is True")
    return out


# -- grad -----------------------------------------------------------------------------------------
def grad_and_value(func, argnums=0, has_aux=False):
    """A function returning (gradient of the scalar func w.r.t. args[argnums], value)."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        nums = _argnums(argnums, len(args), "grad_and_value")
        args, groups = list(args), []
        with enable_grad():
            for n in nums:
                leaves, spec = tree_flatten(args[n])
                lifted = [_lift(x, "grad_and_value") for x in leaves]
                groups.append((lifted, spec))
                args[n] = tree_unflatten(lifted, spec)
            out, aux = _split_aux(func(*args, **kwargs), has_aux, "grad_and_value")
            if not isinstance(out, Tensor):
                raise RuntimeError(f"grad_and_value(f)(*args): Expected f(*args) to return a "
                                   f"Tensor, got {type(out)}")
            if out.ndim != 0:
                raise RuntimeError(f"grad_and_value(f)(*args): Expected f(*args) to return a scalar "
                                   f"Tensor, got tensor with {out.ndim} dims. Maybe you wanted to "
                                   "use the vjp or jacrev APIs instead?")
            flat = [x for lifted, _ in groups for x in lifted]
            internal = {id(x) for x in flat}
            grads = _autograd.grad(out, flat, create_graph=_create_graph([out], internal),
                                   allow_unused=True) if out._rg else (None,) * len(flat)
        grads = [_finish(g, internal) if g is not None else _zeros_like(x)
                 for g, x in zip(grads, flat)]
        res, k = [], 0
        for lifted, spec in groups:
            res.append(tree_unflatten(grads[k:k + len(lifted)], spec))
            k += len(lifted)
        res = res[0] if isinstance(argnums, int) else tuple(res)
        value = _finish(out, internal)
        if has_aux:
            aux_leaves, aux_spec = tree_flatten(aux)
            aux = tree_unflatten([_finish(a, internal) for a in aux_leaves], aux_spec)
            return res, (value, aux)
        return res, value

    return wrapper


def grad(func, argnums=0, has_aux=False):
    """The gradient of a scalar function w.r.t. args[argnums] (a function of the same args)."""
    gv = grad_and_value(func, argnums, has_aux)

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        g, value = gv(*args, **kwargs)
        return (g, value[1]) if has_aux else g

    return wrapper


# -- vjp, jvp ---------------------------------------------------------------------------------------
def vjp(func, *primals, has_aux=False):
    """(func(*primals), vjp_fn[, aux]); vjp_fn(cotangents) returns one gradient per primal."""
    groups = []
    with enable_grad():
        lifted_primals = []
        for p in primals:
            leaves, spec = tree_flatten(p)
            lifted = [_lift(x, "vjp", "primals") for x in leaves]
            groups.append((lifted, spec))
            lifted_primals.append(tree_unflatten(lifted, spec))
        out, aux = _split_aux(func(*lifted_primals), has_aux, "vjp")
    out_leaves, out_spec = tree_flatten(out)
    for o in out_leaves:
        if not isinstance(o, Tensor):
            raise RuntimeError(f"vjp(f, *primals): Expected f to return a Tensor or pytree of "
                               f"Tensors, got {type(o)}")
    flat = [x for lifted, _ in groups for x in lifted]
    internal = {id(x) for x in flat}

    def vjp_fn(cotangents, *, retain_graph=True, create_graph=None):
        ct_leaves, ct_spec = tree_flatten(cotangents)
        if ct_spec != out_spec:
            raise RuntimeError("Expected pytree structure of cotangents to be the same as pytree "
                               "structure of outputs to the function.")
        for o, c in zip(out_leaves, ct_leaves):
            if tuple(o.shape) != tuple(c.shape):
                raise RuntimeError(f"Mismatch in shape: grad_output has a shape of "
                                   f"{tuple(c.shape)} and output has a shape of {tuple(o.shape)}.")
        pairs = [(o, c) for o, c in zip(out_leaves, ct_leaves) if o._rg]
        with enable_grad():
            grads = _autograd.grad([o for o, _ in pairs], flat, [c for _, c in pairs],
                                   retain_graph=True, allow_unused=True,
                                   create_graph=_create_graph([*out_leaves, *ct_leaves],
                                                              internal)
                                   if create_graph is None
                                   else create_graph) if pairs else (None,) * len(flat)
        grads = [_finish(g, internal) if g is not None else _zeros_like(x)
                 for g, x in zip(grads, flat)]
        res, k = [], 0
        for lifted, spec in groups:
            res.append(tree_unflatten(grads[k:k + len(lifted)], spec))
            k += len(lifted)
        return tuple(res)

    out = tree_unflatten([_finish(o, internal) for o in out_leaves], out_spec)
    if has_aux:
        aux_leaves, aux_spec = tree_flatten(aux)
        return out, vjp_fn, tree_unflatten([_finish(a, internal) for a in aux_leaves], aux_spec)
    return out, vjp_fn


def jvp(func, primals, tangents, *, strict=False, has_aux=False):
    """(func(*primals), J tangents): forward-mode AD, tangents computed in the forward pass."""
    if not isinstance(primals, tuple):
        raise RuntimeError("jvp(f, primals, tangents): Expected primals to be a tuple. E.g. it "
                           "should be valid to call f(*primals).")
    if not isinstance(tangents, tuple):
        raise RuntimeError("jvp(f, primals, tangents): Expected tangents to be a tuple.")
    p_leaves, p_spec = tree_flatten(primals)
    t_leaves, t_spec = tree_flatten(tangents)
    if p_spec != t_spec:
        raise RuntimeError("jvp(f, primals, tangents): Expected primals and tangents to have the "
                           "same python structure.")
    for p, t in zip(p_leaves, t_leaves):
        if not isinstance(p, Tensor) or not isinstance(t, Tensor):
            raise RuntimeError("jvp(f, primals, tangents): Expected primals and tangents to only "
                               "contain Tensors.")
        if tuple(p.shape) != tuple(t.shape):
            raise RuntimeError(f"jvp(f, primals, tangents): Expected primals and tangents to have "
                               f"the same shapes, got {tuple(p.shape)} and {tuple(t.shape)}.")
    level = fwAD._enter(False)
    try:
        duals = [fwAD._make_dual(p, t, level) for p, t in zip(p_leaves, t_leaves)]
        out, aux = _split_aux(func(*tree_unflatten(duals, p_spec)), has_aux, "jvp")
        o_leaves, o_spec = tree_flatten(out)
        prim, tang = [], []
        for o in o_leaves:
            if not isinstance(o, Tensor):
                raise RuntimeError(f"jvp(f, primals, tangents): Expected f(*primals) to return only "
                                   f"tensors, got unsupported type {type(o)}")
            p, t = fwAD._unpack(o, level)
            prim.append(p)
            tang.append(t if t is not None else _zeros_like(p))
        if has_aux:
            a_leaves, a_spec = tree_flatten(aux)
            aux = tree_unflatten([fwAD._unpack(a, level).primal for a in a_leaves], a_spec)
    finally:
        fwAD._exit(level)
    res = (tree_unflatten(prim, o_spec), tree_unflatten(tang, o_spec))
    return (*res, aux) if has_aux else res



def linearize(func, *primals):
    """(func(*primals), jvp_fn): jvp_fn(*tangents) is J tangents at `primals` (torch.func's).
    PyTorch traces the linearized graph once; here each call runs a forward-mode pass."""
    out = func(*primals)
    p_leaves, p_spec = tree_flatten(primals)

    def jvp_fn(*tangents):
        t_leaves, t_spec = tree_flatten(tangents)
        if t_spec != p_spec:
            raise RuntimeError("linearize: expected the tangents to have the structure of the "
                               "primals")
        for k, (p, t) in enumerate(zip(p_leaves, t_leaves)):
            if tuple(t.shape) != tuple(p.shape):
                raise RuntimeError(f"tangent:{k} with shape {t.shape} in flattened pytree doesn't "
                                   f"match the shape {p.shape} of the corresponding primal.")
        return jvp(func, primals, tangents)[1]

    return out, jvp_fn
