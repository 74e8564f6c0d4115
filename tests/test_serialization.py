"""axonal.save / axonal.load: exact round trips, the safetensors layout, atomic writes, and a clear
CheckpointError for every kind of foreign or damaged file."""
import ast
import io
import json
import math
import os
import pickle  # only to produce a foreign file that load must refuse
import random
import re
import signal
import subprocess
import sys
import textwrap
import time
import zipfile

import numpy as np
import pytest

import axonal
from axonal import serialization as ser
from axonal.utils import _safetensors as _st
from axonal.serialization import CheckpointError, load, save

DTYPES = ["float32", "float64", "float16", "int64", "int32", "int16", "int8", "uint8", "bool"]
SHAPES = [(), (0,), (3, 0), (5,), (2, 3, 4)]


def T(arr, requires_grad=False):
    return axonal.Tensor._make(np.asarray(arr), requires_grad, None, 0)


def sample(dtype, shape, seed=0):
    rng = np.random.default_rng(seed)
    raw = rng.integers(0, 256, size=int(np.prod(shape)) * np.dtype(dtype).itemsize, dtype=np.uint8)
    if dtype == "bool":
        return (raw % 2).astype(bool).reshape(shape)
    return raw.view(dtype).reshape(shape)  # random bits: includes nan payloads, -0.0, subnormals


def same_bits(a, b):
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def roundtrip(obj, tmp_path, **kw):
    path = tmp_path / "ckpt.axl"
    save(obj, path)
    return load(path, **kw)


def read_header(path):
    raw = path.read_bytes()
    n = int.from_bytes(raw[:8], "little")
    return raw, n, json.loads(raw[8:8 + n])


def rewrite_header(path, edit):
    """Replace the JSON header by `edit(header)` keeping the data bytes: simulates corruption."""
    raw, n, header = read_header(path)
    body = json.dumps(edit(header)).encode()
    path.write_bytes(len(body).to_bytes(8, "little") + body + raw[8 + n:])


def edit_structure(edit):
    def go(header):
        info = json.loads(header["__metadata__"]["axonal"])
        edit(info)
        header["__metadata__"]["axonal"] = json.dumps(info)
        return header
    return go


# -- round trips -------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
def test_tensor_and_array_roundtrip_every_dtype_and_shape(dtype, tmp_path):
    obj = {f"t{i}": T(sample(dtype, s, i)) for i, s in enumerate(SHAPES)}
    obj.update({f"a{i}": sample(dtype, s, i + 9) for i, s in enumerate(SHAPES)})
    out = roundtrip(obj, tmp_path)
    assert list(out) == list(obj)
    for k, v in obj.items():
        if k[0] == "t":
            assert type(out[k]) is axonal.Tensor and out[k].dtype is getattr(axonal, dtype)
            assert out[k].device == "cpu" and same_bits(out[k]._data, v._data)
        else:
            assert type(out[k]) is np.ndarray and same_bits(out[k], v)
            assert out[k].flags.writeable and out[k].flags.c_contiguous


def test_python_scalars_keep_type_and_exact_value(tmp_path):
    floats = [0.1, -0.0, math.inf, -math.inf, 5e-324, 1.7976931348623157e308, 1 / 3]
    ints = [0, -1, 2**63, 2**128 + 12345, -(2**200) - 7, 10**5000]  # > str()'s 4300-digit limit
    obj = {"f": floats, "i": ints, "b": [True, False], "n": None, "s": ["", "é ✓ \x00 \"q\""],
           "nan": math.nan, "np": [np.float32(1.5), np.int64(-3), np.bool_(True), np.float16(0.1)]}
    out = roundtrip(obj, tmp_path)
    assert [f.hex() for f in out["f"]] == [f.hex() for f in floats]
    assert out["i"] == ints and all(type(i) is int for i in out["i"])
    assert out["b"] == [True, False] and all(type(b) is bool for b in out["b"])
    assert out["n"] is None and out["s"] == obj["s"] and math.isnan(out["nan"])
    for a, b in zip(out["np"], obj["np"]):
        assert type(a) is type(b) and a == b


