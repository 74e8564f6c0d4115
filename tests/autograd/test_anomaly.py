"""Anomaly mode against PyTorch 2.13: the NaN error's text, the warning that shows the forward call
of the failing node, the switches (context manager, decorator, set_detect_anomaly) and the default
(off)."""
import re
import sys
import warnings

import pytest

import axonal
from axonal.autograd import anomaly_mode
torch = pytest.importorskip("torch")  # the oracle; CI's fresh-clone venv has none


def _forward_line():
    return sys._getframe(1).f_lineno


def _sqrt_nan(m):
    """Forward at a known line; backward of sqrt(-1) is NaN. Returns (error text, warnings, line)."""
    x = m.tensor([-1.0, 4.0], requires_grad=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with m.autograd.detect_anomaly():
            y = x.sqrt(); line = _forward_line()  # the forward's own line
            with pytest.raises(RuntimeError) as err:
                y.sum().backward()
    return str(err.value), [str(w.message) for w in caught], line


def test_nan_error_and_forward_traceback_match_torch():
    ours, theirs = _sqrt_nan(axonal), _sqrt_nan(torch)
    assert ours[0] == theirs[0] == "Function 'SqrtBackward0' returned nan values in its 0th output."
    for msgs, line in ((ours[1], ours[2]), (theirs[1], theirs[2])):
        assert msgs[0].startswith("Anomaly Detection has been enabled.")
        detected = [w for w in msgs if w.startswith("Error detected in SqrtBackward0.")]
        assert len(detected) == 1
        assert "Traceback of forward call that caused the error:" in detected[0]
        assert re.search(rf'test_anomaly.py", line {line}, in _sqrt_nan', detected[0])
        assert "y = x.sqrt()" in detected[0]
    # the forward stack ends at the user's line: no frame of Axonal's op machinery
    assert "axonal/ops" not in ours[1][-1] and "autograd/function.py" not in ours[1][-1]


def test_nan_index_is_the_input_position():
    def run(m):
        x = m.tensor([0.0, 2.0], requires_grad=True)
        z = m.tensor([0.0, 1.0], requires_grad=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with m.autograd.detect_anomaly():
                out = x / z  # d/dx = 1/z: inf, not nan; d/dz = -x/z**2: 0/0 = nan
                with pytest.raises(RuntimeError) as err:
                    out.backward(m.ones(2))
        return str(err.value)

    assert run(axonal) == run(torch) == "Function 'DivBackward0' returned nan values in its 1th output."


def test_off_by_default_and_check_nan_false():
    for m in (axonal, torch):
        assert not m.is_anomaly_enabled() if m is torch else not anomaly_mode.is_anomaly_enabled()
        x = m.tensor([-1.0], requires_grad=True)
        x.sqrt().sum().backward()  # NaN gradient, no error
        assert "traceback_" not in (x * 2).grad_fn.metadata
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with m.autograd.detect_anomaly(check_nan=False):
                y = x.sqrt()
                assert "traceback_" in y.grad_fn.metadata
                y.sum().backward()  # still no error


def test_set_detect_anomaly_call_and_context():
    for m, enabled in ((axonal, anomaly_mode.is_anomaly_enabled), (torch, torch.is_anomaly_enabled)):
        with m.autograd.set_detect_anomaly(True):
            assert enabled()
            with m.autograd.set_detect_anomaly(False):
                assert not enabled()
            assert enabled()
        assert not enabled()
        m.autograd.set_detect_anomaly(True)
        try:
            assert enabled()
        finally:
            m.autograd.set_detect_anomaly(False)
        assert not enabled()


def test_decorator():  # an Axonal extra: torch 2.13's detect_anomaly is no decorator
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")

        @axonal.autograd.detect_anomaly()
        def inside():
            return anomaly_mode.is_anomaly_enabled()

    assert inside() and not anomaly_mode.is_anomaly_enabled()


class Fails(axonal.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return x._data * 2

    @staticmethod
    def backward(ctx, g):
        raise ValueError("bad backward")


class TFails(torch.autograd.Function):
    forward = staticmethod(lambda ctx, x: x * 2)
    backward = staticmethod(Fails.backward)


def test_error_in_backward_shows_the_forward_call():
    for m, fn, name in ((axonal, Fails, "FailsBackward"), (torch, TFails, "TFailsBackward")):
        x = m.ones(2, requires_grad=True)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with m.autograd.detect_anomaly():
                y = fn.apply(x)
                with pytest.raises(ValueError, match="bad backward"):
                    y.sum().backward()
        msgs = [str(w.message) for w in caught if "Error detected" in str(w.message)]
        assert msgs and msgs[0].startswith(f"Error detected in {name}.")
        assert "y = fn.apply(x)" in msgs[0]


def test_node_made_outside_anomaly_mode_has_no_forward_trace():
    for m in (axonal, torch):
        x = m.tensor([-1.0], requires_grad=True)
        y = x.sqrt()  # recorded without anomaly mode
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with m.autograd.detect_anomaly(), pytest.raises(RuntimeError, match="nan values"):
                y.sum().backward()
        assert any("No forward pass information" in str(w.message) for w in caught)
