"""KMNIST and EMNIST against torchvision's, on generated files in the canonical layouts, and their
downloads (torchvision's: per-file .gz for KMNIST, one gzip.zip for EMNIST) against a local HTTP
server."""
import gzip
import hashlib
import io
import zipfile

import numpy as np
import pytest
from PIL import Image

import axonal
from axonal.vision import datasets, transforms
from test_vision_datasets import serve, write_idx

RNG = np.random.default_rng(11)


def idx_bytes(arr):
    buf = io.BytesIO()
    header = bytes([0, 0, 8, arr.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in arr.shape)
    buf.write(header + arr.astype(np.uint8).tobytes())
    return buf.getvalue()


def emnist_files(split, n, classes):
    out = {}
    for part in ("train", "test"):
        images = RNG.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        labels = RNG.integers(1 if split == "letters" else 0, classes, n, dtype=np.uint8)
        out[f"emnist-{split}-{part}-images-idx3-ubyte"] = images
        out[f"emnist-{split}-{part}-labels-idx1-ubyte"] = labels
    return out


def test_kmnist_matches_torchvision(tv, tmp_path):
    raw = tmp_path / "KMNIST" / "raw"
    raw.mkdir(parents=True)
    images = RNG.integers(0, 256, (5, 28, 28), dtype=np.uint8)
    labels = RNG.integers(0, 10, 5, dtype=np.uint8)
    for split in ("train", "t10k"):
        write_idx(raw / f"{split}-images-idx3-ubyte", images)
        write_idx(raw / f"{split}-labels-idx1-ubyte", labels)
    ours = datasets.KMNIST(tmp_path, train=False, transform=transforms.ToTensor())
    theirs = tv.datasets.KMNIST(str(tmp_path), train=False, transform=tv.transforms.ToTensor())
    np.testing.assert_array_equal(ours.data.numpy(), theirs.data.numpy())
    np.testing.assert_array_equal(ours.targets.numpy(), theirs.targets.numpy())
    assert ours.targets.dtype == axonal.int64
    assert ours.classes == theirs.classes and ours.class_to_idx == theirs.class_to_idx
    assert ours.resources == theirs.resources and ours.mirrors == theirs.mirrors  # published MD5s
    for i in range(5):
        (x, y), (tx, ty) = ours[i], theirs[i]
        np.testing.assert_array_equal(x.numpy(), tx.numpy())
        assert y == ty and type(y) is int
    with pytest.raises(RuntimeError, match="Dataset not found"):
        datasets.KMNIST(tmp_path / "nothing")


@pytest.mark.parametrize("split, classes", [("letters", 27), ("balanced", 47), ("mnist", 10)])
def test_emnist_matches_torchvision(tv, tmp_path, split, classes):
    raw = tmp_path / "EMNIST" / "raw"
    raw.mkdir(parents=True)
    for name, arr in emnist_files(split, 4, classes).items():
        write_idx(raw / name, arr)
    for train in (True, False):
        ours = datasets.EMNIST(tmp_path, split, train=train)
        theirs = tv.datasets.EMNIST(str(tmp_path), split, train=train)
        np.testing.assert_array_equal(ours.data.numpy(), theirs.data.numpy())
        np.testing.assert_array_equal(ours.targets.numpy(), theirs.targets.numpy())
        assert ours.classes == theirs.classes and len(ours.classes) == classes
        img, target = ours[3]
        timg, ttarget = theirs[3]
        assert isinstance(img, Image.Image) and target == ttarget
        np.testing.assert_array_equal(np.asarray(img), np.asarray(timg))  # not transposed
    assert datasets.EMNIST.md5 == tv.datasets.EMNIST.md5
    assert datasets.EMNIST.url == tv.datasets.EMNIST.url
    assert datasets.EMNIST.classes_split_dict == tv.datasets.EMNIST.classes_split_dict
    with pytest.raises(ValueError) as ours_err:
        datasets.EMNIST(tmp_path, "bysplit")
    with pytest.raises(ValueError) as theirs_err:
        tv.datasets.EMNIST(str(tmp_path), "bysplit")
    assert str(ours_err.value) == str(theirs_err.value)


def test_kmnist_download_checks_md5_and_decompresses(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    arrays = {"train-images-idx3-ubyte": RNG.integers(0, 256, (3, 28, 28), dtype=np.uint8),
              "train-labels-idx1-ubyte": RNG.integers(0, 10, 3, dtype=np.uint8),
              "t10k-images-idx3-ubyte": RNG.integers(0, 256, (2, 28, 28), dtype=np.uint8),
              "t10k-labels-idx1-ubyte": RNG.integers(0, 10, 2, dtype=np.uint8)}
    resources = []
    for name, arr in arrays.items():
        blob = gzip.compress(idx_bytes(arr))
        (site / f"{name}.gz").write_bytes(blob)
        resources.append((f"{name}.gz", hashlib.md5(blob).hexdigest()))  # noqa: S324
    server = serve(site)
    try:
        base = f"http://127.0.0.1:{server.server_port}/"
        # the first mirror is down: the second serves the files
        Local = type("Local", (datasets.KMNIST,), {"mirrors": [base + "missing/", base],
                                                   "resources": resources})
        ds = Local(tmp_path / "data", train=True, download=True)
        np.testing.assert_array_equal(ds.data.numpy(), arrays["train-images-idx3-ubyte"])
        raw = tmp_path / "data" / "Local" / "raw"
        assert (raw / "t10k-labels-idx1-ubyte").read_bytes() == idx_bytes(
            arrays["t10k-labels-idx1-ubyte"])  # decompressed beside the .gz, as torchvision
        Wrong = type("Wrong", (datasets.KMNIST,), {"mirrors": [base]})  # the published MD5s
        with pytest.raises(RuntimeError, match="is not the published bdb82020"):
            Wrong(tmp_path / "other", download=True)
    finally:
        server.shutdown()


def test_emnist_download_from_the_zip(tmp_path):
    files = emnist_files("digits", 3, 10)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, arr in files.items():
            z.writestr(f"gzip/{name}.gz", gzip.compress(idx_bytes(arr)))
        z.writestr("gzip/emnist-digits-mapping.txt", "0 48\n")
        z.writestr("../escape.gz", b"not extracted")
    site = tmp_path / "site"
    site.mkdir()
    (site / "gzip.zip").write_bytes(buf.getvalue())
    md5 = hashlib.md5(buf.getvalue()).hexdigest()  # noqa: S324
    server = serve(site)
    try:
        url = f"http://127.0.0.1:{server.server_port}/gzip.zip"
        Local = type("Local", (datasets.EMNIST,), {"url": url, "md5": md5})
        ds = Local(tmp_path / "data", "digits", train=False, download=True)
        np.testing.assert_array_equal(ds.data.numpy(),
                                      files["emnist-digits-test-images-idx3-ubyte"])
        np.testing.assert_array_equal(ds.targets.numpy(),
                                      files["emnist-digits-test-labels-idx1-ubyte"])
        raw = tmp_path / "data" / "Local" / "raw"
        assert sorted(p.name for p in raw.iterdir()) == sorted(list(files) + ["gzip.zip"])
        assert not (tmp_path / "data" / "Local" / "escape.gz").exists()
        again = Local(tmp_path / "data", "digits", train=True)  # no download needed now
        assert len(again) == 3
        Wrong = type("Wrong", (datasets.EMNIST,), {"url": url})
        with pytest.raises(RuntimeError, match="is not the published 58c8d27c"):
            Wrong(tmp_path / "other", "digits", download=True)
    finally:
        server.shutdown()
