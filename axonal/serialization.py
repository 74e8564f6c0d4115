"""`save` / `load`: checkpoints in the safetensors layout, never pickle.

Layout (safetensors', written here without the safetensors package):

    8 bytes   N, unsigned little-endian: length of the JSON header
    N bytes   JSON header, ASCII (JSON escapes the rest), padded with spaces to a multiple of 8
    rest      the tensors' raw little-endian bytes, C order, back to back

The header maps each tensor name to `{"dtype": "F32", "shape": [2, 3], "data_offsets": [b, e]}`
(offsets into the data, which the tensors cover exactly: no gap, no overlap). `__metadata__` holds
strings only: `"format": "pt"` (what HuggingFace tools expect of PyTorch-named weights), `"sha256"`
(hex SHA-256 of the data section, checked by `load`) and `"axonal"`, a JSON string
`{"format": "axonal.checkpoint", "version": 1, "root": NODE}`:

    ["T", name, requires_grad] Tensor    ["A", name] ndarray    ["G", name] NumPy scalar (0-d)
    ["i", "-0x1f"] int (hex: exact, no digit limit)   ["f", "0x1.8p+1"] float (float.hex, nan/inf)
    ["b", true] bool   ["n"] None   ["s", text] str   ["l", [NODE...]] list   ["t", [...]] tuple
    ["d", [[KEY, NODE]...]] dict, KEY being ["s", text] or ["i", hex] (optimizer states use ints)
    ["m", ID] a Module: entry ID of the `"modules"` table (class, constructor arguments, state;
    see nn/_saved_module.py). Never pickle: load imports only allowed classes and calls them.

Tensors at top-level string keys are named by their key, so a flat state dict is a plain
safetensors file. Dtypes: F64 F32 F16 BF16 I64 I32 I16 I8 U8 BOOL, plus U16 U32 U64 for arrays
(NumPy's MT19937 state). A plain safetensors file loads as a flat `{name: Tensor}` dict.

Saving to a path is atomic (`_atomic_write`): a killed process may leave a temp file, never a
half-written target. A file object is written in place; loading leaves it after the checkpoint.

Loading validates everything, raising `CheckpointError` naming the file and the problem; a data
section whose SHA-256 differs from the recorded one is reported as corrupt (a file without the hash,
from an older axonal, loads with a warning). Tensors load on the CPU unless `map_location` says
otherwise; an object saved twice loads as one; dict/list/tuple subclasses load as their base type.
"""
import hashlib
import io
import json
import os
import warnings

import numpy as np

from . import _dtype as _dt
from . import backend
from ._safe_globals import *  # noqa: F403  (PyTorch's safe_globals allow-list API)
from .nn import _saved_module as _sm
from .tensor import Tensor
from .utils._atomic import atomic_write as _atomic_write
from .utils._safetensors import _bytes_of, _padded_length, _write

FORMAT, VERSION = "axonal.checkpoint", 1
_MAX_HEADER = 100_000_000  # safetensors' limit: a longer "header" means a foreign or broken file
_CODES = {"float64": "F64", "float32": "F32", "float16": "F16", "int64": "I64", "int32": "I32",
          "int16": "I16", "int8": "I8", "uint8": "U8", "bool": "BOOL", "uint16": "U16",
          "uint32": "U32", "uint64": "U64", "bfloat16": "BF16"}
_NP_OF = {code: np.dtype(name).newbyteorder("<") for name, code in _CODES.items()
          if name != "bfloat16"}  # BF16: ml_dtypes' dtype, added on first use (_np_of)


def _np_of(code):
    """The little-endian NumPy dtype of a safetensors dtype code (BF16 loads ml_dtypes)."""
    if code == "BF16" and code not in _NP_OF:
        _NP_OF[code] = _dt.bfloat16.np.newbyteorder("<")
    return _NP_OF[code]


_ZIP, _PICKLE = ("a ZIP archive (PyTorch .pt/.pth and NumPy .npz files are ZIP archives, read "
                 "by neither)", "a pickle (an old torch.save file?); axonal never unpickles: it "
                 "can run arbitrary code")
