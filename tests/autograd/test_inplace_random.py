"""Random in-place fills (normal_, uniform_, bernoulli_, exponential_, random_, cauchy_,
log_normal_, geometric_): PyTorch's shapes, dtypes, versions and supports (the same program on both
libraries), the distributions' statistics (Axonal alone: the streams differ from PyTorch's),
seeding, views and the graph (a fill cuts the gradient to what it overwrote).
"""
import math

import numpy as np
import pytest
from inplace_harness import T, same, under_test

N = 20000

# name, call(lib, x), support check (array -> bool), dtypes PyTorch accepts
FILLS = [
    ("normal_", lambda lib, x: x.normal_(2.0, 3.0), None),
    ("uniform_", lambda lib, x: x.uniform_(-1.0, 2.0), lambda a: a.min() >= -1 and a.max() <= 2),
    ("bernoulli_", lambda lib, x: x.bernoulli_(0.3), lambda a: set(np.unique(a)) <= {0, 1}),
    ("bernoulli_tensor_p", lambda lib, x: x.bernoulli_(T(lib, np.full(x.shape, 0.8))),
     lambda a: set(np.unique(a)) <= {0, 1}),
    ("exponential_", lambda lib, x: x.exponential_(2.0), lambda a: a.min() >= 0),
    ("random_range", lambda lib, x: x.random_(0, 5),
     lambda a: set(np.unique(a)) <= {0, 1, 2, 3, 4}),
    ("random_to", lambda lib, x: x.random_(7), lambda a: a.min() >= 0 and a.max() < 7),
    ("random_negative_from", lambda lib, x: x.random_(-3, 3),
     lambda a: a.min() >= -3 and a.max() < 3),
    ("cauchy_", lambda lib, x: x.cauchy_(1.0, 0.5), None),
    ("log_normal_", lambda lib, x: x.log_normal_(0.5, 0.25), lambda a: a.min() > 0),
    ("geometric_", lambda lib, x: x.geometric_(0.3),
     lambda a: a.min() >= 1 and np.all(a == np.round(a))),
]


def _ids(rows):
    return [r[0] for r in rows]


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64], ids=str)
@pytest.mark.parametrize("name,call,support", FILLS, ids=_ids(FILLS))
def test_fill_shape_dtype_version_support(name, call, support, dtype):
    def program(lib):
        lib.manual_seed(0)
        x = T(lib, np.zeros((50, 40)), dtype=dtype)
        ptr = x.data_ptr()
        r = call(lib, x)
        a = x.numpy().astype(np.float64)
        return (r is x, x.dtype, tuple(x.shape), x._version, x.data_ptr() == ptr,
                bool(support(a)) if support else bool(np.isfinite(a).all()))

    same(program, message=False)  # PyTorch refuses some fills of int tensors: Axonal must too


@pytest.mark.parametrize("name,call,support", FILLS, ids=_ids(FILLS))
def test_fill_of_a_view_writes_only_the_view(name, call, support):
    def program(lib):
        x = T(lib, np.full((6, 8), -100.0))
        v = x.t()[::2]  # a strided, transposed view
        call(lib, v)
        untouched = x.clone()
        untouched.t()[::2] = -100.0
        return (bool((untouched == -100).all()), bool((x.t()[::2] != -100).any()),
                x._version, v._version)

    same(program)


@pytest.mark.parametrize("name,call,support", FILLS, ids=_ids(FILLS))
def test_fill_in_the_graph_cuts_the_gradient(name, call, support):
    """A fill overwrites x[1:] with values independent of the inputs: their gradient is zero
    there; x[0] keeps its path to the leaf."""
    def program(lib):
        leaf = T(lib, np.ones((3, 4)), requires_grad=True)
        x = leaf * 3
        call(lib, x[1:])
        (x * 2).sum().backward()
        return leaf.grad, x.requires_grad, x._version

    same(program, message=False)


