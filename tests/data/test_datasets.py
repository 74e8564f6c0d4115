"""axonal.datasets: IDX reader, file lookup / checksums / downloads, real datasets and the 2-D toy sets.

There is no network in the suite (conftest blocks it): downloads are exercised with file:// URLs and
a monkeypatched resource table. Every loader is tested on generated files in the canonical format
(tests/_offline.py); the facts of the real files (counts, first samples) are checked by the
`real_data` tests, which skip, naming the dataset, when the real files are absent.
"""
import gzip
import hashlib
import struct
from pathlib import Path

import numpy as np
import pytest

import axonal
from axonal import datasets
from axonal.datasets import _download, banknote
from axonal.datasets._download import Resource, fetch
from axonal.utils.data import DataLoader, default_collate

import _offline


def _idx_bytes(arr: np.ndarray, type_code=0x08) -> bytes:
    return struct.pack(">HBB", 0, type_code, arr.ndim) + struct.pack(f">{arr.ndim}I", *arr.shape) + \
        arr.astype(arr.dtype.newbyteorder(">")).tobytes()


# --------------------------------------------------------------------------------------- IDX reader
def test_idx_round_trip_raw_and_gzip(tmp_path):
    a = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    (tmp_path / "a.idx").write_bytes(_idx_bytes(a))
    (tmp_path / "a.idx.gz").write_bytes(gzip.compress(_idx_bytes(a)))
    for name in ("a.idx", "a.idx.gz"):
        np.testing.assert_array_equal(datasets.read_idx(tmp_path / name), a)
    f = np.linspace(-1, 1, 6).astype(np.float32).reshape(2, 3)  # big-endian floats come back native
    (tmp_path / "f.idx").write_bytes(_idx_bytes(f, 0x0D))
    out = datasets.read_idx(tmp_path / "f.idx")
    assert out.dtype == np.float32 and out.dtype.isnative
    np.testing.assert_array_equal(out, f)


def test_idx_corrupt_files_raise(tmp_path):
    good = _idx_bytes(np.zeros((3, 2, 2), np.uint8))
    cases = {
        "magic": (b"\x01\x02" + good[2:], "bad IDX magic"),
        "type": (good[:2] + b"\x07" + good[3:], "bad IDX magic"),
        "short": (good[:3], "too short"),
        "header": (good[:9], "truncated header"),
        "body": (good[:-1], "truncated"),
        "tail": (good + b"\x00", "trailing bytes"),
        "gzip": (gzip.compress(good)[:-6], "corrupt or truncated gzip"),
    }
    for name, (data, message) in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        with pytest.raises(datasets.IDXError, match=message):
            datasets.read_idx(path)
    (tmp_path / "ok").write_bytes(good)
    with pytest.raises(datasets.IDXError, match="expected 1 dimensions"):
        datasets.read_idx(tmp_path / "ok", expect_ndim=1)


# ----------------------------------------------------------------------------- lookup and download
def _resource(tmp_path, payload: bytes, url=None, name="thing.bin"):
    src = tmp_path / "server" / name
    src.parent.mkdir(exist_ok=True)
    src.write_bytes(payload)
    sha = hashlib.sha256(payload).hexdigest()
    return Resource("thing", name, sha, len(payload), (url or src.as_uri(),))


def test_data_dir_precedence(monkeypatch, tmp_path):
    monkeypatch.setenv("AXONAL_DATA", str(tmp_path / "env"))
    assert datasets.data_dir(tmp_path / "root") == tmp_path / "root"
    assert datasets.data_dir() == tmp_path / "env"
    monkeypatch.delenv("AXONAL_DATA")
    assert datasets.data_dir() == Path.home() / ".cache" / "axonal"


def test_download_verifies_and_places_file(tmp_path):
    res = _resource(tmp_path, b"hello data")
    path = fetch(res, root=tmp_path / "cache")
    assert path == tmp_path / "cache" / "thing" / "thing.bin" and path.read_bytes() == b"hello data"
    assert fetch(res, root=tmp_path / "cache", download=False) == path  # now found locally


