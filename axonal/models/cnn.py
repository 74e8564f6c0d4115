"""Classic convolutional networks, small enough for 28x28 / 32x32 images: LeNet-5, VGG-style nets,
an Inception module with a small GoogLeNet, and a DenseNet block with a small DenseNet.

Layer 8 (built from the public nn API). What each architecture contributed:

* LeNet-5 (LeCun et al. 1998): the conv-pool stack. Small shared filters find local patterns
  anywhere in the image (weight sharing: 5x5x6 weights instead of a dense layer per position),
  pooling makes them tolerant to small shifts and halves the resolution, and a few fully connected
  layers classify the resulting features.
* AlexNet (2012) / ZFNet (2013): the same recipe scaled up with ReLU, dropout, augmentation and
  GPUs; ZFNet's visualizations (see axonal.utils.visualize) showed what the filters learn.
* VGG (Simonyan & Zisserman 2014): only 3x3 convs, stacked. Two 3x3 convs see a 5x5 window with
  fewer weights (2*9 vs 25 per channel pair) and an extra non-linearity; depth comes from repeating
  one simple block, with channels doubling whenever max pooling halves the resolution.
* Inception / GoogLeNet (Szegedy et al. 2014): parallel 1x1, 3x3, 5x5 and pooling branches whose
  outputs are concatenated, so the net chooses the receptive field per feature; 1x1 "bottleneck"
  convs shrink the channels before the expensive 3x3/5x5 convs, which keeps the cost down.
* DenseNet (Huang et al. 2016): every layer receives the concatenation of *all* earlier feature
  maps of its block and adds only `growth_rate` new channels: features are reused instead of
  re-learned, and every layer has a short path to the loss (as ResNet's shortcuts, but by
  concatenation instead of addition). Transitions (1x1 conv + 2x2 average pooling) compress.

See axonal.models.resnet for ResNet's identity shortcuts.
"""
from collections import OrderedDict
from typing import ClassVar

from ..nn import BatchNorm2d, Dropout, Flatten, Linear, ReLU, Sequential, Tanh
from ..nn.layers.conv import Conv2d
from ..nn.layers.pooling import AdaptiveAvgPool2d, AvgPool2d, MaxPool2d
from ..nn.module import Module
from ..ops.shape import cat


class LeNet5(Module):
    """LeNet-5: conv(6, 5x5) - pool - conv(16, 5x5) - pool - fc 120 - fc 84 - fc classes.

    `input_size` 28 pads the first conv by 2, which is what the original 32x32 input amounted to
    (MNIST digits centered in a 32x32 field), so both give 16 x 5 x 5 features before the fc layers.
    The original used scaled tanh and trainable average "subsampling"; activation="relu" with
    pool="max" is the modern variant (trains faster, slightly more accurate).
    """

    def __init__(self, num_classes=10, in_channels=1, input_size=28, activation="relu", pool="max"):
        super().__init__()
        if input_size not in (28, 32):
            raise ValueError(f"LeNet5: input_size must be 28 or 32, got {input_size}")
        if activation not in ("relu", "tanh"):
            raise ValueError(f"LeNet5: activation must be 'relu' or 'tanh', got {activation!r}")
        if pool not in ("max", "avg"):
            raise ValueError(f"LeNet5: pool must be 'max' or 'avg', got {pool!r}")
        act = ReLU if activation == "relu" else Tanh
        pool_cls = MaxPool2d if pool == "max" else AvgPool2d
        self.conv1 = Conv2d(in_channels, 6, 5, padding=2 if input_size == 28 else 0)
        self.act1, self.pool1 = act(), pool_cls(2)
        self.conv2 = Conv2d(6, 16, 5)
        self.act2, self.pool2 = act(), pool_cls(2)
        self.flatten = Flatten(1)
        self.fc1, self.act3 = Linear(16 * 5 * 5, 120), act()
        self.fc2, self.act4 = Linear(120, 84), act()
        self.fc3 = Linear(84, num_classes)

    def forward(self, x):
        x = self.pool1(self.act1(self.conv1(x)))
        x = self.pool2(self.act2(self.conv2(x)))
        x = self.act3(self.fc1(self.flatten(x)))
        return self.fc3(self.act4(self.fc2(x)))


# ints are 3x3 conv widths, "M" a 2x2 max pool (torchvision's notation)
VGG_CONFIGS = {
    "small": [32, 32, "M", 64, 64, "M"],
    "small3": [32, 32, "M", 64, 64, "M", 128, 128, "M"],
    "vgg11": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "vgg16": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512,
              "M"],
}