def test_optimizer_state_dict_roundtrip(tmp_path):
    sd = {"state": {0: {"step": 3, "exp_avg": T(np.arange(6.0).reshape(2, 3)),
                        "exp_avg_sq": T(np.ones(3, np.float32))}, 1: {"step": 3}},
          "param_groups": [{"lr": 0.1, "betas": (0.9, 0.999), "eps": 1e-8, "params": [0, 1],
                            "foreach": None, "nesterov": False, "name": "decay"}]}
    out = roundtrip(sd, tmp_path)
    assert list(out["state"]) == [0, 1] and all(type(k) is int for k in out["state"])
    g = out["param_groups"][0]
    assert g == sd["param_groups"][0]
    assert type(g["betas"]) is tuple and type(g["params"]) is list
    assert type(out["param_groups"]) is list
    assert same_bits(out["state"][0]["exp_avg"]._data, sd["state"][0]["exp_avg"]._data)
    assert out["state"][1] == {"step": 3}


def test_rng_states_with_128_bit_ints_restore_the_stream(tmp_path):
    axonal.manual_seed(1234)
    axonal.randn(7)
    legacy = np.random.RandomState(5).get_state()  # ('MT19937', uint32[624], int, int, float)
    state = {"axonal": axonal.get_rng_state(), "legacy": legacy,
             "pcg": np.random.default_rng(9).bit_generator.state}
    out = roundtrip(state, tmp_path)
    assert out["pcg"] == state["pcg"] and out["pcg"]["state"]["state"] >= 2**64
    expected = axonal.randn(5)._data
    axonal.set_rng_state(out["axonal"])
    assert same_bits(axonal.randn(5)._data, expected)
    assert type(out["legacy"]) is tuple and same_bits(out["legacy"][1], legacy[1])
    rs = np.random.RandomState()
    rs.set_state(out["legacy"])
    assert rs.random() == np.random.RandomState(5).random()


def test_non_contiguous_transposed_and_big_arrays(tmp_path):
    base = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    views = {"T": T(base.T), "step": T(base[:, ::2, ::-1]),
             "bcast": T(np.broadcast_to(base[0, 0], (3, 4))),
             "arr_t": base.transpose(1, 0, 2), "fortran": np.asfortranarray(base),
             "big_endian": np.arange(-3, 3, dtype=">i4"), "be_f8": np.array([1.5, -0.0], ">f8")}
    big = np.random.default_rng(0).standard_normal(3_000_000)  # 24 MB
    out = roundtrip({**views, "big": big, "big_t": T(big.reshape(1000, 3000).T)}, tmp_path)
    for k, v in views.items():
        want = v._data if isinstance(v, axonal.Tensor) else v
        got = out[k]._data if isinstance(v, axonal.Tensor) else out[k]
        assert np.array_equal(got, want) and got.shape == want.shape and got.flags.c_contiguous
        assert got.dtype == want.dtype.newbyteorder("=") and got.dtype.isnative
    assert same_bits(out["big"], big)
    assert np.array_equal(out["big_t"]._data, big.reshape(1000, 3000).T)


def test_bare_tensor_requires_grad_and_shared_objects(tmp_path):
    w = T(np.ones((2, 2), np.float32), requires_grad=True)
    a = np.zeros(3)
    out = roundtrip([w, w, a, (a,), T(np.arange(3))], tmp_path)
    assert out[0] is out[1] and out[0].requires_grad and out[0].is_leaf
    assert out[2] is out[3][0] and not out[4].requires_grad
    assert same_bits(roundtrip(w, tmp_path)._data, w._data)  # a bare tensor as the whole object
    assert roundtrip(7, tmp_path) == 7 and roundtrip({}, tmp_path) == {}


def test_model_and_optimizer_checkpoint_resumes_bit_identically(tmp_path):
    nn, optim = pytest.importorskip("axonal.nn"), pytest.importorskip("axonal.optim")
    x = T(np.random.default_rng(1).standard_normal((4, 3)).astype(np.float32))

    def make():
        axonal.manual_seed(0)
        model = nn.Linear(3, 2)
        return model, optim.SGD(model.parameters(), lr=0.1, momentum=0.9)

    def step(model, opt):
        opt.zero_grad()
        (model(x) ** 2).sum().backward()
        opt.step()
    model, opt = make()
    step(model, opt)
    save({"model": model.state_dict(), "optim": opt.state_dict()}, tmp_path / "c.axl")
    step(model, opt)
    resumed, opt2 = make()
    ck = load(tmp_path / "c.axl")
    resumed.load_state_dict(ck["model"])
    opt2.load_state_dict(ck["optim"])
    step(resumed, opt2)  # the momentum buffers came back exactly: the same second step
    for a, b in zip(model.parameters(), resumed.parameters()):
        assert same_bits(a._data, b._data)


