"""`torch.optim.swa_utils`: weight averaging (SWA, Izmailov et al. 2018; EMA) and its schedule.

    swa_model = AveragedModel(model)             # a deep copy; n_averaged = 0
    swa_model.update_parameters(model)           # first call copies, later calls average
    swa_scheduler = SWALR(optimizer, swa_lr=0.05)
    update_bn(loader, swa_model)                 # recompute BatchNorm statistics at the end

SWA's running mean after n models is avg + (w - avg) / (n + 1); EMA is a lerp towards the model
with weight 1 - decay. Without `use_buffers`, buffers (BatchNorm statistics) are copied from the
model instead of averaged. All updates write the averaged arrays in place, outside autograd.

SWALR moves each group's lr from its current value to `swa_lr` over `anneal_epochs` steps along a
cosine ((1 - cos(pi t)) / 2) or linear ramp, then holds it.
"""
import copy
import itertools
import math

from .. import _config
from .. import _dtype as _dt
from ..nn.layers.norm import _BatchNorm
from ..nn.layers.norm_extra import _InstanceNorm
from ..nn.module import Module
from ..ops import tensor
from ._scheduler_base import LRScheduler, format_param

__all__ = ["AveragedModel", "SWALR", "get_ema_avg_fn", "get_ema_multi_avg_fn",
           "get_swa_avg_fn", "get_swa_multi_avg_fn", "update_bn"]


def _lerp_(start, end, weight):
    """start <- lerp(start, end, weight) on arrays, with PyTorch's two-sided formula."""
    if weight < 0.5:
        start += weight * (end - start)
    else:
        start[...] = end - (end - start) * (1 - weight)


def get_ema_multi_avg_fn(decay=0.999):
    """In-place EMA of lists of tensors: ema <- decay ema + (1 - decay) model."""
    if decay < 0.0 or decay > 1.0:
        raise ValueError(f"Invalid decay value {decay} provided. Please provide a value in "
                         f"[0,1] range.")

    def ema_update(ema_param_list, current_param_list, _):
        for e, c in zip(ema_param_list, current_param_list):
            if e._data.dtype.kind == "f":
                _lerp_(e._data, c._data, 1 - decay)
            else:
                e._data[...] = e._data * decay + c._data * (1 - decay)

    return ema_update


def get_swa_multi_avg_fn():
    """In-place SWA of lists of tensors: avg <- avg + (model - avg) / (n + 1)."""
    def swa_update(averaged_param_list, current_param_list, num_averaged):
        if hasattr(num_averaged, "item"):  # 1 / (tensor + 1): a tensor of the default dtype
            n = float(num_averaged.item())
            weight = float(_dt.get_default_dtype().np.type(1 / (n + 1)))
        else:
            n = float(num_averaged)
            weight = 1 / (n + 1)
        for a, c in zip(averaged_param_list, current_param_list):
            if a._data.dtype.kind == "f":
                _lerp_(a._data, c._data, weight)
            else:
                a._data[...] = a._data + (c._data - a._data) / (n + 1)

    return swa_update


def get_ema_avg_fn(decay=0.999):
    """EMA of one tensor: returns decay ema + (1 - decay) model."""
    if decay < 0.0 or decay > 1.0:
        raise ValueError(f"Invalid decay value {decay} provided. Please provide a value in "
                         f"[0,1] range.")

    def ema_update(ema_param, current_param, num_averaged):
        with _config.no_grad():
            return decay * ema_param + (1 - decay) * current_param

    return ema_update


def get_swa_avg_fn():
    """SWA of one tensor: returns avg + (model - avg) / (n + 1)."""
    def swa_update(averaged_param, current_param, num_averaged):
        with _config.no_grad():
            return averaged_param + (current_param - averaged_param) / (num_averaged + 1)

    return swa_update


