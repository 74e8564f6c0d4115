"""torchvision's ResNet: axonal's (models/resnet.py, same parameters, names and initialisation)
with torchvision's constructor signature and children.

Programs take models apart by their children, e.g. `nn.Sequential(*list(model.children())[:-1])`
to drop `fc` (the siamese network example), and count on torchvision's list: conv1, bn1, relu,
maxpool, layer1..layer4, avgpool, fc. axonal's ResNet adds a `flatten` child; here it is removed and
forward flattens with a function, as torchvision's does.
"""
from ...models.resnet import BasicBlock, Bottleneck
from ...models.resnet import ResNet as _AxonalResNet
from ...ops.shape import flatten


class ResNet(_AxonalResNet):
    """torchvision.models.ResNet(block, layers, num_classes=1000, zero_init_residual=False,
    groups=1, width_per_group=64, replace_stride_with_dilation=None, norm_layer=None)."""

    def __init__(self, block, layers, num_classes=1000, zero_init_residual=False, groups=1,
                 width_per_group=64, replace_stride_with_dilation=None, norm_layer=None):
        if replace_stride_with_dilation is not None and any(replace_stride_with_dilation):
            raise NotImplementedError("axonal does not implement torchvision.models.ResNet("
                                      "replace_stride_with_dilation=...) yet")
        if norm_layer is not None:
            raise NotImplementedError("axonal does not implement torchvision.models.ResNet("
                                      "norm_layer=...) yet (BatchNorm2d is used)")
        super().__init__(block, layers, num_classes, zero_init_residual=zero_init_residual,
                         groups=groups, width_per_group=width_per_group)
        del self.flatten

    def forward(self, x):
        return self.fc(flatten(self.avgpool(self.features(x)), 1))


def _resnet(block, layers, kwargs):
    return ResNet(block, layers, **kwargs)


def resnet18_(**kwargs):
    return _resnet(BasicBlock, [2, 2, 2, 2], kwargs)


def resnet34_(**kwargs):
    return _resnet(BasicBlock, [3, 4, 6, 3], kwargs)


def resnet50_(**kwargs):
    return _resnet(Bottleneck, [3, 4, 6, 3], kwargs)
