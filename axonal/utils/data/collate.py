"""Turn a list of samples into a batch: `default_collate` and `default_convert`.

The structure of the first sample decides the structure of the batch (PyTorch's rule):

| sample element              | batch element                                                    |
| --------------------------- | ---------------------------------------------------------------- |
| Tensor of shape S           | Tensor (B, *S) (stacked)                                         |
| numpy array of shape S      | Tensor (B, *S), dtype kept                                       |
| numpy scalar                | Tensor (B,), dtype kept                                          |
| bool / int / float          | Tensor (B,) of bool / int64 / default float dtype (float32)      |
| str / bytes                 | the strings themselves, as a sequence (not a Tensor)             |
| dict (Mapping)              | same mapping type, each key collated                             |
| namedtuple                  | same namedtuple, each field collated                             |
| tuple / list                | a *list* with each position collated (PyTorch returns lists too) |

One deliberate difference from PyTorch: Python floats become the default float dtype (float32), not
float64, so a float target does not silently promote a float32 loss to float64.
"""
import collections.abc
import copy
import numbers

import numpy as np

from . import _bridge

_ERR = "default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; found {}"


def _type_name(x) -> str:
    t = type(x)
    return t.__name__ if t.__module__ == "builtins" else f"{t.__module__}.{t.__name__}"


def _check_same_kind(batch, ok, what: str) -> None:
    """Samples must agree with the first one; name the first that does not."""
    for i, b in enumerate(batch):
        if not ok(b):
            raise TypeError(f"default_collate: element 0 of the batch is {what} but element {i} is "
                            f"{_type_name(b)}; every sample must have the same structure")


def _check_same_shape(shapes) -> None:
    first = tuple(shapes[0])
    for i, s in enumerate(shapes):
        if tuple(s) != first:
            raise RuntimeError(f"default_collate: stack expects each tensor to be equal size, but got "
                               f"{first} at entry 0 and {tuple(s)} at entry {i}")


def _string_or_object(dtype) -> bool:
    return dtype.kind in "SaUO"


def _collate_tensors(batch):
    _check_same_kind(batch, _bridge.is_tensor, "a Tensor")
    _check_same_shape([t.shape for t in batch])
    return _bridge.stack_tensors(batch)


def _collate_arrays(batch):
    _check_same_kind(batch, lambda b: isinstance(b, np.ndarray), "a numpy.ndarray")
    if _string_or_object(batch[0].dtype):
        raise TypeError(_ERR.format(f"numpy array of dtype {batch[0].dtype}"))
    _check_same_shape([a.shape for a in batch])
    return _bridge.wrap(np.stack(batch, 0))


def _collate_numbers(batch):
    elem = batch[0]
    _check_same_kind(batch, lambda b: isinstance(b, (numbers.Number, np.generic))
                     and not isinstance(b, str), "a number")
    if isinstance(elem, np.generic):  # numpy scalars keep their dtype (torch.as_tensor)
        return _bridge.wrap(np.asarray(batch))
    if isinstance(elem, bool):
        return _bridge.wrap(np.asarray(batch, dtype=np.bool_))
    arr = np.asarray(batch)
    if isinstance(elem, numbers.Integral) and arr.dtype.kind in "iub":
        return _bridge.wrap(arr.astype(np.int64, copy=False))
    if arr.dtype.kind == "c":
        raise TypeError(_ERR.format("complex numbers (axonal has no complex dtype)"))
    # floats, or ints mixed with floats: the default float dtype, like torch.tensor([1, 2.5])
    return _bridge.wrap(arr.astype(_bridge.default_float(), copy=False))


def _collate_mapping(batch, collate):
    elem = batch[0]
    _check_same_kind(batch, lambda b: isinstance(b, collections.abc.Mapping), "a mapping")
    out = {}
    for key in elem:
        try:
            values = [d[key] for d in batch]
        except KeyError:
            missing = next(i for i, d in enumerate(batch) if key not in d)
            raise KeyError(f"default_collate: key {key!r} of element 0 is missing from element "
                           f"{missing}") from None
        out[key] = collate(values)
    try:
        if isinstance(elem, collections.abc.MutableMapping):
            clone = copy.copy(elem)  # keeps the mapping's own type and extra attributes
            clone.update(out)
            return clone
        return type(elem)(out)
    except TypeError:  # a mapping type that cannot be copied or rebuilt: a plain dict
        return out


def _collate_sequence(batch, collate):
    elem = batch[0]
    _check_same_kind(batch, lambda b: isinstance(b, collections.abc.Sequence) and not isinstance(b, str),
                     f"a {type(elem).__name__}")
    sizes = [len(b) for b in batch]
    if len(set(sizes)) > 1:
        raise RuntimeError(f"each element in list of batch should be of equal size; got lengths {sizes}")
    columns = [collate(col) for col in zip(*batch)]  # tuples, as torch passes them
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # namedtuple: keep the field names
        return type(elem)(*columns)
    return columns


def default_collate(batch):
    """Collate a list of samples into a batch (see the module docstring for the type table).

    Errors name the element that breaks the pattern: a shape mismatch reports both shapes and the
    entry, a type mismatch reports both types.
    """
    if not isinstance(batch, collections.abc.Sequence) or isinstance(batch, (str, bytes)):
        batch = list(batch)
    if len(batch) == 0:
        raise ValueError("default_collate: got an empty batch")
    elem = batch[0]
    if _bridge.is_tensor(elem):
        return _collate_tensors(batch)
    if isinstance(elem, np.ndarray):
        return _collate_arrays(batch)
    if isinstance(elem, np.generic) and _string_or_object(elem.dtype):
        if isinstance(elem, (np.str_, np.bytes_)):
            return batch
        raise TypeError(_ERR.format(_type_name(elem)))
    if isinstance(elem, (numbers.Number, np.generic)):
        return _collate_numbers(batch)
    if isinstance(elem, (str, bytes)):
        return batch
    if isinstance(elem, collections.abc.Mapping):
        return _collate_mapping(batch, default_collate)
    if isinstance(elem, collections.abc.Sequence):
        return _collate_sequence(batch, default_collate)
    raise TypeError(_ERR.format(_type_name(elem)))


def default_convert(data):
    """Convert NumPy arrays and scalars inside `data` to Tensors; leave everything else as it is.

    Used when automatic batching is off (`batch_size=None`): each sample passes through this instead of
    `default_collate`. Tuples come back as lists, as in PyTorch.
    """
    if _bridge.is_tensor(data):
        return data
    if isinstance(data, np.ndarray):
        return data if _string_or_object(data.dtype) else _bridge.wrap(data)
    if isinstance(data, np.generic):
        return data if _string_or_object(data.dtype) else _bridge.wrap(np.asarray(data))
    if isinstance(data, (str, bytes)):
        return data
    if isinstance(data, collections.abc.Mapping):
        converted = {k: default_convert(v) for k, v in data.items()}
        try:
            if isinstance(data, collections.abc.MutableMapping):
                clone = copy.copy(data)
                clone.update(converted)
                return clone
            return type(data)(converted)
        except TypeError:
            return converted
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, collections.abc.Sequence):
        converted = [default_convert(d) for d in data]
        try:
            if isinstance(data, collections.abc.MutableSequence):
                clone = copy.copy(data)
                clone[:] = converted
                return clone
            return type(data)(converted)
        except TypeError:
            return converted
    return data
