"""An offline test suite: small generated dataset files and a network that only reaches loopback.

Used by `conftest.py` (in process, through pytest's monkeypatch) and by `_sitecustomize/` (in the
child processes that test the command line and the docs, where `AXONAL_TEST_OFFLINE` names the
generated data directory).

The files are written in the canonical formats and under the canonical names, so the loaders read
them exactly as they read the real ones: IDX (gzip) for Fashion-MNIST, the 5-column CSV of the UCI
banknote set, plain UTF-8 text for Tiny Shakespeare. Their contents are tiny and learnable
(class-dependent patterns plus noise), enough for smoke runs, not for accuracy targets; tests of
accuracy on the real data skip unless the real files are found (`real_data_dir`). MNIST itself ships
with the package, so it is not generated. The loaders verify every file's SHA-256: for files in the
generated directory the hash checked is that of the generated file (recorded in `hashes.json`).
"""
import gzip
import ipaddress
import json
import os
import socket
import struct
from pathlib import Path

ENV = "AXONAL_TEST_OFFLINE"
VOCAB = "\n !$&',-.3:;?ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
# dataset -> the files of it (relative to a data dir), to tell whether the real ones are present
REAL_FILES = {
    "Fashion-MNIST": [f"fashion-mnist/{p}-{k}" for p in ("train", "t10k")
                      for k in ("images-idx3-ubyte.gz", "labels-idx1-ubyte.gz")],
    "UCI banknote": ["banknote/data_banknote_authentication.txt"],
    "Tiny Shakespeare": ["tinyshakespeare/input.txt"],
}


# -- generated files -----------------------------------------------------------------------------
def _write_idx(path, arr):
    """IDX: magic 0x0000 0x08 ndim, big-endian uint32 sizes, the bytes; gzip-compressed."""
    import numpy as np

    head = struct.pack(">HBB", 0, 0x08, arr.ndim) + struct.pack(f">{arr.ndim}I", *arr.shape)
    with gzip.open(path, "wb", compresslevel=1) as f:
        f.write(head + np.ascontiguousarray(arr, np.uint8).tobytes())


def _images(n, rng):
    """28x28 uint8 images whose class (0-9) is a bright 3-row band at rows 2c+4..2c+6, plus noise."""
    import numpy as np

    labels = rng.integers(0, 10, n).astype(np.uint8)
    img = rng.integers(0, 60, (n, 28, 28)).astype(np.uint8)
    for c in range(10):
        img[labels == c, 2 * c + 4:2 * c + 7, 4:24] = 220
    return img, labels


def _fashion(folder, rng):
    # 5,600 training images: the recipes hold 5,000 out for validation, as with the real 60,000
    for prefix, n in (("train", 5600), ("t10k", 1000)):
        img, lab = _images(n, rng)
        _write_idx(folder / f"{prefix}-images-idx3-ubyte.gz", img)
        _write_idx(folder / f"{prefix}-labels-idx1-ubyte.gz", lab)


def _banknote(folder, rng):
    x = rng.normal(size=(1372, 4)) * [2.8, 5.9, 4.3, 2.1]  # the loader wants exactly 1,372 rows
    y = (x[:, 0] + 0.3 * x[:, 1] < 0).astype(int)
    rows = [",".join(f"{v:.5f}" for v in r) + f",{c}" for r, c in zip(x, y)]
    (folder / "data_banknote_authentication.txt").write_text("\n".join(rows) + "\n")


def _shakespeare(folder, rng):
    words = ["ROMEO", "JULIET", "king", "the", "love", "night", "sweet", "3", "queen", "Zounds"]
    parts = [VOCAB]  # every one of the 65 characters occurs
    for _ in range(4000):
        parts.append(rng.choice(words) + rng.choice([" ", ", ", ".\n", "!\n", "? ", ": ", "; ",
                                                      "'s ", "-", " & ", "$ "]))
    (folder / "input.txt").write_text("".join(parts), encoding="utf-8")


