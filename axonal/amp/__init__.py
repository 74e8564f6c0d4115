"""`axonal.amp`: PyTorch's automatic mixed precision (`torch.amp`): `autocast` (an op-list
policy run as a transform layer, autocast_mode.py) and `GradScaler` (loss scaling,
grad_scaler.py). `axonal.autocast` is this `autocast`; `axonal.cuda.amp` has the legacy
spellings."""
from . import autocast_mode, grad_scaler
from .autocast_mode import (
    autocast,
    custom_bwd,
    custom_fwd,
    get_autocast_dtype,
    is_autocast_available,
    is_autocast_enabled,
)
from .grad_scaler import GradScaler

__all__ = ["GradScaler", "autocast", "custom_bwd", "custom_fwd", "is_autocast_available"]
