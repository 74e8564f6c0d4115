"""Residual networks (He, Zhang, Ren & Sun 2015): BasicBlock, Bottleneck, ResNet, resnet18/34/50
with torchvision's layout and state_dict names, and the small CIFAR-style ResNet-20.

Layer 8 (built from the public nn API).

What ResNet contributed: a block computes `relu(x + F(x))` instead of `relu(F(x))`. The identity
shortcut carries the signal (forward) and the gradient (backward) past every block unchanged, so a
block only has to learn a *correction* to the identity, and a block that is not useful can fall back
to doing nothing (F = 0). Plain stacks of 20+ conv layers train worse than shallower ones (the
"degradation" problem of the paper); with shortcuts, depth helps again (152 layers on ImageNet, 1202
on CIFAR). Where a block changes the shape (stride 2, more channels) the shortcut becomes a 1x1 conv
+ BatchNorm projection ("option B"), called `downsample` as in torchvision.

Two stems:
* "imagenet" (torchvision): 7x7/2 conv, BN, ReLU, 3x3/2 max pool, then stages at 1/4 resolution.
  `resnet18()` has exactly torchvision's parameters (11,689,512 for 1000 classes) and keys
  (conv1.weight, bn1.*, layer1.0.conv1.weight, layer2.0.downsample.0.weight, ..., fc.bias).
* "cifar" (the paper's CIFAR-10 nets): one 3x3 conv at full resolution, no pooling; for 28x28 or
  32x32 images, where a 4x reduction up front would throw most of the image away. `resnet20()` is
  3 stages x 3 BasicBlocks with 16/32/64 channels: 6n+2 = 20 weighted layers, 0.27M parameters.
"""
from ..nn import BatchNorm2d, Flatten, Linear, ReLU, Sequential, init
from ..nn.layers.conv import Conv2d
from ..nn.layers.pooling import AdaptiveAvgPool2d, MaxPool2d
from ..nn.module import Module


def conv3x3(in_planes, out_planes, stride=1, groups=1, dilation=1):
    """3x3 convolution with padding, no bias (the BatchNorm after it has one)."""
    return Conv2d(in_planes, out_planes, kernel_size=3, stride=stride, padding=dilation,
                  groups=groups, bias=False, dilation=dilation)


def conv1x1(in_planes, out_planes, stride=1):
    """1x1 convolution: the projection shortcut and the bottleneck's channel mixing."""
    return Conv2d(in_planes, out_planes, kernel_size=1, stride=stride, bias=False)


class BasicBlock(Module):
    """Two 3x3 convs with an identity (or projection) shortcut: relu(bn2(conv2(relu(bn1(conv1 x))))
    + shortcut(x)). Used by ResNet-18/34 and the CIFAR nets."""

    expansion = 1

    def __init__(self, inplanes, planes, stride=1, downsample=None, groups=1, base_width=64,
                 dilation=1):
        super().__init__()
        if groups != 1 or base_width != 64:
            raise ValueError("BasicBlock only supports groups=1 and base_width=64")
        if dilation > 1:
            raise ValueError("BasicBlock does not support dilation > 1")
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = BatchNorm2d(planes)
        self.relu = ReLU()
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = BatchNorm2d(planes)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class Bottleneck(Module):
    """1x1 (reduce) -> 3x3 -> 1x1 (expand x4) with a shortcut: the 3x3 conv, the expensive one,
    runs on a quarter of the channels (Inception's 1x1 bottleneck idea), which makes 50+ layers
    affordable. The stride sits on the 3x3 conv (torchvision's "ResNet v1.5")."""

    expansion = 4

    def __init__(self, inplanes, planes, stride=1, downsample=None, groups=1, base_width=64,
                 dilation=1):
        super().__init__()
        width = int(planes * (base_width / 64.0)) * groups
        self.conv1 = conv1x1(inplanes, width)
        self.bn1 = BatchNorm2d(width)
        self.conv2 = conv3x3(width, width, stride, groups, dilation)
        self.bn2 = BatchNorm2d(width)
        self.conv3 = conv1x1(width, planes * self.expansion)
        self.bn3 = BatchNorm2d(planes * self.expansion)
        self.relu = ReLU()
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


_BLOCKS = {"basic": BasicBlock, "bottleneck": Bottleneck}


