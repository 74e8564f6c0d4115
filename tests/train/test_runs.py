"""Runs are never lost: overwrite refused, resume folder, schedule re-planned on resume, corrupted
checkpoints refused; plus the offline suite itself (no network) and recipe smoke coverage."""
import copy
import json
import re
import socket
import warnings
from pathlib import Path

import numpy as np
import pytest

import _offline
import axonal.train
from axonal.cli import main
from axonal.optim import lr_scheduler as S
from axonal.recipes import list_recipes, train
from axonal.recipes.mnist_mlp import MnistMLP
from axonal.serialization import CheckpointError, load, save
from axonal.train import ModelCheckpoint, Trainer, read_checkpoint
from axonal.utils.data import TensorDataset

QUIET = {"quiet": True, "log": lambda *a: None, "limit_train": 200}


@pytest.fixture
def small_mlp(monkeypatch):
    """mnist-mlp with 200-sample validation and test sets and no curves: fast runs."""
    full, full_test = MnistMLP.datasets, MnistMLP.test_dataset

    def cut(ds):
        return TensorDataset(*(t[:200] for t in ds.tensors))

    def small(self, data_dir=None, limit_train=None):
        tr, val, test = full(self, data_dir, limit_train)
        return tr, cut(val), cut(test)

    monkeypatch.setattr(MnistMLP, "datasets", small)
    monkeypatch.setattr(MnistMLP, "test_dataset", lambda self, d=None: cut(full_test(self, d)))
    monkeypatch.setattr(axonal.train, "plot_history", lambda *a, **k: None)


# -- overwrite, resume folder, epochs ------------------------------------------------------------
def test_a_second_run_into_the_same_folder_is_refused(tmp_path, small_mlp, capsys):
    train("mnist-mlp", epochs=1, out=tmp_path, **QUIET)
    before = (tmp_path / "checkpoint").read_bytes()
    with pytest.raises(FileExistsError, match="--resume .*--overwrite"):
        train("mnist-mlp", epochs=1, out=tmp_path, **QUIET)
    assert main(["train", "mnist-mlp", "--epochs", "1", "--out", str(tmp_path)]) == 1
    assert "already holds a checkpoint" in capsys.readouterr().err
    assert (tmp_path / "checkpoint").read_bytes() == before  # untouched
    train("mnist-mlp", epochs=1, out=tmp_path, overwrite=True, seed=3, **QUIET)
    assert read_checkpoint(tmp_path / "checkpoint")["extra"]["options"]["seed"] == 3


def test_resume_writes_into_the_checkpoint_folder(tmp_path, small_mlp, monkeypatch):
    monkeypatch.chdir(tmp_path)
    train("mnist-mlp", epochs=1, out="first", **QUIET)
    m = train("mnist-mlp", epochs=2, resume="first/checkpoint", **QUIET)  # no out given
    assert m["epochs"] == 2 and not (tmp_path / "runs").exists()
    assert read_checkpoint("first/checkpoint")["epoch"] == 2
    assert json.loads(Path("first/metrics.json").read_text())["epochs"] == 2
    train("mnist-mlp", epochs=1, out="other", **QUIET)
    with pytest.raises(FileExistsError, match="other"):  # resuming into a folder of another run
        train("mnist-mlp", epochs=3, resume="first/checkpoint", out="other", **QUIET)


def test_epochs_must_be_positive(tmp_path):
    with pytest.raises(ValueError, match="epochs must be a positive int, got 0"):
        train("mnist-mlp", epochs=0, out=tmp_path)
    assert not (tmp_path / "checkpoint").exists()


def test_model_checkpoint_refuses_a_file_it_did_not_write(tmp_path):
    from axonal import nn
    from axonal.optim import SGD

    x = axonal.randn(32, 3)
    loader = axonal.utils.data.DataLoader(TensorDataset(x, (x[:, 0] > 0).long()), batch_size=8)
    model = nn.Linear(3, 2)

    def fit(callback, initial_epoch=0, epochs=1):
        trainer = Trainer(model, SGD(model.parameters(), lr=0.1), nn.functional.cross_entropy,
                          callbacks=[callback])
        return trainer.fit(loader, epochs, initial_epoch=initial_epoch, verbose=0)

    path = tmp_path / "ck"
    fit(ModelCheckpoint(path))
    before = path.read_bytes()
    with pytest.raises(FileExistsError, match="overwrite=True"):
        fit(ModelCheckpoint(path))
    assert path.read_bytes() == before
    fit(ModelCheckpoint(path, overwrite=True))
    fit(ModelCheckpoint(path), initial_epoch=1, epochs=2)  # a resumed run continues its file
    templated = ModelCheckpoint(tmp_path / "ck-{epoch}")
    fit(templated)
    with pytest.raises(FileExistsError, match="ck-1"):
        fit(ModelCheckpoint(tmp_path / "ck-{epoch}"))