def vgg_features(cfg, in_channels=3, batch_norm=True):
    """The conv stack of a VGG config: 3x3 conv (padding 1, so only pooling changes the size)
    [+ BatchNorm] + ReLU per int, MaxPool2d(2) per "M"."""
    layers, c = [], in_channels
    for v in cfg:
        if v == "M":
            layers.append(MaxPool2d(2))
            continue
        if not isinstance(v, int) or v <= 0:
            raise ValueError(f"VGG: config entries must be positive ints or 'M', got {v!r}")
        layers.append(Conv2d(c, v, 3, padding=1, bias=not batch_norm))
        if batch_norm:
            layers.append(BatchNorm2d(v))
        layers.append(ReLU())
        c = v
    return Sequential(*layers)


class VGG(Module):
    """A VGG-style net: `features` (a 3x3 conv stack from `cfg`, a name in VGG_CONFIGS or a list)
    then `classifier` (Flatten, Linear(hidden), ReLU, Dropout, Linear(classes)) on the
    (C, input_size / 2^pools, ...) feature map. VGG's two 4096-wide layers become one `hidden`."""

    def __init__(self, cfg="small", num_classes=10, in_channels=1, input_size=28, batch_norm=True,
                 hidden=256, dropout=0.5):
        super().__init__()
        if isinstance(cfg, str):
            if cfg not in VGG_CONFIGS:
                raise ValueError(f"VGG: unknown config {cfg!r} (have {', '.join(VGG_CONFIGS)})")
            cfg = VGG_CONFIGS[cfg]
        self.cfg = list(cfg)
        convs = [v for v in self.cfg if v != "M"]
        if not convs:
            raise ValueError("VGG: config needs at least one conv layer")
        side = int(input_size) // 2 ** self.cfg.count("M")
        if side < 1:
            raise ValueError(f"VGG: {self.cfg.count('M')} poolings leave nothing of a "
                             f"{input_size}x{input_size} input")
        self.features = vgg_features(self.cfg, in_channels, batch_norm)
        self.classifier = Sequential(Flatten(1), Linear(convs[-1] * side * side, hidden), ReLU(),
                                     Dropout(dropout), Linear(hidden, num_classes))

    def forward(self, x):
        return self.classifier(self.features(x))


def _conv_bn(in_channels, out_channels, kernel_size, **kw):
    """conv (no bias) + BatchNorm + ReLU: the unit of GoogLeNet and most later nets."""
    return Sequential(OrderedDict([
        ("conv", Conv2d(in_channels, out_channels, kernel_size, bias=False, **kw)),
        ("bn", BatchNorm2d(out_channels, eps=0.001)),
        ("relu", ReLU())]))


class Inception(Module):
    """The Inception module: four parallel branches on the same input, concatenated on channels.

    branch1: 1x1 conv (ch1x1); branch2: 1x1 reduce (ch3x3red) -> 3x3 (ch3x3); branch3: 1x1 reduce
    (ch5x5red) -> 5x5 (ch5x5); branch4: 3x3 max pool (stride 1) -> 1x1 projection (pool_proj).
    Every branch keeps the spatial size; the output has ch1x1 + ch3x3 + ch5x5 + pool_proj channels.
    (torchvision's GoogLeNet uses 3x3 in branch3 by mistake; this is the paper's 5x5.)
    """

    def __init__(self, in_channels, ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj):
        super().__init__()
        self.branch1 = _conv_bn(in_channels, ch1x1, 1)
        self.branch2 = Sequential(_conv_bn(in_channels, ch3x3red, 1),
                                  _conv_bn(ch3x3red, ch3x3, 3, padding=1))
        self.branch3 = Sequential(_conv_bn(in_channels, ch5x5red, 1),
                                  _conv_bn(ch5x5red, ch5x5, 5, padding=2))
        self.branch4 = Sequential(MaxPool2d(3, stride=1, padding=1),
                                  _conv_bn(in_channels, pool_proj, 1))
        self.out_channels = ch1x1 + ch3x3 + ch5x5 + pool_proj

    def forward(self, x):
        return cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], 1)


