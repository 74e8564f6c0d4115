"""Image transforms (axonal.utils.transforms) and the PNG visualization tools (axonal.utils.visualize)."""
import zlib

import numpy as np
import pytest

import axonal
from axonal import ShapeError
from axonal.utils.data import DataLoader
from axonal.utils.transforms import (
    AugmentedDataset,
    Compose,
    Normalize,
    RandomAffine,
    RandomCrop,
    RandomHorizontalFlip,
    RandomVerticalFlip,
    ToTensor,
    affine_warp,
)
from axonal.utils.visualize import (
    feature_maps,
    make_grid,
    png_size,
    save_feature_maps,
    save_filters,
    to_uint8,
    write_png,
)


@pytest.fixture
def batch():
    return np.random.default_rng(0).random((6, 2, 10, 12)).astype(np.float32)


RANDOM = {
    "crop": lambda g: RandomCrop((10, 12), padding=3, generator=g),
    "crop-small": lambda g: RandomCrop(8, generator=g),
    "hflip": lambda g: RandomHorizontalFlip(generator=g),
    "vflip": lambda g: RandomVerticalFlip(generator=g),
    "affine": lambda g: RandomAffine(20, translate=(0.1, 0.2), scale=(0.8, 1.2), generator=g),
    "affine-nearest": lambda g: RandomAffine(15, interpolation="nearest", generator=g),
}


@pytest.mark.parametrize("name", sorted(RANDOM))
def test_shapes_kinds_and_seeded_determinism(name, batch):
    out = RANDOM[name](1)(batch)
    shape = (6, 2, 8, 8) if name == "crop-small" else batch.shape
    assert isinstance(out, np.ndarray) and out.shape == shape and out.dtype == np.float32
    np.testing.assert_array_equal(out, RANDOM[name](1)(batch))      # same seed, same output
    assert not np.array_equal(out, RANDOM[name](2)(batch))          # another seed, another one
    one = RANDOM[name](1)(axonal.from_numpy(batch[0]))               # one image, as a Tensor
    assert isinstance(one, axonal.Tensor) and tuple(one.shape) == shape[1:]
    # generator=None draws from axonal's default generator: manual_seed makes it repeatable
    axonal.manual_seed(5)
    a = RANDOM[name](None)(batch)
    axonal.manual_seed(5)
    np.testing.assert_array_equal(a, RANDOM[name](None)(batch))


def test_bad_inputs_raise_clear_errors(batch):
    with pytest.raises(ShapeError, match=r"\(C, H, W\)"):
        RandomHorizontalFlip()(batch[0, 0])
    with pytest.raises(ShapeError, match="larger"):
        RandomCrop(20)(batch)
    with pytest.raises(ValueError, match="p must be"):
        RandomHorizontalFlip(1.5)
    with pytest.raises(ValueError, match="zero"):
        Normalize([0.0], [0.0])
    with pytest.raises(ShapeError, match="channels"):
        Normalize([0, 0, 0], [1, 1, 1])(batch)
    with pytest.raises(ValueError, match="interpolation"):
        RandomAffine(10, interpolation="cubic")
    with pytest.raises(TypeError, match="callable"):
        Compose([3])


def test_flip_is_exact(batch):
    np.testing.assert_array_equal(RandomHorizontalFlip(1.0)(batch), batch[..., ::-1])
    np.testing.assert_array_equal(RandomVerticalFlip(1.0)(batch), batch[..., ::-1, :])
    np.testing.assert_array_equal(RandomHorizontalFlip(0.0)(batch), batch)
    out = RandomHorizontalFlip(0.5, generator=3)(batch)
    flipped = [np.array_equal(o, b[..., ::-1]) for o, b in zip(out, batch)]
    kept = [np.array_equal(o, b) for o, b in zip(out, batch)]
    assert all(f != k for f, k in zip(flipped, kept))  # each image: flipped or untouched
    assert any(flipped) and any(kept)
    assert out is not batch and not np.shares_memory(out, batch)


def test_crop_with_padding_is_a_translation_that_keeps_the_content():
    x = np.zeros((20, 1, 12, 12), np.float32)
    x[:, :, 4:8, 3:9] = np.random.default_rng(1).random((20, 1, 4, 6)) + 1.0  # border >= 3 empty
    out = RandomCrop(12, padding=3, generator=0)(x)
    shifts = set()
    for o, src in zip(out, x):
        np.testing.assert_array_equal(np.sort(o.ravel()), np.sort(src.ravel()))  # nothing lost
        padded = np.pad(src, ((0, 0), (3, 3), (3, 3)))
        hits = [(i, j) for i in range(7) for j in range(7)
                if np.array_equal(padded[:, i:i + 12, j:j + 12], o)]
        assert hits, "the crop must be a window of the padded image"
        shifts.add(hits[0])
    assert len(shifts) > 5  # images get their own offsets
    # padding_mode edge copies the border instead of filling
    edge = RandomCrop(12, padding=3, padding_mode="edge", fill=9.0, generator=0)(x + 1)
    assert edge.min() >= 1.0