def test_download_checksum_mismatch_names_file_and_hashes(tmp_path):
    res = _resource(tmp_path, b"the real bytes")
    # the server now serves a different file than the one the hash was published for
    (tmp_path / "server" / "thing.bin").write_bytes(b"tampered bytes")
    actual = hashlib.sha256(b"tampered bytes").hexdigest()
    with pytest.raises(datasets.ChecksumError) as info:
        fetch(res, root=tmp_path / "cache")
    message = str(info.value)
    assert "thing.bin" in message and res.sha256 in message and actual in message
    folder = tmp_path / "cache" / "thing"
    assert list(folder.iterdir()) == []  # neither the bad file nor a temp file is left behind


def test_local_file_with_wrong_checksum_is_rejected(tmp_path):
    res = _resource(tmp_path, b"abc")
    local = tmp_path / "cache" / "thing" / "thing.bin"
    local.parent.mkdir(parents=True)
    local.write_bytes(b"abd")
    with pytest.raises(datasets.ChecksumError, match=f"expected sha256 {res.sha256}"):
        fetch(res, root=tmp_path / "cache")


def test_offline_error_names_path_and_env_var(tmp_path, monkeypatch):
    res = _resource(tmp_path, b"x", url=(tmp_path / "nowhere" / "thing.bin").as_uri())
    monkeypatch.setenv("AXONAL_DATA", str(tmp_path / "data"))
    expected = str(tmp_path / "data" / "thing" / "thing.bin")
    with pytest.raises(datasets.DownloadError) as info:
        fetch(res)
    assert expected in str(info.value) and "AXONAL_DATA" in str(info.value)
    assert isinstance(info.value, FileNotFoundError)
    with pytest.raises(datasets.DownloadError, match="download=False"):
        fetch(res, download=False)
    # the same through a real dataset class, with its resource pointed at a dead URL
    dead = Resource(banknote.RESOURCE.folder, banknote.RESOURCE.filename, banknote.RESOURCE.sha256,
                    banknote.RESOURCE.size, ("http://127.0.0.1:9/data_banknote_authentication.txt",))
    monkeypatch.setattr(banknote, "RESOURCE", dead)
    with pytest.raises(datasets.DownloadError, match="AXONAL_DATA") as info:
        datasets.Banknote()
    assert str(tmp_path / "data" / "banknote" / "data_banknote_authentication.txt") in str(info.value)


# ------------------------------------------------------------------------------------------- MNIST
def test_mnist_generated_files_in_a_data_dir(tmp_path, monkeypatch):
    """The IDX loader on generated files in <root>/mnist/, which win over the packaged copy."""
    rng = np.random.default_rng(1)
    (tmp_path / "mnist").mkdir()
    arrays = {}
    for prefix, n in (("train", 50), ("t10k", 20)):
        img, lab = _offline._images(n, rng)
        arrays[prefix] = img, lab
        _offline._write_idx(tmp_path / "mnist" / f"{prefix}-images-idx3-ubyte.gz", img)
        _offline._write_idx(tmp_path / "mnist" / f"{prefix}-labels-idx1-ubyte.gz", lab)
    hashes = {f"mnist/{p.name}": _download.sha256_of(p) for p in (tmp_path / "mnist").iterdir()}
    _offline.accept_generated(tmp_path, hashes, monkeypatch.setattr)
    train, test = datasets.MNIST(root=tmp_path, train=True), datasets.MNIST(root=tmp_path, train=False)
    assert train.files[0].parent == tmp_path / "mnist" and len(train) == 50 and len(test) == 20
    np.testing.assert_array_equal(train.data, arrays["train"][0])
    np.testing.assert_array_equal(test.targets, arrays["t10k"][1].astype(np.int64))
    image, label = train[0]
    assert tuple(image.shape) == (1, 28, 28) and label == int(arrays["train"][1][0])
    np.testing.assert_allclose(image.numpy()[0], arrays["train"][0][0] / 255.0, rtol=1e-6)