# -- re-planned schedules --------------------------------------------------------------------------
def test_resume_with_more_epochs_replans_the_cosine_schedule(tmp_path, small_mlp):
    logged = []
    fresh = train("mnist-mlp", epochs=4, out=tmp_path / "fresh", **QUIET)
    train("mnist-mlp", epochs=2, out=tmp_path / "short", **QUIET)
    resumed = train("mnist-mlp", epochs=4, resume=tmp_path / "short" / "checkpoint",
                    quiet=False, log=logged.append)
    assert fresh["epochs"] == resumed["epochs"] == 4
    lr_fresh = read_checkpoint(tmp_path / "fresh" / "checkpoint")["history"]["history"]["lr"]
    lr_res = read_checkpoint(tmp_path / "short" / "checkpoint")["history"]["history"]["lr"]
    assert lr_res[2] == pytest.approx(lr_fresh[2], rel=1e-12)  # the first resumed epoch
    assert lr_res[3] == pytest.approx(lr_fresh[3], rel=1e-12) and lr_res[2] > 0.01
    assert any("re-planned from 2 to 4 epochs" in str(line) for line in logged), logged


def test_a_schedule_that_cannot_be_extended_is_refused(tmp_path, small_mlp, monkeypatch):
    from axonal.optim.lr_scheduler import LambdaLR

    monkeypatch.setattr(MnistMLP, "scheduler",
                        lambda self, opt, epochs, steps: LambdaLR(opt, lambda e: 1 - e / epochs))
    train("mnist-mlp", epochs=1, out=tmp_path, **QUIET)
    before = (tmp_path / "checkpoint").read_bytes()
    with pytest.raises(ValueError, match="LambdaLR schedule cannot be re-planned"):
        train("mnist-mlp", epochs=3, resume=tmp_path / "checkpoint", **QUIET)
    assert (tmp_path / "checkpoint").read_bytes() == before


# -- re-planning a resumed schedule for a new total ------------------------------------------------
def _replan_case(make, old_total, new_total, done):
    """lrs of a schedule built for `old_total` steps, stepped `done` times, saved, restored into
    one built for `new_total` and re-planned; and the lrs of a fresh `new_total` schedule."""
    from axonal import nn
    from axonal.optim import SGD
    from axonal.optim.lr_scheduler import replan

    def run(total, steps, state=None):
        opt = SGD(nn.Linear(2, 2).parameters(), lr=0.1, momentum=0.9)
        sched = make(opt, total)
        lrs = []
        if state is not None:
            fresh = copy.copy(sched)
            opt.load_state_dict(state[0])
            sched.load_state_dict(state[1])
            replan(sched, fresh)
        for _ in range(steps):
            lrs.append(opt.param_groups[0]["lr"])
            opt.step()
            sched.step()
        return lrs, (opt.state_dict(), sched.state_dict())

    _, state = run(old_total, done)
    resumed, _ = run(new_total, new_total - done, state)
    fresh, _ = run(new_total, new_total)
    return resumed, fresh[done:]


@pytest.mark.parametrize("make", [
    lambda opt, n: S.CosineAnnealingLR(opt, T_max=n),
    lambda opt, n: S.StepLR(opt, step_size=max(n // 3, 1), gamma=0.5),
    lambda opt, n: S.LinearLR(opt, start_factor=1.0, end_factor=0.0, total_iters=n),
    lambda opt, n: S.OneCycleLR(opt, max_lr=0.5, total_steps=n, pct_start=0.25),
    lambda opt, n: S.PolynomialLR(opt, total_iters=n, power=2.0),
], ids=["cosine", "step", "linear-decay", "one-cycle", "polynomial"])
@pytest.mark.parametrize("done", [3, 10])
def test_replan_matches_a_fresh_schedule_of_the_new_length(make, done):
    resumed, fresh = _replan_case(make, 10, 16, done)
    np.testing.assert_allclose(resumed, fresh, rtol=1e-12, atol=1e-15)
    assert len(resumed) == 16 - done


def test_replan_refuses_schedules_without_a_known_length():
    from axonal import nn
    from axonal.optim import SGD
    from axonal.optim.lr_scheduler import can_replan, replan

    opt = SGD(nn.Linear(2, 2).parameters(), lr=0.1)
    lam = S.LambdaLR(opt, lambda e: 0.9 ** e)
    assert not can_replan(lam)
    with pytest.raises(ValueError, match="LambdaLR schedule cannot be re-planned"):
        replan(lam, S.LambdaLR(opt, lambda e: 0.9 ** e))
    expo = S.ExponentialLR(opt, gamma=0.9)
    assert can_replan(expo) and replan(expo, expo) is False  # no length: nothing to change


# -- integrity ---------------------------------------------------------------------------------------
def _flipped(src, dst, offset):
    data = bytearray(Path(src).read_bytes())
    data[offset] ^= 0x01
    Path(dst).write_bytes(bytes(data))


def _data_ranges(path):
    raw = Path(path).read_bytes()
    n = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8:8 + n])
    header.pop("__metadata__")
    return {name: (8 + n + e["data_offsets"][0], 8 + n + e["data_offsets"][1])
            for name, e in header.items() if e["data_offsets"][1] > e["data_offsets"][0]}


