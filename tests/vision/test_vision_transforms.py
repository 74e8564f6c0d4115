"""axonal.vision.transforms against torchvision.transforms (v1), on PIL Images and tensors."""
import numpy as np
import pytest
from PIL import Image

import axonal
from axonal.vision import transforms as T
from axonal.vision.transforms import functional as F

RNG = np.random.default_rng(0)
RGB = RNG.integers(0, 256, (17, 23, 3), dtype=np.uint8)
GRAY = RNG.integers(0, 256, (17, 23), dtype=np.uint8)
FLOAT = RNG.random((3, 17, 23), dtype=np.float32)


def pil(mode="RGB"):
    return Image.fromarray(RGB if mode == "RGB" else GRAY)


def pair(tv, kind):
    """The same input for both libraries: ('pil', 'pil_l', 'float', 'uint8')."""
    import torch
    if kind == "pil":
        return pil(), pil()
    if kind == "pil_l":
        return pil("L"), pil("L")
    arr = FLOAT if kind == "float" else np.ascontiguousarray(RGB.transpose(2, 0, 1))
    return axonal.tensor(arr), torch.tensor(arr)


def same(ours, theirs, atol=0.0):
    if isinstance(theirs, Image.Image):
        assert isinstance(ours, Image.Image) and ours.mode == theirs.mode
        assert ours.size == theirs.size
        np.testing.assert_array_equal(np.asarray(ours), np.asarray(theirs))
        return
    a, b = ours.numpy(), theirs.numpy()
    assert a.dtype == b.dtype and a.shape == b.shape
    if atol:
        np.testing.assert_allclose(a, b, atol=atol, rtol=0)
    else:
        np.testing.assert_array_equal(a, b)


def test_to_tensor_and_back(tv):
    import torch
    V = tv.transforms
    for img in (pil(), pil("L"), pil().convert("1"), Image.fromarray(GRAY.astype(np.int32))):
        same(T.ToTensor()(img), V.ToTensor()(img))
        same(T.PILToTensor()(img), V.PILToTensor()(img))
    for arr in (RGB, GRAY, RGB.astype(np.float32), RGB.astype(np.int16)):
        same(T.ToTensor()(arr), V.ToTensor()(arr))
    with pytest.raises(TypeError, match="pic should be PIL Image or ndarray"):
        T.ToTensor()(axonal.tensor(FLOAT))  # a CHW tensor is not read as HWC
    for arr in (FLOAT, FLOAT[:1], np.ascontiguousarray(RGB.transpose(2, 0, 1)), GRAY[None]):
        same(T.ToPILImage()(axonal.tensor(arr)), V.ToPILImage()(torch.tensor(arr)))
    same(T.ToPILImage()(RGB), V.ToPILImage()(RGB))
    same(T.ToPILImage(mode="F")(axonal.tensor(FLOAT[:1])),
         V.ToPILImage(mode="F")(torch.tensor(FLOAT[:1])))


@pytest.mark.parametrize("src, dst", [("uint8", "float32"), ("float32", "uint8"),
                                      ("uint8", "int16"), ("int32", "uint8"),
                                      ("float64", "float32"), ("float32", "int16")])
def test_convert_image_dtype(tv, src, dst):
    import torch
    arr = (RGB.transpose(2, 0, 1) if src in ("uint8", "int32") else FLOAT).astype(src)
    same(T.ConvertImageDtype(getattr(axonal, dst))(axonal.tensor(arr)),
         tv.transforms.ConvertImageDtype(getattr(torch, dst))(torch.tensor(arr)))
    if (src, dst) == ("float32", "int16"):
        with pytest.raises(RuntimeError, match="cannot be performed safely"):
            T.ConvertImageDtype(axonal.int64)(axonal.tensor(arr))


def test_normalize_and_compose(tv):
    import torch
    mean, std = (0.5, 0.4, 0.3), (0.2, 0.25, 0.3)
    ours = T.Compose([T.ToTensor(), T.Normalize(mean, std)])(pil())
    same(ours, tv.transforms.Compose([tv.transforms.ToTensor(),
                                      tv.transforms.Normalize(mean, std)])(pil()), atol=1e-6)
    t = axonal.tensor(FLOAT.copy())
    assert T.Normalize(mean, std, inplace=True)(t) is t
    np.testing.assert_allclose(t.numpy(), tv.transforms.Normalize(mean, std)(
        torch.tensor(FLOAT)).numpy(), atol=1e-6)
    with pytest.raises(TypeError, match="float tensor"):
        T.Normalize(mean, std)(axonal.tensor(RGB))


@pytest.mark.parametrize("kind", ["pil", "pil_l", "float", "uint8"])
@pytest.mark.parametrize("size, interp, antialias", [
    (10, "bilinear", True), ((9, 31), "bilinear", True), (40, "bicubic", True),
    ((8, 12), "nearest", True), ((30, 11), "bilinear", False), (12, "bilinear", True),
    ((9, 40), "bicubic", False)])
def test_resize(tv, kind, size, interp, antialias):
    if kind.startswith("pil") and not antialias:
        pytest.skip("PIL always antialiases")
    ours_in, theirs_in = pair(tv, kind)
    mode = T.InterpolationMode(interp)
    ours = T.Resize(size, mode, antialias=antialias)(ours_in)
    theirs = tv.transforms.Resize(size, tv.transforms.InterpolationMode(interp),
                                  antialias=antialias)(theirs_in)
    if kind == "float":
        same(ours, theirs, atol=2e-5 if interp == "bilinear" else 1e-4)
    else:
        same(ours, theirs)
    capped = T.Resize(9, max_size=12)(ours_in), tv.transforms.Resize(9, max_size=12)(theirs_in)
    assert F.get_dimensions(capped[0]) == tv.transforms.functional.get_dimensions(capped[1])


