"""`LRScheduler`: the base of the learning-rate schedules in `axonal.optim.lr_scheduler`.

A scheduler owns a counter `last_epoch` (the index of the last step taken; -1 before the first)
and writes `group["lr"]` of its optimizer's parameter groups. Construction performs the initial
step (`last_epoch` -1 -> 0), which records `initial_lr` in each group and sets the lr for step 0.
Each later `step()` increments `last_epoch` and asks `get_lr()` for the new rates.

Like PyTorch's, most schedules are *chainable*: `get_lr()` computes the new rate from the group's
current rate by a multiplicative factor (e.g. StepLR multiplies by gamma every step_size steps),
so two schedulers on one optimizer compose. `_get_closed_form_lr()` gives the same value directly
from `base_lrs` and `last_epoch`, used by the deprecated `step(epoch)`.
"""
import math
import numbers
import warnings

from .optimizer import Optimizer

EPOCH_DEPRECATION_WARNING = (
    "The epoch parameter in `scheduler.step()` was not necessary and is being deprecated where "
    "possible. Please use `scheduler.step()` to step the scheduler. During the deprecation, if "
    "epoch is different from None, the closed form is used instead of the new chainable form, "
    "where available.")


def check_optimizer(owner, optimizer):
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"{owner}: {type(optimizer).__name__} is not an Optimizer")


def check_int(owner, name, value, low=None):
    """An integer hyperparameter (bools rejected) that is >= low."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{owner}: {name} must be an integer, got {value!r} "
                        f"({type(value).__name__})")
    if low is not None and value < low:
        raise ValueError(f"{owner}: {name} must be >= {low}, got {value}")


def check_real(owner, name, value, low=None, high=None):
    """A real hyperparameter in [low, high] (ends given as None are open)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{owner}: {name} must be a real number, got {value!r} "
                        f"({type(value).__name__})")
    outside = (low is not None and value < low) or (high is not None and value > high)
    if math.isnan(value) or outside:
        rng = f"[{'-inf' if low is None else low}, {'inf' if high is None else high}]"
        raise ValueError(f"{owner}: {name} must be in {rng}, got {value}")


def format_param(name, optimizer, param):
    """One value per parameter group: a list/tuple must have one entry per group, a scalar is
    repeated."""
    if isinstance(param, (list, tuple)):
        if len(param) != len(optimizer.param_groups):
            raise ValueError(f"{name} must have the same length as optimizer.param_groups. "
                             f"{name} has {len(param)} values, param_groups has "
                             f"{len(optimizer.param_groups)}.")
        return list(param)
    return [param] * len(optimizer.param_groups)


def group_values(optimizer, key):
    return [group[key] for group in optimizer.param_groups]


class LRScheduler:
    """Base class of learning-rate schedulers.

    Args:
        optimizer: the Optimizer whose `param_groups[i]["lr"]` this scheduler sets.
        last_epoch: index of the last step taken; -1 (default) starts the schedule. Only resume
            with another value when every group already has `initial_lr` (from a checkpoint).

    Call `scheduler.step()` after `optimizer.step()`, once per epoch (or per batch for
    batch-level schedules such as OneCycleLR).
    """

    _get_lr_called_within_step = False
    _is_initial = False

    def __init__(self, optimizer, last_epoch=-1):
        owner = type(self).__name__
        check_optimizer(owner, optimizer)
        check_int(owner, "last_epoch", last_epoch, low=-1)
        self.optimizer = optimizer
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            for i, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise KeyError(f"param 'initial_lr' is not specified in param_groups[{i}] "
                                   "when resuming scheduler with last_epoch >= 0 (load the "
                                   "optimizer's state_dict first, or start with last_epoch=-1)")
        self.base_lrs = group_values(optimizer, "initial_lr")
        self.last_epoch = last_epoch
        self._initial_step()

    def _initial_step(self):
        """Perform the step that sets the lr of step 0 (`last_epoch` becomes last_epoch + 1)."""
        self._step_count = 0
        self._is_initial = True
        try:
            self.step()
        finally:
            self._is_initial = False

    def get_lr(self):
        """The learning rates for the current `last_epoch` (one per group); called by step()."""
        raise NotImplementedError(f"{type(self).__name__} does not implement get_lr")

    def get_last_lr(self):
        """The learning rates set by the most recent step (one float per parameter group)."""
        return self._last_lr

    def step(self, epoch=None):
        """Advance the schedule by one step (or, deprecated, jump to `epoch`)."""
        if self._step_count == 1 and not getattr(self.optimizer, "_opt_called", False):
            warnings.warn("Detected call of `lr_scheduler.step()` before `optimizer.step()`. "
                          "You should call them in the opposite order: `optimizer.step()` "
                          "before `lr_scheduler.step()`. Failure to do this will result in "
                          "skipping the first value of the learning rate schedule.",
                          UserWarning, stacklevel=2)
        self._step_count += 1
        if epoch is not None:
            warnings.warn(EPOCH_DEPRECATION_WARNING, UserWarning, stacklevel=2)
        self._update_lr(epoch)

    def _update_lr(self, epoch=None):
        self._get_lr_called_within_step = True
        try:
            if epoch is None:
                self.last_epoch += 1
                values = self.get_lr()
            else:
                check_int(type(self).__name__, "epoch", epoch, low=0)
                self.last_epoch = epoch
                closed = getattr(self, "_get_closed_form_lr", None)
                values = closed() if closed is not None else self.get_lr()
        finally:
            self._get_lr_called_within_step = False
        for group, lr in zip(self.optimizer.param_groups, values):
            group["lr"] = lr
        self._last_lr = group_values(self.optimizer, "lr")

    def _warn_get_lr(self):
        if not self._get_lr_called_within_step:
            warnings.warn("To get the last learning rate computed by the scheduler, please use "
                          "`get_last_lr()`.", UserWarning, stacklevel=3)

    def state_dict(self):
        """Every attribute except the optimizer (restore with load_state_dict)."""
        return {k: v for k, v in self.__dict__.items() if k != "optimizer"}

    def load_state_dict(self, state_dict):
        if not isinstance(state_dict, dict):
            raise TypeError(f"{type(self).__name__}.load_state_dict: expected a dict, got "
                            f"{type(state_dict).__name__}")
        self.__dict__.update(state_dict)

    def __repr__(self):
        return (f"{type(self).__name__}(last_epoch={getattr(self, 'last_epoch', None)}, "
                f"last_lr={getattr(self, '_last_lr', None)})")


_LRScheduler = LRScheduler  # PyTorch's old name