def test_mnist_real_files(tmp_path, monkeypatch):
    # the real MNIST ships inside the package: these facts are checked on every machine
    monkeypatch.setenv("AXONAL_DATA", str(tmp_path))
    train = datasets.MNIST(train=True)
    test = datasets.MNIST(train=False)
    assert train.files[0].parent == _download.PACKAGED_DIR / "mnist"
    assert train.data.shape == (60000, 28, 28) and train.data.dtype == np.uint8
    assert test.data.shape == (10000, 28, 28) and test.targets.dtype == np.int64
    assert int(train.targets[0]) == 5 and int(train.data[0].astype(np.int64).sum()) == 27525
    assert np.bincount(train.targets).tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265,
                                                   5851, 5949]
    assert np.bincount(test.targets).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974,
                                                  1009]
    image, label = train[0]
    assert tuple(image.shape) == (1, 28, 28) and image.dtype == axonal.float32 and label == 5
    np.testing.assert_allclose(image.numpy()[0], train.data[0] / 255.0, rtol=1e-6)
    assert float(image.numpy().max()) == 1.0 and float(image.numpy().min()) == 0.0
    x, y = train.as_tensors(flatten=True)
    assert tuple(x.shape) == (60000, 784) and x.dtype == axonal.float32 and y.dtype == axonal.int64
    assert train.arrays()[0].shape == (60000, 1, 28, 28)
    assert abs(float(train.arrays()[0].mean()) - datasets.MNIST.mean) < 1e-3


def test_mnist_packaged_copy_works_offline(tmp_path, monkeypatch):
    monkeypatch.setenv("AXONAL_DATA", str(tmp_path))  # empty: only the copy inside the package is left
    test = datasets.MNIST(train=False, download=False)
    assert len(test) == 10000 and "_files" in str(test.files[0])
    assert test.targets[:5].tolist() == [7, 2, 1, 0, 4]


def test_mnist_loader_fast_path_and_transforms(tmp_path, monkeypatch):
    monkeypatch.setenv("AXONAL_DATA", str(tmp_path))
    ds = datasets.MNIST(train=False)
    def first_batch(**kw):
        gen = axonal.Generator().manual_seed(0)
        return next(iter(DataLoader(ds, batch_size=32, shuffle=True, generator=gen, **kw)))

    fast = first_batch()
    slow = first_batch(collate_fn=lambda b: default_collate(b))
    assert tuple(fast[0].shape) == (32, 1, 28, 28) and fast[1].dtype == axonal.int64
    np.testing.assert_array_equal(fast[0].numpy(), slow[0].numpy())
    np.testing.assert_array_equal(fast[1].numpy(), slow[1].numpy())
    flipped = datasets.MNIST(train=False, transform=lambda t: 1 - t, target_transform=lambda y: y + 10)
    img, label = flipped[0]
    assert label == 17 and float(img.numpy()[0, 0, 0]) == 1.0
    batch = next(iter(DataLoader(flipped, batch_size=4)))
    assert batch[1].numpy().tolist() == [17, 12, 11, 10]


def test_fashion_mnist_loader_on_generated_files():
    ds = datasets.FashionMNIST(train=False)  # conftest's generated files (1,000 test images)
    assert ds.data.shape == (1000, 28, 28) and ds.data.dtype == np.uint8
    assert ds.targets.dtype == np.int64 and set(np.unique(ds.targets)) <= set(range(10))
    assert ds.classes[9] == "Ankle boot" and len(datasets.FashionMNIST(train=True)) == 5600


@pytest.mark.parametrize("real_data", ["Fashion-MNIST"], indirect=True)
def test_fashion_mnist_real_files(real_data):
    ds = datasets.FashionMNIST(train=False)
    assert ds.data.shape == (10000, 28, 28) and np.bincount(ds.targets).tolist() == [1000] * 10


def test_missing_dataset_lists_every_missing_file_and_the_cli_option(tmp_path, monkeypatch):
    monkeypatch.setenv("AXONAL_DATA", str(tmp_path))
    with pytest.raises(datasets.DownloadError) as info:
        datasets.FashionMNIST(train=True, download=False)
    text = str(info.value)
    for name in ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                 "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        assert name in text, name
    assert "--data DIR" in text and "root=DIR" in text and "AXONAL_DATA" in text


def test_mnist_corrupt_file_in_root_is_reported(tmp_path):
    folder = tmp_path / "mnist"
    folder.mkdir()
    src = _download.PACKAGED_DIR / "mnist" / "t10k-labels-idx1-ubyte.gz"
    (folder / src.name).write_bytes(src.read_bytes()[:-10])  # truncated copy shadows the good one
    with pytest.raises(datasets.ChecksumError, match="t10k-labels-idx1-ubyte.gz"):
        datasets.MNIST(root=tmp_path, train=False, download=False)