def test_a_flipped_byte_in_any_tensor_is_refused(tmp_path, small_mlp, capsys):
    train("mnist-mlp", epochs=1, out=tmp_path / "run", **QUIET)
    good = tmp_path / "run" / "checkpoint"
    meta = json.loads(good.read_bytes()[8:8 + int.from_bytes(good.read_bytes()[:8], "little")])
    assert len(meta["__metadata__"]["sha256"]) == 64  # a str -> str entry: safetensors-compatible
    ranges = _data_ranges(good)
    assert len(ranges) > 10
    bad = tmp_path / "bad" / "checkpoint"
    bad.parent.mkdir()
    for name, (begin, end) in ranges.items():  # one byte inside each tensor's data
        _flipped(good, bad, (begin + end) // 2)
        with pytest.raises(CheckpointError, match="is corrupt"):
            load(bad)
    assert main(["evaluate", str(bad)]) == 1
    err = capsys.readouterr().err
    assert str(bad) in err and "corrupt" in err
    assert main(["train", "mnist-mlp", "--resume", str(bad), "--epochs", "2"]) == 1
    assert "corrupt" in capsys.readouterr().err
    assert read_checkpoint(good)["epoch"] == 1  # the good file still loads


def test_other_tools_can_read_the_file_and_an_old_file_loads_with_a_warning(tmp_path):
    w = {"weight": axonal.randn(3, 2), "bias": axonal.zeros(2)}
    save(w, tmp_path / "new")
    safetensors = pytest.importorskip("safetensors.numpy")
    back = safetensors.load_file(str(tmp_path / "new"))
    np.testing.assert_array_equal(back["weight"], w["weight"].numpy())
    raw = (tmp_path / "new").read_bytes()  # the same file without the hash: an older axonal's
    n = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8:8 + n])
    del header["__metadata__"]["sha256"]
    text = json.dumps(header, separators=(",", ":")).encode()
    (tmp_path / "old").write_bytes(raw[:8] + text + b" " * (n - len(text)) + raw[8 + n:])
    with pytest.warns(UserWarning, match="has no SHA-256"):
        old = load(tmp_path / "old")
    np.testing.assert_array_equal(old["weight"].numpy(), w["weight"].numpy())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load(tmp_path / "new")


# -- the offline suite ---------------------------------------------------------------------------
def test_the_network_is_blocked_but_loopback_works():
    with pytest.raises(_offline.NetworkBlocked):
        socket.create_connection(("93.184.216.34", 80), timeout=1)
    with pytest.raises(_offline.NetworkBlocked):
        socket.socket().connect(("8.8.8.8", 53))
    with pytest.raises(OSError):
        socket.getaddrinfo("example.com", 80)
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    try:
        client = socket.create_connection(server.getsockname(), timeout=5)
        client.close()
    finally:
        server.close()


def test_every_recipe_has_a_smoke_run():
    """Each registered recipe is trained somewhere in the suite: train("NAME", ...), the SMOKE
    table of test_generative, or `axonal train NAME` in a test."""
    tests = Path(__file__).parents[1]  # the whole tests/ tree
    text = "\n".join(p.read_text(encoding="utf-8") for p in tests.rglob("test_*.py"))
    smoke_table = re.search(r"^SMOKE = \{(.*?)^\}", text, re.S | re.M).group(1)
    missing = []
    for name, _ in list_recipes():
        q = re.escape(name)
        patterns = (rf'(train|_smoke)\(\s*"{q}"', rf'"train",\s*"{q}"')
        if not (any(re.search(p, text) for p in patterns) or f'"{name}":' in smoke_table):
            missing.append(name)
    assert not missing, f"recipes without a smoke run in tests/: {missing}"


def test_banknote_logistic_smoke_run(tmp_path):
    """The one-neuron recipe trains on the (generated) banknote CSV and reports its weights."""
    pytest.importorskip("matplotlib")
    metrics = train("banknote-logistic", epochs=2, out=tmp_path, quiet=True, log=lambda *a: None)
    saved = json.loads((tmp_path / "metrics.json").read_text())
    for key in ("test_accuracy", "test_loss", "val_accuracy", "bias", "weight_variance"):
        assert key in saved and key in metrics, key
    assert 0.0 <= saved["test_accuracy"] <= 1.0
    assert (tmp_path / "neuron.png").stat().st_size > 1000
