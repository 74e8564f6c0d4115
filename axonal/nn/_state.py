"""Loading a state_dict into a Module, and the indentation helper of Module.__repr__.

Loading is all-or-nothing: every key and shape is checked first and nothing is copied when there is
an error, so a failed load never leaves a model half overwritten. Values may be Tensors, NumPy/CuPy
arrays or Python numbers; they are cast to the dtype and moved to the device of the model's tensor
(like PyTorch's `param.copy_(value)`), so state_dicts can travel through NumPy.
"""
from collections import namedtuple

import numpy as np

from .. import _config, backend
from .._errors import ShapeError
from ..tensor import ARRAY_TYPES, Tensor


class IncompatibleKeys(namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])):
    def __repr__(self):
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return super().__repr__()

    __str__ = __repr__


def addindent(text, spaces):
    """Indent every line of a multi-line repr but the first (it follows '(name): ')."""
    lines = text.split("\n")
    if len(lines) == 1:
        return text
    return lines[0] + "\n" + "\n".join(" " * spaces + line for line in lines[1:])


def _as_array(value, key):
    if isinstance(value, Tensor):
        return value._data
    if isinstance(value, ARRAY_TYPES):
        return value
    if isinstance(value, (np.generic, int, float, bool)):
        return np.asarray(value)
    raise TypeError(f"load_state_dict: value for '{key}' must be a Tensor, a NumPy array or a "
                    f"number, got {type(value).__name__}")


def _fmt(keys):
    return ", ".join(f'"{k}"' for k in keys)


def load_state_dict(module, state_dict, strict=True, assign=False):
    if not hasattr(state_dict, "keys") or not hasattr(state_dict, "__getitem__"):
        raise TypeError(f"load_state_dict: expected a mapping of names to tensors, got "
                        f"{type(state_dict).__name__}")
    sd = dict(state_dict)  # a shallow copy: modules may fill default entries into it
    targets = []  # (key, owner tensor)
    for prefix, mod in module.named_modules():
        dot = prefix + "." if prefix else ""
        mod._load_fill_defaults(sd, dot)
        for name, p in mod._parameters.items():
            if p is not None:
                targets.append((dot + name, p))
        for name, b in mod._buffers.items():
            if b is not None and name not in mod._non_persistent_buffers_set:
                targets.append((dot + name, b))

    expected = {k for k, _ in targets}
    missing = [k for k, _ in targets if k not in sd]
    unexpected = [k for k in state_dict.keys() if k not in expected]
    mismatch, copies = [], []
    for key, t in targets:
        if key not in sd:
            continue
        arr = _as_array(sd[key], key)
        if tuple(arr.shape) != tuple(t._data.shape):
            mismatch.append(f"size mismatch for {key}: copying a param with shape "
                            f"{tuple(arr.shape)}, the shape in current model is "
                            f"{tuple(t.data.shape)}.")
            continue
        copies.append((t, arr))

    errors = []
    if strict and missing:
        errors.append(f"Missing key(s) in state_dict: {_fmt(missing)}.")
    if strict and unexpected:
        errors.append(f"Unexpected key(s) in state_dict: {_fmt(unexpected)}.")
    errors.extend(mismatch)
    if errors:
        msg = (f"Error(s) in loading state_dict for {type(module).__name__}:\n\t"
               + "\n\t".join(errors))
        raise (ShapeError if mismatch else RuntimeError)(msg)

    with _config.no_grad():
        for t, arr in copies:
            if t.device.type == "cpu":
                arr = backend.to_numpy(arr)
            new = backend.asarray_on(arr, t._data.dtype, t.device)
            if assign:
                t._data = new.copy() if new is arr else new
            else:
                t._data[...] = new
    return IncompatibleKeys(missing, unexpected)
