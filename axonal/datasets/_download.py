"""Finding, verifying and downloading dataset files.

Where files live: `<data dir>/<dataset>/<canonical file name>`, where the data dir is the `root`
argument if given, else the `AXONAL_DATA` environment variable, else `~/.cache/axonal`. MNIST also
ships inside the package (`axonal/datasets/_files/mnist/`), so it works offline on a fresh machine.

Every file is checked against its published SHA-256 the first time a process uses it (memoized by
path, size and mtime, so re-opening costs nothing). A download streams into a temporary file in the
target directory, is hashed on the way, and is renamed into place only when the hash matches; the
rename is atomic, so a crash or Ctrl-C never leaves a half-written file under the canonical name.
"""
import hashlib
import os
import sys
import tempfile
import urllib.request
from pathlib import Path

from ._resource import (  # noqa: F401
    ENV_VAR,
    PACKAGED_DIR,
    ChecksumError,
    DatasetError,
    DownloadError,
    Resource,
    data_dir,
)

_CHUNK = 1 << 20
_TIMEOUT_S = 30


def sha256_of(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


_VERIFIED = {}  # resolved path -> (size, mtime_ns) of the version that passed


def verify(path, res: Resource) -> Path:
    """Raise ChecksumError unless `path` has the resource's SHA-256."""
    path = Path(path)
    st = path.stat()
    key = str(path.resolve())
    if _VERIFIED.get(key) == (st.st_size, st.st_mtime_ns):
        return path
    actual = sha256_of(path)
    if actual != res.sha256:
        raise ChecksumError(
            f"checksum mismatch for {path}: expected sha256 {res.sha256}, got {actual} "
            f"({st.st_size} bytes, expected {res.size}). The file is corrupt, truncated or not the "
            f"canonical {res.filename}; delete it to download it again (from {res.urls[0]}).")
    _VERIFIED[key] = (st.st_size, st.st_mtime_ns)
    return path


def _download_to(url: str, dest: Path, res: Resource) -> None:
    """Stream `url` into a temp file beside `dest`, check the hash, then rename it into place."""
    request = urllib.request.Request(url, headers={"User-Agent": "axonal-datasets/0.1"})
    fd, tmp = tempfile.mkstemp(prefix=f".{res.filename}.", suffix=".part", dir=dest.parent)
    try:
        h = hashlib.sha256()
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(request, timeout=_TIMEOUT_S) as resp:
            for chunk in iter(lambda: resp.read(_CHUNK), b""):
                h.update(chunk)
                out.write(chunk)
        actual = h.hexdigest()
        if actual != res.sha256:
            raise ChecksumError(
                f"checksum mismatch for {res.filename} downloaded from {url}: expected sha256 "
                f"{res.sha256}, got {actual}. The file was not saved.")
        os.replace(tmp, dest)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


_WHERE = (f"or point axonal at a directory DIR that holds them: `--data DIR` on the command line, "
          f"`root=DIR` in Python, or the {ENV_VAR} environment variable")


def _missing_message(res: Resource, dest: Path, reasons) -> str:
    tried = "; ".join(f"{u}: {r}" for u, r in reasons) if reasons else "download=False"
    return (f"dataset file {res.filename} not found at {dest} and it could not be downloaded "
            f"({tried}). Put the file (sha256 {res.sha256}, from {res.urls[0]}) at {dest}, "
            f"{_WHERE} (as DIR/{res.folder}/{res.filename}).")


def fetch_all(resources, root=None, download=True, dataset=()) -> list:
    """`fetch` each resource; when one is missing, the DownloadError lists every file of the whole
    `dataset` (all its resources; default: `resources`) that is missing, not only the first."""
    try:
        return [fetch(res, root, download) for res in resources]
    except DownloadError as first:
        base = data_dir(root)
        missing = [res for res in (dataset or resources)
                   if not (base / res.folder / res.filename).is_file()
                   and not (res.packaged and (PACKAGED_DIR / res.folder / res.filename).is_file())]
        if len(missing) < 2:
            raise
        files = "; ".join(f"{res.filename} (sha256 {res.sha256}, from {res.urls[0]})"
                          for res in missing)
        raise DownloadError(f"{len(missing)} dataset files are missing from "
                            f"{base / missing[0].folder} and could not be downloaded: {files}. "
                            f"Put them there, {_WHERE}. (First failure: {first})") from first


def fetch(res: Resource, root=None, download=True) -> Path:
    """Path of a verified copy of `res`, downloading it into the data dir if needed.

    Lookup order: `<data dir>/<folder>/<filename>`, then the copy shipped in the package (MNIST), then
    each URL in turn. A mirror that serves a file with the wrong hash is skipped; if no URL works the
    error names the file, the place to put it and AXONAL_DATA (or the hashes, for a bad download).
    """
    dest = data_dir(root) / res.folder / res.filename
    if dest.is_file():
        return verify(dest, res)
    if res.packaged:
        shipped = PACKAGED_DIR / res.folder / res.filename
        if shipped.is_file():
            return verify(shipped, res)
    if not download:
        raise DownloadError(_missing_message(res, dest, []))
    reasons, bad_hash = [], None
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        reason = ("(cache dir)", f"cannot create {dest.parent}: {e}")
        raise DownloadError(_missing_message(res, dest, [reason])) from e
    for url in res.urls:
        print(f"axonal: downloading {url} -> {dest}", file=sys.stderr)
        try:
            _download_to(url, dest, res)
            return verify(dest, res)
        except ChecksumError as e:
            bad_hash = bad_hash or e
            reasons.append((url, "checksum mismatch"))
        except (OSError, ValueError) as e:  # URLError, HTTPError, timeouts, read-only dir, bad URL
            reasons.append((url, f"{type(e).__name__}: {e}"))
    if bad_hash is not None:
        raise bad_hash
    raise DownloadError(_missing_message(res, dest, reasons))
