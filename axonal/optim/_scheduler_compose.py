"""Metric-driven and composite schedules: ReduceLROnPlateau, SequentialLR, ChainedScheduler
(re-exported by `axonal.optim.lr_scheduler`)."""
import math
import warnings
from bisect import bisect_right

from ._scheduler_base import (
    EPOCH_DEPRECATION_WARNING,
    LRScheduler,
    check_int,
    check_optimizer,
    check_real,
    group_values,
)


class ReduceLROnPlateau(LRScheduler):
    """Divide the lr when a monitored metric stops improving: `scheduler.step(val_loss)`.

    A metric value a is an improvement over the best so far when (threshold_mode, mode):
    rel/min: a < best (1 - threshold); rel/max: a > best (1 + threshold);
    abs/min: a < best - threshold;     abs/max: a > best + threshold.
    After more than `patience` steps without improvement, each group's lr becomes
    max(lr * factor, min_lr) (skipped when the change is at most eps), then `cooldown` steps pass
    in which bad steps are not counted.

    Args:
        optimizer: the wrapped optimizer.
        mode: 'min' (default) or 'max'.
        factor: multiplier in [0, 1) (default 0.1).
        patience: tolerated steps without improvement (default 10).
        threshold: the significance margin above (default 1e-4).
        threshold_mode: 'rel' (default) or 'abs'.
        cooldown: steps to wait after a reduction (default 0).
        min_lr: lower bound, one for all groups or one per group (default 0).
        eps: minimal effective change of lr (default 1e-8).
    """

    def __init__(self, optimizer, mode="min", factor=0.1, patience=10, threshold=1e-4,
                 threshold_mode="rel", cooldown=0, min_lr=0, eps=1e-8):
        check_real("ReduceLROnPlateau", "factor", factor)
        if factor >= 1.0:
            raise ValueError(f"ReduceLROnPlateau: Factor should be < 1.0, got {factor}.")
        check_real("ReduceLROnPlateau", "factor", factor, low=0.0)
        check_optimizer("ReduceLROnPlateau", optimizer)
        check_int("ReduceLROnPlateau", "patience", patience, low=0)
        check_int("ReduceLROnPlateau", "cooldown", cooldown, low=0)
        check_real("ReduceLROnPlateau", "threshold", threshold, low=0.0)
        check_real("ReduceLROnPlateau", "eps", eps, low=0.0)
        self.factor = factor
        self.optimizer = optimizer
        n = len(optimizer.param_groups)
        if isinstance(min_lr, (list, tuple)):
            if len(min_lr) != n:
                raise ValueError(f"ReduceLROnPlateau: expected {n} min_lrs, got {len(min_lr)}")
            self.default_min_lr = None
            self.min_lrs = list(min_lr)
        else:
            self.default_min_lr = min_lr
            self.min_lrs = [min_lr] * n
        for m in self.min_lrs:
            check_real("ReduceLROnPlateau", "min_lr", m, low=0.0)
        self.patience = patience
        self.cooldown = cooldown
        self.eps = eps
        self.last_epoch = 0
        self._last_lr = group_values(optimizer, "lr")
        self._init_is_better(mode, threshold, threshold_mode)
        self._reset()

    def _reset(self):
        self.best = self.mode_worse
        self.cooldown_counter = 0
        self.num_bad_epochs = 0

    def step(self, metrics, epoch=None):
        """Record one value of the monitored metric (a number or a one-element Tensor)."""
        try:
            current = float(metrics)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"ReduceLROnPlateau.step: metrics must be a number or a "
                            f"one-element tensor, got {type(metrics).__name__}") from exc
        if epoch is None:
            epoch = self.last_epoch + 1
        else:
            warnings.warn(EPOCH_DEPRECATION_WARNING, UserWarning, stacklevel=2)
        self.last_epoch = epoch
        if self._is_better(current, self.best):
            self.best = current
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.in_cooldown:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0  # bad epochs during the cooldown do not count
        if self.num_bad_epochs > self.patience:
            self._reduce_lr()
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        self._last_lr = group_values(self.optimizer, "lr")

    def _reduce_lr(self):
        groups = self.optimizer.param_groups
        if len(groups) != len(self.min_lrs):
            if self.default_min_lr is None:
                raise RuntimeError(f"ReduceLROnPlateau: the number of param groups in the "
                                   f"optimizer ({len(groups)}) differs from when it was "
                                   f"initialized ({len(self.min_lrs)}); set `min_lrs` to match")
            self.min_lrs = [self.default_min_lr] * len(groups)
        for group, min_lr in zip(groups, self.min_lrs):
            old = float(group["lr"])
            new = max(old * self.factor, min_lr)
            if old - new > self.eps:
                group["lr"] = new

    @property
    def in_cooldown(self):
        return self.cooldown_counter > 0

    def _is_better(self, a, best):
        if self.mode == "min" and self.threshold_mode == "rel":
            return a < best * (1.0 - self.threshold)
        if self.mode == "min":
            return a < best - self.threshold
        if self.threshold_mode == "rel":
            return a > best * (self.threshold + 1.0)
        return a > best + self.threshold

    def _init_is_better(self, mode, threshold, threshold_mode):
        if mode not in ("min", "max"):
            raise ValueError(f"ReduceLROnPlateau: mode {mode!r} is unknown! (use 'min' or 'max')")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(f"ReduceLROnPlateau: threshold mode {threshold_mode!r} is unknown! "
                             "(use 'rel' or 'abs')")
        self.mode_worse = math.inf if mode == "min" else -math.inf
        self.mode = mode
        self.threshold = threshold
        self.threshold_mode = threshold_mode

    def load_state_dict(self, state_dict):
        super().load_state_dict(state_dict)
        self._init_is_better(self.mode, self.threshold, self.threshold_mode)