def _draw(call, dtype=np.float64, seed=0):
    lib = under_test()  # Axonal (PyTorch under INPLACE_SELFCHECK=1: a check of the bounds)
    lib.manual_seed(seed)
    x = lib.zeros(N, dtype=lib.float64 if dtype == np.float64 else lib.float32)
    call(lib, x)
    return x.numpy().astype(np.float64)


# name -> (expected mean, expected std) of the fill in FILLS (None: a different check below)
MOMENTS = {
    "normal_": (2.0, 3.0), "uniform_": (0.5, 3 / math.sqrt(12)),
    "bernoulli_": (0.3, math.sqrt(0.21)),
    "bernoulli_tensor_p": (0.8, math.sqrt(0.16)), "exponential_": (0.5, 0.5),
    "random_range": (2.0, math.sqrt(2.0)), "random_to": (3.0, 2.0),
    "random_negative_from": (-0.5, math.sqrt(35 / 12)),
    "log_normal_": (math.exp(0.5 + 0.25 ** 2 / 2),
                    math.sqrt((math.exp(0.25 ** 2) - 1) * math.exp(1 + 0.25 ** 2))),
    "geometric_": (1 / 0.3, math.sqrt(0.7) / 0.3),
}


@pytest.mark.parametrize("name,call,support", FILLS, ids=_ids(FILLS))
def test_fill_statistics(name, call, support):
    a = _draw(call)
    if support is not None:
        assert support(a), f"{name}: values outside the support"
    if name == "cauchy_":  # no moments: median = loc, interquartile range = 2 * scale
        q1, med, q3 = np.percentile(a, [25, 50, 75])
        assert abs(med - 1.0) < 0.05 and abs((q3 - q1) - 1.0) < 0.08, (q1, med, q3)
        return
    mean, std = MOMENTS[name]
    # 6 standard errors of the mean; the sample std within 5 %
    assert abs(a.mean() - mean) < 6 * std / math.sqrt(N), f"{name}: mean {a.mean()} vs {mean}"
    assert abs(a.std() - std) < 0.05 * std, f"{name}: std {a.std()} vs {std}"
    if name.startswith("random"):  # every value of the range is drawn, uniformly
        values, counts = np.unique(a, return_counts=True)
        assert np.all(np.abs(counts / N - 1 / len(values)) < 0.02), dict(zip(values, counts))
        assert len(values) == {"random_range": 5, "random_to": 7, "random_negative_from": 6}[name]


@pytest.mark.parametrize("name,call,support", FILLS, ids=_ids(FILLS))
def test_fill_is_seeded(name, call, support):
    a, b, c = _draw(call, seed=3), _draw(call, seed=3), _draw(call, seed=4)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c), f"{name}: seeds 3 and 4 give the same values"


def test_random_fills_of_float32_keep_float32_precision():
    a = _draw(lambda lib, x: x.uniform_(0, 1), dtype=np.float32)
    assert a.min() >= 0 and a.max() <= 1
    assert len(np.unique(a)) > N * 0.9  # a continuous fill, not a coarse grid


def test_random_on_float_defaults_to_the_mantissa_range():
    """random_() with no bounds: integers in [0, 2**24] for float32, [0, 2**53] for float64."""
    def program(lib):
        lib.manual_seed(0)
        x32 = T(lib, np.zeros(4000), dtype=np.float32).random_()
        x64 = T(lib, np.zeros(4000)).random_()
        a32, a64 = x32.numpy(), x64.numpy()
        return (bool(np.all(a32 == np.round(a32))), bool(a32.max() <= 2 ** 24),
                bool(a32.max() > 2 ** 20), bool(a64.max() <= 2 ** 53), bool(a64.max() > 2 ** 48))

    same(program)


def test_bernoulli_p_out_of_range_raises():
    def program(lib):
        T(lib, np.zeros(4)).bernoulli_(1.5)

    same(program, message=False, torch_raises=True)