def test_dict_subclasses_and_size_load_as_base_types(tmp_path):
    from collections import OrderedDict, defaultdict
    obj = OrderedDict(b=1, a=defaultdict(list, x=[1]))
    obj["shape"] = axonal.Tensor._make(np.zeros((2, 3)), False, None, 0).shape
    out = roundtrip(obj, tmp_path)
    assert type(out) is dict and list(out) == ["b", "a", "shape"]
    assert out["a"] == {"x": [1]} and out["shape"] == (2, 3) and type(out["shape"]) is tuple


def test_unsupported_values_fail_before_touching_the_target(tmp_path):
    path = tmp_path / "ckpt.axl"
    save({"ok": 1}, path)
    before = path.read_bytes()
    cyc = []
    cyc.append(cyc)
    bad = [({1.5: 1}, "keys must be str or int"), ({True: 1}, "keys must be str or int"),
           ({"s": {1, 2}}, "cannot store set at obj['s']"), ([object()], "cannot store object"),
           ({"c": np.zeros(2, complex)}, "complex128"), ({"o": np.array(["x"], object)}, "object"),
           (cyc, "reference cycle"), (np.ma.masked_array([1, 2], [0, 1]), "mask"),
           (T(np.zeros(2, np.uint32)), "uint32")]
    for obj, msg in bad:
        with pytest.raises((TypeError, ValueError), match=re.escape(msg)):
            save(obj, path)
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["ckpt.axl"]


def test_file_objects_and_streams(tmp_path):
    buf = io.BytesIO()
    save({"a": T(np.arange(4))}, buf)
    save([1, "two"], buf)  # two checkpoints back to back in one stream
    buf.seek(0)
    assert np.array_equal(load(buf)["a"]._data, np.arange(4))
    assert load(buf) == [1, "two"] and buf.read() == b""

    class Stream:  # read() only: not seekable, no readinto
        def __init__(self, data):
            self._data, self.pos = data, 0

        def read(self, n):
            self.pos += n
            return self._data[self.pos - n:self.pos]
    assert load(Stream(buf.getvalue()))["a"].dtype is axonal.int64
    save({"b": False}, os.fsencode(tmp_path / "b.axl"))  # a bytes path
    assert load(os.fsencode(tmp_path / "b.axl")) == {"b": False}
    with open(tmp_path / "f.axl", "wb") as fh:
        save((1.5, None), fh)
    with open(tmp_path / "f.axl", "rb") as fh:
        assert load(fh) == (1.5, None)
    with pytest.raises(TypeError, match="binary file object"):
        save(1, io.StringIO())
    with pytest.raises(TypeError, match="binary file object"):
        load(io.StringIO())


def test_map_location(tmp_path):
    path = tmp_path / "c.axl"
    save({"w": T(np.ones(3))}, path)
    assert load(path, map_location="cpu")["w"].device == "cpu"
    assert load(path, map_location=axonal.device("cpu"))["w"].device == "cpu"
    with pytest.raises(ValueError, match="unknown device"):
        load(path, map_location="tpu")
    if axonal.cuda.is_available():
        w = load(path, map_location="cuda")["w"]
        assert w.is_cuda and np.array_equal(axonal.backend.to_numpy(w._data), np.ones(3))
        save({"w": w}, path)  # a GPU tensor saves through the host and loads back on the CPU
        assert load(path)["w"].device == "cpu"
    else:
        with pytest.raises(RuntimeError, match="CuPy"):
            load(path, map_location="cuda")


# -- the file format ---------------------------------------------------------------------------
def test_flat_state_dict_is_a_plain_safetensors_file(tmp_path):
    sd = {"fc.weight": T(sample("float32", (3, 2))), "fc.bias": T(sample("float16", (3,))),
          "bn.num_batches_tracked": T(np.array(5)), "mask": T(sample("bool", (2, 2)))}
    path = tmp_path / "m.safetensors"
    save(sd, path)
    raw, n, header = read_header(path)
    assert n % 8 == 0 and raw[8:9] == b"{"
    meta = header.pop("__metadata__")
    assert meta["format"] == "pt" and all(isinstance(v, str) for v in meta.values())
    assert json.loads(meta["axonal"])["format"] == "axonal.checkpoint"
    assert set(header) == set(sd)  # tensors are named by their state-dict keys
    codes = {"fc.weight": "F32", "fc.bias": "F16", "bn.num_batches_tracked": "I64", "mask": "BOOL"}
    end = 0
    for name, entry in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"]):
        b, e = entry["data_offsets"]
        assert entry["dtype"] == codes[name] and b == end and entry["shape"] == list(sd[name].shape)
        little = sd[name]._data.astype(sd[name]._data.dtype.newbyteorder("<"))
        assert raw[8 + n + b:8 + n + e] == little.tobytes()
        end = e
    assert len(raw) == 8 + n + end


