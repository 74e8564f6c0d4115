"""benchmarks/run.py: the quiet-round arithmetic, and one smoke run of the side-by-side table."""
import json
import os
import subprocess
import sys

import pytest

BENCH = os.path.join(os.path.dirname(__file__), "..", "..", "benchmarks")
sys.path.insert(0, BENCH)
import _quiet


def _fake_round(monkeypatch, busy_s, own_s, steal_frac, wall_s=1.0, hz=100):
    """One Round over `wall_s` in which the machine was busy `busy_s` CPU-seconds, our children
    used `own_s` of them, and the hypervisor stole `steal_frac` of the machine's time."""
    total = 2 * wall_s * hz
    counters = iter([(0, 0, 0), (busy_s * hz, steal_frac * total, total)])
    own = iter([0.0, own_s])
    clock = iter([0.0, wall_s])
    monkeypatch.setattr(_quiet, "_HZ", hz)
    monkeypatch.setattr(_quiet, "_cpu_counters", lambda: next(counters))
    monkeypatch.setattr(_quiet, "_children_cpu", lambda: next(own))
    monkeypatch.setattr(_quiet.time, "perf_counter", lambda: next(clock))
    with _quiet.Round() as r:
        pass
    return r


def test_own_work_is_not_other_load(monkeypatch):
    r = _fake_round(monkeypatch, busy_s=2.0, own_s=1.9, steal_frac=0.0)
    assert r.other_load == pytest.approx(0.1) and r.quiet


def test_other_load_or_steal_drops_the_round(monkeypatch):
    r = _fake_round(monkeypatch, busy_s=1.5, own_s=1.0, steal_frac=0.0)
    assert r.other_load == pytest.approx(0.5) and not r.quiet and "dropped" in r.describe()
    r = _fake_round(monkeypatch, busy_s=1.0, own_s=1.0, steal_frac=0.08)
    assert r.steal == pytest.approx(0.08) and not r.quiet


@pytest.mark.slow
def test_side_by_side_smoke(tmp_path):
    pytest.importorskip("torch")
    out = tmp_path / "r.json"
    proc = subprocess.run([sys.executable, os.path.join(BENCH, "run.py"), "overhead_chain200",
                           "--quick", "--blas", "openblas", "--json", str(out)],
                          capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    res = json.loads(out.read_text())["overhead_chain200"]
    assert res["ratio"]["openblas"] > 0 and res["kept"] == 1
    assert res["peak_rss_mb"]["torch"] > 10 and res["peak_rss_mb"]["axonal/openblas"] > 10
    assert "overhead_chain200" in proc.stdout and "x openblas" in proc.stdout