def test_normalize_formula_and_to_tensor(batch):
    mean, std = [0.2, 0.7], [0.5, 2.0]
    expected = (batch - np.array(mean, np.float32)[:, None, None]) / \
        np.array(std, np.float32)[:, None, None]
    np.testing.assert_allclose(Normalize(mean, std)(batch), expected, rtol=1e-6)
    t = Normalize(mean, std)(axonal.from_numpy(batch[1]))
    np.testing.assert_allclose(t.numpy(), expected[1], rtol=1e-6)
    img = np.random.default_rng(0).integers(0, 256, (5, 7, 3), dtype=np.uint8)
    out = ToTensor()(img)
    assert isinstance(out, axonal.Tensor) and tuple(out.shape) == (3, 5, 7)
    assert out.dtype == axonal.float32
    np.testing.assert_allclose(out.numpy(), img.transpose(2, 0, 1) / 255.0, rtol=1e-6)
    assert tuple(ToTensor()(img[..., 0]).shape) == (1, 5, 7)
    many = np.zeros((4, 28, 28), np.uint8)
    assert tuple(ToTensor("NHW")(many).shape) == (4, 1, 28, 28)
    with pytest.raises(ShapeError, match="layout"):
        ToTensor("NHWC")(many)


def test_affine_identity_rotation_and_shift(batch):
    x = batch[:, :, :10, :10].copy()
    np.testing.assert_allclose(RandomAffine(0)(x), x, atol=1e-6)
    # 90 degrees counter-clockwise (as displayed, row 0 on top) is numpy's rot90
    rot = affine_warp(x, np.full(6, 90.0), np.zeros(6), np.zeros(6), np.ones(6))
    np.testing.assert_allclose(rot, np.rot90(x, 1, axes=(2, 3)), atol=1e-5)
    for mode in ("bilinear", "nearest"):
        moved = affine_warp(x, np.zeros(6), np.full(6, 2.0), np.full(6, -1.0), np.ones(6), mode)
        np.testing.assert_allclose(moved[:, :, :-1, 2:], x[:, :, 1:, :-2], atol=1e-6)
        assert np.all(moved[:, :, :, :2] == 0) and np.all(moved[:, :, -1, :] == 0)
    # bilinear: half a pixel to the right is the mean of horizontal neighbours
    half = affine_warp(x, np.zeros(6), np.full(6, 0.5), np.zeros(6), np.ones(6))
    np.testing.assert_allclose(half[..., 1:], (x[..., 1:] + x[..., :-1]) / 2, atol=1e-6)
    filled = affine_warp(x, np.zeros(6), np.full(6, 3.0), np.zeros(6), np.ones(6), fill=5.0)
    np.testing.assert_allclose(filled[..., :3], 5.0)


def test_compose_and_augmented_dataset_with_a_loader():
    x = np.random.default_rng(0).random((50, 1, 8, 8)).astype(np.float32)
    y = np.arange(50) % 10
    t = Compose([RandomCrop(8, padding=1, generator=0), RandomHorizontalFlip(generator=1),
                 Normalize([0.5], [0.25])])
    assert "RandomCrop" in repr(t)
    ds = AugmentedDataset(x, y, t)
    img, label = ds[3]
    assert tuple(img.shape) == (1, 8, 8) and label == 3
    loader = DataLoader(ds, batch_size=16, shuffle=False)
    first = [b for b in loader]
    assert [tuple(b[0].shape) for b in first] == [(16, 1, 8, 8)] * 3 + [(2, 1, 8, 8)]
    np.testing.assert_array_equal(first[0][1].numpy(), y[:16])
    again = next(iter(loader))[0].numpy()
    assert not np.array_equal(again, first[0][0].numpy())  # new random parameters each epoch
    plain = next(iter(DataLoader(AugmentedDataset(x, y), batch_size=4)))[0].numpy()
    np.testing.assert_array_equal(plain, x[:4])
    with pytest.raises(ValueError, match="targets"):
        AugmentedDataset(x, y[:3])


# ----------------------------------------------------------------------------------- visualize