def _check_children(owner, optimizer, schedulers):
    if len(schedulers) < 1:
        raise ValueError(f"{owner} expects at least one scheduler, but got no scheduler.")
    for i, s in enumerate(schedulers):
        if not hasattr(s, "optimizer"):
            raise TypeError(f"{owner} at index {i} should have `optimizer` as its attribute.")
        if isinstance(s, ReduceLROnPlateau):  # ValueError, as PyTorch raises
            raise ValueError(  # noqa: TRY004
                f"{owner} does not support `ReduceLROnPlateau` scheduler as it requires "
                "additional kwargs to be specified when calling `step`, but got one at index "
                f"{i} in the given schedulers sequence.")
        if s.optimizer is not optimizer:
            raise ValueError(f"{owner} expects all schedulers to belong to the same optimizer, "
                             f"but got scheduler {type(s).__name__} at index {i} with a "
                             "different one.")


class _Composite(LRScheduler):
    """state_dict of a composite includes each child's state_dict."""

    def state_dict(self):
        state = {k: v for k, v in self.__dict__.items() if k not in ("optimizer", "_schedulers")}
        state["_schedulers"] = [s.state_dict() for s in self._schedulers]
        return state

    def load_state_dict(self, state_dict):
        state_dict = dict(state_dict)
        children = state_dict.pop("_schedulers")
        self.__dict__.update(state_dict)
        for s, saved in zip(self._schedulers, children):
            s.load_state_dict(saved)


class SequentialLR(_Composite):
    """Run `schedulers[i]` between milestones[i - 1] and milestones[i] (e.g. a LinearLR warmup
    followed by CosineAnnealingLR). At a milestone the next scheduler restarts from its own
    beginning (its step 0 uses the groups' initial lr)."""

    def __init__(self, optimizer, schedulers, milestones, last_epoch=-1):
        check_optimizer("SequentialLR", optimizer)
        schedulers = list(schedulers)
        _check_children("SequentialLR", optimizer, schedulers)
        milestones = list(milestones)
        if len(milestones) != len(schedulers) - 1:
            raise ValueError("Sequential Schedulers expects number of schedulers provided to be "
                             "one more than the number of milestone points, but got number of "
                             f"schedulers {len(schedulers)} and the number of milestones to be "
                             f"equal to {len(milestones)}")
        for m in milestones:
            check_int("SequentialLR", "each milestone", m, low=0)
        self._schedulers = schedulers
        self._milestones = milestones
        self.last_epoch = last_epoch + 1
        self.optimizer = optimizer
        for group in optimizer.param_groups:  # undo what the children's construction did
            group["lr"] = group["initial_lr"]
        self._undo()
        idx = bisect_right(self._milestones, 0)
        self._schedulers[idx]._initial_step()
        self._last_lr = self._schedulers[idx].get_last_lr()

    def _undo(self, sched=None):
        """Step every (nested) child back once: the children's construction already took their
        initial step, which is replayed for the first one below."""
        sched = self if sched is None else sched
        if hasattr(sched, "_schedulers"):
            for s in sched._schedulers:
                self._undo(s)
        elif hasattr(sched, "last_epoch"):
            sched.last_epoch -= 1

    def step(self):
        self.last_epoch += 1
        idx = bisect_right(self._milestones, self.last_epoch)
        scheduler = self._schedulers[idx]
        if idx > 0 and self._milestones[idx - 1] == self.last_epoch:
            scheduler._update_lr(0)
        else:
            scheduler.step()
        self._last_lr = scheduler.get_last_lr()


class ChainedScheduler(_Composite):
    """Step several chainable schedulers together each step; their factors multiply."""

    def __init__(self, schedulers, optimizer=None):
        schedulers = list(schedulers)
        if not schedulers:
            raise ValueError("ChainedScheduler expects at least one scheduler to be chained, but "
                             "got no scheduler.")
        optimizer = optimizer or schedulers[0].optimizer
        check_optimizer("ChainedScheduler", optimizer)
        _check_children("ChainedScheduler", optimizer, schedulers)
        self._schedulers = schedulers
        self.optimizer = optimizer
        self._last_lr = group_values(optimizer, "lr")

    def step(self):
        for s in self._schedulers:
            s.step()
        self._last_lr = group_values(self.optimizer, "lr")

