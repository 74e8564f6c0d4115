"""tools/api_coverage.py and the parity record (tests/_parity.py): what counts as proved, the
out-of-scope classification, and the floor check that CI runs."""
import importlib.util
import json
import pathlib
import types

import pytest
from _parity import ParityRecorder, full_name

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _tool():
    spec = importlib.util.spec_from_file_location("api_coverage", ROOT / "tools" / "api_coverage.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _report(node, when, outcome, xfail=False):
    r = types.SimpleNamespace(nodeid=node, when=when, passed=outcome == "passed",
                              failed=outcome == "failed")
    if xfail:
        r.wasxfail = "reason"
    return r


def test_recorder_proves_a_name_only_without_failures(tmp_path):
    rec = ParityRecorder(str(tmp_path / "p.json"))
    rec.names = {"a": ("torch.add",), "b": ("torch.add", "torch.sub"), "c": ("torch.mul",),
                 "d": ("torch.div",), "e": ("torch.exp",)}
    for node, when, outcome in (("a", "call", "passed"), ("b", "call", "passed"),
                                ("b", "teardown", "failed"), ("c", "call", "passed"),
                                ("e", "setup", "passed")):  # e: skipped after setup
        rec.pytest_runtest_logreport(_report(node, when, outcome))
    rec.pytest_runtest_logreport(_report("d", "call", "passed", xfail=True))  # an xpass
    rec.pytest_sessionfinish(None)
    out = json.loads((tmp_path / "p.json").read_text())
    assert out["proved"] == ["torch.mul"]
    assert out["names"]["torch.add"] == {"passed": 1, "failed": 1}
    assert out["names"]["torch.div"] == {"passed": 0, "failed": 0}
    assert full_name("Tensor.add") == "torch.Tensor.add"


def test_out_of_scope_categories():
    tool = _tool()
    assert tool.out_of_scope("torch", "quantize_per_tensor") == "quantization"
    assert tool.out_of_scope("torch", "quantile") is None  # a real reduction, in scope
    assert tool.out_of_scope("torch", "view_as_complex") == "complex-only"
    assert tool.out_of_scope("torch.fft", "rfft") == "complex-only"
    assert tool.out_of_scope("torch.fft", "fftfreq") is None
    assert tool.out_of_scope("torch.Tensor", "to_padded_tensor") == "nested tensors"
    assert tool.out_of_scope("torch", "cudnn_convolution") == "CUDA/graph internals"
    assert tool.out_of_scope("torch.Tensor", "rename") == "named tensors"
    assert set(tool.OUT_OF_SCOPE) == {"quantization", "named tensors", "nested tensors",
                                      "complex-only", "CUDA/graph internals"}


def test_check_fails_below_a_floor_or_on_a_new_denominator():
    tool = _tool()
    row = {"proved": ["a", "b"], "present": ["c"], "absent": ["d"], "in_scope": 4}
    ok = {"categories": {"torch": {"in_scope": 4, "floor": 2}}}
    assert tool.check({"torch": row}, ok) == []
    low = {"categories": {"torch": {"in_scope": 4, "floor": 3}}}
    assert "below the floor" in tool.check({"torch": row}, low)[0]
    moved = {"categories": {"torch": {"in_scope": 5, "floor": 2}}}
    assert "in scope" in tool.check({"torch": row}, moved)[0]
    assert "no floor" in tool.check({"torch": row}, {})[0]


def test_committed_floors_cover_every_category():
    tool = _tool()
    floors = json.loads(tool.FLOORS.read_text())
    assert set(floors["categories"]) == {c[0] for c in tool.CATEGORIES}
    for cat in floors["categories"].values():
        assert 0 <= cat["floor"] <= cat["in_scope"]


def test_measure_counts_only_present_and_proved_names():
    torch = pytest.importorskip("torch")
    tool = _tool()
    # a proved tag on a name Axonal lacks does not count; an untagged present name is unproved
    res = tool.measure({"proved": ["torch.add", "torch.special.zeta_not_a_name"]})
    assert "add" in res["torch"]["proved"]
    assert "sub" in res["torch"]["present"]
    assert "quantize_per_tensor" in res["torch"]["out"]["quantization"]
    assert tool.unknown_tags({"names": {"torch.nope": {}, "torch.Tensor.add": {}}}) == \
        ["torch.nope"]
    assert res["torch"]["in_scope"] == len(res["torch"]["proved"]) + \
        len(res["torch"]["present"]) + len(res["torch"]["absent"])
    assert torch.__version__
