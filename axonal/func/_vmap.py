"""`vmap`: PyTorch's `torch.func.vmap` - map a function written for one sample over a batch.

    vmap(func, in_dims=0, out_dims=0, randomness='error', *, chunk_size=None)(*args, **kwargs)

`in_dims` says, for each positional argument, which dim is the batch dim: an int (negative counts
from the end), None (not batched: the same value for every sample), or a nested tuple / list / dict
matching the argument's structure; an int or None stands for a whole sub-structure (a pytree
prefix, as in PyTorch). Keyword arguments are never batched. `out_dims` does the same for the outputs,
which may be Tensors or nested tuples / lists / dicts of them; an output that does not depend on the
batch is broadcast to it.

How it runs: the function body runs ONCE, on batched tensors (`_batching_tensor.py`); each op call
is computed for the whole batch by a batching rule (`_batching.py`) or, for ops without a rule, once
per sample. A computation that reads the raw values of a batched tensor outside an op (a data-
dependent branch, `.item()`, an op wrapper that computes on `x._data`) makes vmap rerun the whole
function once per sample and stack the results: slower, never wrong.

`randomness`: 'error' (default) - a random op inside vmap raises, as in PyTorch; 'same' - one draw
shared by every sample; 'different' - independent draws per sample. Only draws from the default
generator are seen (an explicit `generator=` draws as outside vmap).
"""
import functools

from .. import _config
from .. import random as _random
from ..ops.shape import cat, stack
from ..tensor import Tensor
from ._batching_level import _Level, add_batch_dim, random_mode, remove_batch_dim
from ._batching_tensor import Unbatchable, level_of

__all__ = ["vmap"]


# -- pytrees: tuples, lists, dicts (namedtuples as tuples); anything else is a leaf -------------------
def _is_node(x):
    return isinstance(x, (tuple, list, dict))


def _flatten(tree):
    """(leaves, spec); spec is None for a leaf, else (type, keys, child specs)."""
    if not _is_node(tree):
        return [tree], None
    keys = list(tree.keys()) if isinstance(tree, dict) else None
    children = [tree[k] for k in keys] if keys is not None else list(tree)
    leaves, specs = [], []
    for c in children:
        lv, sp = _flatten(c)
        leaves += lv
        specs.append(sp)
    return leaves, (type(tree), keys, specs)


def _unflatten(leaves, spec):
    it = iter(leaves)

    def build(sp):
        if sp is None:
            return next(it)
        typ, keys, specs = sp
        children = [build(s) for s in specs]
        if keys is not None:
            return typ(zip(keys, children))
        if typ in (tuple, list):
            return typ(children)
        return typ(*children)  # a namedtuple
    return build(spec)


def _spec_str(spec):
    if spec is None:
        return "*"
    typ, keys, specs = spec
    inner = ", ".join((f"{k!r}: " if keys is not None else "") + _spec_str(s)
                      for k, s in zip(keys or [None] * len(specs), specs))
    return f"{typ.__name__}({inner})"


def _num_leaves(spec):
    return 1 if spec is None else sum(_num_leaves(s) for s in spec[2])


def _broadcast_flat(prefix, spec):
    """Flatten `prefix` against the tree `spec` (a leaf of prefix covers a whole subtree), or None
    when the structures do not match."""
    if not _is_node(prefix):
        return [prefix] * _num_leaves(spec)
    if spec is None:
        return None
    typ, keys, specs = spec
    if type(prefix) is not typ and not (isinstance(prefix, tuple) and issubclass(typ, tuple)
                                        and type(prefix) is tuple):
        return None
    if keys is not None:
        if set(prefix.keys()) != set(keys):
            return None
        children = [prefix[k] for k in keys]
    else:
        children = list(prefix)
    if len(children) != len(specs):
        return None
    out = []
    for c, s in zip(children, specs):
        sub = _broadcast_flat(c, s)
        if sub is None:
            return None
        out += sub
    return out


def _name(func):
    if hasattr(func, "__name__"):
        return func.__name__
    if isinstance(func, functools.partial):
        return f"functools.partial({_name(func.func)}, ...)"
    return repr(func)


