"""Cyclic schedules: OneCycleLR, CyclicLR and CosineAnnealingWarmRestarts (re-exported by
`axonal.optim.lr_scheduler`). These are not chainable: they compute each lr directly. OneCycleLR
and CyclicLR also cycle the momentum (SGD's `momentum`, or beta1 of Adam-style `betas`) inversely
to the lr: large steps get less momentum.
"""
import math
import types

from ._scheduler_base import (
    LRScheduler,
    check_int,
    check_optimizer,
    check_real,
    format_param,
    group_values,
)


def _set_momentum(optimizer, use_beta1, momenta):
    for group, m in zip(optimizer.param_groups, momenta):
        if use_beta1:
            group["betas"] = (m, *group["betas"][1:])
        else:
            group["momentum"] = m


def _init_momentum(owner, optimizer, base_momentum, max_momentum, last_epoch):
    """Check the optimizer has a momentum to cycle; at a fresh start set it to max_momentum and
    record base/max in each group. Returns (use_beta1, base list, max list)."""
    if "momentum" not in optimizer.defaults and "betas" not in optimizer.defaults:
        raise ValueError(f"{owner}: optimizer must support momentum or beta1 with "
                         "`cycle_momentum` option enabled")
    use_beta1 = "betas" in optimizer.defaults
    bases = format_param("base_momentum", optimizer, base_momentum)
    maxes = format_param("max_momentum", optimizer, max_momentum)
    for m in bases + maxes:
        check_real(owner, "momentum", m, 0.0, 1.0)
    if last_epoch == -1:
        _set_momentum(optimizer, use_beta1, maxes)
        for group, b, m in zip(optimizer.param_groups, bases, maxes):
            group["max_momentum"] = m
            group["base_momentum"] = b
    return use_beta1, bases, maxes