# ------------------------------------------------------------------------------ banknote, shakespeare
@pytest.mark.parametrize("real_data", ["UCI banknote"], indirect=True)
def test_banknote_real_file(real_data):
    x, y = datasets.load_banknote()
    assert np.bincount(y).tolist() == [762, 610]
    assert np.bincount(datasets.Banknote(train=False).targets).sum() == 275


def test_banknote():  # on the generated file (1,372 rows, as the loader requires)
    x, y = datasets.load_banknote()
    assert x.shape == (1372, 4) and x.dtype == np.float32 and y.dtype == np.int64
    train, test = datasets.Banknote(train=True), datasets.Banknote(train=False)
    assert (len(train), len(test)) == (1097, 275)
    rows = {tuple(r) for r in np.concatenate([train.data, test.data])}
    assert len(rows) == len({tuple(r) for r in x})  # together they are the whole file, no overlap
    assert np.bincount(np.concatenate([train.targets, test.targets])).tolist() == np.bincount(y).tolist()
    np.testing.assert_array_equal(datasets.Banknote(train=True).data, train.data)  # fixed split
    feats, label = train[0]
    assert tuple(feats.shape) == (4,) and feats.dtype == axonal.float32 and label in (0, 1)
    std = datasets.Banknote(standardize=True)
    np.testing.assert_allclose(std.data.mean(0), 0, atol=1e-5)
    xb, yb = next(iter(DataLoader(train, batch_size=16)))
    assert tuple(xb.shape) == (16, 4) and yb.dtype == axonal.int64


@pytest.mark.parametrize("real_data", ["Tiny Shakespeare"], indirect=True)
def test_tiny_shakespeare_real_file(real_data):
    train = datasets.TinyShakespeare(split="train", seq_len=32)
    val = datasets.TinyShakespeare(split="val", seq_len=32)
    assert len(train.text) + len(val.text) == 1115394 and train.text.startswith("First Citizen:")
    assert "".join(train.chars) == datasets.TinyShakespeare.VOCAB  # sampling relies on it


def test_tiny_shakespeare():  # on the generated file, which holds the same 65 characters
    train = datasets.TinyShakespeare(split="train", seq_len=32)
    val = datasets.TinyShakespeare(split="val", seq_len=32)
    assert train.vocab_size == 65 == len(train.itos) and len(val.text) > 0
    assert train.decode(train.encode("To be, or not")) == "To be, or not"
    with pytest.raises(KeyError, match="'@'"):
        train.encode("@")
    x, y = train[3]
    assert tuple(x.shape) == (32,) and x.dtype == axonal.int64
    np.testing.assert_array_equal(x.numpy()[1:], y.numpy()[:-1])
    assert train.decode(x) == train.text[96:128] and len(train) == (len(train.data) - 33) // 32 + 1
    xb, yb = next(iter(DataLoader(train, batch_size=4)))
    np.testing.assert_array_equal(xb.numpy()[3], x.numpy())
    # truncated BPTT: row b of the next batch continues row b of this one in the text
    batches = list(train.batches(batch_size=4, seq_len=10))
    (x0, y0), (x1, _) = batches[0], batches[1]
    stream = (len(train.data) - 1) // 4
    for b in range(4):
        np.testing.assert_array_equal(x0.numpy()[b], train.data[b * stream: b * stream + 10])
        np.testing.assert_array_equal(y0.numpy()[b], train.data[b * stream + 1: b * stream + 11])
        assert x1.numpy()[b, 0] == y0.numpy()[b, -1]
    assert sum(bx.shape[1] for bx, _ in batches) == stream


# ------------------------------------------------------------------------------------ toy 2-D sets
CLASSIFIERS = [datasets.make_circle, datasets.make_xor, datasets.make_gauss, datasets.make_spiral,
               datasets.make_moons]


