"""A light `import axonal`: no environment variable written, no kernel family, dataset downloader or
`urllib.request` loaded, unless the user asks (AXONAL_THREADS=auto, axonal.configure_threads()).

Each check runs in a fresh interpreter: this process has imported everything already.
"""
import json
import os
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
POLICY = ("MKL_NUM_THREADS", "NUMBA_NUM_THREADS", "OPENBLAS_NUM_THREADS", "OPENBLAS_THREAD_TIMEOUT",
          "MKL_THREADING_LAYER", "GOMP_SPINCOUNT", "NUMBA_THREADING_LAYER_PRIORITY")
KERNEL_SUPPORT = {"axonal.kernels", "axonal.kernels._jit", "axonal.kernels._math",
                  "axonal.kernels._thresholds", "axonal.kernels._cache"}  # helpers, not families

PROBE = """
import json, os, sys
before = dict(os.environ)
import axonal
{after}
changed = sorted(k for k in set(before) | set(os.environ) if before.get(k) != os.environ.get(k))
mkl = axonal._threads.loaded_library_paths("libmkl")
print(json.dumps({{"changed": changed, "env": {{k: os.environ.get(k) for k in changed}},
                  "modules": sorted(sys.modules), "mkl": mkl}}))
"""


def _run(after="", **env):
    """Import axonal in a fresh interpreter whose environment holds none of the policy variables
    (plus `env`); return what changed and what was loaded."""
    base = {k: v for k, v in os.environ.items() if k not in POLICY + ("AXONAL_THREADS",)}
    base["PYTHONPATH"] = os.pathsep.join([str(ROOT)] + [p for p in
                                                         [os.environ.get("PYTHONPATH")] if p])
    out = subprocess.run([sys.executable, "-c", PROBE.format(after=after)],
                         env=dict(base, **env), capture_output=True, text=True, timeout=300,
                         cwd=ROOT, check=False)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_plain_import_writes_no_environment_variable_and_loads_little():
    got = _run()
    assert got["changed"] == [], got["env"]
    modules = set(got["modules"])
    assert "axonal.datasets._download" not in modules
    assert "urllib.request" not in modules
    families = sorted(m for m in modules if m.startswith("axonal.kernels.")
                      and m not in KERNEL_SUPPORT)
    assert families == [], f"kernel families loaded by a plain import: {families}"
    assert got["mkl"] == [], "MKL is loaded when a kernel first needs it, not at import"


def test_axonal_threads_auto_applies_the_whole_policy_at_import():
    got = _run(AXONAL_THREADS="auto", AXONAL_NUM_THREADS="2")
    assert set(got["changed"]) == set(POLICY), got["changed"]
    env = got["env"]
    assert env["NUMBA_NUM_THREADS"] == env["MKL_NUM_THREADS"] == "2"
    assert env["OPENBLAS_THREAD_TIMEOUT"] == "4" and env["MKL_THREADING_LAYER"] == "GNU"
    assert env["OPENBLAS_NUM_THREADS"] in ("1", "2")  # 1 when the GEMMs go to MKL


def test_configure_threads_is_the_call_for_programs():
    got = _run(after="import axonal._threads as t\n"
                     "assert axonal.configure_threads() == 3 and t.configured_too_late()\n"
                     "assert axonal.get_num_threads() >= 1",
               AXONAL_NUM_THREADS="3")
    assert set(got["changed"]) == set(POLICY), got["changed"]
    assert got["env"]["NUMBA_NUM_THREADS"] == "3"


def test_a_value_the_user_exported_wins():
    got = _run(AXONAL_THREADS="auto", GOMP_SPINCOUNT="7")
    assert "GOMP_SPINCOUNT" not in got["changed"] and "NUMBA_NUM_THREADS" in got["changed"]


def test_import_does_not_load_ml_dtypes():
    """bfloat16's NumPy type (ml_dtypes) loads on first use: its import takes ~0.5 s, more than
    the rest of `import axonal`."""
    code = ("import sys, axonal; assert 'ml_dtypes' not in sys.modules; "
            "x = axonal.ones(2).bfloat16(); assert 'ml_dtypes' in sys.modules; "
            "assert x.dtype is axonal.bfloat16 and axonal.from_numpy(x.numpy()).dtype is axonal.bfloat16")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