class ResNet(Module):
    """A ResNet: stem, one stage (`layer1`, `layer2`, ...) per entry of `layers`, global average
    pooling, one linear classifier.

    Args:
        block: BasicBlock or Bottleneck (or "basic" / "bottleneck").
        layers: blocks per stage, e.g. [2, 2, 2, 2] for ResNet-18, [3, 3, 3] for ResNet-20.
        num_classes: outputs of `fc`.
        in_channels: image channels (3 for RGB, 1 for MNIST).
        widths: channels of each stage before expansion (default 64, 128, 256, 512, ...: doubling
            whenever the resolution halves, so every stage costs about the same).
        stem: "imagenet" (7x7/2 conv + 3x3/2 max pool) or "cifar" (one 3x3 conv, stride 1).
        zero_init_residual: start the last BN of every block at gamma = 0, so each block begins as
            the identity (Goyal et al. 2017); helps short schedules.
    """

    def __init__(self, block, layers, num_classes=1000, in_channels=3, widths=None,
                 stem="imagenet", zero_init_residual=False, groups=1, width_per_group=64):
        super().__init__()
        block = _BLOCKS.get(block, block) if isinstance(block, str) else block
        if block not in (BasicBlock, Bottleneck):
            raise ValueError(f"ResNet: block must be BasicBlock, Bottleneck, 'basic' or "
                             f"'bottleneck', got {block!r}")
        layers = [int(n) for n in layers]
        if not layers or any(n < 1 for n in layers):
            raise ValueError(f"ResNet: layers must be a non-empty list of positive ints, got "
                             f"{layers}")
        if widths is None:
            widths = [64 * 2 ** i for i in range(len(layers))]
        widths = [int(w) for w in widths]
        if len(widths) != len(layers):
            raise ValueError(f"ResNet: {len(layers)} stages but {len(widths)} widths ({widths})")
        if stem not in ("imagenet", "cifar"):
            raise ValueError(f"ResNet: stem must be 'imagenet' or 'cifar', got {stem!r}")
        self.groups, self.base_width, self.dilation = groups, width_per_group, 1
        self.inplanes = widths[0]
        if stem == "imagenet":
            self.conv1 = Conv2d(in_channels, self.inplanes, kernel_size=7, stride=2, padding=3,
                                bias=False)
        else:
            self.conv1 = conv3x3(in_channels, self.inplanes)
        self.bn1 = BatchNorm2d(self.inplanes)
        self.relu = ReLU()
        if stem == "imagenet":
            self.maxpool = MaxPool2d(kernel_size=3, stride=2, padding=1)
        else:
            self.maxpool = None
        for i, (w, n) in enumerate(zip(widths, layers)):
            # every stage but the first halves the resolution in its first block
            setattr(self, f"layer{i + 1}", self._make_layer(block, w, n, stride=1 if i == 0 else 2))
        self.num_stages = len(layers)
        self.avgpool = AdaptiveAvgPool2d((1, 1))
        self.flatten = Flatten(1)
        self.fc = Linear(widths[-1] * block.expansion, num_classes)
        self._init_weights(zero_init_residual)

    def _init_weights(self, zero_init_residual):
        # He init for the convs (fan_out, as torchvision), BN starts as the identity map
        for m in self.modules():
            if isinstance(m, Conv2d):
                init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, BatchNorm2d):
                init.ones_(m.weight)
                init.zeros_(m.bias)
        if zero_init_residual:
            for m in self.modules():
                if isinstance(m, Bottleneck):
                    init.zeros_(m.bn3.weight)
                elif isinstance(m, BasicBlock):
                    init.zeros_(m.bn2.weight)

    def _make_layer(self, block, planes, blocks, stride=1):
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = Sequential(conv1x1(self.inplanes, planes * block.expansion, stride),
                                    BatchNorm2d(planes * block.expansion))
        kw = {"groups": self.groups, "base_width": self.base_width, "dilation": self.dilation}
        stage = [block(self.inplanes, planes, stride, downsample, **kw)]
        self.inplanes = planes * block.expansion
        stage += [block(self.inplanes, planes, **kw) for _ in range(1, blocks)]
        return Sequential(*stage)

    def stages(self):
        """The stages layer1, layer2, ... in order."""
        return [getattr(self, f"layer{i + 1}") for i in range(self.num_stages)]

    def features(self, x):
        """Everything before global pooling: (N, C_last, h, w)."""
        x = self.relu(self.bn1(self.conv1(x)))
        if self.maxpool is not None:
            x = self.maxpool(x)
        for stage in self.stages():
            x = stage(x)
        return x

    def forward(self, x):
        return self.fc(self.flatten(self.avgpool(self.features(x))))


def resnet18(num_classes=1000, in_channels=3, **kwargs):
    """ResNet-18 with torchvision's layout: 11,689,512 parameters for 1000 classes."""
    return ResNet(BasicBlock, [2, 2, 2, 2], num_classes, in_channels, **kwargs)


def resnet34(num_classes=1000, in_channels=3, **kwargs):
    return ResNet(BasicBlock, [3, 4, 6, 3], num_classes, in_channels, **kwargs)


def resnet50(num_classes=1000, in_channels=3, **kwargs):
    return ResNet(Bottleneck, [3, 4, 6, 3], num_classes, in_channels, **kwargs)


def cifar_resnet(depth=20, num_classes=10, in_channels=3, width=16, **kwargs):
    """The paper's CIFAR ResNets: depth = 6n + 2 (20, 32, 44, 56, 110), three stages of n
    BasicBlocks with width, 2*width, 4*width channels, 3x3 stem, no pooling before the stages."""
    if (depth - 2) % 6 or depth < 8:
        raise ValueError(f"cifar_resnet: depth must be 6n + 2 (8, 14, 20, 32, ...), got {depth}")
    n = (depth - 2) // 6
    return ResNet(BasicBlock, [n, n, n], num_classes, in_channels,
                  widths=[width, 2 * width, 4 * width], stem="cifar", **kwargs)


def resnet20(num_classes=10, in_channels=3, width=16, **kwargs):
    """ResNet-20 (He et al. 2015, CIFAR-10): 0.27M parameters at width 16."""
    return cifar_resnet(20, num_classes, in_channels, width, **kwargs)
