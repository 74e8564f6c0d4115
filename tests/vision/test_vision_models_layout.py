"""axonal.vision.models' ResNet against torchvision's: the same children in the same order (programs
cut models by `children()`), torchvision's constructor signature, and `lenet`."""
import numpy as np
import pytest

import axonal
from axonal import nn, vision


@pytest.mark.parametrize("name", ["resnet18", "resnet50"])
def test_resnet_children_match_torchvision(tv, name):
    ours = getattr(vision.models, name)(weights=None, num_classes=5)
    theirs = getattr(tv.models, name)(weights=None, num_classes=5)
    assert [n for n, _ in ours.named_children()] == [n for n, _ in theirs.named_children()]
    assert ([type(m).__name__ for m in ours.children()]
            == [type(m).__name__ for m in theirs.children()])


def test_resnet_cut_by_children_and_conv1_replaced():
    axonal.manual_seed(0)
    model = vision.models.resnet18(weights=None)
    model.conv1 = nn.Conv2d(1, 64, kernel_size=(7, 7), stride=(2, 2), padding=(3, 3), bias=False)
    assert [n for n, _ in model.named_children()][0] == "conv1"  # the replacement keeps its place
    body = nn.Sequential(*(list(model.children())[:-1]))
    x = axonal.randn(2, 1, 28, 28)
    model.eval()
    body.eval()
    feats = body(x)
    assert tuple(feats.shape) == (2, 512, 1, 1)  # avgpool's output: flattening is forward's job
    np.testing.assert_allclose(model.fc(feats.flatten(1)).detach().numpy(),
                               model(x).detach().numpy(), rtol=1e-6, atol=1e-6)


def test_resnet_signature_is_torchvision_s():
    m = vision.models.ResNet(vision.models.BasicBlock, [1, 1, 1, 1], 4, True)  # zero_init_residual
    assert float(m.layer1[0].bn2.weight.abs().sum()) == 0.0
    assert m.fc.out_features == 4
    with pytest.raises(NotImplementedError, match="replace_stride_with_dilation"):
        vision.models.resnet50(replace_stride_with_dilation=[False, True, True])
    with pytest.raises(ValueError, match="pretrained weights"):
        vision.models.resnet18(weights="IMAGENET1K_V1")


def test_lenet():
    axonal.manual_seed(0)
    model = vision.models.lenet(num_classes=7)
    assert isinstance(model, vision.models.LeNet5)
    assert tuple(model(axonal.randn(3, 1, 28, 28)).shape) == (3, 7)
    assert sum(p.numel() for p in model.parameters()) == (
        6 * 25 + 6 + 16 * 6 * 25 + 16 + 400 * 120 + 120 + 120 * 84 + 84 + 84 * 7 + 7)
    with pytest.raises(ValueError, match="pretrained weights"):
        vision.models.lenet(weights="DEFAULT")