_FOREIGN = [(b"\x89PNG", "a PNG image"), (b"PK\x03\x04", _ZIP), (b"PK\x05\x06", _ZIP),
            (b"\x93NUMPY", "a NumPy .npy file (use numpy.load)"), (b"\x1f\x8b", "gzip data"),
            (b"\x89HDF", "an HDF5 file")] + [(bytes([0x80, v]), _PICKLE) for v in range(2, 6)]


class CheckpointError(ValueError):
    """A file that is not a valid axonal checkpoint (foreign, truncated or corrupted)."""


# -- saving ------------------------------------------------------------------------------------
class _Plan:
    """Walks the object once, before any byte is written, so that an unsupported value fails
    without touching the target, and so the header (which precedes the data) is known up front."""

    def __init__(self):
        self.entries, self.arrays, self.offset = {}, [], 0
        self.names = {}  # id(leaf) -> tensor name: an object saved twice is stored once
        self.open = set()  # ids of the containers being walked, to reject cycles
        self.modules = _sm.Encoder(self)  # whole modules: a table of class + arguments + state

    def node(self, obj, path):
        if isinstance(obj, Tensor):
            return ["T", self.leaf(obj, obj._data, path), bool(obj.requires_grad)]
        if isinstance(obj, np.generic) and not isinstance(obj, str):  # np.float64 is a float too
            return ["G", self.leaf(obj, np.asarray(obj), path)]
        if isinstance(obj, np.ndarray) or backend.is_cupy_array(obj):
            if isinstance(obj, np.ma.MaskedArray):
                raise TypeError(f"save: {_where(path)} is a masked array; its mask would be lost")
            return ["A", self.leaf(obj, obj, path)]
        if obj is None or isinstance(obj, bool):
            return ["n"] if obj is None else ["b", obj]
        if isinstance(obj, _sm.Module):
            return self.modules.module(obj, path)
        for typ, tag, encode in ((int, "i", hex), (float, "f", float.hex), (str, "s", str)):
            if isinstance(obj, typ):  # hex/float.hex: exact, and no 4300-digit int limit
                return [tag, encode(typ(obj))]
        if not isinstance(obj, (dict, list, tuple)):
            raise TypeError(f"save: cannot store {type(obj).__name__} at {_where(path)}; supported "
                            "are Tensor, numpy arrays and scalars, int, float, bool, str, None, "
                            "and dicts/lists/tuples of them")
        if id(obj) in self.open:
            raise ValueError(f"save: {_where(path)} contains itself (a reference cycle)")
        self.open.add(id(obj))
        if isinstance(obj, dict):
            out = ["d", [[self.key(k, path), self.node(v, path + (k,))] for k, v in obj.items()]]
        else:
            out = ["t" if isinstance(obj, tuple) else "l",
                   [self.node(v, path + (i,)) for i, v in enumerate(obj)]]
        self.open.discard(id(obj))
        return out

    @staticmethod
    def key(k, path):
        if isinstance(k, (str, int)) and not isinstance(k, bool):
            return ["s", str(k)] if isinstance(k, str) else ["i", hex(k)]
        raise TypeError(f"save: dict keys must be str or int; {_where(path)} has the key {k!r}")

    def leaf(self, obj, arr, path):
        if id(obj) in self.names:
            return self.names[id(obj)]
        code = _CODES.get(arr.dtype.newbyteorder("=").name)
        if code is None or (code in ("U16", "U32", "U64") and isinstance(obj, Tensor)):
            raise TypeError(f"save: {_where(path)} has dtype {arr.dtype}, which cannot be stored "
                            f"(supported: {', '.join(_CODES)})")
        base = ".".join(map(str, path)) or "root"
        name, n = base, 1
        while name in self.entries or name == "__metadata__":
            name, n = f"{base}#{n}", n + 1
        end = self.offset + arr.nbytes
        self.entries[name] = {"dtype": code, "shape": list(arr.shape),
                              "data_offsets": [self.offset, end]}
        self.arrays.append(arr)
        self.names[id(obj)], self.offset = name, end
        return name


def _where(path):
    return "obj" + "".join(f"[{k!r}]" for k in path)