# -- argument processing (PyTorch's checks and messages) ---------------------------------------------
def _process_inputs(func, in_dims, args):
    head = f"vmap({_name(func)}, in_dims={in_dims}, ...)(<inputs>): "
    if not isinstance(in_dims, (int, tuple)):
        raise ValueError(head + "expected `in_dims` to be int or a (potentially nested) tuple "  # noqa: TRY004 - PyTorch's type
                         f"matching the structure of inputs, got: {type(in_dims)}.")
    if len(args) == 0:
        raise ValueError(f"vmap({_name(func)})(<inputs>): got no inputs. Maybe you forgot to add "
                         "inputs, or you are trying to vmap over a function with no inputs. The "
                         "latter is unsupported.")
    flat, spec = _flatten(tuple(args))
    dims = _broadcast_flat(in_dims, spec)
    if dims is None:
        raise ValueError(head + "in_dims is not compatible with the structure of `inputs`. "
                         f"in_dims has structure {_spec_str(_flatten(in_dims)[1])} but inputs "
                         f"has structure {_spec_str(spec)}.")
    for i, (arg, d) in enumerate(zip(flat, dims)):
        if d is not None and not isinstance(d, int):
            raise ValueError(head + f"Got in_dim={d} for an input but in_dim must be either an "
                             "integer dimension or None.")
        if d is not None and not isinstance(arg, Tensor):
            raise ValueError(head + f"Got in_dim={d} for an input but the input is of type "
                             f"{type(arg)}. We cannot vmap over non-Tensor arguments, please use "
                             "None as the respective in_dim")
        if d is not None and not -arg.dim() <= d < arg.dim():
            raise ValueError(head + f"Got in_dim={d} for some input, but that input is a Tensor of "
                             f"dimensionality {arg.dim()} so expected in_dim to satisfy "
                             f"-{arg.dim()} <= in_dim < {arg.dim()}.")
        if d is not None and d < 0:
            dims[i] = d % arg.dim()
    sizes = [arg.size(d) for arg, d in zip(flat, dims) if d is not None]
    if not sizes:
        raise ValueError("vmap: Expected at least one Tensor to vmap over")
    if any(s != sizes[0] for s in sizes):
        raise ValueError("vmap: Expected all tensors to have the same size in the mapped "
                         f"dimension, got sizes {sizes} for the mapped dimension")
    return sizes[0], flat, dims, spec


def _check_out_dims(func, out_dims):
    leaves = _flatten(out_dims)[0] if _is_node(out_dims) else [out_dims]
    for d in leaves:
        if d is not None and not isinstance(d, int):
            raise ValueError(f"vmap({_name(func)}, ..., out_dims={out_dims}): `out_dims` must be an "
                             "int, None or a python collection of ints representing where in the "
                             "outputs the vmapped dimension should appear.")


def _flat_out_dims(func, out_dims, outputs):
    flat, spec = _flatten(outputs)
    if isinstance(outputs, Tensor):
        if isinstance(out_dims, tuple) and len(out_dims) == 1:
            out_dims = out_dims[0]
        dims = [out_dims] if not _is_node(out_dims) else None
    else:
        dims = _broadcast_flat(out_dims, spec)
    if dims is None:
        raise ValueError(f"vmap({_name(func)}, ..., out_dims={out_dims})(<inputs>): out_dims is "
                         "not compatible with the structure of `outputs`. out_dims has structure "
                         f"{_spec_str(_flatten(out_dims)[1])} but outputs has structure "
                         f"{_spec_str(spec)}.")
    return flat, dims, spec


def _check_output(func, out, d, batched):
    name = _name(func)
    if d is None:
        if batched:
            raise ValueError(f"vmap({name}, ...): `{name}` can not return a BatchedTensor when "
                             "out_dim is None")
        return
    if not isinstance(out, Tensor):
        raise ValueError(f"vmap({name}, ...): `{name}` must only return Tensors, got type "  # noqa: TRY004
                         f"{type(out)}. Did you mean to set out_dims= to None for output?")


def _out_dim(out, d, extra):
    n = out.dim() + extra
    if not -n <= d < n:
        raise IndexError(f"vmap: out_dim {d} out of range for an output of {out.dim()} dims "
                         f"(expected in [{-n}, {n - 1}])")
    return d % n


