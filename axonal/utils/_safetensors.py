"""The byte-level pieces of writing a safetensors-layout file (serialization.py's format)."""
import numpy as np

from .. import backend


def _padded_length(n: int) -> int:
    """Header length padded to 8 (safetensors aligns the data so). Lengths whose first byte would be
    0x80 are skipped: 0x80 0x02..0x05 opens a pickle stream and tools sniff for it."""
    n = (n + 7) // 8 * 8
    while n & 0xFF == 0x80:
        n += 8
    return n


def _bytes_of(arr):
    """One array's bytes (C order, little-endian) as a memoryview, without a copy when possible."""
    a = np.ascontiguousarray(backend.to_numpy(arr))
    if a.dtype != a.dtype.newbyteorder("<"):
        a = a.astype(a.dtype.newbyteorder("<"))
    return memoryview(a.reshape(-1).view(np.uint8))


def _write_array(fh, arr):
    fh.write(_bytes_of(arr))


def _write(fh, header, arrays):
    fh.write(len(header).to_bytes(8, "little") + header)
    for arr in arrays:
        _write_array(fh, arr)