def save(obj, f) -> None:
    """Save `obj` (Tensors, NumPy arrays, Python scalars, str, None in nested dicts/lists/tuples) to
    `f`, a path (written atomically) or a binary file object opened for writing."""
    plan = _Plan()
    info = {"format": FORMAT, "version": VERSION, "root": plan.node(obj, ())}
    if plan.modules.entries:
        info["modules"] = plan.modules.entries
    digest = hashlib.sha256()  # the header precedes the data, so the data is hashed first
    for arr in plan.arrays:
        digest.update(_bytes_of(arr))
    meta = {"format": "pt", "sha256": digest.hexdigest(),
            "axonal": json.dumps(info, separators=(",", ":"))}
    header = json.dumps({"__metadata__": meta, **plan.entries}, separators=(",", ":")).encode()
    header += b" " * (_padded_length(len(header)) - len(header))
    if isinstance(f, (str, bytes, os.PathLike)):
        return _atomic_write(f, lambda fh: _write(fh, header, plan.arrays))
    if isinstance(f, io.TextIOBase) or not hasattr(f, "write"):
        raise TypeError(f"save: f must be a path or a binary file object, got {type(f).__name__}")
    _write(f, header, plan.arrays)


# -- loading -----------------------------------------------------------------------------------
class _Reader:
    def __init__(self, fh, label, size, exact):
        self.fh, self.label, self.size, self.exact = fh, label, size, exact

    def fail(self, problem):
        raise CheckpointError(f"cannot load checkpoint {self.label}: {problem}")

    def read_into(self, buf, what, digest=None):
        view, got = memoryview(buf).cast("B"), 0
        while got < len(view):
            if hasattr(self.fh, "readinto"):
                n = self.fh.readinto(view[got:])
            else:
                chunk = self.fh.read(len(view) - got)
                view[got:got + len(chunk)], n = chunk, len(chunk)
            if not n:
                self.fail(f"file truncated: it ends inside {what} ({got} of {len(view)} bytes)")
            got += n
        if digest is not None:
            digest.update(view)

    def foreign(self, prefix, problem):
        for magic, what in _FOREIGN:
            if prefix.startswith(magic):
                self.fail(f"not an axonal checkpoint but {what}")
        self.fail(problem)

    def read(self):
        if self.size is not None and self.size < 8:
            self.fail("the file is empty" if self.size == 0 else
                      f"only {self.size} bytes long, too short to be a checkpoint")
        self.read_into(prefix := bytearray(8), "the 8-byte header length")
        n = int.from_bytes(prefix, "little")
        if n > _MAX_HEADER or (self.size is not None and n > self.size - 8):
            self.foreign(bytes(prefix), f"header length {n} is beyond the file size {self.size} "
                         "(truncated, or not an axonal checkpoint)")
        self.read_into(header := bytearray(n), "the JSON header")
        if not header.startswith(b"{"):
            self.foreign(bytes(prefix), "the header is not a JSON object (not a checkpoint)")
        try:
            header = json.loads(header.decode("utf-8"), object_pairs_hook=_no_duplicates)
        except (ValueError, RecursionError) as e:
            self.fail(f"the JSON header is invalid ({e})")
        meta = header.pop("__metadata__", {})
        if not isinstance(meta, dict) or not all(isinstance(v, str) for v in meta.values()):
            self.fail("__metadata__ must map names to strings")
        spans = sorted((self.entry(name, e), name) for name, e in header.items())
        end = 0
        for (b, e), name in spans:
            if b != end:
                self.fail(f"tensor {name!r} starts at data offset {b}, expected {end} "
                          f"({'it overlaps the previous tensor' if b < end else 'a gap'})")
            end = e
        if self.size is not None:
            have = self.size - 8 - n
            if end > have:
                self.fail(f"file truncated: the tensors need {end} bytes of data, "
                          f"the file holds {have}")
            if self.exact and end < have:
                self.fail(f"{have - end} unexpected bytes after the last tensor")
        arrays, digest = {}, hashlib.sha256()
        for _, name in spans:
            e = header[name]
            try:
                arr = np.empty(e["shape"], _np_of(e["dtype"]))
            except (ValueError, OverflowError, MemoryError) as err:
                self.fail(f"tensor {name!r}: cannot allocate shape {e['shape']} ({err})")
            self.read_into(arr.reshape(-1).view(np.uint8), f"tensor {name!r}", digest)
            arrays[name] = arr.astype(arr.dtype.newbyteorder("="), copy=False)
        self.check_hash(meta, digest.hexdigest())
        return meta, header, arrays

    def check_hash(self, meta, actual):
        if meta.get("sha256", actual) != actual:
            raise CheckpointError(f"checkpoint {self.label} is corrupt: its tensor data has SHA-256 "
                                  f"{actual}, the file records {meta['sha256']}")
        # other tools' safetensors carry no hash; an older axonal's file is warned about once it
        # has loaded (see _load)
        self.unhashed = "sha256" not in meta and "axonal" in meta

    def entry(self, name, e):
        if not isinstance(e, dict) or set(e) != {"dtype", "shape", "data_offsets"}:
            self.fail(f"tensor {name!r}: entry must have exactly dtype, shape and data_offsets")
        shape, offs = e["shape"], e["data_offsets"]
        if e["dtype"] not in _CODES.values():
            self.fail(f"tensor {name!r}: unsupported dtype {e['dtype']!r}")
        if not isinstance(shape, list) or not all(_is_uint(d) for d in shape):
            self.fail(f"tensor {name!r}: shape {shape!r} is not a list of non-negative ints")
        if not (isinstance(offs, list) and len(offs) == 2 and all(map(_is_uint, offs))):
            self.fail(f"tensor {name!r}: data_offsets {offs!r} are not [begin, end]")
        need = int(np.prod(shape, dtype=object)) * _np_of(e["dtype"]).itemsize
        if offs[1] - offs[0] != need:
            self.fail(f"tensor {name!r}: {e['dtype']} {shape} needs {need} bytes, "
                      f"but data_offsets {offs} span {offs[1] - offs[0]}")
        return offs[0], offs[1]


