"""`functional_call`: run a Module with some of its parameters and buffers replaced (PyTorch's
`torch.func.functional_call`), the bridge from Modules to the function transforms:

    grads = grad(lambda p: loss_fn(functional_call(model, p, (x,)), y))(dict(model.named_parameters()))

The given tensors are put in place of the module's entries (in its `_parameters` / `_buffers`
tables, so plain Tensors are accepted) for the duration of the call, then the originals come back,
also when the call raises. With `tie_weights=True` a parameter shared under several names (tied
weights) is replaced under all of them when one name is given.
"""
from ..nn.module import Module

_MISSING = object()


def _owner(module, name):
    *path, leaf = name.split(".")
    mod = module
    for p in path:
        mod = getattr(mod, p)
    return mod, leaf


def _tied_names(module, names):
    """name -> every other name under which the same tensor is reachable (tied weights)."""
    by_id = {}
    for n, t in list(module.named_parameters(remove_duplicate=False)) + \
            list(module.named_buffers(remove_duplicate=False)):
        by_id.setdefault(id(t), []).append(n)
    extra = {}
    for group in by_id.values():
        given = [n for n in group if n in names]
        if len(given) > 1:
            first = names[given[0]]
            if any(names[n] is not first for n in given[1:]):
                raise ValueError(f"functional_call got multiple values for keys {given}, which are "
                                 "tied. Consider using tie_weights=False")
        if given:
            for n in group:
                if n not in names:
                    extra[n] = names[given[0]]
    return extra


def functional_call(module, parameter_and_buffer_dicts, args=None, kwargs=None, *,
                    tie_weights=True, strict=False):
    """module(*args, **kwargs) with the named parameters/buffers replaced by the given tensors."""
    if not isinstance(module, Module):
        raise TypeError(f"functional_call: expected an nn.Module, got {type(module).__name__}")
    dicts = parameter_and_buffer_dicts
    if isinstance(dicts, dict):
        names = dict(dicts)
    elif isinstance(dicts, (tuple, list)) and all(isinstance(d, dict) for d in dicts):
        names = {}
        for d in dicts:
            dup = set(names) & set(d)
            if dup:
                raise ValueError(f"{sorted(dup)} appeared in multiple dictionaries; behavior of "
                                 "functional call is ambiguous")
            names.update(d)
    else:
        raise ValueError(f"Expected parameter_and_buffer_dicts to be a dict, or a list/tuple of "
                         f"dicts, but got {type(dicts)}")
    known = [n for n, _ in module.named_parameters(remove_duplicate=False)] + \
        [n for n, _ in module.named_buffers(remove_duplicate=False)]
    if strict:
        missing = [n for n in known if n not in names]
        unexpected = [n for n in names if n not in known]
        if missing or unexpected:
            parts = ([f"Unexpected key(s): {', '.join(map(repr, unexpected))}."] if unexpected
                     else []) + ([f"Missing key(s): {', '.join(map(repr, missing))}."] if missing
                                 else [])
            raise RuntimeError("Error(s) in reparametrizing for Module:\n\t" + "\n\t".join(parts))
    if tie_weights:
        names.update(_tied_names(module, names))
    saved = []
    try:
        for name, value in names.items():
            mod, leaf = _owner(module, name)
            for table in ("_parameters", "_buffers"):
                entries = mod.__dict__[table]
                if leaf in entries:
                    saved.append((entries, leaf, entries[leaf]))
                    entries[leaf] = value
                    break
            else:  # not a parameter or buffer: a plain attribute, as PyTorch allows
                saved.append((mod.__dict__, leaf, mod.__dict__.get(leaf, _MISSING)))
                mod.__dict__[leaf] = value
        if args is None:
            args = ()
        elif not isinstance(args, tuple):
            args = (args,)
        return module(*args, **(kwargs or {}))
    finally:
        for entries, leaf, old in reversed(saved):
            if old is _MISSING:
                entries.pop(leaf, None)
            else:
                entries[leaf] = old