def write_all(root):
    """Write the generated datasets under `root` (once) and return {"folder/file": sha256}."""
    from axonal.datasets._download import sha256_of

    import numpy as np  # here, not at the top: a child's sitecustomize must not load NumPy (and
                        # its BLAS) before axonal has set its thread policy

    root = Path(root)
    index = root / "hashes.json"
    if index.is_file():
        return json.loads(index.read_text())
    rng = np.random.default_rng(0)
    for folder, make in (("fashion-mnist", _fashion), ("banknote", _banknote),
                         ("tinyshakespeare", _shakespeare)):
        (root / folder).mkdir(parents=True, exist_ok=True)
        make(root / folder, rng)
    hashes = {str(p.relative_to(root)): sha256_of(p) for p in sorted(root.glob("*/*"))}
    index.write_text(json.dumps(hashes, indent=1))
    return hashes


def accept_generated(root, hashes, setattr_=setattr):
    """Make the loaders' SHA-256 check accept the generated files under `root` (and only those,
    and only with their recorded hashes); every other file is checked as before."""
    from axonal.datasets import _download

    root, real_verify = Path(root).resolve(), _download.verify

    def verify(path, res):
        p = Path(path).resolve()
        want = hashes.get(f"{res.folder}/{res.filename}")
        if want is None or p.parent.parent != root:
            return real_verify(path, res)
        if _download.sha256_of(p) != want:
            raise _download.ChecksumError(f"checksum mismatch for the generated test file {p}")
        return Path(path)

    setattr_(_download, "verify", verify)


def real_data_dir():
    """Where the real datasets would be (the caller's AXONAL_DATA, else ~/.cache/axonal)."""
    env = os.environ.get("AXONAL_DATA_REAL") or os.environ.get("AXONAL_DATA")
    return Path(env) if env else Path.home() / ".cache" / "axonal"


def real_missing(name, root):
    return [f for f in REAL_FILES[name] if not (Path(root) / f).is_file()]


# -- the network ---------------------------------------------------------------------------------
class NetworkBlocked(OSError):
    """A test tried to reach a non-loopback address."""


def _loopback(host):
    if host in (None, "", "localhost"):
        return True
    try:
        return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
    except ValueError:
        return False


def _check(sock, address):
    if sock.family == getattr(socket, "AF_UNIX", object()) or not isinstance(address, tuple):
        return
    if not _loopback(address[0]):
        raise NetworkBlocked(f"network access is blocked in the test suite: connect to "
                             f"{address[0]}:{address[1]} (only loopback is allowed)")


def block_network(setattr_=setattr):
    """Make every connection to a non-loopback address fail (socket.connect/connect_ex, and
    getaddrinfo of other host names, so nothing waits on DNS). AF_UNIX and loopback stay open."""
    connect, connect_ex, getaddrinfo = (socket.socket.connect, socket.socket.connect_ex,
                                        socket.getaddrinfo)

    def guarded_connect(self, address):
        _check(self, address)
        return connect(self, address)

    def guarded_connect_ex(self, address):
        _check(self, address)
        return connect_ex(self, address)

    def guarded_getaddrinfo(host, *args, **kwargs):
        if not (_loopback(host) or host == socket.gethostname()):
            raise NetworkBlocked(f"network access is blocked in the test suite: lookup of {host}")
        return getaddrinfo(host, *args, **kwargs)

    setattr_(socket.socket, "connect", guarded_connect)
    setattr_(socket.socket, "connect_ex", guarded_connect_ex)
    setattr_(socket, "getaddrinfo", guarded_getaddrinfo)
    setattr_(socket, "create_connection", _guarded_create_connection(socket.create_connection))


def _guarded_create_connection(create):
    def guarded(address, *args, **kwargs):
        if not _loopback(address[0]) and address[0] != socket.gethostname():
            raise NetworkBlocked(f"network access is blocked in the test suite: connect to "
                                 f"{address[0]}:{address[1]} (only loopback is allowed)")
        return create(address, *args, **kwargs)
    return guarded


def install_from_env():
    """In a child process started by a test: use the generated data and block the network."""
    root = os.environ.get(ENV)
    if not root:
        return
    block_network()
    accept_generated(root, json.loads((Path(root) / "hashes.json").read_text()))