def _is_uint(v):
    return type(v) is int and v >= 0  # type(): JSON true/false must not pass as 1/0


def _no_duplicates(pairs):
    if len(out := dict(pairs)) != len(pairs):
        raise ValueError("duplicate key in a JSON object")
    return out


# each structure tag and the types of its arguments (see the module docstring)
_NODE_ARGS = {"T": (str, bool), "A": (str,), "G": (str,), "i": (str,), "f": (str,), "s": (str,),
              "b": (bool,), "n": (), "l": (list,), "t": (list,), "d": (list,), "m": (int,)}


class _Builder:
    """Rebuilds the saved object from the structure nodes, checking each node's shape."""

    def __init__(self, reader, arrays, device, modules, weights_only):
        self.r, self.arrays, self.device = reader, arrays, device
        self.modules = _sm.Decoder(self, modules, weights_only)  # refuses disallowed classes
        self.made = {}  # name -> (tag, object): one stored tensor referenced twice -> one object

    def build(self, node):
        tag = node[0] if isinstance(node, list) and node and isinstance(node[0], str) else None
        args, types = (node[1:] if tag else None), _NODE_ARGS.get(tag)
        if types is None or len(args) != len(types) or not all(map(isinstance, args, types)):
            self.r.fail(f"malformed structure node {str(node)[:80]}")
        if tag in ("T", "A", "G"):
            return self.leaf(tag, *args)
        if tag == "m":
            return self.modules.module(args[0])
        if tag in ("i", "f"):
            try:
                return int(args[0], 16) if tag == "i" else float.fromhex(args[0])
            except ValueError:
                self.r.fail(f"bad number literal {args[0][:40]!r} in the structure")
        if tag == "n":
            return None
        if tag in ("s", "b"):
            return args[0]
        if tag == "d":
            out = {}
            for item in args[0]:
                if not (isinstance(item, list) and len(item) == 2 and isinstance(item[0], list)
                        and item[0][:1] in (["s"], ["i"])):
                    self.r.fail(f"malformed dict item {str(item)[:80]}")
                if (key := self.build(item[0])) in out:
                    self.r.fail(f"the dict key {key!r} appears twice")
                out[key] = self.build(item[1])
            return out
        items = [self.build(v) for v in args[0]]
        return tuple(items) if tag == "t" else items

    def leaf(self, tag, name, requires_grad=False):
        if name not in self.arrays:
            self.r.fail(f"the structure refers to a tensor {str(name)[:80]!r} that is not stored")
        if name in self.made:
            if self.made[name][0] != tag:
                self.r.fail(f"tensor {name!r} is referenced as two different kinds")
            return self.made[name][1]
        arr = obj = self.arrays[name]
        if tag == "G":
            if arr.ndim:
                self.r.fail(f"NumPy scalar {name!r} has shape {arr.shape}, expected ()")
            obj = arr[()]
        elif tag == "T":  # requires_grad on an integer tensor is dropped: nothing could use it
            if arr.dtype not in _dt._BY_NP and arr.dtype != _dt.bfloat16.np:
                self.r.fail(f"tensor {name!r}: dtype {arr.dtype} is not an axonal tensor dtype")
            obj = Tensor._make(backend.to_device(arr, self.device),
                               requires_grad and arr.dtype.kind in "fV", None, 0)
        self.made[name] = (tag, obj)
        return obj


