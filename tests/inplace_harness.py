"""One program, two libraries: the harness of the in-place / view tests.

A test writes its program once, as a function of the library module `lib` (`torch` or `axonal`),
and `same(program)` runs it on both and compares what comes back:

* if PyTorch raises, Axonal must raise an exception of the same type (Axonal's errors subclass
  PyTorch's `RuntimeError` / `TypeError` / ...), and - unless `message=False` - with the same
  message once both are normalised (`normalise`);
* if PyTorch returns, Axonal must return the same structure: tensors with the same dtype, shape and
  values (within tolerances), and the same Python scalars (versions, `is` checks, shapes...).

Programs build their inputs from NumPy arrays captured by the closure (`T(lib, array)`), so both
libraries see the same numbers. PyTorch is imported only when a test runs.

`INPLACE_SELFCHECK=1 pytest tests/autograd/test_inplace_*.py ...` runs PyTorch in Axonal's place:
every test must then pass (the programs run, compare equal to themselves, the statistical bounds
hold for PyTorch's fills), and each exception PyTorch raises is printed to stderr - the way to
review what a new test asks of Axonal before Axonal is run.
"""
import os
import re
import sys

import numpy as np

import axonal

_TENSOR_TYPES = {"Float": "float32", "Double": "float64", "Half": "float16", "BFloat16": "bfloat16",
                 "Long": "int64", "Int": "int32", "Short": "int16", "Char": "int8", "Byte": "uint8",
                 "Bool": "bool"}


def torch_mod():
    import torch

    return torch


def libs():
    return (torch_mod(), axonal)


def under_test():
    """The library under test: Axonal, or PyTorch itself under INPLACE_SELFCHECK=1 (a check of
    the test programs: they must then pass against themselves)."""
    return torch_mod() if os.environ.get("INPLACE_SELFCHECK") == "1" else axonal


def is_torch(lib):
    return lib.__name__ == "torch"


def T(lib, array, requires_grad=False, dtype=None):
    """A tensor of `lib` holding a copy of `array` (float64 arrays stay float64 unless `dtype`)."""
    a = np.array(array, copy=True, order="C")
    if dtype is not None:
        a = a.astype(dtype)
    t = lib.tensor(a)
    if requires_grad:
        t.requires_grad_(True)
    return t


# -- messages --------------------------------------------------------------------------------------

def normalise(msg):
    """A library-neutral form of an autograd error message.

    Kept: the sentence, shapes, versions, output indices and the graph node's op name. Mapped:
    `[torch.FloatTensor [3, 4]]` and `[axonal.FloatTensor [3, 4]]` -> `[float32 [3, 4]]`; a node
    name `ReluBackward0` / `Relu` / `<ReluBackward>` -> `Relu` and `PowBackward1` -> `Pow1`
    (PyTorch 2.13 prints the short form in this message, older versions the long one);
    `torch.` / `axonal.` -> `lib.`. Dropped: the "Hint: ..." tail (advice naming each library's
    debugging switch) and a leading "op_name: " prefix that names the failing call.
    """
    msg = str(msg)
    if msg.startswith(("'", '"')) and msg.endswith(("'", '"')):  # KeyError-style quoting
        msg = msg[1:-1]
    msg = msg.split(" Hint:")[0].split("\nHint:")[0]
    msg = re.sub(r"\b(?:torch|axonal)\.(?:cuda\.)?(\w+?)Tensor\b",
                 lambda m: _TENSOR_TYPES.get(m.group(1), m.group(1)), msg)
    msg = re.sub(r"\bCPU(\w+?)Type\b", lambda m: _TENSOR_TYPES.get(m.group(1), m.group(1)),
                 msg)  # PyTorch names bool tensors "[CPUBoolType [4]]" in this message
    msg = re.sub(r"\b(?:torch|axonal)::autograd::", "", msg)  # "torch::autograd::CopySlices"
    # PyTorch 2.13 prints node names short: ReluBackward0 -> "Relu", PowBackward1 -> "Pow1"
    msg = re.sub(r"<?\b([A-Z]\w*?)Backward0?>?(?!\w)", r"\1", msg)
    msg = re.sub(r"<?\b([A-Z]\w*?)Backward(\d+)>?", r"\1\2", msg)
    msg = re.sub(r"\b(?:torch|axonal)\.", "lib.", msg)
    msg = re.sub(r"^[\w.]+\(?\)?: (?=[a-z])", "", msg)  # "add_: a leaf ..." -> "a leaf ..."
    return " ".join(msg.split()).rstrip(".")


# -- running -------------------------------------------------------------------------------------

class Raised:
    """What a program raised: kept as a value so that two runs can be compared."""

    def __init__(self, exc):
        self.exc = exc
        self.type = type(exc)
        self.message = normalise(exc)

    def __repr__(self):
        return f"Raised({self.type.__name__}: {self.message})"


def run(program, lib):
    try:
        return program(lib)
    except Exception as exc:  # noqa: BLE001 - the exception is the result under test
        return Raised(exc)


def to_plain(x):
    """Tensors -> ("tensor", dtype name, shape, float64/bool array); containers recursively."""
    if isinstance(x, (list, tuple)):
        return type(x)(to_plain(v) for v in x)
    if isinstance(x, dict):
        return {k: to_plain(v) for k, v in x.items()}
    if isinstance(x, axonal.Tensor):
        arr = np.array(x._data, copy=True)
        return ("tensor", str(x.dtype).split(".")[-1], tuple(arr.shape), arr)
    if type(x).__module__.startswith("torch") and hasattr(x, "detach") and hasattr(x, "numpy"):
        arr = x.detach().cpu().numpy().copy()
        return ("tensor", str(x.dtype).split(".")[-1], tuple(arr.shape), arr)
    if type(x).__name__ == "Size":
        return tuple(x)
    if type(x).__name__ == "dtype":
        return str(x).split(".")[-1]
    return x


