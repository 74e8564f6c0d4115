"""`nn.DataParallel`: PyTorch's single-process multi-device wrapper, here on one device."""
from ..module import Module


class DataParallel(Module):
    """Wraps `module` and calls it on the whole batch, on the device it is on. Kept for programs
    written for PyTorch: the wrapped module is `.module`, so the state dict keys gain the `module.`
    prefix exactly as PyTorch's DataParallel does. `device_ids`, `output_device` and `dim` are
    accepted and recorded; with one device there is nothing to scatter or gather."""

    def __init__(self, module, device_ids=None, output_device=None, dim=0):
        super().__init__()
        if not isinstance(module, Module):
            raise TypeError(f"DataParallel: expected an axonal.nn.Module, got "
                            f"{type(module).__name__}")
        self.module = module
        self.device_ids = list(device_ids) if device_ids is not None else []
        self.output_device, self.dim = output_device, dim

    def forward(self, *inputs, **kwargs):
        return self.module(*inputs, **kwargs)