class AveragedModel(Module):
    """A deep copy of `model` whose parameters (and buffers, with use_buffers) are running
    averages of the model's; `forward` runs the copy."""

    def __init__(self, model, device=None, avg_fn=None, multi_avg_fn=None, use_buffers=False):
        super().__init__()
        if avg_fn is not None and multi_avg_fn is not None:
            raise AssertionError("Only one of avg_fn and multi_avg_fn should be provided")
        self.module = copy.deepcopy(model)
        if device is not None:
            self.module = self.module.to(device)
        self.register_buffer("n_averaged", tensor(0, dtype=_dt.int64, device=device))
        self.avg_fn, self.multi_avg_fn, self.use_buffers = avg_fn, multi_avg_fn, use_buffers

    def forward(self, *args, **kwargs):
        return self.module(*args, **kwargs)

    def update_parameters(self, model):
        """Average the parameters of `model` into this copy (the first call copies them)."""
        if self.use_buffers:
            mine = list(itertools.chain(self.module.parameters(), self.module.buffers()))
            theirs = list(itertools.chain(model.parameters(), model.buffers()))
        else:
            mine, theirs = list(self.parameters()), list(model.parameters())
        mine = [p.detach() for p in mine]
        theirs = [p.detach() for p in theirs]
        n = int(self.n_averaged.item())
        with _config.no_grad():
            if n == 0:
                for a, m in zip(mine, theirs):
                    a._data[...] = m._data
            elif self.multi_avg_fn is not None:
                self.multi_avg_fn(mine, theirs, self.n_averaged)
            elif self.avg_fn is None:
                for a, m in zip(mine, theirs):  # avg + (w - avg) / (n + 1), PyTorch's CPU path
                    a._data[...] = a._data + (m._data - a._data) / (n + 1)
            else:
                for a, m in zip(mine, theirs):
                    a._data[...] = self.avg_fn(a, m, self.n_averaged)._data
            if not self.use_buffers:
                for b_swa, b_model in zip(self.module.buffers(), model.buffers()):
                    b_swa._data[...] = b_model._data
        self.n_averaged._data += 1


def update_bn(loader, model, device=None):
    """One pass over `loader` in training mode with momentum None, so every BatchNorm's running
    statistics become the average over the data; batches may be tensors or (input, ...)."""
    momenta = {}
    for module in model.modules():
        if isinstance(module, _BatchNorm) and not isinstance(module, _InstanceNorm):
            module.reset_running_stats()
            momenta[module] = module.momentum
    if not momenta:
        return
    was_training = model.training
    model.train()
    for module in momenta:
        module.momentum = None
    with _config.no_grad():
        for input in loader:
            if isinstance(input, (list, tuple)):
                input = input[0]
            if device is not None:
                input = input.to(device)
            model(input)
    for module, momentum in momenta.items():
        module.momentum = momentum
    model.train(was_training)


class SWALR(LRScheduler):
    """Anneals each group's lr to `swa_lr` (a value, or one per group) over `anneal_epochs`
    steps with a 'cos' or 'linear' ramp, then keeps it there."""

    def __init__(self, optimizer, swa_lr, anneal_epochs=10, anneal_strategy="cos",
                 last_epoch=-1):
        swa_lrs = format_param("swa_lr", optimizer, swa_lr)
        for lr, group in zip(swa_lrs, optimizer.param_groups):
            group["swa_lr"] = lr
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"anneal_strategy must be one of 'cos' or 'linear', instead got "
                             f"{anneal_strategy}")
        self._set_anneal_func(anneal_strategy)
        if not isinstance(anneal_epochs, int) or anneal_epochs < 0:
            raise ValueError(f"anneal_epochs must be equal or greater than 0, got "
                             f"{anneal_epochs}")
        self.anneal_epochs = anneal_epochs
        super().__init__(optimizer, last_epoch)

    @staticmethod
    def _linear_anneal(t):
        return t

    @staticmethod
    def _cosine_anneal(t):
        return (1 - math.cos(math.pi * t)) / 2

    @staticmethod
    def _get_initial_lr(lr, swa_lr, alpha):
        if alpha == 1:
            return swa_lr
        return (lr - alpha * swa_lr) / (1 - alpha)

    def _set_anneal_func(self, anneal_strategy):
        self._anneal_strategy = anneal_strategy
        self.anneal_func = self._cosine_anneal if anneal_strategy == "cos" \
            else self._linear_anneal

    def get_lr(self):
        self._warn_get_lr()
        step = self._step_count - 1
        if self.anneal_epochs == 0:
            step = max(1, step)
        prev_t = max(0, min(1, (step - 1) / max(1, self.anneal_epochs)))
        prev_alpha = self.anneal_func(prev_t)
        prev_lrs = [self._get_initial_lr(g["lr"], g["swa_lr"], prev_alpha)
                    for g in self.optimizer.param_groups]
        t = max(0, min(1, step / max(1, self.anneal_epochs)))
        alpha = self.anneal_func(t)
        return [g["swa_lr"] * alpha + lr * (1 - alpha)
                for g, lr in zip(self.optimizer.param_groups, prev_lrs)]

    def state_dict(self):
        return {k: v for k, v in self.__dict__.items() if k not in ("optimizer", "anneal_func")}

    def load_state_dict(self, state_dict):
        super().load_state_dict(state_dict)
        self._set_anneal_func(self._anneal_strategy)