# -- running ---------------------------------------------------------------------------------------
def _run(func, B, flat, dims, spec, kwargs, out_dims, randomness):
    state = _config._state
    depth = sum(isinstance(layer, _Level) for layer in state.layers)
    level = _Level(B, randomness, depth)
    args = _unflatten([a if d is None else add_batch_dim(a, d, level)
                       for a, d in zip(flat, dims)], spec)
    prev = state.layers
    state.layers = (*prev, level)
    try:
        with random_mode(randomness, level):
            outputs = func(*args, **kwargs)
    except Unbatchable as e:
        if e.level is not level:
            raise
        outputs = None
    finally:
        state.layers = prev
    if outputs is None:  # something had no batching rule: run once per sample
        return _run_loop(func, B, flat, dims, spec, kwargs, out_dims, randomness)
    outs, odims, ospec = _flat_out_dims(func, out_dims, outputs)
    result = []
    for o, d in zip(outs, odims):
        _check_output(func, o, d, level_of(o) is level)
        result.append(o if d is None else remove_batch_dim(o, _out_dim(o, d, 1), level))
    return _unflatten(result, ospec)


def _select(x, d, i):
    return x[(slice(None),) * d + (i,)]


def _run_loop(func, B, flat, dims, spec, kwargs, out_dims, randomness):
    """The whole function once per sample, results stacked along out_dims."""
    gen = _random.default_generator
    state = gen.get_state() if randomness == "same" else None
    per_sample = []
    for i in range(B):
        args = _unflatten([a if d is None else _select(a, d, i) for a, d in zip(flat, dims)], spec)
        if state is not None:
            gen.set_state(state)  # 'same': every sample sees the same draws
        with random_mode("error" if randomness == "error" else "loop", None):
            per_sample.append(func(*args, **kwargs))
    if B == 0:
        raise RuntimeError("vmap: the function has ops without a batching rule and the batch is "
                           "empty")
    flat0, odims, ospec = _flat_out_dims(func, out_dims, per_sample[0])
    columns = [_flatten(o)[0] for o in per_sample]
    result = []
    for k, (o, d) in enumerate(zip(flat0, odims)):
        _check_output(func, o, d, False)
        result.append(o if d is None else stack([c[k] for c in columns], _out_dim(o, d, 1)))
    return _unflatten(result, ospec)


def vmap(func, in_dims=0, out_dims=0, randomness="error", *, chunk_size=None):
    """Vectorise `func` over a batch dimension of its inputs (see the module doc)."""
    if randomness not in ("error", "different", "same"):
        raise RuntimeError("Only allowed values for randomness are 'error', 'different', or "
                           f"'same'. Got {randomness}")
    if not (chunk_size is None or chunk_size > 0):
        raise ValueError(f"vmap: chunk_size should be None or greater than 0. (got {chunk_size})")
    _check_out_dims(func, out_dims)

    @functools.wraps(func)
    def wrapped(*args, **kwargs):
        B, flat, dims, spec = _process_inputs(func, in_dims, args)
        if chunk_size is None or chunk_size >= B:
            return _run(func, B, flat, dims, spec, kwargs, out_dims, randomness)
        chunks = []
        gen = _random.default_generator
        rng_state = gen.get_state() if randomness == "same" else None
        for start in range(0, B, chunk_size):
            if rng_state is not None:  # 'same' across chunks too, as PyTorch
                gen.set_state(rng_state)
            n = min(chunk_size, B - start)
            part = [a if d is None else a[(slice(None),) * d + (slice(start, start + n),)]
                    for a, d in zip(flat, dims)]
            chunks.append(_run(func, n, part, dims, spec, kwargs, out_dims, randomness))
        return _concat_chunks(func, out_dims, chunks)

    return wrapped


def _concat_chunks(func, out_dims, chunks):
    flat0, odims, ospec = _flat_out_dims(func, out_dims, chunks[0])
    columns = [_flatten(c)[0] for c in chunks]
    out = [o if d is None else cat([c[k] for c in columns], _out_dim(o, d, 0))
           for k, (o, d) in enumerate(zip(flat0, odims))]
    return _unflatten(out, ospec)
