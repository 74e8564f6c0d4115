"""Learning-rate schedules, with PyTorch's `torch.optim.lr_scheduler` names and semantics.

This module holds the chainable epoch schedules; the cyclic ones (OneCycleLR, CyclicLR,
CosineAnnealingWarmRestarts) and the composite/metric-driven ones (ReduceLROnPlateau,
SequentialLR, ChainedScheduler) live in private modules and are re-exported here.

In the formulas, eta_0 is a group's initial lr (`base_lrs`), t = `last_epoch` (0 right after
construction, +1 per `step()`), eta_t the lr used after t steps.
"""
import math
import types
from bisect import bisect_right
from collections import Counter

from ._scheduler_base import (  # noqa: F401  (_LRScheduler: PyTorch's old name)
    LRScheduler,
    _LRScheduler,
    check_int,
    check_real,
    group_values,
)
from ._scheduler_compose import ChainedScheduler, ReduceLROnPlateau, SequentialLR
from ._scheduler_cyclic import CosineAnnealingWarmRestarts, CyclicLR, OneCycleLR

__all__ = [
    "ChainedScheduler",
    "ConstantLR",
    "CosineAnnealingLR",
    "CosineAnnealingWarmRestarts",
    "CyclicLR",
    "ExponentialLR",
    "LRScheduler",
    "LambdaLR",
    "LinearLR",
    "MultiStepLR",
    "MultiplicativeLR",
    "OneCycleLR",
    "PolynomialLR",
    "ReduceLROnPlateau",
    "SequentialLR",
    "StepLR",
]


class _LambdaBase(LRScheduler):
    """Shared by LambdaLR and MultiplicativeLR: one callable per group; callable objects (not
    plain functions) have their `__dict__` saved in state_dict."""

    def __init__(self, optimizer, lr_lambda, last_epoch=-1):
        owner = type(self).__name__
        self.optimizer = optimizer
        groups = getattr(optimizer, "param_groups", [])
        if isinstance(lr_lambda, (list, tuple)):
            if len(lr_lambda) != len(groups):
                raise ValueError(f"{owner}: expected {len(groups)} lr_lambdas, but got "
                                 f"{len(lr_lambda)}")
            self.lr_lambdas = list(lr_lambda)
        else:
            self.lr_lambdas = [lr_lambda] * len(groups)
        for fn in self.lr_lambdas:
            if not callable(fn):
                raise TypeError(f"{owner}: lr_lambda should be a function, but got "
                                f"{type(fn).__name__}")
        super().__init__(optimizer, last_epoch)

    def state_dict(self):
        state = {k: v for k, v in self.__dict__.items() if k not in ("optimizer", "lr_lambdas")}
        state["lr_lambdas"] = [None if isinstance(fn, types.FunctionType) else fn.__dict__.copy()
                               for fn in self.lr_lambdas]
        return state

    def load_state_dict(self, state_dict):
        state_dict = dict(state_dict)
        lambdas = state_dict.pop("lr_lambdas", [None] * len(self.lr_lambdas))
        super().load_state_dict(state_dict)
        for fn, saved in zip(self.lr_lambdas, lambdas):
            if saved is not None:
                fn.__dict__.update(saved)


class LambdaLR(_LambdaBase):
    """eta_t = eta_0 * lr_lambda(t), one function (or one per group). Not chainable."""

    def get_lr(self):
        self._warn_get_lr()
        return [base * fn(self.last_epoch) for fn, base in zip(self.lr_lambdas, self.base_lrs)]


class MultiplicativeLR(_LambdaBase):
    """eta_t = eta_{t-1} * lr_lambda(t) for t >= 1."""

    def get_lr(self):
        self._warn_get_lr()
        if self._is_initial:
            return group_values(self.optimizer, "lr")
        return [g["lr"] * fn(self.last_epoch)
                for fn, g in zip(self.lr_lambdas, self.optimizer.param_groups)]


