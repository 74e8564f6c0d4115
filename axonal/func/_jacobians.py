"""`jacrev`, `jacfwd` and `hessian` (PyTorch's `torch.func`), built on `vjp` and `jvp`.

For an output o and a differentiated argument x the Jacobian has shape o.shape + x.shape. jacrev
pulls back one basis cotangent per output element (rows); jacfwd pushes forward one basis tangent
per input element (columns). The result nests as torch.func's: the output's pytree, inside it the
argnums (a tuple when argnums is a tuple), inside that the argument's pytree. PyTorch batches the
basis vectors with vmap; here they are a Python loop, with the same results.
"""
import functools

from ..backend import xp_of
from ..ops.shape import stack
from ..tensor import Tensor, constant
from ._pytree import tree_flatten, tree_unflatten
from ._transforms import _argnums, _split_aux, jvp, vjp


def _basis(leaves, i, k):
    """Zero tensors shaped like `leaves`, with a 1 at flat position k of leaf i."""
    out = []
    for j, x in enumerate(leaves):
        a = xp_of(x._data).zeros(x._data.size, x._data.dtype)
        if j == i:
            a[k] = 1
        out.append(constant(a.reshape(x._data.shape)))
    return out


def _empty_jac(o, x):
    return constant(xp_of(o._data).zeros(tuple(o.shape) + tuple(x.shape), o._data.dtype))


def _selector(func, args, kwargs, nums):
    def f(*sel):
        full = list(args)
        for n, v in zip(nums, sel):
            full[n] = v
        return func(*full, **kwargs)

    return f


def _nest(per_leaf, x_specs, argnums):
    """Rebuild [jac for each leaf of each argnum] into the argnums/argument pytree."""
    res, k = [], 0
    for spec in x_specs:
        res.append(tree_unflatten(per_leaf[k:k + spec.n], spec))
        k += spec.n
    return res[0] if isinstance(argnums, int) else tuple(res)


def jacrev(func, argnums=0, *, has_aux=False, chunk_size=None, _preallocate_and_copy=False):
    """The Jacobian of func w.r.t. args[argnums], by reverse mode (one vjp per output element)."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        nums = _argnums(argnums, len(args), "jacrev")
        sel = [args[n] for n in nums]
        res = vjp(_selector(func, args, kwargs, nums), *sel, has_aux=has_aux)
        out, vjp_fn = res[0], res[1]
        o_leaves, o_spec = tree_flatten(out)
        x_flat = [tree_flatten(s) for s in sel]
        x_leaves = [x for leaves, _ in x_flat for x in leaves]
        jac = []
        for i, o in enumerate(o_leaves):
            rows = []  # rows[k][j]: d o_i[k] / d x_j
            for k in range(o.numel()):
                g = vjp_fn(tree_unflatten(_basis(o_leaves, i, k), o_spec))
                rows.append([x for part in g for x in tree_flatten(part)[0]])
            per_leaf = [stack([r[j] for r in rows]).reshape(tuple(o.shape) + tuple(x.shape))
                        if rows else _empty_jac(o, x) for j, x in enumerate(x_leaves)]
            jac.append(_nest(per_leaf, [s for _, s in x_flat], argnums))
        jac = tree_unflatten(jac, o_spec)
        return (jac, res[2]) if has_aux else jac

    return wrapper


def jacfwd(func, argnums=0, has_aux=False, *, randomness="error"):
    """The Jacobian of func w.r.t. args[argnums], by forward mode (one jvp per input element)."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        nums = _argnums(argnums, len(args), "jacfwd")
        sel = tuple(args[n] for n in nums)
        f = _selector(func, args, kwargs, nums)
        x_leaves, x_spec = tree_flatten(sel)
        for x in x_leaves:
            if not isinstance(x, Tensor):
                raise RuntimeError(f"jacfwd: expected the differentiated arguments to be Tensors, "
                                   f"got {type(x).__name__}")
        cols, out, aux = [], None, None  # cols[j][k]: the o leaves' tangents for x_j[k]
        for j, x in enumerate(x_leaves):
            cols.append([])
            for k in range(x.numel()):
                tangents = tree_unflatten(_basis(x_leaves, j, k), x_spec)
                res = jvp(f, sel, tangents, has_aux=has_aux)
                out, aux = res[0], (res[2] if has_aux else None)
                cols[j].append(tree_flatten(res[1])[0])
        if out is None:  # no input element: evaluate once for the output's structure
            res = f(*sel)
            out, aux = _split_aux(res, has_aux, "jacfwd")
        o_leaves, o_spec = tree_flatten(out)
        jac = []
        for i, o in enumerate(o_leaves):
            per_leaf = [stack([c[i] for c in cols[j]], dim=-1).reshape(tuple(o.shape) +
                                                                        tuple(x.shape))
                        if cols[j] else _empty_jac(o, x) for j, x in enumerate(x_leaves)]
            jac.append(_nest(per_leaf, [tree_flatten(s)[1] for s in sel], argnums))
        jac = tree_unflatten(jac, o_spec)
        return (jac, aux) if has_aux else jac

    return wrapper


def hessian(func, argnums=0):
    """The Hessian of a scalar func: jacfwd(jacrev(func)) (forward over reverse), as torch.func."""
    return jacfwd(jacrev(func, argnums), argnums)
