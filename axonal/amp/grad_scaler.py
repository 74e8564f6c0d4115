"""`GradScaler`: loss scaling for float16 training, as PyTorch's `torch.amp.GradScaler`.

float16's smallest normal number is 6e-5, so small gradients underflow to zero. The scaler
multiplies the loss by `scale` before `backward()` (every gradient is scaled by the same factor),
divides the gradients by it again before the optimizer step (`unscale_`), and skips the step when
any gradient is inf or NaN (the scale was too large). `update()` then adapts the scale: after an
overflow it multiplies it by `backoff_factor` (0.5); after `growth_interval` (2000) clean steps in a
row it multiplies it by `growth_factor` (2). The stage checks and error messages are PyTorch's.
"""
import warnings

import numpy as np

from .. import _config, cuda
from ..backend import xp_of
from ..ops.creation import tensor
from ..tensor import Tensor

__all__ = ["GradScaler", "OptState"]


class OptState:
    READY, UNSCALED, STEPPED = 0, 1, 2


def _new_state():
    return {"stage": OptState.READY, "found_inf": None}


class GradScaler:
    def __init__(self, device="cuda", init_scale=2.0**16, growth_factor=2.0, backoff_factor=0.5,
                 growth_interval=2000, enabled=True):
        self._device = device
        self._enabled = enabled
        if device == "cuda" and enabled:
            if not cuda.is_available():
                warnings.warn("torch.cuda.amp.GradScaler is enabled, but CUDA is not available.  "
                              "Disabling.", UserWarning, stacklevel=2)
                self._enabled = False
        if self._enabled:
            if growth_factor <= 1.0:
                raise AssertionError("The growth factor must be > 1.0.")
            if backoff_factor >= 1.0:
                raise AssertionError("The backoff factor must be < 1.0.")
            self._init_scale, self._growth_factor = float(init_scale), float(growth_factor)
            self._backoff_factor, self._growth_interval = float(backoff_factor), int(growth_interval)
            self._init_growth_tracker = 0
            self._scale = None  # a float32 value, made on first use (PyTorch: a 0-d tensor)
            self._growth_tracker = None
            self._per_optimizer_states = {}

    def is_enabled(self):
        return self._enabled

    def _lazy_init(self):
        if self._scale is None:
            self._scale = float(self._init_scale)
            self._growth_tracker = self._init_growth_tracker

    # -- scale, unscale_, step, update ---------------------------------------------------------
    def scale(self, outputs):
        """`outputs * scale` for a tensor or a (nested) list/tuple of tensors."""
        if not self._enabled:
            return outputs
        self._lazy_init()
        def apply(v):
            if isinstance(v, Tensor):
                return v * _f32_scalar(v, self._scale)
            if isinstance(v, (list, tuple)):
                return type(v)(apply(x) for x in v)
            raise ValueError("outputs must be a Tensor or an iterable of Tensors")
        return apply(outputs)

    def _state(self, optimizer):
        return self._per_optimizer_states.setdefault(id(optimizer), _new_state())

    def unscale_(self, optimizer):
        """Divide the gradients of `optimizer`'s parameters by the scale, in place, noting whether
        any is inf or NaN. Once per optimizer between updates."""
        if not self._enabled:
            return
        if self._scale is None:
            raise AssertionError("Attempted unscale_ but _scale is None.  This may indicate your "
                                 "script did not use scaler.scale(loss or outputs) earlier in "
                                 "the iteration.")
        state = self._state(optimizer)
        if state["stage"] is OptState.UNSCALED:
            raise RuntimeError("unscale_() has already been called on this optimizer since the "
                               "last update().")
        if state["stage"] is OptState.STEPPED:
            raise RuntimeError("unscale_() is being called after step().")
        inv = np.float32(1.0 / np.float64(self._scale))  # PyTorch: reciprocal in double, to float
        found = None  # no gradient at all: nothing was checked (PyTorch then refuses to step)
        with _config.no_grad():
            for group in optimizer.param_groups:
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    if p.grad._data.dtype == np.float16:
                        raise ValueError("Attempting to unscale FP16 gradients.")
                    g = p.grad._data
                    found = bool(found) or not bool(xp_of(g).isfinite(g).all())
                    p.grad.mul_(float(inv))
        state["found_inf"] = found
        state["stage"] = OptState.UNSCALED

    def step(self, optimizer, *args, **kwargs):
        """`unscale_` (unless done already), then `optimizer.step()` only if no gradient is inf or
        NaN; returns what the step returned (None when skipped)."""
        if not self._enabled:
            return optimizer.step(*args, **kwargs)
        if "closure" in kwargs:
            raise RuntimeError("Closure use is not currently supported if GradScaler is enabled.")
        if self._scale is None:
            raise AssertionError("Attempted step but _scale is None.  This may indicate your "
                                 "script did not use scaler.scale(loss or outputs) earlier in "
                                 "the iteration.")
        state = self._state(optimizer)
        if state["stage"] is OptState.STEPPED:
            raise RuntimeError("step() has already been called since the last update().")
        if state["stage"] is OptState.READY:
            self.unscale_(optimizer)
        if state["found_inf"] is None:
            raise AssertionError("No inf checks were recorded for this optimizer.")
        retval = None if state["found_inf"] else optimizer.step(*args, **kwargs)
        state["stage"] = OptState.STEPPED
        return retval

    def update(self, new_scale=None):
        """Adapt the scale (PyTorch's `_amp_update_scale_`), or set it to `new_scale`."""
        if not self._enabled:
            return
        if self._scale is None:
            raise AssertionError("Attempted update but _scale is None.  This may indicate your "
                                 "script did not use scaler.scale(loss or outputs) earlier in "
                                 "the iteration.")
        if new_scale is not None:
            if isinstance(new_scale, (int, float)):
                self._scale = float(new_scale)
            else:
                if new_scale.numel() != 1 or not new_scale.is_floating_point():
                    raise AssertionError("new_scale should be a float or a 1-element "
                                         "torch.FloatTensor with requires_grad=False.")
                self._scale = float(new_scale.item())
        else:
            found = [s["found_inf"] for s in self._per_optimizer_states.values()
                     if s["found_inf"] is not None]
            if not found:
                raise AssertionError("No inf checks were recorded prior to update.")
            if any(found):
                self._scale = float(np.float32(self._scale) * np.float32(self._backoff_factor))
                self._growth_tracker = 0
            else:
                successful = self._growth_tracker + 1
                if successful == self._growth_interval:
                    grown = np.float32(self._scale) * np.float32(self._growth_factor)
                    if np.isfinite(grown):
                        self._scale = float(grown)
                    self._growth_tracker = 0
                else:
                    self._growth_tracker = successful
        self._per_optimizer_states = {}

    # -- getters, setters, checkpoints -----------------------------------------------------------
    def get_scale(self):
        if not self._enabled:
            return 1.0
        return self._init_scale if self._scale is None else self._scale

    def get_growth_factor(self):
        return self._growth_factor

    def set_growth_factor(self, new_factor):
        self._growth_factor = new_factor

    def get_backoff_factor(self):
        return self._backoff_factor

    def set_backoff_factor(self, new_factor):
        self._backoff_factor = new_factor

    def get_growth_interval(self):
        return self._growth_interval

    def set_growth_interval(self, new_interval):
        self._growth_interval = new_interval

    def _get_growth_tracker(self):
        if not self._enabled:
            return 0
        return self._init_growth_tracker if self._growth_tracker is None else self._growth_tracker

    def state_dict(self):
        """{"scale", "growth_factor", "backoff_factor", "growth_interval", "_growth_tracker"};
        empty when disabled (PyTorch's keys)."""
        if not self._enabled:
            return {}
        return {"scale": self.get_scale(), "growth_factor": self._growth_factor,
                "backoff_factor": self._backoff_factor, "growth_interval": self._growth_interval,
                "_growth_tracker": self._get_growth_tracker()}

    def load_state_dict(self, state_dict):
        if not self._enabled:
            return
        if len(state_dict) == 0:
            raise RuntimeError("The source state dict is empty, possibly because it was saved "
                               "from a disabled instance of GradScaler.")
        self._init_scale = float(state_dict["scale"])
        self._growth_factor = float(state_dict["growth_factor"])
        self._backoff_factor = float(state_dict["backoff_factor"])
        self._growth_interval = int(state_dict["growth_interval"])
        self._init_growth_tracker = int(state_dict["_growth_tracker"])
        if self._scale is not None:
            self._scale = self._init_scale
            self._growth_tracker = self._init_growth_tracker


def _f32_scalar(like, value):
    """The scale as a 0-d float32 tensor on `like`'s device (a 0-d tensor does not change the
    dtype of a dimensioned one, so a float16 loss stays float16, as PyTorch's)."""
    return tensor(value, dtype="float32", device=like.device)
