"""serialization.safe_globals / add_safe_globals, PyTorch's allow-list API, and `load`'s
`weights_only` argument; loading stays pickle-free whatever the list holds."""
import pickle
import threading

import pytest

import axonal
from axonal import _safe_globals, serialization

torch = pytest.importorskip("torch")


class Config:
    pass


def helper():
    pass


@pytest.fixture(autouse=True)
def _clean():
    serialization.clear_safe_globals()
    torch.serialization.clear_safe_globals()
    yield
    serialization.clear_safe_globals()
    torch.serialization.clear_safe_globals()


def test_add_get_clear_as_torch():
    for lib in (serialization, torch.serialization):
        lib.add_safe_globals([Config, (helper, "mod.helper"), Config])
        assert sorted(map(str, lib.get_safe_globals())) == \
            sorted(map(str, [Config, (helper, "mod.helper")]))
        lib.clear_safe_globals()
        assert lib.get_safe_globals() == []
    assert not _safe_globals.is_safe_global(Config)


def test_context_manager_restores_the_list():
    serialization.add_safe_globals([helper])
    torch.serialization.add_safe_globals([helper])
    for lib in (serialization, torch.serialization):
        with lib.safe_globals([Config]):
            assert set(lib.get_safe_globals()) == {helper, Config}  # PyTorch keeps a set
        assert lib.get_safe_globals() == [helper]
    with serialization.safe_globals([Config]):
        assert _safe_globals.is_safe_global(Config)
    assert not _safe_globals.is_safe_global(Config)


def test_the_list_is_per_thread():
    serialization.add_safe_globals([Config])
    seen = []
    t = threading.Thread(target=lambda: seen.append(serialization.get_safe_globals()))
    t.start()
    t.join()
    assert seen == [[]]


def test_bad_entries():
    with pytest.raises(TypeError):
        serialization.add_safe_globals(Config)
    with pytest.raises(TypeError):
        serialization.add_safe_globals([3])


def test_load_weights_only_and_no_pickle(tmp_path):
    path = tmp_path / "w.safetensors"
    axonal.save({"w": axonal.ones(2)}, path)
    for wo in (None, True, False):
        assert axonal.load(path, weights_only=wo)["w"].tolist() == [1.0, 1.0]
    bad = tmp_path / "p.pt"
    bad.write_bytes(pickle.dumps({"c": Config()}))
    with serialization.safe_globals([Config]), pytest.raises(axonal.CheckpointError,
                                                             match="never unpickles"):
        axonal.load(bad, weights_only=False)