def _read_png(path):
    """Decode an 8-bit, non-interlaced PNG written with filter 0 (what write_png writes)."""
    with open(path, "rb") as f:
        data = f.read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks = 8, {}
    while pos < len(data):
        n = int.from_bytes(data[pos:pos + 4], "big")
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + n]
        crc = int.from_bytes(data[pos + 8 + n:pos + 12 + n], "big")
        assert zlib.crc32(kind + body) & 0xFFFFFFFF == crc, kind
        chunks[kind] = chunks.get(kind, b"") + body
        pos += 12 + n
    w, h = int.from_bytes(chunks[b"IHDR"][:4], "big"), int.from_bytes(chunks[b"IHDR"][4:8], "big")
    channels = {0: 1, 2: 3, 6: 4}[chunks[b"IHDR"][9]]
    raw = np.frombuffer(zlib.decompress(chunks[b"IDAT"]), np.uint8).reshape(h, 1 + w * channels)
    assert np.all(raw[:, 0] == 0)
    img = raw[:, 1:].reshape(h, w, channels)
    return img[..., 0] if channels == 1 else img


def test_write_png_round_trips(tmp_path):
    grey = np.random.default_rng(0).integers(0, 256, (7, 5), dtype=np.uint8)
    rgb = np.random.default_rng(1).integers(0, 256, (4, 9, 3), dtype=np.uint8)
    write_png(tmp_path / "g.png", grey)
    write_png(tmp_path / "c.png", rgb)
    np.testing.assert_array_equal(_read_png(tmp_path / "g.png"), grey)
    np.testing.assert_array_equal(_read_png(tmp_path / "c.png"), rgb)
    assert png_size(tmp_path / "g.png") == (5, 7)
    plt = pytest.importorskip("matplotlib.pyplot")  # an independent decoder agrees
    np.testing.assert_allclose(plt.imread(tmp_path / "c.png")[..., :3] * 255, rgb, atol=0.5)
    with pytest.raises(ValueError, match="expected"):
        write_png(tmp_path / "bad.png", np.zeros((2, 2, 2)))


def test_make_grid_layout_and_filters_png(tmp_path):
    tiles = np.arange(5 * 2 * 3, dtype=np.float32).reshape(5, 1, 2, 3)
    grid = make_grid(tiles, nrow=3, padding=1, scale=2, normalize="all", pad_value=1.0)
    assert grid.shape == (2 * (2 * 2 + 1) + 1, 3 * (3 * 2 + 1) + 1)
    assert grid[1, 1] == 0.0 and grid[0, 0] == 1.0  # first pixel of tile 0 is the global minimum
    from axonal.nn.layers.conv import Conv2d

    conv = Conv2d(1, 6, 5)
    path, (w, h) = save_filters(conv, tmp_path / "filters.png", scale=4, padding=2)
    # 6 filters -> 3 per row, 2 rows of 5x5 tiles scaled by 4, 2 pixels apart
    assert (w, h) == (3 * (20 + 2) + 2, 2 * (20 + 2) + 2) == png_size(path)
    img = _read_png(path)
    assert img.shape == (h, w, 3)  # 'bwr' colours: negative blue, positive red
    rgb3 = save_filters(np.random.default_rng(0).standard_normal((4, 3, 3, 3)),
                        tmp_path / "rgb.png", scale=1, padding=1)[1]
    assert rgb3 == (2 * 4 + 1, 2 * 4 + 1)
    assert to_uint8(np.array([[0.0, 0.5, 1.0]]), "bwr").tolist() == \
        [[[0, 0, 255], [255, 255, 255], [255, 0, 0]]]


def test_feature_maps_and_their_pngs(tmp_path):
    from axonal.models.cnn import LeNet5

    model = LeNet5()
    model.train()
    image = axonal.randn(1, 28, 28)
    maps = feature_maps(model, image)
    assert list(maps) == ["conv1", "conv2"] and model.training  # mode restored
    assert maps["conv1"].shape == (6, 28, 28) and maps["conv2"].shape == (16, 10, 10)
    with axonal.no_grad():
        expected = model.conv1(image.reshape(1, 1, 28, 28)).numpy()[0]
    np.testing.assert_allclose(maps["conv1"], expected, rtol=1e-6)
    paths = save_feature_maps(model, image, str(tmp_path / "fm"), layers=["conv1", "pool2"],
                              scale=2, padding=1)
    assert [p.rsplit("/", 1)[1] for p in paths] == ["fm_input.png", "fm_conv1.png", "fm_pool2.png"]
    assert png_size(paths[0]) == (28 * 2 + 2, 28 * 2 + 2)
    assert png_size(paths[1]) == (3 * (56 + 1) + 1, 2 * (56 + 1) + 1)  # 6 maps: 3 x 2
    assert png_size(paths[2]) == (4 * (10 + 1) + 1, 4 * (10 + 1) + 1)  # 16 maps of 5x5: 4 x 4
    with pytest.raises(ValueError, match="no submodule"):
        feature_maps(model, image, ["conv9"])
