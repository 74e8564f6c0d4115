"""axonal.vision.datasets against torchvision.datasets, on generated files in the canonical layouts
(no network: CIFAR's download runs against a local HTTP server)."""
import functools
import gzip
import hashlib
import http.server
import io
import os
import pickle  # only to write the python CIFAR archive torchvision (the oracle) reads
import tarfile
import threading

import numpy as np
import pytest
from PIL import Image

import axonal
from axonal.vision import datasets, transforms

RNG = np.random.default_rng(7)


def write_idx(path, arr, gz=False):
    header = bytes([0, 0, 8, arr.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in arr.shape)
    data = header + arr.astype(np.uint8).tobytes()
    with (gzip.open if gz else open)(path, "wb") as f:
        f.write(data)


def mnist_root(tmp_path, folder="MNIST", n=6, gz=False):
    raw = tmp_path / folder / "raw"
    raw.mkdir(parents=True)
    images = RNG.integers(0, 256, (n, 28, 28), dtype=np.uint8)
    labels = RNG.integers(0, 10, n, dtype=np.uint8)
    for split in ("train", "t10k"):
        suffix = ".gz" if gz else ""
        write_idx(raw / f"{split}-images-idx3-ubyte{suffix}", images)
        write_idx(raw / f"{split}-labels-idx1-ubyte{suffix}", labels)
    return tmp_path, images, labels


@pytest.mark.parametrize("name", ["MNIST", "FashionMNIST"])
def test_mnist_layout_matches_torchvision(tv, tmp_path, name):
    root, images, labels = mnist_root(tmp_path, name)
    ours = getattr(datasets, name)(root, train=True, transform=transforms.ToTensor())
    theirs = getattr(tv.datasets, name)(str(root), train=True,
                                        transform=tv.transforms.ToTensor())
    assert isinstance(ours.data, axonal.Tensor) and ours.data.dtype == axonal.uint8
    assert ours.targets.dtype == axonal.int64 and tuple(ours.data.shape) == (6, 28, 28)
    np.testing.assert_array_equal(ours.data.numpy(), theirs.data.numpy())
    np.testing.assert_array_equal(ours.targets.numpy(), theirs.targets.numpy())
    assert ours.classes == theirs.classes and ours.class_to_idx == theirs.class_to_idx
    for i in (0, 5):
        (x, y), (tx, ty) = ours[i], theirs[i]
        assert y == ty and type(y) is int
        np.testing.assert_array_equal(x.numpy(), tx.numpy())
    raw = datasets.MNIST(root, train=False, target_transform=lambda t: t + 100)
    img, target = raw[1]
    assert isinstance(img, Image.Image) and img.mode == "L" and target == labels[1] + 100
    assert "Split: Test" in repr(raw)


def test_mnist_gz_files_and_the_shipped_copy(tmp_path):
    root, images, _ = mnist_root(tmp_path / "a", gz=True)
    np.testing.assert_array_equal(datasets.MNIST(root).data.numpy(), images)
    shipped = datasets.MNIST(tmp_path / "empty", train=False)  # axonal's copy of MNIST
    assert len(shipped) == 10000 and tuple(shipped.data.shape) == (10000, 28, 28)
    with pytest.raises(Exception, match="(?i)fashion"):
        datasets.FashionMNIST(tmp_path / "empty", download=False)


# -- CIFAR -------------------------------------------------------------------------------------
def cifar_arrays(n, classes):
    images = RNG.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8)
    return images, RNG.integers(0, classes, n)


def cifar10_binary(root, per_batch=3):
    """The binary archive's layout (label byte + R, G, B planes per record), and its data."""
    folder = root / "cifar-10-batches-bin"
    folder.mkdir(parents=True)
    batches = {}
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        images, labels = cifar_arrays(per_batch, 10)
        rec = np.concatenate([labels[:, None].astype(np.uint8),
                              images.transpose(0, 3, 1, 2).reshape(per_batch, -1)], 1)
        (folder / f"{name}.bin").write_bytes(rec.tobytes())
        batches[name] = (images, labels)
    names = [f"class{i}" for i in range(10)]
    (folder / "batches.meta.txt").write_text("\n".join(names) + "\n\n")
    return batches, names


def test_cifar10_binary_matches_torchvision_python_archive(tv, tmp_path, monkeypatch):
    batches, names = cifar10_binary(tmp_path / "bin")
    py = tmp_path / "py" / "cifar-10-batches-py"  # the same data as torchvision's python archive
    py.mkdir(parents=True)
    for name, (images, labels) in batches.items():
        entry = {"data": images.transpose(0, 3, 1, 2).reshape(len(images), -1),
                 "labels": labels.tolist()}
        (py / name).write_bytes(pickle.dumps(entry))
    (py / "batches.meta").write_bytes(pickle.dumps({"label_names": names}))
    monkeypatch.setattr(tv.datasets.CIFAR10, "_check_integrity", lambda self: True)
    monkeypatch.setattr(tv.datasets.cifar, "check_integrity", lambda *a, **k: True)
    for train in (True, False):
        ours = datasets.CIFAR10(tmp_path / "bin", train=train)
        theirs = tv.datasets.CIFAR10(str(tmp_path / "py"), train=train)
        np.testing.assert_array_equal(ours.data, theirs.data)
        assert ours.targets == theirs.targets and ours.classes == theirs.classes
        assert ours.class_to_idx == theirs.class_to_idx
        np.testing.assert_array_equal(np.asarray(ours[2][0]), np.asarray(theirs[2][0]))
    assert len(datasets.CIFAR10(tmp_path / "bin")) == 15