class OneCycleLR(LRScheduler):
    """The 1cycle policy (Smith and Topin, 2018), stepped once per batch.

    The lr rises from max_lr / div_factor to max_lr over the first pct_start of total_steps, then
    anneals to initial_lr / final_div_factor (three_phase: back down to the initial lr, then to the
    minimum). Each phase interpolates with `anneal_strategy` ('cos': start + (end - start) (1 -
    cos(pi p)) / 2, or 'linear'), p the fraction of the phase done. With cycle_momentum the
    momentum moves the opposite way between max_momentum and base_momentum.

    Args:
        optimizer: the wrapped optimizer.
        max_lr: peak lr (one per group or one for all).
        total_steps: length of the cycle; or give epochs and steps_per_epoch.
        pct_start: fraction of the cycle spent increasing the lr (default 0.3).
        anneal_strategy: 'cos' (default) or 'linear'.
        cycle_momentum: cycle momentum / beta1 (default True).
        base_momentum, max_momentum: momentum range (defaults 0.85, 0.95).
        div_factor: initial_lr = max_lr / div_factor (default 25).
        final_div_factor: min_lr = initial_lr / final_div_factor (default 1e4).
        three_phase: use the paper's three phases instead of fastai's two.
        last_epoch: index of the last batch (-1 to start).
    """

    def __init__(self, optimizer, max_lr, total_steps=None, epochs=None, steps_per_epoch=None,
                 pct_start=0.3, anneal_strategy="cos", cycle_momentum=True, base_momentum=0.85,
                 max_momentum=0.95, div_factor=25.0, final_div_factor=1e4, three_phase=False,
                 last_epoch=-1):
        check_optimizer("OneCycleLR", optimizer)
        self.optimizer = optimizer
        if total_steps is not None:
            if isinstance(total_steps, bool) or not isinstance(total_steps, int) \
                    or total_steps <= 0:
                raise ValueError(f"OneCycleLR: Expected positive integer total_steps, but got "
                                 f"{total_steps}")
            self.total_steps = total_steps
        elif epochs is not None and steps_per_epoch is not None:
            for name, value in (("epochs", epochs), ("steps_per_epoch", steps_per_epoch)):
                if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                    raise ValueError(f"OneCycleLR: Expected positive integer {name}, but got "
                                     f"{value}")
            self.total_steps = epochs * steps_per_epoch
        else:
            raise ValueError("OneCycleLR: You must define either total_steps OR (epochs AND "
                             "steps_per_epoch)")
        if not isinstance(pct_start, float) or not 0 <= pct_start <= 1:
            raise ValueError(f"OneCycleLR: Expected float between 0 and 1 pct_start, but got "
                             f"{pct_start}")
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"OneCycleLR: anneal_strategy must be one of 'cos' or 'linear', "
                             f"instead got {anneal_strategy}")
        check_real("OneCycleLR", "div_factor", div_factor)
        check_real("OneCycleLR", "final_div_factor", final_div_factor)
        if div_factor <= 0 or final_div_factor <= 0:
            raise ValueError(f"OneCycleLR: div_factor and final_div_factor must be positive, got "
                             f"{div_factor} and {final_div_factor}")
        self._anneal_func_type = anneal_strategy
        # each phase: (last step of the phase, lr from, lr to, momentum from, momentum to)
        up_end = float(pct_start * self.total_steps) - 1
        if three_phase:
            self._schedule_phases = [
                (up_end, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                (float(2 * pct_start * self.total_steps) - 2, "max_lr", "initial_lr",
                 "base_momentum", "max_momentum"),
                (self.total_steps - 1, "initial_lr", "min_lr", "max_momentum", "max_momentum")]
        else:
            self._schedule_phases = [
                (up_end, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                (self.total_steps - 1, "max_lr", "min_lr", "base_momentum", "max_momentum")]
        max_lrs = format_param("max_lr", optimizer, max_lr)
        for m in max_lrs:
            check_real("OneCycleLR", "max_lr", m, low=0.0)
        if last_epoch == -1:
            for group, m in zip(optimizer.param_groups, max_lrs):
                group["initial_lr"] = m / div_factor
                group["max_lr"] = m
                group["min_lr"] = group["initial_lr"] / final_div_factor
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            self.use_beta1, _, _ = _init_momentum("OneCycleLR", optimizer, base_momentum,
                                                  max_momentum, last_epoch)
        super().__init__(optimizer, last_epoch)

    def _anneal(self, start, end, pct):
        if self._anneal_func_type == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def get_lr(self):
        self._warn_get_lr()
        step = self.last_epoch
        if step > self.total_steps:
            raise ValueError(f"OneCycleLR: Tried to step {step} times. The specified number of "
                             f"total steps is {self.total_steps}")
        lrs, momenta = [], []
        for group in self.optimizer.param_groups:
            start = 0.0
            for i, (end, lr0, lr1, m0, m1) in enumerate(self._schedule_phases):
                if step <= end or i == len(self._schedule_phases) - 1:
                    pct = (step - start) / (end - start)
                    lrs.append(self._anneal(group[lr0], group[lr1], pct))
                    if self.cycle_momentum:
                        momenta.append(self._anneal(group[m0], group[m1], pct))
                    break
                start = end
        if self.cycle_momentum:
            _set_momentum(self.optimizer, self.use_beta1, momenta)
        return lrs


class CyclicLR(LRScheduler):
    """Cyclical learning rates (Smith, 2017), stepped once per batch: a triangle wave between
    base_lr and max_lr, up for step_size_up steps and down for step_size_down.

    With x in [0, 1) the position within the current cycle c (1-based) and r = up / (up + down),
    the height h = x / r going up and (x - 1) / (r - 1) going down, and
    lr = base_lr + (max_lr - base_lr) h s, where the amplitude scale s is 1 ('triangular'),
    1 / 2^(c - 1) ('triangular2'), gamma^t ('exp_range') or `scale_fn`.
    """

    def __init__(self, optimizer, base_lr, max_lr, step_size_up=2000, step_size_down=None,
                 mode="triangular", gamma=1.0, scale_fn=None, scale_mode="cycle",
                 cycle_momentum=True, base_momentum=0.8, max_momentum=0.9, last_epoch=-1):
        check_optimizer("CyclicLR", optimizer)
        self.optimizer = optimizer
        base_lrs = format_param("base_lr", optimizer, base_lr)
        if last_epoch == -1:
            for lr, group in zip(base_lrs, optimizer.param_groups):
                group["lr"] = lr
        self.max_lrs = format_param("max_lr", optimizer, max_lr)
        check_int("CyclicLR", "step_size_up", step_size_up, low=1)
        if step_size_down is not None:
            check_int("CyclicLR", "step_size_down", step_size_down, low=1)
        up = float(step_size_up)
        down = float(step_size_down) if step_size_down is not None else up
        self.total_size = up + down
        self.step_ratio = up / self.total_size
        if mode not in ("triangular", "triangular2", "exp_range") and scale_fn is None:
            raise ValueError(f"CyclicLR: mode is invalid ({mode!r}) and scale_fn is None")
        if scale_mode not in ("cycle", "iterations"):
            raise ValueError(f"CyclicLR: scale_mode must be 'cycle' or 'iterations', got "
                             f"{scale_mode!r}")
        self.mode = mode
        self.gamma = gamma
        self._scale_fn_custom = scale_fn
        self.scale_mode = scale_mode
        if scale_fn is None:
            self.scale_mode = "iterations" if mode == "exp_range" else "cycle"
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            self.use_beta1, self.base_momentums, self.max_momentums = _init_momentum(
                "CyclicLR", optimizer, base_momentum, max_momentum, last_epoch)
        super().__init__(optimizer, last_epoch)
        self.base_lrs = base_lrs

    def scale_fn(self, x):
        if self._scale_fn_custom is not None:
            return self._scale_fn_custom(x)
        if self.mode == "triangular":
            return 1.0
        if self.mode == "triangular2":
            return 1 / (2.0 ** (x - 1))
        return self.gamma ** x

    def get_lr(self):
        self._warn_get_lr()
        cycle = math.floor(1 + self.last_epoch / self.total_size)
        x = 1.0 + self.last_epoch / self.total_size - cycle
        if x <= self.step_ratio:
            height = x / self.step_ratio
        else:
            height = (x - 1) / (self.step_ratio - 1)
        scale = self.scale_fn(cycle if self.scale_mode == "cycle" else self.last_epoch)
        lrs = [base + (top - base) * height * scale
               for base, top in zip(self.base_lrs, self.max_lrs)]
        if self.cycle_momentum:
            momenta = [top - (top - base) * height * scale
                       for base, top in zip(self.base_momentums, self.max_momentums)]
            _set_momentum(self.optimizer, self.use_beta1, momenta)
        return lrs

    def state_dict(self):
        state = super().state_dict()
        fn = state.pop("_scale_fn_custom")
        # plain functions and lambdas are code, not state; callable objects keep their __dict__
        state["_scale_fn_custom"] = (None if fn is None or isinstance(fn, types.FunctionType)
                                     else fn.__dict__.copy())
        return state

    def load_state_dict(self, state_dict):
        state_dict = dict(state_dict)
        fn_state = state_dict.pop("_scale_fn_custom", None)
        super().load_state_dict(state_dict)
        if fn_state is not None and self._scale_fn_custom is not None:
            self._scale_fn_custom.__dict__.update(fn_state)


class CosineAnnealingWarmRestarts(LRScheduler):
    """SGDR (Loshchilov and Hutter, 2017): cosine annealing that restarts at eta_0.

        eta_t = eta_min + (eta_0 - eta_min) (1 + cos(pi T_cur / T_i)) / 2

    T_cur counts steps since the last restart; the first period is T_0 and each next one is
    T_mult times longer. `step(epoch)` accepts fractional epochs (per-batch stepping).
    """

    def __init__(self, optimizer, T_0, T_mult=1, eta_min=0.0, last_epoch=-1):
        if isinstance(T_0, bool) or not isinstance(T_0, int) or T_0 <= 0:
            raise ValueError(f"CosineAnnealingWarmRestarts: Expected positive integer T_0, but "
                             f"got {T_0}")
        if isinstance(T_mult, bool) or not isinstance(T_mult, int) or T_mult < 1:
            raise ValueError(f"CosineAnnealingWarmRestarts: Expected integer T_mult >= 1, but "
                             f"got {T_mult}")
        check_real("CosineAnnealingWarmRestarts", "eta_min", eta_min)
        self.T_0 = T_0
        self.T_i = T_0
        self.T_mult = T_mult
        self.eta_min = eta_min
        self.T_cur = last_epoch
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        self._warn_get_lr()
        return [self.eta_min + (base - self.eta_min)
                * (1 + math.cos(math.pi * self.T_cur / self.T_i)) / 2 for base in self.base_lrs]

    def step(self, epoch=None):
        if epoch is None and self.last_epoch < 0:
            epoch = 0
        if epoch is None:
            epoch = self.last_epoch + 1
            self.T_cur = self.T_cur + 1
            if self.T_cur >= self.T_i:
                self.T_cur = self.T_cur % self.T_i
                self.T_i = self.T_i * self.T_mult
        else:
            check_real("CosineAnnealingWarmRestarts", "epoch", epoch, low=0.0)
            if epoch >= self.T_0:
                if self.T_mult == 1:
                    self.T_cur = epoch % self.T_0
                else:
                    n = int(math.log(epoch / self.T_0 * (self.T_mult - 1) + 1, self.T_mult))
                    self.T_cur = epoch - self.T_0 * (self.T_mult ** n - 1) / (self.T_mult - 1)
                    self.T_i = self.T_0 * self.T_mult ** n
            else:
                self.T_i = self.T_0
                self.T_cur = epoch
        self.last_epoch = math.floor(epoch)
        self._get_lr_called_within_step = True
        try:
            values = self.get_lr()
        finally:
            self._get_lr_called_within_step = False
        for group, lr in zip(self.optimizer.param_groups, values):
            group["lr"] = lr
        self._last_lr = group_values(self.optimizer, "lr")
