"""Shared test configuration: keep it small (several test files depend on it).

The suite runs offline on a fresh clone: every test sees AXONAL_DATA pointing at small generated
dataset files (tests/_offline.py; MNIST ships with the package) and cannot reach any non-loopback
address. Tests of accuracy on the real datasets use `real_data`, which skips, naming the dataset,
when the real files are not in the caller's AXONAL_DATA (or ~/.cache/axonal).
"""
import os

import pathlib

import pytest

# The suite runs with Axonal's thread policy, as the CLI and the benchmarks do (a plain import
# leaves the thread pools at the libraries' defaults; tests/test_import.py checks that).
os.environ.setdefault("AXONAL_THREADS", "auto")

import axonal  # noqa: E402 - first: its thread policy must be set before NumPy loads its BLAS

import _offline  # noqa: I001 - after axonal (it imports NumPy)
import _parity  # noqa: E402

# the torch_parity marker, and the record of proved PyTorch names when AXONAL_PARITY_JSON is set
pytest_configure = _parity.configure

# the caller's data directory, kept for the real-data checks before the fixtures replace it
os.environ.setdefault("AXONAL_DATA_REAL", str(_offline.real_data_dir()))


@pytest.fixture(scope="session")
def generated_data(tmp_path_factory):
    """(directory, {file: sha256}) of the generated datasets, written once per session."""
    root = tmp_path_factory.mktemp("generated-data")
    return root, _offline.write_all(root)


@pytest.fixture(autouse=True)
def _offline_suite(generated_data, monkeypatch):
    """No test reaches the network or a real dataset file unless it asks for `real_data`."""
    root, hashes = generated_data
    _offline.block_network(monkeypatch.setattr)
    _offline.accept_generated(root, hashes, monkeypatch.setattr)
    monkeypatch.setenv("AXONAL_DATA", str(root))


@pytest.fixture
def offline_env(generated_data):
    """Environment for a child process: the generated data, no network (tests/_sitecustomize)."""
    here = os.path.dirname(os.path.abspath(__file__))
    path = os.pathsep.join(p for p in (os.path.join(here, "_sitecustomize"),
                                       os.environ.get("PYTHONPATH")) if p)
    return dict(os.environ, AXONAL_DATA=str(generated_data[0]), PYTHONPATH=path,
                **{_offline.ENV: str(generated_data[0])})


@pytest.fixture
def real_data(request, monkeypatch):
    """Point AXONAL_DATA at the real datasets; `@pytest.mark.parametrize("real_data",
    ["Fashion-MNIST"], indirect=True)` names the one needed, skipped when its files are absent."""
    name = getattr(request, "param", None)
    root = os.environ["AXONAL_DATA_REAL"]
    if name is not None and _offline.real_missing(name, root):
        pytest.skip(f"the real {name} files are not in {root} (set AXONAL_DATA to a directory "
                    f"holding {', '.join(_offline.REAL_FILES[name])})")
    monkeypatch.setenv("AXONAL_DATA", root)
    return root


# the fast subset .ci/run also runs on a fresh clone (and without MKL): these files, and every test
# with "smoke" in its name (the recipe smoke runs)
FRESH_CLONE_FILES = {"test_runs.py", "test_datasets.py", "test_cli.py", "test_docs_blocks.py",
                     "test_serialization.py", "test_resume.py"}


def _known_gaps():
    """{node id: reason} from tests/inplace_known_gaps.txt (differences from PyTorch, listed)."""
    gaps = {}
    for line in (pathlib.Path(__file__).parent / "inplace_known_gaps.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            node, _, reason = line.partition("  # ")
            gaps[node.strip()] = reason.strip()
    return gaps


def pytest_collection_modifyitems(items):
    gaps = _known_gaps()
    for item in items:
        if item.path.name in FRESH_CLONE_FILES or "smoke" in item.name:
            item.add_marker(pytest.mark.fresh_clone)
        reason = gaps.get(item.nodeid)
        if reason is not None:  # strict: a gap that closes must leave the list
            item.add_marker(pytest.mark.xfail(strict=True, reason=f"known difference: {reason}"))


def pytest_terminal_summary(terminalreporter):
    """List the documentation blocks that tests/test_docs_blocks.py did not run, with reasons."""
    import sys

    docs = sys.modules.get("test_docs_blocks")
    for where, name, reason in getattr(docs, "EXCLUDED", ()):
        terminalreporter.write_line(f"docs block not run: {where} ({name}): {reason}")


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
