"""The op registry on the strict fake device (tests/gpu/fake_cupy.py): every case of
tests/op_specs.py computed on "cuda" (device arrays that refuse implicit host conversion and NumPy
functions) against the same case on the CPU, forward and backward (float32, with a random upstream
gradient). A failure here is a NumPy-only construction on a device path, or a host/device mix.

Cases that cannot run on the device are listed in `DEVICE_XFAIL` with the reason; the run reports
them (pytest -rxs) and `test_device_exceptions_stay_few` keeps them under 5% of the registry."""
import numpy as np
import pytest

import axonal
from axonal import Tensor
from fake_cupy import fake_device
from op_specs import SPECS, all_cases, as_list, ax_inputs

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")

CASES = all_cases()

# op name -> why it stays on the host (each is an xfail, reported by the run)
DEVICE_XFAIL = {
}


def _to_device(v):
    if isinstance(v, Tensor):
        return v.detach().to("cuda").requires_grad_(v.requires_grad)
    if isinstance(v, (list, tuple)):
        return type(v)(_to_device(x) for x in v)
    if isinstance(v, dict):
        return {k: _to_device(x) for k, x in v.items()}
    return v


def _host(t):
    assert t.is_cuda and t.device.type == "cuda", f"result on {t.device}, expected cuda"
    return t.detach().cpu().numpy()


def _close(actual, expected, spec, what):
    expected = np.asarray(expected)
    assert actual.dtype == expected.dtype, f"{what}: dtype {actual.dtype} != {expected.dtype}"
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    if expected.dtype.kind in "fc":
        np.testing.assert_allclose(actual, expected, rtol=max(spec.th_rtol, 1e-5),
                                   atol=max(spec.th_atol, 1e-6), equal_nan=True, err_msg=what)
    else:
        np.testing.assert_array_equal(actual, expected, err_msg=what)


def _params():
    out = []
    for s, c in CASES:
        marks = [pytest.mark.xfail(reason=DEVICE_XFAIL[s.name], strict=True)] \
            if s.name in DEVICE_XFAIL else []
        out.append(pytest.param(s, c, id=f"{s.name}-{c.label}", marks=marks))
    return out


@pytest.mark.parametrize("spec,case", _params())
def test_op_on_fake_device(spec, case):
    args, diff, kwargs = ax_inputs(spec, case, np.float32)
    outs = as_list(spec.ax(*args, **kwargs))
    rng = np.random.default_rng(0)
    ups = [rng.standard_normal(tuple(o.shape)).astype(o._data.dtype) if o.requires_grad else None
           for o in outs]
    grads = []
    if spec.differentiable and diff and any(u is not None for u in ups):
        pairs = [(o, axonal.from_numpy(u)) for o, u in zip(outs, ups) if u is not None]
        grads = axonal.autograd.grad([p[0] for p in pairs], diff, [p[1] for p in pairs],
                                     allow_unused=True)
    with fake_device():
        d_args, d_kwargs = _to_device(args), _to_device(kwargs)
        idx = spec.diff_args(case)
        d_diff = [d_args[i] for i in idx] if diff else []
        d_outs = as_list(spec.ax(*d_args, **d_kwargs))
        assert len(d_outs) == len(outs)
        for k, (d, o) in enumerate(zip(d_outs, outs)):
            _close(_host(d), o.detach().numpy(), spec, f"output {k}")
            assert d.requires_grad == o.requires_grad, f"output {k}: requires_grad"
        if grads:
            pairs = [(d, axonal.from_numpy(u).to("cuda")) for d, u in zip(d_outs, ups)
                     if u is not None]
            d_grads = axonal.autograd.grad([p[0] for p in pairs], d_diff, [p[1] for p in pairs],
                                           allow_unused=True)
            for k, (dg, g) in enumerate(zip(d_grads, grads)):
                assert (dg is None) == (g is None), f"grad {k}: None on one device only"
                if g is not None:
                    _close(_host(dg), g.numpy(), spec, f"grad of input {k}")


def test_device_exceptions_stay_few():
    n_cases = sum(1 for s, _ in CASES if s.name in DEVICE_XFAIL)
    assert n_cases <= 0.05 * len(CASES), f"{n_cases} of {len(CASES)} cases stay off the device"
    unknown = set(DEVICE_XFAIL) - {s.name for s in SPECS}
    assert not unknown, f"DEVICE_XFAIL names no spec: {sorted(unknown)}"


def test_fake_device_is_strict():
    with fake_device() as cp:
        x = axonal.ones(3).to("cuda")
        assert x.is_cuda and x.device == axonal.device("cuda:0") and isinstance(x._data, cp.ndarray)
        with pytest.raises(TypeError):
            np.asarray(x._data)
        with pytest.raises(TypeError):
            np.sum(x._data)
        with pytest.raises(TypeError):
            float(x._data.sum())
        with pytest.raises(TypeError):
            x._data + np.ones(3)
        assert x.sum().item() == 3.0 and x.cpu().numpy().tolist() == [1.0, 1.0, 1.0]
    assert not axonal.ones(1).is_cuda