def test_readable_by_the_safetensors_package_when_installed(tmp_path):
    st = pytest.importorskip("safetensors.numpy")
    save({"w": np.arange(6.0).reshape(2, 3)}, tmp_path / "w.st")
    assert np.array_equal(st.load_file(str(tmp_path / "w.st"))["w"], np.arange(6.0).reshape(2, 3))


def test_loads_a_foreign_safetensors_file_with_bf16(tmp_path):
    w = np.array([1.0, -2.5, 3.140625], np.float32)
    bf16 = (w.view(np.uint32) >> 16).astype("<u2").tobytes()
    header = json.dumps({"__metadata__": {"format": "pt"},
                         "b": {"dtype": "BF16", "shape": [3], "data_offsets": [0, 6]},
                         "a": {"dtype": "I32", "shape": [2], "data_offsets": [6, 14]}}).encode()
    path = tmp_path / "hf.safetensors"
    ints = np.array([7, 8], "<i4").tobytes()
    path.write_bytes(len(header).to_bytes(8, "little") + header + bf16 + ints)
    out = load(path)
    assert list(out) == ["b", "a"] and out["b"].dtype is axonal.bfloat16  # as PyTorch loads it
    assert np.array_equal(out["b"]._data.astype(np.float32), w) and np.array_equal(out["a"]._data, [7, 8])


def test_never_writes_pickle_bytes_and_never_imports_pickle(tmp_path):
    # header lengths whose first byte is 0x80 would read as a pickle protocol header: skipped
    for n in range(5000):
        m = ser._padded_length(n)
        assert m >= n and m % 8 == 0 and m - n < 16 and m.to_bytes(8, "little")[0] != 0x80
    path = tmp_path / "c.axl"
    save({"state": {0: {"step": 1, "m": T(np.arange(10.0))}}, "name": "x" * 1100}, path)
    raw, n, _ = read_header(path)
    assert b"\x80" not in raw[:8 + n]
    assert not any(bytes([0x80, p]) in raw for p in range(2, 6))
    with open(ser.__file__) as fh:
        nodes = list(ast.walk(ast.parse(fh.read())))
    imported = {a.name.split(".")[0] for node in nodes
                if isinstance(node, (ast.Import, ast.ImportFrom)) for a in node.names}
    imported |= {node.module for node in nodes if isinstance(node, ast.ImportFrom) and node.module}
    assert not imported & {"pickle", "marshal", "shelve", "dill", "torch", "safetensors"}
    calls = {node.func.id for node in nodes
             if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)}
    assert not calls & {"eval", "exec", "compile", "__import__"}