class GoogLeNetSmall(Module):
    """A GoogLeNet for 28x28 / 32x32 images: a 3x3 stem, Inception modules 3a, 3b, max pool, 4a,
    4b, max pool, 5a, global average pooling (GoogLeNet's replacement for big fc layers), dropout,
    one linear layer. Widths are those of the paper divided by `shrink` (default 4)."""

    # (ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj) of the paper's 3a, 3b, 4a, 4b, 5a
    _PAPER: ClassVar[dict] = {"3a": (64, 96, 128, 16, 32, 32), "3b": (128, 128, 192, 32, 96, 64),
              "4a": (192, 96, 208, 16, 48, 64), "4b": (160, 112, 224, 24, 64, 64),
              "5a": (256, 160, 320, 32, 128, 128)}

    def __init__(self, num_classes=10, in_channels=1, shrink=4, dropout=0.2):
        super().__init__()
        if shrink not in (1, 2, 4, 8):
            raise ValueError(f"GoogLeNetSmall: shrink must be 1, 2, 4 or 8, got {shrink}")
        widths = {k: [max(1, c // shrink) for c in v] for k, v in self._PAPER.items()}
        stem = max(8, 192 // shrink)
        self.stem = _conv_bn(in_channels, stem, 3, padding=1)
        c = stem
        for name in ("3a", "3b", "4a", "4b", "5a"):
            block = Inception(c, *widths[name])
            setattr(self, f"inception{name}", block)
            c = block.out_channels
            if name in ("3b", "4b"):
                setattr(self, f"maxpool{name[0]}", MaxPool2d(2))
        self.avgpool = AdaptiveAvgPool2d((1, 1))
        self.flatten, self.dropout = Flatten(1), Dropout(dropout)
        self.fc = Linear(c, num_classes)

    def forward(self, x):
        x = self.stem(x)
        x = self.maxpool3(self.inception3b(self.inception3a(x)))
        x = self.maxpool4(self.inception4b(self.inception4a(x)))
        x = self.inception5a(x)
        return self.fc(self.dropout(self.flatten(self.avgpool(x))))


class DenseLayer(Module):
    """BN-ReLU-1x1 conv (bn_size * growth_rate channels: the bottleneck) - BN-ReLU-3x3 conv
    (growth_rate channels). Input: all earlier features of the block, concatenated."""

    def __init__(self, in_channels, growth_rate, bn_size=4, drop_rate=0.0):
        super().__init__()
        inner = bn_size * growth_rate
        self.norm1, self.relu1 = BatchNorm2d(in_channels), ReLU()
        self.conv1 = Conv2d(in_channels, inner, 1, bias=False)
        self.norm2, self.relu2 = BatchNorm2d(inner), ReLU()
        self.conv2 = Conv2d(inner, growth_rate, 3, padding=1, bias=False)
        self.dropout = Dropout(drop_rate) if drop_rate > 0 else None

    def forward(self, x):
        out = self.conv1(self.relu1(self.norm1(x)))
        out = self.conv2(self.relu2(self.norm2(out)))
        return self.dropout(out) if self.dropout is not None else out


class DenseBlock(Module):
    """`num_layers` DenseLayers; layer i sees in_channels + i * growth_rate channels (everything
    before it) and the block returns all of them: in_channels + num_layers * growth_rate."""

    def __init__(self, num_layers, in_channels, growth_rate, bn_size=4, drop_rate=0.0):
        super().__init__()
        if num_layers < 1 or growth_rate < 1:
            raise ValueError(f"DenseBlock: need num_layers >= 1 and growth_rate >= 1, got "
                             f"{num_layers}, {growth_rate}")
        for i in range(num_layers):
            self.add_module(f"denselayer{i + 1}", DenseLayer(in_channels + i * growth_rate,
                                                             growth_rate, bn_size, drop_rate))
        self.out_channels = in_channels + num_layers * growth_rate

    def forward(self, x):
        features = [x]
        for layer in self.children():
            features.append(layer(cat(features, 1)))  # the concatenation is the dense connection
        return cat(features, 1)


class Transition(Sequential):
    """Between dense blocks: BN-ReLU-1x1 conv (compresses the channels) - 2x2 average pooling."""

    def __init__(self, in_channels, out_channels):
        super().__init__(OrderedDict([
            ("norm", BatchNorm2d(in_channels)), ("relu", ReLU()),
            ("conv", Conv2d(in_channels, out_channels, 1, bias=False)),
            ("pool", AvgPool2d(2))]))


class DenseNet(Module):
    """A DenseNet-BC for small images (torchvision's module names under `features`): 3x3 stem conv
    (`conv0`), dense blocks of `block_config` layers with transitions halving the resolution and
    multiplying the channels by `compression`, final BN-ReLU, global average pooling, and the
    linear `classifier`."""

    def __init__(self, growth_rate=12, block_config=(6, 6, 6), num_init_features=24, bn_size=4,
                 compression=0.5, drop_rate=0.0, num_classes=10, in_channels=1):
        super().__init__()
        if not 0 < compression <= 1:
            raise ValueError(f"DenseNet: compression must be in (0, 1], got {compression}")
        layers = OrderedDict([("conv0", Conv2d(in_channels, num_init_features, 3, padding=1,
                                               bias=False))])
        c = num_init_features
        for i, n in enumerate(block_config):
            block = DenseBlock(n, c, growth_rate, bn_size, drop_rate)
            layers[f"denseblock{i + 1}"] = block
            c = block.out_channels
            if i != len(block_config) - 1:
                out = int(c * compression)
                layers[f"transition{i + 1}"] = Transition(c, out)
                c = out
        layers["norm5"], layers["relu5"] = BatchNorm2d(c), ReLU()
        self.features = Sequential(layers)
        self.avgpool, self.flatten = AdaptiveAvgPool2d((1, 1)), Flatten(1)
        self.classifier = Linear(c, num_classes)

    def forward(self, x):
        return self.classifier(self.flatten(self.avgpool(self.features(x))))