def compare(expected, actual, rtol=1e-6, atol=1e-7, path="result"):
    """Assert that `actual` (Axonal, plain) matches `expected` (PyTorch, plain)."""
    if isinstance(expected, tuple) and len(expected) == 4 and expected[0] == "tensor":
        assert isinstance(actual, tuple) and len(actual) == 4 and actual[0] == "tensor", \
            f"{path}: torch gives a tensor, axonal gives {actual!r}"
        assert actual[1] == expected[1], f"{path}: dtype {actual[1]}, torch {expected[1]}"
        assert actual[2] == expected[2], f"{path}: shape {actual[2]}, torch {expected[2]}"
        e, a = expected[3], actual[3]
        if e.dtype.kind in "fc":
            np.testing.assert_allclose(a.astype(np.float64), e.astype(np.float64), rtol=rtol,
                                       atol=atol, equal_nan=True, err_msg=path)
        else:
            np.testing.assert_array_equal(a, e, err_msg=path)
        return
    if isinstance(expected, (list, tuple)):
        assert isinstance(actual, (list, tuple)) and len(actual) == len(expected), \
            f"{path}: torch gives {len(expected)} items, axonal gives {actual!r}"
        for k, (e, a) in enumerate(zip(expected, actual)):
            compare(e, a, rtol, atol, f"{path}[{k}]")
        return
    if isinstance(expected, dict):
        assert isinstance(actual, dict) and set(actual) == set(expected), \
            f"{path}: keys {sorted(actual) if isinstance(actual, dict) else actual!r}, " \
            f"torch {sorted(expected)}"
        for k in expected:
            compare(expected[k], actual[k], rtol, atol, f"{path}[{k!r}]")
        return
    if isinstance(expected, float) and isinstance(actual, (int, float)):
        assert np.isclose(actual, expected, rtol=rtol, atol=atol, equal_nan=True), \
            f"{path}: {actual!r}, torch {expected!r}"
        return
    assert actual == expected, f"{path}: {actual!r}, torch {expected!r}"


def check_raised(expected, actual, message=True, where=""):
    assert isinstance(actual, Raised), \
        f"{where}torch raises {expected.type.__name__}: {expected.message!r}; axonal does not " \
        f"(returns {actual!r:.300})"
    assert issubclass(actual.type, expected.type), \
        f"{where}torch raises {expected.type.__name__}, axonal {actual.type.__name__}: " \
        f"{actual.message!r}"
    if message:
        assert actual.message == expected.message, \
            f"{where}messages differ\n  axonal: {actual.message!r}\n  torch:  {expected.message!r}"


def same(program, rtol=1e-6, atol=1e-7, message=True, torch_raises=None):
    """Run `program(lib)` on PyTorch and on Axonal and require the same outcome (see the module
    docstring). `torch_raises=True/False` also pins what PyTorch does, so a test cannot silently
    turn into a different one when PyTorch changes. Returns PyTorch's plain result."""
    expected = run(program, torch_mod())
    if torch_raises is not None:
        assert isinstance(expected, Raised) == torch_raises, \
            f"the oracle changed: torch {'does not raise' if torch_raises else 'raises'}: " \
            f"{expected!r:.400}"
    # INPLACE_SELFCHECK=1 runs PyTorch on both sides: a check of the test programs themselves
    # (they run, compare equal to themselves, and every PyTorch error is logged to stderr)
    selfcheck = os.environ.get("INPLACE_SELFCHECK") == "1"
    if selfcheck and isinstance(expected, Raised):
        print(f"SELFCHECK torch raises: {expected!r:.300}", file=sys.stderr)
    actual = run(program, under_test())
    if isinstance(expected, Raised):
        check_raised(expected, actual, message)
        return expected
    if isinstance(actual, Raised):
        raise AssertionError(f"torch runs the program, axonal raises {actual.type.__name__}: "
                             f"{actual.message}") from actual.exc
    expected_plain = to_plain(expected)
    compare(expected_plain, to_plain(actual), rtol, atol)
    return expected_plain


def grads(*tensors):
    """The `.grad` of each tensor (None where there is none)."""
    return [t.grad for t in tensors]


def fd_check(loss_of, *arrays, eps=1e-6, rtol=1e-5, atol=1e-7):
    """Axonal's gradient of `loss_of(lib, *leaves)` (a scalar tensor) against central finite
    differences in float64, for every leaf (built from `arrays`, float64)."""
    lib = under_test()
    leaves = [T(lib, a, requires_grad=True, dtype=np.float64) for a in arrays]
    loss_of(lib, *leaves).backward()
    for k, a in enumerate(arrays):
        a = np.array(a, dtype=np.float64)
        num = np.zeros_like(a)
        for i in np.ndindex(a.shape):
            vals = []
            for sign in (1, -1):
                b = a.copy()
                b[i] += sign * eps
                args = [T(lib, b if j == k else arrays[j], dtype=np.float64)
                        for j in range(len(arrays))]
                with lib.no_grad():
                    vals.append(float(loss_of(lib, *args).item()))
            num[i] = (vals[0] - vals[1]) / (2 * eps)
        got = leaves[k].grad
        if got is None:  # an unused leaf: PyTorch leaves .grad None
            assert not np.any(num), f"leaf {k}: no gradient, finite differences {num}"
            continue
        np.testing.assert_allclose(got.numpy(), num, rtol=rtol, atol=atol,
                                   err_msg=f"gradient of leaf {k} vs finite differences")