@pytest.mark.parametrize("kind", ["pil", "pil_l", "float", "uint8"])
def test_crops_pads_flips(tv, kind):
    V = tv.transforms
    ours_in, theirs_in = pair(tv, kind)
    for ours_t, theirs_t in [
            (T.CenterCrop(9), V.CenterCrop(9)), (T.CenterCrop((20, 30)), V.CenterCrop((20, 30))),
            (T.CenterCrop((4, 7)), V.CenterCrop((4, 7))),
            (T.Pad(3), V.Pad(3)), (T.Pad((1, 2, 3, 4), fill=7), V.Pad((1, 2, 3, 4), fill=7)),
            (T.Pad((2, 5), padding_mode="reflect"), V.Pad((2, 5), padding_mode="reflect")),
            (T.Pad(4, padding_mode="edge"), V.Pad(4, padding_mode="edge")),
            (T.Pad(3, padding_mode="symmetric"), V.Pad(3, padding_mode="symmetric")),
            (T.RandomHorizontalFlip(1.0), V.RandomHorizontalFlip(1.0)),
            (T.RandomVerticalFlip(1.0), V.RandomVerticalFlip(1.0)),
            (T.RandomHorizontalFlip(0.0), V.RandomHorizontalFlip(0.0))]:
        same(ours_t(ours_in), theirs_t(theirs_in))
    same(F.crop(ours_in, 2, 3, 8, 9), V.functional.crop(theirs_in, 2, 3, 8, 9))
    same(F.resized_crop(ours_in, 1, 2, 12, 15, [7, 8]),
         V.functional.resized_crop(theirs_in, 1, 2, 12, 15, [7, 8]), atol=2e-5)
    if kind == "pil":
        same(T.Pad(2, fill=(10, 20, 30))(ours_in), V.Pad(2, fill=(10, 20, 30))(theirs_in))


@pytest.mark.parametrize("kind", ["pil", "float", "uint8"])
def test_colour(tv, kind):
    V = tv.transforms
    ours_in, theirs_in = pair(tv, kind)
    atol = 1e-6 if kind == "float" else 0
    for n in (1, 3):
        same(T.Grayscale(n)(ours_in), V.Grayscale(n)(theirs_in), atol)
    for name, factor in [("brightness", 1.4), ("contrast", 0.6), ("saturation", 1.7),
                         ("hue", 0.2), ("hue", -0.45)]:
        ours = getattr(F, f"adjust_{name}")(ours_in, factor)
        theirs = getattr(V.functional, f"adjust_{name}")(theirs_in, factor)
        if kind == "uint8" and name in ("contrast", "hue"):
            assert np.abs(ours.numpy().astype(int) - theirs.numpy().astype(int)).max() <= 1
        else:
            same(ours, theirs, 1e-5 if kind == "float" else 0)
    same(T.ColorJitter()(ours_in), V.ColorJitter()(theirs_in))  # no range: the identity


@pytest.mark.parametrize("kind", ["pil", "pil_l", "float"])
def test_rotation(tv, kind):
    V = tv.transforms
    ours_in, theirs_in = pair(tv, kind)
    for angle, expand, interp in [(90.0, False, "nearest"), (30.0, True, "nearest"),
                                  (-20.0, False, "bilinear")]:
        mode = T.InterpolationMode(interp)
        ours = F.rotate(ours_in, angle, mode, expand=expand)
        theirs = V.functional.rotate(theirs_in, angle, V.InterpolationMode(interp),
                                     expand=expand)
        if kind.startswith("pil"):
            same(ours, theirs)
        else:  # Pillow vs grid_sample: same geometry, pixels at exact ties may round apart
            a, b = ours.numpy(), theirs.numpy()
            assert a.shape == b.shape
            assert np.mean(np.abs(a - b) > 1e-4) < (0.01 if angle == 90 else 0.15)
    same(T.RandomRotation((90, 90))(ours_in), V.RandomRotation((90, 90))(theirs_in)) \
        if kind.startswith("pil") else None


def test_random_transforms_follow_axonal_seed():
    img = axonal.tensor(FLOAT)
    augment = T.Compose([T.RandomResizedCrop(8), T.RandomHorizontalFlip(), T.ColorJitter(
        0.4, 0.4, 0.4, 0.1), T.RandomRotation(15), T.RandomApply([T.Grayscale(3)], p=0.5),
        T.RandomChoice([T.Pad(1), T.CenterCrop(6)]), T.Lambda(lambda x: x * 2)])
    axonal.manual_seed(3)
    first = [augment(img).numpy() for _ in range(4)]
    axonal.manual_seed(3)
    again = [augment(img).numpy() for _ in range(4)]
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    assert not all(np.array_equal(first[0], x) for x in first[1:])
    assert {x.shape for x in first} <= {(3, 10, 10), (3, 6, 6)}
    i, j, h, w = T.RandomCrop.get_params(img, (5, 6))
    assert 0 <= i <= 12 and 0 <= j <= 17 and (h, w) == (5, 6)
    out = T.RandomCrop(20, padding=2, pad_if_needed=True)(img)
    assert tuple(out.shape) == (3, 20, 20)
    assert T.RandomApply([T.Lambda(lambda x: None)], p=0.0)(img) is img
    with pytest.raises(ValueError, match="larger than input image size"):
        T.RandomCrop(40)(img)
