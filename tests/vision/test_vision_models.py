"""axonal.vision.models, utils and ops against torchvision: a seeded torchvision model's state dict,
saved through safetensors, loads into axonal's and gives the same outputs."""
import numpy as np
import pytest
from PIL import Image

import axonal
from axonal import vision


@pytest.mark.parametrize("name, size", [("resnet18", 64), ("resnet50", 64), ("mobilenet_v2", 64),
                                        ("alexnet", 64)])
def test_torchvision_state_dict_loads_and_matches(tv, tmp_path, name, size):
    import torch
    safetensors_torch = pytest.importorskip("safetensors.torch")
    torch.manual_seed(0)
    theirs = getattr(tv.models, name)(weights=None, num_classes=7).eval()
    with torch.no_grad():  # move the BatchNorm statistics off 0/1 so that they matter
        for m in theirs.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.1, 0.1)
                m.running_var.uniform_(0.5, 1.5)
    path = tmp_path / f"{name}.safetensors"
    safetensors_torch.save_file({k: v.contiguous() for k, v in theirs.state_dict().items()}, path)
    ours = getattr(vision.models, name)(weights=None, num_classes=7)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours.load_state_dict(axonal.load(path))
    ours.eval()
    x = np.random.default_rng(1).standard_normal((2, 3, size, size)).astype(np.float32)
    with torch.no_grad():
        want = theirs(torch.tensor(x)).numpy()
    with axonal.no_grad():
        got = ours(axonal.tensor(x)).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


def test_vgg_and_resnet34_layouts(tv):
    """VGG's 100M-parameter classifier makes building it slow (15 s on a loaded CI core): its
    feature stack is compared on outputs, its configurations and the rest by their tables."""
    import torch
    from axonal.vision.models import _vgg_alexnet
    assert _vgg_alexnet._CFGS["A"] == tv.models.vgg.cfgs["A"]
    assert _vgg_alexnet._CFGS["D"] == tv.models.vgg.cfgs["D"]
    torch.manual_seed(0)
    theirs = tv.models.vgg.make_layers(tv.models.vgg.cfgs["A"], batch_norm=True).eval()
    ours = _vgg_alexnet.make_layers(_vgg_alexnet._CFGS["A"], batch_norm=True)
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    ours.eval()
    x = np.random.default_rng(1).standard_normal((1, 3, 32, 32)).astype(np.float32)
    with torch.no_grad():
        want = theirs(torch.tensor(x)).numpy()
    with axonal.no_grad():
        np.testing.assert_allclose(ours(axonal.tensor(x)).numpy(), want, rtol=1e-4, atol=1e-4)
    keys = {k: tuple(v.shape) for k, v in vision.models.resnet34(num_classes=3)
            .state_dict().items()}
    assert keys == {k: tuple(v.shape) for k, v in tv.models.resnet34(num_classes=3)
                    .state_dict().items()}
    for fn in ("vgg11", "vgg11_bn", "vgg16", "vgg16_bn"):
        assert callable(getattr(vision.models, fn))


def test_pretrained_weights_are_refused():
    with pytest.raises(ValueError, match="cannot be downloaded"):
        vision.models.resnet18(weights="IMAGENET1K_V1")


@pytest.mark.parametrize("kwargs", [{}, {"nrow": 3, "padding": 1, "pad_value": 0.5},
                                    {"normalize": True}, {"normalize": True, "scale_each": True},
                                    {"normalize": True, "value_range": (-1.0, 1.0)}])
@pytest.mark.parametrize("shape", [(5, 3, 4, 6), (4, 1, 5, 5), (1, 3, 4, 4), (3, 7, 8)])
def test_make_grid_and_save_image(tv, tmp_path, kwargs, shape):
    import torch
    x = np.random.default_rng(2).standard_normal(shape).astype(np.float32)
    want = tv.utils.make_grid(torch.tensor(x), **kwargs).numpy()
    got = vision.utils.make_grid(axonal.tensor(x), **kwargs).numpy()
    np.testing.assert_allclose(got, want, atol=1e-6)
    if len(shape) == 4:
        ours, theirs = tmp_path / "ours.png", tmp_path / "theirs.png"
        y = np.clip(x, 0, 1)
        vision.utils.save_image(axonal.tensor(y, requires_grad=True), ours, **kwargs)
        tv.utils.save_image(torch.tensor(y), theirs, **kwargs)
        np.testing.assert_array_equal(np.asarray(Image.open(ours)), np.asarray(Image.open(theirs)))
    if len(shape) == 4:  # a list of CHW images is stacked first
        np.testing.assert_array_equal(vision.utils.make_grid(list(axonal.tensor(x)), **kwargs)
                                      .numpy(), got)


def test_box_iou_and_nms(tv):
    import torch
    rng = np.random.default_rng(3)
    xy = rng.uniform(0, 20, (30, 2)).astype(np.float32)
    boxes = np.concatenate([xy, xy + rng.uniform(1, 10, (30, 2)).astype(np.float32)], 1)
    scores = rng.random(30).astype(np.float32)
    np.testing.assert_allclose(vision.ops.box_iou(axonal.tensor(boxes), axonal.tensor(boxes[:7]))
                               .numpy(), tv.ops.box_iou(torch.tensor(boxes),
                                                        torch.tensor(boxes[:7])).numpy(),
                               rtol=1e-6)
    keep = vision.ops.nms(axonal.tensor(boxes), axonal.tensor(scores), 0.3).numpy()
    iou = vision.ops.box_iou(axonal.tensor(boxes), axonal.tensor(boxes)).numpy()
    assert keep.dtype == np.int64 and list(scores[keep]) == sorted(scores[keep], reverse=True)
    for i in range(30):  # every box is kept, or overlaps a kept box with a higher score
        others = [k for k in keep if k != i and scores[k] > scores[i] and iou[i, k] > 0.3]
        assert (i in keep) != bool(others)
