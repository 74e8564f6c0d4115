"""What a dataset file is and where it lives: `Resource`, the data dir and the error types.

Light on purpose (no network code): the loaders and `axonal.datasets` import this at load time,
and `_download` (hashing, fetching over the network) only when a file is looked up.
"""
import os
from dataclasses import dataclass
from pathlib import Path

ENV_VAR = "AXONAL_DATA"
PACKAGED_DIR = Path(__file__).resolve().parent / "_files"


class DatasetError(RuntimeError):
    """A dataset file is missing, corrupt or could not be fetched."""


class ChecksumError(DatasetError):
    """A file's SHA-256 differs from the published one."""


class DownloadError(DatasetError, FileNotFoundError):
    """A file is not on disk and could not be downloaded (offline, server error, read-only dir)."""


@dataclass(frozen=True)
class Resource:
    """One canonical file: where it goes (`folder/filename`), its hash and where to get it."""

    folder: str
    filename: str
    sha256: str
    size: int
    urls: tuple
    packaged: bool = False


def data_dir(root=None) -> Path:
    """The data directory: `root`, else $AXONAL_DATA, else ~/.cache/axonal."""
    if root is not None:
        return Path(root).expanduser()
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env).expanduser()
    return Path.home() / ".cache" / "axonal"
