"""Shared test configuration: keep it small (several test files depend on it)."""
import os

import pytest

# Tests read the verified datasets in the workspace's shared/ folder (beside the checkout), as CI
# does; no test downloads anything. An AXONAL_DATA set by the caller wins.
_SHARED_DATA = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data")
if "AXONAL_DATA" not in os.environ and os.path.isdir(_SHARED_DATA):
    os.environ["AXONAL_DATA"] = os.path.abspath(_SHARED_DATA)

# The suite runs with Axonal's thread policy, as the CLI and the benchmarks do (a plain import
# leaves the thread pools at the libraries' defaults; tests/test_import.py checks that).
os.environ.setdefault("AXONAL_THREADS", "auto")

import axonal


@pytest.fixture(autouse=True)
def _clean_global_state():
    """Each test starts with grad mode on and a seeded default generator. A test that leaks a
    change of grad mode or of the default dtype fails, and the state is restored for the next."""
    axonal.manual_seed(0)
    yield
    leaked = []
    if not axonal.is_grad_enabled():
        leaked.append("grad mode left disabled")
        axonal.set_grad_enabled(True)
    if axonal.get_default_dtype() is not axonal.float32:
        leaked.append(f"default dtype left at {axonal.get_default_dtype()}")
        axonal.set_default_dtype(axonal.float32)
    assert not leaked, "; ".join(leaked)