@pytest.mark.parametrize("maker", CLASSIFIERS)
def test_toy_classification_shapes_balance_determinism(maker):
    x, y = maker(501, noise=0.1, seed=7)
    assert x.shape == (501, 2) and x.dtype == np.float32 and y.dtype == np.int64
    assert set(np.unique(y).tolist()) == {0, 1}
    if maker is not datasets.make_xor:  # xor labels come from the quadrant, not from a fixed count
        assert abs(int(y.sum()) - 250) <= 30
    x2, y2 = maker(501, noise=0.1, seed=7)
    np.testing.assert_array_equal(x, x2)
    np.testing.assert_array_equal(y, y2)
    x3, _ = maker(501, noise=0.1, seed=8)
    assert not np.array_equal(x, x3)
    _, signed = maker(20, seed=0, signed=True)
    assert set(np.unique(signed).tolist()) <= {-1.0, 1.0} and signed.dtype == np.float32


def test_toy_formulas_without_noise():
    x, y = datasets.make_circle(400, seed=0)
    r = np.hypot(x[:, 0], x[:, 1])
    assert np.array_equal(y == 1, r < 2.5) and r[y == 1].max() <= 2.5 and r[y == 0].min() >= 3.5
    assert r.max() <= 5.0 + 1e-5 and (y == 1).sum() == 200
    x, y = datasets.make_xor(400, seed=0)
    assert np.array_equal(y == 1, x[:, 0] * x[:, 1] >= 0) and np.abs(x).min() >= 0.3 - 1e-6
    x, y = datasets.make_spiral(400, seed=0, shuffle=False)
    arm0 = x[y == 0]
    # label 0 is the Playground's -1 arm (delta = pi): point i of 200 at r = 5i/200,
    # t = 3.5 pi i/200 + pi
    i = np.arange(200)
    t = 1.75 * 2 * np.pi * i / 200 + np.pi
    r = 5 * i / 200
    np.testing.assert_allclose(arm0, np.stack([r * np.sin(t), r * np.cos(t)], 1), atol=1e-5)
    np.testing.assert_allclose(x[y == 1], -arm0, atol=1e-5)  # the +1 arm is the same arm rotated by pi
    x, y = datasets.make_regress_plane(300, seed=0)
    assert y.dtype == np.float32 and y.shape == (300,)
    np.testing.assert_allclose(y, (x[:, 0] + x[:, 1]) / 10, atol=1e-6)
    x, y = datasets.make_regress_gauss(300, seed=0)
    assert np.abs(y).max() <= 1.0 and np.abs(x).max() <= 6.0
    near = np.hypot(x[:, 0] - 4, x[:, 1] - 2.5) < 0.5  # close to the (+) bump at (4, 2.5)
    assert near.any() and (y[near] > 0.7).all()


def test_toy_noise_and_multiclass():
    x0, _ = datasets.make_gauss(2000, noise=0.0, seed=1)
    # per-axis variance 0.5 at noise 0 and 4 at noise 0.5 (d3 scale [0, .5] -> [.5, 4])
    assert abs(np.var(x0[:, 0] - np.sign(x0[:, 0] + x0[:, 1]) * 2) - 0.5) < 0.15
    x5, _ = datasets.make_gauss(4000, noise=0.5, seed=1, shuffle=False)  # first half: the (2, 2) blob
    assert abs(np.var(x5[:2000] - 2.0) - 4.0) < 0.4 and abs(np.mean(x5[:2000]) - 2.0) < 0.2
    _, clean = datasets.make_xor(1000, noise=0.0, seed=2)
    xn, noisy = datasets.make_xor(1000, noise=0.5, seed=2)
    assert not np.array_equal(noisy == 1, xn[:, 0] * xn[:, 1] >= 0)  # noise flips some labels
    x, y = datasets.make_spiral(301, classes=3, seed=0)
    assert np.bincount(y).tolist() == [101, 100, 100]
    with pytest.raises(ValueError, match="classes"):
        datasets.make_spiral(10, classes=1)
    with pytest.raises(ValueError, match="noise"):
        datasets.make_circle(10, noise=-0.1)
    x, y = datasets.make_playground("reg-gauss", seed=0)
    assert x.shape == (1200, 2)
    assert datasets.make_playground("circle", seed=0)[0].shape == (500, 2)


def test_toy_seed_none_follows_manual_seed():
    axonal.manual_seed(42)
    a, _ = datasets.make_moons(50, noise=0.1)
    axonal.manual_seed(42)
    b, _ = datasets.make_moons(50, noise=0.1)
    np.testing.assert_array_equal(a, b)
