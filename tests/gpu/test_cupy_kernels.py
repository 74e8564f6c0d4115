"""axonal/kernels/_cupy.py: off by default (never run on a GPU), compiled lazily through backend,
and every wrapper passes its kernel as many arguments as the kernel's source declares (checked with
recording stand-ins for ElementwiseKernel / ReductionKernel on the fake device)."""
import numpy as np
import pytest

from axonal.kernels import _cupy as ck
from fake_cupy import FakeDeviceArray, fake_device


@pytest.fixture
def switched_on():
    saved = ck._ENABLED[0]
    ck.enable(True)
    ck._COMPILED.clear()
    yield
    ck.enable(saved)
    ck._COMPILED.clear()


def _params(spec):
    return [p for p in spec.split(",") if p.strip()]


class _Recorder:
    def __init__(self, in_params, out_params, *rest, name=""):
        self.n_in, self.n_out, self.name, self.calls = len(_params(in_params)), \
            len(_params(out_params)), name, []

    def __call__(self, *args, axis=None, keepdims=False):
        assert len(args) in (self.n_in, self.n_in + self.n_out), \
            f"{self.name}: {len(args)} arguments for {self.n_in} in + {self.n_out} out"
        self.calls.append(args)
        first = next(a for a in args if isinstance(a, FakeDeviceArray))
        if axis is not None:
            return first.sum(axis=axis, keepdims=keepdims)
        return first.copy()


def test_off_by_default_and_off_without_cupy():
    assert not ck.enabled()
    with pytest.raises(RuntimeError, match="off"):
        ck.kernel("relu")


def test_compiling_goes_through_the_device_module(switched_on):
    with fake_device():
        assert ck.enabled()
        with pytest.raises(RuntimeError, match="cannot compile"):
            ck.kernel("relu")  # the fake device cannot compile: the lazy path reached it


def test_every_wrapper_matches_its_kernel_signature(switched_on):
    with fake_device() as cp:
        cp.ElementwiseKernel = cp.ReductionKernel = _Recorder
        x = cp.asarray(np.linspace(-2, 2, 12).reshape(3, 4).astype(np.float32))
        for name in ("relu", "sigmoid", "tanh", "silu", "gelu"):
            assert ck.activation(name, x).shape == x.shape
            assert ck.activation_backward(name, x, x).shape == x.shape
        for log in (False, True):
            assert ck.softmax(x, log=log).shape == x.shape
            assert ck.softmax_backward(x, x, log=log).shape == x.shape
        p, g, b, m, v = (x.copy() for _ in range(5))
        ck.sgd_step(p, g, b, 0.1, momentum=0.9, nesterov=True, first=True)
        ck.adam_step(p, g, m, v, step=1, lr=1e-3, weight_decay=1e-2, decoupled=True)
        assert set(ck._COMPILED) == set(ck._ELEMENTWISE) | set(ck._REDUCTION)