class StepLR(LRScheduler):
    """Multiply the lr by gamma every `step_size` steps: eta_t = eta_0 gamma^floor(t / step_size).

    Args:
        optimizer: the wrapped optimizer.
        step_size: period of the decay, in steps (positive int).
        gamma: multiplicative factor (default 0.1).
        last_epoch: see LRScheduler.
    """

    def __init__(self, optimizer, step_size, gamma=0.1, last_epoch=-1):
        check_int("StepLR", "step_size", step_size, low=1)
        check_real("StepLR", "gamma", gamma, low=0.0)
        self.step_size = step_size
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        self._warn_get_lr()
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return group_values(self.optimizer, "lr")
        return [g["lr"] * self.gamma for g in self.optimizer.param_groups]

    def _get_closed_form_lr(self):
        return [base * self.gamma ** (self.last_epoch // self.step_size)
                for base in self.base_lrs]


class MultiStepLR(LRScheduler):
    """Multiply the lr by gamma at each milestone: eta_t = eta_0 gamma^(#milestones <= t).
    A milestone listed k times multiplies by gamma^k."""

    def __init__(self, optimizer, milestones, gamma=0.1, last_epoch=-1):
        milestones = list(milestones)
        for m in milestones:
            check_int("MultiStepLR", "each milestone", m, low=0)
        check_real("MultiStepLR", "gamma", gamma, low=0.0)
        self.milestones = Counter(milestones)
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        self._warn_get_lr()
        if self.last_epoch not in self.milestones:
            return group_values(self.optimizer, "lr")
        factor = self.gamma ** self.milestones[self.last_epoch]
        return [g["lr"] * factor for g in self.optimizer.param_groups]

    def _get_closed_form_lr(self):
        milestones = sorted(self.milestones.elements())
        return [base * self.gamma ** bisect_right(milestones, self.last_epoch)
                for base in self.base_lrs]


class ConstantLR(LRScheduler):
    """eta_t = factor * eta_0 for t < total_iters, then eta_0 (a constant warmup)."""

    def __init__(self, optimizer, factor=1.0 / 3, total_iters=5, last_epoch=-1):
        check_real("ConstantLR", "factor", factor, 0.0, 1.0)
        if factor == 0:  # the step back to eta_0 divides by the factor
            raise ValueError("ConstantLR: factor must be in (0, 1], got 0")
        check_int("ConstantLR", "total_iters", total_iters, low=0)
        self.factor = factor
        self.total_iters = total_iters
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        self._warn_get_lr()
        if self.last_epoch == 0:
            return [g["lr"] * self.factor for g in self.optimizer.param_groups]
        if self.last_epoch != self.total_iters:
            return group_values(self.optimizer, "lr")
        return [g["lr"] * (1.0 / self.factor) for g in self.optimizer.param_groups]

    def _get_closed_form_lr(self):
        return [base * (self.factor + (self.last_epoch >= self.total_iters) * (1 - self.factor))
                for base in self.base_lrs]


class LinearLR(LRScheduler):
    """Linear interpolation of the multiplicative factor from start_factor (s) to end_factor (e)
    over tau = total_iters steps, then constant:

        eta_t = eta_0 (s + (e - s) min(t, tau) / tau)

    With s = 1 this is the linear decay of the classic SGD schedule (Goodfellow et al., 8.3.1):
    eps_k = (1 - a) eps_0 + a eps_tau with a = k / tau for k <= tau, and eps_k = eps_tau after,
    where eps_tau = e eps_0 (call step() once per iteration k). Chainable: each step multiplies
    the current lr by the ratio of consecutive factors.

    Args:
        start_factor: s in (0, 1] (default 1/3).
        end_factor: e in [0, 1] (default 1.0).
        total_iters: tau, the number of steps of the ramp (default 5).
    """

    def __init__(self, optimizer, start_factor=1.0 / 3, end_factor=1.0, total_iters=5,
                 last_epoch=-1):
        check_real("LinearLR", "start_factor", start_factor)
        check_real("LinearLR", "end_factor", end_factor)
        if start_factor > 1.0 or start_factor <= 0:
            raise ValueError("LinearLR: Starting multiplicative factor expected to be greater "
                             f"than 0 and less or equal to 1, got {start_factor}.")
        if end_factor > 1.0 or end_factor < 0:
            raise ValueError("LinearLR: Ending multiplicative factor expected to be between 0 "
                             f"and 1, got {end_factor}.")
        check_int("LinearLR", "total_iters", total_iters, low=1)
        self.start_factor = start_factor
        self.end_factor = end_factor
        self.total_iters = total_iters
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        self._warn_get_lr()
        if self.last_epoch == 0:
            return [g["lr"] * self.start_factor for g in self.optimizer.param_groups]
        if self._is_initial or self.last_epoch > self.total_iters:
            return group_values(self.optimizer, "lr")
        # factor(t) / factor(t - 1) with factor(t) = s + (e - s) t / tau, multiplied through by tau
        delta = self.end_factor - self.start_factor
        ratio = 1.0 + delta / (self.total_iters * self.start_factor
                               + (self.last_epoch - 1) * delta)
        return [g["lr"] * ratio for g in self.optimizer.param_groups]

    def _get_closed_form_lr(self):
        return [base * (self.start_factor + (self.end_factor - self.start_factor)
                        * min(self.total_iters, self.last_epoch) / self.total_iters)
                for base in self.base_lrs]


class ExponentialLR(LRScheduler):
    """eta_t = eta_0 gamma^t."""

    def __init__(self, optimizer, gamma, last_epoch=-1):
        check_real("ExponentialLR", "gamma", gamma, low=0.0)
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        self._warn_get_lr()
        if self._is_initial:
            return group_values(self.optimizer, "lr")
        return [g["lr"] * self.gamma for g in self.optimizer.param_groups]

    def _get_closed_form_lr(self):
        return [base * self.gamma ** self.last_epoch for base in self.base_lrs]


class PolynomialLR(LRScheduler):
    """eta_t = eta_0 (1 - min(t, T) / T)^power: polynomial decay to 0 over T = total_iters."""

    def __init__(self, optimizer, total_iters=5, power=1.0, last_epoch=-1):
        check_int("PolynomialLR", "total_iters", total_iters, low=1)
        check_real("PolynomialLR", "power", power)
        self.total_iters = total_iters
        self.power = power
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        self._warn_get_lr()
        if self._is_initial or self.last_epoch > self.total_iters:
            return group_values(self.optimizer, "lr")
        t, total = self.last_epoch, self.total_iters
        decay = ((1.0 - t / total) / (1.0 - (t - 1) / total)) ** self.power
        return [g["lr"] * decay for g in self.optimizer.param_groups]

    def _get_closed_form_lr(self):
        return [base * (1.0 - min(self.total_iters, self.last_epoch) / self.total_iters)
                ** self.power for base in self.base_lrs]


class CosineAnnealingLR(LRScheduler):
    """Cosine annealing from eta_0 to eta_min over T_max steps (SGDR without restarts):

        eta_t = eta_min + (eta_0 - eta_min) (1 + cos(pi t / T_max)) / 2

    computed recursively (chainable), so past T_max it rises again with period 2 T_max.
    """

    def __init__(self, optimizer, T_max, eta_min=0.0, last_epoch=-1):
        check_int("CosineAnnealingLR", "T_max", T_max, low=1)
        check_real("CosineAnnealingLR", "eta_min", eta_min)
        self.T_max = T_max
        self.eta_min = eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        self._warn_get_lr()
        t, T, lo = self.last_epoch, self.T_max, self.eta_min
        groups = self.optimizer.param_groups
        if self._is_initial:
            return group_values(self.optimizer, "lr")
        if self._step_count == 1 and t > 0:
            return [lo + (base - lo) * (1 + math.cos(t * math.pi / T)) / 2
                    for base in self.base_lrs]
        if (t - 1 - T) % (2 * T) == 0:  # leaving the minimum: the ratio form would divide by 0
            return [g["lr"] + (base - lo) * (1 - math.cos(math.pi / T)) / 2
                    for base, g in zip(self.base_lrs, groups)]
        return [(1 + math.cos(math.pi * t / T)) / (1 + math.cos(math.pi * (t - 1) / T))
                * (g["lr"] - lo) + lo for g in groups]

    def _get_closed_form_lr(self):
        return [self.eta_min + (base - self.eta_min)
                * (1 + math.cos(math.pi * self.last_epoch / self.T_max)) / 2
                for base in self.base_lrs]


# -- giving a resumed schedule a new length ----------------------------------------------------
# The attributes that fix a schedule's length ("horizon"); copying them from a schedule built for
# the new total, and setting the lr that schedule has at the current step, re-plans a resumed run.
_HORIZON = {"CosineAnnealingLR": ("T_max",), "StepLR": ("step_size",),
            "MultiStepLR": ("milestones",), "LinearLR": ("total_iters",),
            "PolynomialLR": ("total_iters",), "ConstantLR": ("total_iters",),
            "OneCycleLR": ("total_steps", "_schedule_phases")}
_NO_HORIZON = ("ExponentialLR", "CyclicLR", "CosineAnnealingWarmRestarts", "ReduceLROnPlateau")


def can_replan(scheduler) -> bool:
    """Whether `replan` can give this schedule a new length (or it has none to change)."""
    return type(scheduler).__name__ in _HORIZON or type(scheduler).__name__ in _NO_HORIZON


def replan(scheduler, fresh):
    """Give `scheduler` (restored from a checkpoint, at step `last_epoch`) the length of `fresh`, the
    same kind of schedule built for a new total number of steps, so that from now on the lr equals
    the one a fresh run with the new total would use at the same step. Returns True when the
    schedule changed, False when its length does not depend on the total (ExponentialLR, ...).
    A schedule whose length cannot be read (LambdaLR, SequentialLR, a custom class) is refused
    with a ValueError: extending it would silently keep the old plan."""
    name = type(scheduler).__name__
    if name in _NO_HORIZON:
        return False
    if not can_replan(scheduler) or type(fresh) is not type(scheduler):
        raise ValueError(f"a {name} schedule cannot be re-planned for a different number of "
                         f"epochs (only {', '.join(sorted(_HORIZON))} can); resume with the "
                         "original --epochs, or start a new run")
    keys = _HORIZON[name]
    if all(getattr(scheduler, k) == getattr(fresh, k) for k in keys):
        return False
    for k in keys:
        setattr(scheduler, k, getattr(fresh, k))
    # the closed form at the current step (OneCycleLR's get_lr is one already)
    closed = getattr(scheduler, "_get_closed_form_lr", None) or scheduler.get_lr
    scheduler._get_lr_called_within_step = True
    try:
        values = closed()
    finally:
        scheduler._get_lr_called_within_step = False
    for group, lr in zip(scheduler.optimizer.param_groups, values):
        group["lr"] = lr
    scheduler._last_lr = group_values(scheduler.optimizer, "lr")
    return True
