"""Shared test configuration: keep it small (several test files depend on it)."""
import numpy as np
import pytest

import axonal

try:  # property tests: few, fast examples; no deadline flakiness on a loaded 2-core machine
    from hypothesis import settings

    settings.register_profile("axonal", max_examples=25, deadline=None, derandomize=True)
    settings.load_profile("axonal")
except ImportError:  # pragma: no cover
    pass


@pytest.fixture(autouse=True)
def _clean_global_state():
    """Each test starts with grad mode on, float32 default and a seeded default generator, and may
    not leak a change of them into the next test."""
    axonal.manual_seed(0)
    yield
    assert axonal.is_grad_enabled(), "a test left grad mode disabled"
    assert axonal.get_default_dtype() is axonal.float32, "a test left the default dtype changed"


@pytest.fixture
def rng():
    return np.random.default_rng(0)
