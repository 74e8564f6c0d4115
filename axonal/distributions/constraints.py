"""Constraints: the sets a distribution's parameters and values must lie in (for validate_args).

Layer 5. A constraint answers `check(value) -> boolean array` element-wise over the batch (the
event dimensions of an event-level constraint such as `simplex` are reduced). The repr is PyTorch's
(`GreaterThan(lower_bound=0.0)`), so error messages read the same as torch.distributions'.
"""
from ..backend import xp_of


def _array(value):
    return value._data if hasattr(value, "data") and not isinstance(value, (int, float)) else value


class Constraint:
    event_dim = 0  # number of rightmost dims that together form one checked element

    def check(self, value):
        raise NotImplementedError

    def __repr__(self):
        return type(self).__name__.lstrip("_") + "()"


class _Real(Constraint):
    def check(self, value):
        a = _array(value)
        return ~xp_of(a).isnan(a)


class _GreaterThan(Constraint):
    def __init__(self, lower_bound):
        self.lower_bound = lower_bound

    def check(self, value):
        return _array(value) > self.lower_bound

    def __repr__(self):
        return f"GreaterThan(lower_bound={self.lower_bound})"


class _Interval(Constraint):
    def __init__(self, lower_bound, upper_bound):
        self.lower_bound, self.upper_bound = lower_bound, upper_bound

    def check(self, value):
        a = _array(value)
        return (a >= self.lower_bound) & (a <= self.upper_bound)

    def __repr__(self):
        return f"Interval(lower_bound={self.lower_bound}, upper_bound={self.upper_bound})"


class _Boolean(Constraint):
    def check(self, value):
        a = _array(value)
        return (a == 0) | (a == 1)


class _IntegerInterval(Constraint):
    def __init__(self, lower_bound, upper_bound):
        self.lower_bound, self.upper_bound = lower_bound, upper_bound

    def check(self, value):
        a = _array(value)
        return (a % 1 == 0) & (a >= self.lower_bound) & (a <= self.upper_bound)

    def __repr__(self):
        return f"IntegerInterval(lower_bound={self.lower_bound}, upper_bound={self.upper_bound})"


class _Simplex(Constraint):
    """Non-negative vectors along the last dim that sum to 1 (to 1e-6)."""
    event_dim = 1

    def check(self, value):
        a = _array(value)
        xp = xp_of(a)
        return xp.all(a >= 0, axis=-1) & (xp.abs(a.sum(-1) - 1) < 1e-6)


class _IndependentConstraint(Constraint):
    """`base` checked element-wise, then all-reduced over `n` more rightmost dims."""

    def __init__(self, base, reinterpreted_batch_ndims):
        self.base, self.reinterpreted_batch_ndims = base, int(reinterpreted_batch_ndims)
        self.event_dim = base.event_dim + self.reinterpreted_batch_ndims

    def check(self, value):
        ok = self.base.check(value)
        if self.reinterpreted_batch_ndims:
            ok = ok.reshape(ok.shape[:ok.ndim - self.reinterpreted_batch_ndims] + (-1,)).all(-1)
        return ok

    def __repr__(self):
        return f"IndependentConstraint({self.base!r}, {self.reinterpreted_batch_ndims})"


real = _Real()
positive = _GreaterThan(0.0)
unit_interval = _Interval(0.0, 1.0)
boolean = _Boolean()
simplex = _Simplex()
real_vector = _IndependentConstraint(real, 1)
greater_than = _GreaterThan
interval = _Interval
integer_interval = _IntegerInterval
independent = _IndependentConstraint

__all__ = ["Constraint", "boolean", "greater_than", "independent", "integer_interval", "interval",
           "positive", "real", "real_vector", "simplex", "unit_interval"]
