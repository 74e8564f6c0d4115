"""Reader for the IDX format of MNIST and Fashion-MNIST (gzip-compressed or raw).

Layout (LeCun's description at yann.lecun.com/exdb/mnist): a 4-byte magic number, `0x00 0x00 T D`,
where T is the element type and D the number of dimensions; then D big-endian uint32 sizes; then the
elements in row-major (C) order, big-endian. So `train-images-idx3-ubyte` starts with 0x00000803:
unsigned bytes, 3 dims (60000, 28, 28).

Every field is checked against the file: a wrong magic, a zero dimension count, or a body that is
shorter or longer than the product of the sizes raises IDXError naming the file and what was found.
"""
import gzip
import struct
import zlib
from pathlib import Path

import numpy as np

from ._resource import DatasetError

# element type code -> big-endian NumPy dtype
IDX_TYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_GZIP_MAGIC = b"\x1f\x8b"


class IDXError(DatasetError, ValueError):
    """A file is not a valid IDX file (bad magic, dims or length)."""


def _read_bytes(path: Path) -> bytes:
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:2] != _GZIP_MAGIC:  # decide by content, not by the file name
        return raw
    try:
        return gzip.decompress(raw)
    except (EOFError, OSError, zlib.error) as e:  # truncated stream, bad CRC, not really gzip
        raise IDXError(f"{path}: corrupt or truncated gzip data ({type(e).__name__}: {e})") from e


def parse_idx(buf: bytes, name="<bytes>") -> np.ndarray:
    """Decode an uncompressed IDX byte string into an array of native byte order."""
    if len(buf) < 4:
        raise IDXError(f"{name}: {len(buf)} bytes is too short for an IDX header (need at least 4)")
    zero, type_code, ndim = struct.unpack(">HBB", buf[:4])
    if zero != 0 or type_code not in IDX_TYPES:
        raise IDXError(f"{name}: bad IDX magic number 0x{buf[:4].hex()} (expected 0x0000TTDD with type "
                       f"TT in {', '.join(f'0x{t:02x}' for t in IDX_TYPES)})")
    if ndim == 0:
        raise IDXError(f"{name}: IDX header declares 0 dimensions")
    header = 4 + 4 * ndim
    if len(buf) < header:
        raise IDXError(f"{name}: truncated header: {ndim} dimensions need {header} bytes, "
                       f"file has {len(buf)}")
    dims = struct.unpack(f">{ndim}I", buf[4:header])
    dtype = IDX_TYPES[type_code]
    expected = int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    body = len(buf) - header
    if body != expected:
        what = "truncated" if body < expected else "has trailing bytes"
        raise IDXError(f"{name}: IDX body {what}: dims {dims} of {dtype.str[1:]} need {expected} bytes, "
                       f"found {body}")
    arr = np.frombuffer(buf, dtype=dtype, offset=header).reshape(dims)
    # native byte order and a writable, owned array (frombuffer views the immutable bytes object)
    return arr.astype(dtype.newbyteorder("="), copy=True)


def read_idx(path, expect_ndim=None, expect_dtype=None) -> np.ndarray:
    """Read an IDX file (optionally gzip-compressed) into a NumPy array.

    `expect_ndim` / `expect_dtype` add checks for callers that know what the file must hold.
    """
    path = Path(path)
    arr = parse_idx(_read_bytes(path), str(path))
    if expect_ndim is not None and arr.ndim != expect_ndim:
        raise IDXError(f"{path}: expected {expect_ndim} dimensions, file has {arr.ndim} {arr.shape}")
    if expect_dtype is not None and arr.dtype != np.dtype(expect_dtype):
        raise IDXError(f"{path}: expected elements of type {np.dtype(expect_dtype)}, "
                       f"file has {arr.dtype}")
    return arr
