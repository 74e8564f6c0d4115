"""Anomaly mode (PyTorch's `torch.autograd.detect_anomaly` / `set_detect_anomaly`).

When on, every graph node records the Python stack of its forward call (in `node.metadata
["traceback_"]`), and the backward pass checks each gradient it computes: a NaN raises
`RuntimeError("Function 'SqrtBackward0' returned nan values in its 0th output.")`, and any error
in a node's backward first warns with the stack of that node's forward call. Off by default, at the
cost of one flag test per recorded op and per backward pass. The switch is global (all threads),
as PyTorch's.
"""
import functools
import warnings

from .._engine import anomaly as _state

__all__ = ["detect_anomaly", "is_anomaly_check_nan_enabled", "is_anomaly_enabled",
           "set_anomaly_enabled", "set_detect_anomaly"]


def is_anomaly_enabled():
    return _state.enabled


def is_anomaly_check_nan_enabled():
    return _state.check_nan


def set_anomaly_enabled(mode, check_nan=True):
    _state.enabled, _state.check_nan = bool(mode), bool(check_nan)


class detect_anomaly:
    """Context manager (and decorator) that turns anomaly detection on inside its block."""

    def __init__(self, check_nan=True):
        self.prev = is_anomaly_enabled()
        self.check_nan = check_nan
        self.prev_check_nan = is_anomaly_check_nan_enabled()
        warnings.warn("Anomaly Detection has been enabled. This mode will increase the runtime "
                      "and should only be enabled for debugging.", stacklevel=2)

    def __enter__(self):
        set_anomaly_enabled(True, self.check_nan)

    def __exit__(self, *args):
        set_anomaly_enabled(self.prev, self.prev_check_nan)

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self.__class__(self.check_nan):
                return fn(*args, **kwargs)

        return wrapper


class set_detect_anomaly:
    """`set_detect_anomaly(mode, check_nan=True)`: sets anomaly detection at once (a call), or for
    a block (a context manager, restoring the previous state on exit)."""

    def __init__(self, mode, check_nan=True):
        self.prev = is_anomaly_enabled()
        self.prev_check_nan = is_anomaly_check_nan_enabled()
        set_anomaly_enabled(mode, check_nan)

    def __enter__(self):
        pass

    def __exit__(self, *args):
        set_anomaly_enabled(self.prev, self.prev_check_nan)