def load(f, map_location=None, *, weights_only=None, mmap=None):
    """Load what `save` wrote (or a plain safetensors file) from a path or a binary file object.
    Tensors go to the CPU, or to `map_location` ('cpu', 'cuda', 'cuda:1' or an axonal device).
    A saved Module is rebuilt from classes of axonal and of `safe_globals`, or from any importable
    module with `weights_only=False` (nn/_saved_module.py); `mmap` is accepted and unused."""
    device = backend.Device(map_location if map_location is not None else "cpu")
    backend.xp_for(device)  # fail now, with a clear message, when 'cuda' cannot work here
    if isinstance(f, (str, bytes, os.PathLike)):
        with open(f, "rb") as fh:
            reader = _Reader(fh, repr(os.fsdecode(f)), os.fstat(fh.fileno()).st_size, True)
            return _load(reader, device, weights_only)
    if not hasattr(f, "read") or isinstance(f, io.TextIOBase):
        raise TypeError(f"load: f must be a path or a binary file object, got {type(f).__name__}")
    size = None
    if getattr(f, "seekable", lambda: False)():
        here = f.tell()
        size = f.seek(0, io.SEEK_END) - here
        f.seek(here)
    label = repr(getattr(f, "name", "<file object>"))
    return _load(_Reader(f, label, size, False), device, weights_only)


def _load(reader, device, weights_only):
    meta, header, arrays = reader.read()
    info = {}
    if "axonal" not in meta:  # a plain safetensors file: a flat {name: Tensor} dict
        root = ["d", [[["s", name], ["T", name, False]] for name in header]]
    else:
        try:
            info = json.loads(meta["axonal"])
        except (ValueError, RecursionError) as e:
            reader.fail(f"the axonal metadata is not valid JSON ({e})")
        if not isinstance(info, dict) or info.get("format") != FORMAT or "root" not in info:
            reader.fail(f"the metadata does not describe an {FORMAT} file")
        if type(info.get("version")) is not int or info["version"] != VERSION:
            reader.fail(f"format version {info.get('version')!r} is not supported (this axonal "
                        f"reads version {VERSION}; the file may come from a newer axonal)")
        root = info["root"]
    builder = _Builder(reader, arrays, device, info.get("modules", []), weights_only)
    try:
        obj = builder.build(root)
    except RecursionError:
        reader.fail("the structure is nested too deeply")
    unused = set(arrays) - set(builder.made)
    if unused:
        reader.fail(f"{len(unused)} stored tensor(s) are not referenced, e.g. {min(unused)!r}")
    if reader.unhashed:
        warnings.warn(f"checkpoint {reader.label} has no SHA-256 (written by an older axonal), so "
                      "its integrity cannot be checked; save it again to add one", stacklevel=3)
    return obj
