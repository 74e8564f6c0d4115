"""`axonal.vision.models`: torchvision's resnet18/34/50, vgg11/16 (+ _bn), alexnet, mobilenet_v2,
with torchvision's module names (a torchvision state_dict loads as is), children and
initialisation; and `lenet` (LeNet-5, axonal.models.LeNet5: torchvision has none).

Pretrained weights cannot be fetched: `weights` must be None (the default); to use trained
weights, load a state dict saved as safetensors (`model.load_state_dict(axonal.load(path))`).
"""
from ...models.cnn import LeNet5
from ...models.resnet import BasicBlock, Bottleneck
from .resnet import ResNet
from .resnet import resnet18_ as _resnet18
from .resnet import resnet34_ as _resnet34
from .resnet import resnet50_ as _resnet50
from ._vgg_alexnet import _CFGS, VGG, AlexNet, make_layers
from .mobilenetv2 import InvertedResidual, MobileNetV2

__all__ = ["AlexNet", "BasicBlock", "Bottleneck", "InvertedResidual", "LeNet5", "MobileNetV2",
           "ResNet", "VGG", "alexnet", "lenet", "mobilenet_v2", "resnet18", "resnet34", "resnet50",
           "vgg11",
           "vgg11_bn", "vgg16", "vgg16_bn"]


def _no_weights(name, weights, kwargs):
    if kwargs.pop("pretrained", False) or weights is not None:
        raise ValueError(f"{name}: pretrained weights cannot be downloaded by axonal; build it "
                         "with weights=None and load a state dict (saved as safetensors) instead")
    kwargs.pop("progress", None)
    return kwargs


def resnet18(*, weights=None, progress=True, **kwargs):
    return _resnet18(**_no_weights("resnet18", weights, kwargs))


def resnet34(*, weights=None, progress=True, **kwargs):
    return _resnet34(**_no_weights("resnet34", weights, kwargs))


def resnet50(*, weights=None, progress=True, **kwargs):
    return _resnet50(**_no_weights("resnet50", weights, kwargs))


def _vgg(name, cfg, batch_norm, weights, kwargs):
    kwargs = _no_weights(name, weights, kwargs)
    return VGG(make_layers(_CFGS[cfg], batch_norm=batch_norm), **kwargs)


def vgg11(*, weights=None, progress=True, **kwargs):
    return _vgg("vgg11", "A", False, weights, kwargs)


def vgg11_bn(*, weights=None, progress=True, **kwargs):
    return _vgg("vgg11_bn", "A", True, weights, kwargs)


def vgg16(*, weights=None, progress=True, **kwargs):
    return _vgg("vgg16", "D", False, weights, kwargs)


def vgg16_bn(*, weights=None, progress=True, **kwargs):
    return _vgg("vgg16_bn", "D", True, weights, kwargs)


def alexnet(*, weights=None, progress=True, **kwargs):
    return AlexNet(**_no_weights("alexnet", weights, kwargs))


def mobilenet_v2(*, weights=None, progress=True, **kwargs):
    return MobileNetV2(**_no_weights("mobilenet_v2", weights, kwargs))


def lenet(*, weights=None, progress=True, **kwargs):
    """LeNet-5 for 28x28 digits (axonal.models.LeNet5: num_classes, in_channels, input_size,
    activation, pool)."""
    return LeNet5(**_no_weights("lenet", weights, kwargs))
