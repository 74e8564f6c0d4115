"""`torch.nn.utils.skip_init`: build a module without running its parameter initialization."""
import inspect

from ..lazy import rng_neutral

__all__ = ["skip_init"]


def skip_init(module_cls, *args, **kwargs):
    """module_cls(*args, **kwargs) whose parameter values are unspecified (not drawn from the
    global random stream, which is left as it was, as PyTorch's meta-device construction)."""
    from ..module import Module
    if not issubclass(module_cls, Module):
        raise RuntimeError(f"Expected a Module; got {module_cls}")  # noqa: TRY004 (PyTorch's)
    if "device" not in inspect.signature(module_cls).parameters:
        raise RuntimeError("Module must support a 'device' arg to skip initialization")
    return rng_neutral(lambda: module_cls(*args, **kwargs))