def test_cifar100_reads_fine_labels(tmp_path):
    folder = tmp_path / "cifar-100-binary"
    folder.mkdir()
    images, fine = cifar_arrays(4, 100)
    coarse = fine // 5
    for name in ("train", "test"):
        rec = np.concatenate([coarse[:, None], fine[:, None],
                              images.transpose(0, 3, 1, 2).reshape(4, -1)], 1).astype(np.uint8)
        (folder / f"{name}.bin").write_bytes(rec.tobytes())
    (folder / "fine_label_names.txt").write_text("\n".join(f"f{i}" for i in range(100)))
    ds = datasets.CIFAR100(tmp_path, train=False)
    assert ds.targets == fine.tolist() and len(ds.classes) == 100
    np.testing.assert_array_equal(ds.data, images)


def serve(folder):
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    handler.log_message = lambda *a: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_cifar_download_checks_the_md5_and_extracts(tmp_path):
    src = tmp_path / "src"
    batches, _ = cifar10_binary(src)
    site = tmp_path / "site"
    site.mkdir()
    archive = site / "cifar-10-binary.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(src / "cifar-10-batches-bin", arcname="cifar-10-batches-bin")
    md5 = hashlib.md5(archive.read_bytes()).hexdigest()  # noqa: S324
    assert datasets.CIFAR10.tgz_md5 == "c32a1d4ab5d03f1284b67883e8d87530"  # the published one
    server = serve(site)
    try:
        url = f"http://127.0.0.1:{server.server_port}/cifar-10-binary.tar.gz"
        Local = type("Local", (datasets.CIFAR10,), {"url": url, "tgz_md5": md5})
        ds = Local(tmp_path / "data", train=False, download=True)
        np.testing.assert_array_equal(ds.data, batches["test_batch"][0])
        Wrong = type("Wrong", (datasets.CIFAR10,), {"url": url})
        with pytest.raises(RuntimeError, match="is not the published c32a1d4a"):
            Wrong(tmp_path / "other", download=True)
    finally:
        server.shutdown()
    with pytest.raises(RuntimeError, match="Dataset not found or corrupted"):
        datasets.CIFAR10(tmp_path / "nothing")


# -- folders and fake data ---------------------------------------------------------------------
def image_tree(root):
    for cls, n in (("dog", 2), ("cat", 3)):
        (root / cls / "sub").mkdir(parents=True)
        for i in range(n):
            arr = RNG.integers(0, 256, (5 + i, 7, 3), dtype=np.uint8)
            Image.fromarray(arr).save(root / cls / ("sub" if i == 2 else "") / f"{i}.png")
        (root / cls / "notes.txt").write_text("not an image")
    return root


def test_image_folder_matches_torchvision(tv, tmp_path):
    root = image_tree(tmp_path / "imgs")
    ours = datasets.ImageFolder(root, transform=transforms.ToTensor())
    theirs = tv.datasets.ImageFolder(str(root), transform=tv.transforms.ToTensor())
    assert ours.classes == theirs.classes == ["cat", "dog"]
    assert ours.class_to_idx == theirs.class_to_idx
    assert ours.samples == theirs.samples and ours.targets == theirs.targets
    assert ours.imgs == theirs.imgs
    for i in range(len(ours)):
        np.testing.assert_array_equal(ours[i][0].numpy(), theirs[i][0].numpy())
        assert ours[i][1] == theirs[i][1]
    txt = datasets.DatasetFolder(root, loader=lambda p: open(p).read(), extensions=(".txt",))
    assert [s for s, _ in txt] == ["not an image"] * 2
    (root / "empty").mkdir()
    with pytest.raises(FileNotFoundError) as ours_err:
        datasets.ImageFolder(root)
    with pytest.raises(FileNotFoundError) as theirs_err:
        tv.datasets.ImageFolder(str(root))
    assert str(ours_err.value) == str(theirs_err.value)
    assert len(datasets.ImageFolder(root, allow_empty=True)) == 5


def test_fake_data():
    axonal.manual_seed(0)
    expected_next = axonal.rand(3).numpy()
    axonal.manual_seed(0)
    ds = datasets.FakeData(size=6, image_size=(3, 12, 9), num_classes=4,
                           transform=transforms.ToTensor())
    x0, y0 = ds[0]
    assert tuple(x0.shape) == (3, 12, 9) and type(y0) is int and 0 <= y0 < 4
    np.testing.assert_array_equal(ds[0][0].numpy(), x0.numpy())  # the same image per index
    assert not np.array_equal(ds[1][0].numpy(), x0.numpy())
    np.testing.assert_array_equal(axonal.rand(3).numpy(), expected_next)  # global RNG untouched
    assert len(ds) == 6
    with pytest.raises(IndexError):
        ds[6]
    img, _ = datasets.FakeData(2, (1, 5, 4))[1]
    assert isinstance(img, Image.Image) and img.mode == "L" and img.size == (4, 5)
    loader = axonal.utils.data.DataLoader(ds, batch_size=4)
    assert [tuple(b[0].shape) for b in loader] == [(4, 3, 12, 9), (2, 3, 12, 9)]
    assert io is not None and os is not None