# -- atomic writes -----------------------------------------------------------------------------
@pytest.mark.parametrize("fail_at", [0, 1])
def test_exception_mid_write_keeps_the_old_file_and_no_temp(tmp_path, monkeypatch, fail_at):
    path = tmp_path / "ckpt.axl"
    save({"v": 1, "w": T(np.arange(1000.0))}, path)
    before = path.read_bytes()
    real, calls = _st._write_array, []

    def flaky(fh, arr):  # write half of an array, then fail like a full disk
        if len(calls) == fail_at:
            fh.write(memoryview(np.ascontiguousarray(arr)).cast("B")[:arr.nbytes // 2])
            raise OSError(28, "No space left on device")
        calls.append(arr)
        real(fh, arr)
    monkeypatch.setattr(_st, "_write_array", flaky)
    with pytest.raises(OSError, match="No space"):
        save({"v": 2, "a": np.ones(500_000), "b": np.ones(500_000)}, path)
    assert path.read_bytes() == before and sorted(os.listdir(tmp_path)) == ["ckpt.axl"]
    assert load(path)["v"] == 1
    monkeypatch.setattr(_st, "_write_array", real)
    with pytest.raises(FileNotFoundError):  # nothing is created in a missing directory
        save(1, tmp_path / "missing" / "x.axl")


def test_overwrite_keeps_permissions_and_writes_through_symlinks(tmp_path):
    path = tmp_path / "c.axl"
    save(1, path)
    os.chmod(path, 0o600)
    save(2, path)
    assert load(path) == 2 and (os.stat(path).st_mode & 0o777) == 0o600
    link = tmp_path / "latest.axl"
    link.symlink_to(path)
    save(3, link)
    assert link.is_symlink() and load(path) == 3


CHILD = textwrap.dedent("""
    import sys, numpy as np
    from axonal.serialization import save
    path, base = sys.argv[1], int(sys.argv[2])
    x = np.empty(12_500_000, np.float32)  # 50 MB
    for i in range(base, base + 10**6):
        x.fill(i)
        save({"version": i, "x": x, "tail": [i, str(i)]}, path)
        print(i, flush=True)
""")


def test_sigkill_while_saving_never_leaves_a_broken_file(tmp_path):
    path, rng = tmp_path / "ckpt.axl", random.Random(0)
    for run in range(6):
        base = run * 10**6
        proc = subprocess.Popen([sys.executable, "-c", CHILD, str(path), str(base)],
                                stdout=subprocess.PIPE, text=True)
        first = proc.stdout.readline()  # one complete save in this run, then kill at random
        assert first.strip() == str(base), "child failed to save"
        time.sleep(rng.uniform(0.0, 0.4))
        proc.send_signal(signal.SIGKILL)
        rest, _ = proc.communicate()
        assert proc.returncode == -signal.SIGKILL
        last = int((first + rest).split()[-1])
        out = load(path)  # must load; the replace may have landed just before the print
        assert out["version"] in (last, last + 1)
        assert out["x"].shape == (12_500_000,) and (out["x"] == out["version"]).all()
        assert out["tail"] == [out["version"], str(out["version"])]
        for leftover in os.listdir(tmp_path):  # only temp files may be left by a killed writer
            assert leftover == "ckpt.axl" or re.fullmatch(r"\.ckpt\.axl\.[0-9a-f]+\.tmp", leftover)
            if leftover != "ckpt.axl":
                os.unlink(tmp_path / leftover)


# -- damaged and foreign files -----------------------------------------------------------------
def _valid(path):
    save({"a": T(np.arange(6, dtype=np.float32).reshape(2, 3)), "b": np.arange(4), "n": 2}, path)


def _truncate(k):
    return lambda p: p.write_bytes(p.read_bytes()[:k])


def _header(edit):
    return lambda p: rewrite_header(p, edit)


def _set(name, key, value):
    def edit(h):
        h[name][key] = value
        return h
    return edit


def _with(write):
    def make(p):
        with open(p, "wb") as fh:
            write(fh)
    return make


def _raw(body):
    return lambda p: p.write_bytes(len(body).to_bytes(8, "little") + body)


def _tree(path, value):
    """Set (or, for None, delete) info["root"][path...] in the file's axonal structure."""
    def edit(info):
        node = info["root"]
        for k in path[:-1]:
            node = node[k]
        if value is None:
            del node[path[-1]]
        else:
            node[path[-1]] = value
    return _header(edit_structure(edit))


def _torch_pt(p):
    torch = pytest.importorskip("torch")
    torch.save({"w": torch.ones(2)}, p)


CORRUPTIONS = {
    "empty": (lambda p: p.write_bytes(b""), "empty"),
    "tiny": (lambda p: p.write_bytes(b"\x01\x02\x03"), "too short"),
    "png": (lambda p: p.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 100), "PNG"),
    "pickle": (lambda p: p.write_bytes(pickle.dumps({"w": [1.0] * 50}, protocol=4)), "pickle"),
    "pickle2": (lambda p: p.write_bytes(pickle.dumps([1, 2], protocol=2)), "pickle"),
    "torch_pt": (_torch_pt, "ZIP"),
    "npz": (_with(lambda fh: np.savez(fh, a=np.ones(3))), "ZIP"),
    "zip": (_with(lambda fh: zipfile.ZipFile(fh, "w").close()), "ZIP"),
    "npy": (_with(lambda fh: np.save(fh, np.ones(3))), "npy"),
    "text": (lambda p: p.write_text("hello world, this is text\n" * 4), "beyond the file size"),
    "truncated_header": (_truncate(40), "beyond the file size"),
    "truncated_data": (_truncate(-5), "truncated"),
    "header_only": (lambda p: _truncate(8 + read_header(p)[1])(p), "truncated"),
    "length_beyond": (lambda p: p.write_bytes((10**6).to_bytes(8, "little") + p.read_bytes()[8:]),
                      "beyond"),
    "trailing": (lambda p: p.write_bytes(p.read_bytes() + b"junk"), "unexpected bytes"),
    "not_json": (_raw(b"{nope}"), "JSON header is invalid"),
    "not_utf8": (_raw(b"{\xff\xfe}"), "JSON header is invalid"),
    "json_list": (_raw(b"[]"), "not a JSON object"),
    "duplicate": (_raw(b'{"a": 1, "a":2}'), "duplicate key"),
    "offset_range": (_header(_set("b", "data_offsets", [24, 10**9])), "span"),
    "overlap": (_header(_set("b", "data_offsets", [0, 32])), "overlaps"),
    "gap": (_header(_set("b", "data_offsets", [32, 64])), "a gap"),
    "dtype": (_header(_set("a", "dtype", "F64")), "needs 48 bytes"),
    "bad_dtype": (_header(_set("a", "dtype", "Q7")), "unsupported dtype"),
    "shape": (_header(_set("a", "shape", [3, 3])), "needs 36 bytes"),
    "neg_shape": (_header(_set("a", "shape", [-2, -3])), "not a list of non-negative"),
    "huge_shape": (_raw(b'{"x":{"dtype":"F32","shape":[0,%d],"data_offsets":[0,0]}}' % 2**70),
                   "cannot allocate"),
    "entry_keys": (_header(_set("a", "extra", 1)), "exactly dtype"),
    "version": (_header(edit_structure(lambda i: i.update(version=2))), "version 2 is not supp"),
    "version_bool": (_header(edit_structure(lambda i: i.update(version=True))), "version True"),
    "format_name": (_header(edit_structure(lambda i: i.update(format="x"))), "does not describe"),
    "meta_json": (_header(lambda h: {**h, "__metadata__": {"axonal": "{oops"}}), "not valid JSON"),
    "meta_type": (_header(lambda h: {**h, "__metadata__": {"axonal": 3}}), "strings"),
    # the structure of _valid: ["d", [[["s", "a"], ["T", "a", false]], [["s", "b"], ["A", "b"]],
    #                                  [["s", "n"], ["i", "0x2"]]]]
    "missing_ref": (_tree((1, 0, 1, 1), "zz"), "not stored"),
    "bad_node": (_tree((1, 2, 1, 0), "?"), "malformed"),
    "bad_int": (_tree((1, 2, 1, 1), "0xZZ"), "bad number"),
    "bad_key": (_tree((1, 2, 0), ["f", "0x1p0"]), "dict item"),
    "unreferenced": (_tree((1, 1), None), "not referenced"),
    "kind_mix": (_tree((1, 1, 1), ["A", "a"]), "two different kinds"),
    "dup_key": (_tree((1, 2, 0), ["s", "a"]), "'a' appears twice"),
    "scalar_shape": (_tree((1, 1, 1), ["G", "b"]), "expected \\(\\)"),
    "tensor_u32": (_header(_set("a", "dtype", "U32")), "not an axonal tensor dtype"),
    "deep": (_header(lambda h: {**h, "__metadata__": {"axonal": '{"format":"axonal.checkpoint",'
              '"version":1,"root":' + '["l",[' * 5000 + ']]' * 5000 + '}'}}), "recursion|too deep"),
}


@pytest.mark.parametrize("kind", list(CORRUPTIONS))
def test_corrupt_and_foreign_files_raise_checkpoint_error(kind, tmp_path):
    path = tmp_path / "ckpt.axl"
    _valid(path)
    assert load(path)["n"] == 2
    make, message = CORRUPTIONS[kind]
    make(path)
    with pytest.raises(CheckpointError, match=message) as info:
        load(path)
    assert str(path) in str(info.value) and isinstance(info.value, ValueError)
    with open(path, "rb") as fh:  # the same verdict through a file object, except that a stream
        if kind == "trailing":  # may go on after a checkpoint (the next one): it stops right there
            assert load(fh)["n"] == 2 and fh.read() == b"junk"
            return
        with pytest.raises(CheckpointError, match=message):
            load(fh)
