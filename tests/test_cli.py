"""The `axonal` command line: a smoke run of mnist-mlp, evaluate, info, and clear errors."""
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

import axonal.train
from axonal.cli import main
from axonal.recipes import train
from axonal.recipes.mnist_mlp import MnistMLP
from axonal.train import ModelCheckpoint, read_checkpoint
from axonal.utils.data import TensorDataset

ENV = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", NUMBA_NUM_THREADS="1")
METRIC_KEYS = {"test_accuracy", "test_loss", "val_loss", "val_accuracy", "train_loss", "epochs",
               "seconds", "seconds_per_epoch"}


def axonal_cli(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "axonal", *args], env=ENV, check=False, capture_output=True,
                          text=True, timeout=timeout)


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    """One short mnist-mlp run shared by the tests that inspect its outputs."""
    out = tmp_path_factory.mktemp("cli") / "run"
    proc = axonal_cli("train", "mnist-mlp", "--epochs", "1", "--limit-train", "2000", "--out", str(out))
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out, proc


def test_train_smoke_writes_outputs(smoke_run):
    out, proc = smoke_run
    metrics = json.loads((out / "metrics.json").read_text())
    assert METRIC_KEYS <= set(metrics)
    assert metrics["epochs"] == 1 and metrics["train_samples"] == 2000 and metrics["recipe"] == "mnist-mlp"
    assert 0.8 < metrics["test_accuracy"] <= 1.0  # 2000 images, one epoch: well above chance
    assert metrics["seconds_per_epoch"] > 0 and metrics["seconds"] >= metrics["seconds_per_epoch"]
    ckpt = read_checkpoint(out / "checkpoint")
    assert ckpt["epoch"] == 1 and ckpt["extra"]["recipe"] == "mnist-mlp"
    assert ckpt["extra"]["model_config"]["hidden"] == [512, 512]
    assert (out / "checkpoint").read_bytes()[8:9] == b"{"  # safetensors: u64 length, JSON header
    assert (out / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (out / "log.csv").read_text().count("\n") == 2
    lines = proc.stdout.splitlines()  # not a terminal: one line per epoch, no bar
    assert sum(line.startswith("epoch 1/1  loss ") for line in lines) == 1
    assert any(line.startswith("mnist-mlp: test_accuracy") and "s/epoch" in line for line in lines)
    assert "\r" not in proc.stdout + proc.stderr


def test_evaluate_rebuilds_model_from_checkpoint(smoke_run):
    out, _ = smoke_run
    metrics = json.loads((out / "metrics.json").read_text())
    proc = axonal_cli("evaluate", str(out / "checkpoint"), "--json")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["recipe"] == "mnist-mlp" and result["test_samples"] == 10000
    assert result["test_accuracy"] == pytest.approx(metrics["test_accuracy"], abs=1e-9)
    assert result["test_loss"] == pytest.approx(metrics["test_loss"], rel=1e-6)


def test_evaluate_plain_output(smoke_run, capsys):
    out, _ = smoke_run
    assert main(["evaluate", str(out / "checkpoint")]) == 0
    text = capsys.readouterr().out
    assert "recipe mnist-mlp, 1 epochs" in text and "test_accuracy" in text


def test_resume_continues_like_an_uninterrupted_run(tmp_path, monkeypatch):
    full_datasets = MnistMLP.datasets

    def small_eval_sets(self, data_dir=None, limit_train=None):  # keeps this test fast
        train_ds, val, test = full_datasets(self, data_dir, limit_train)
        return train_ds, *(TensorDataset(*(t[:500] for t in ds.tensors)) for ds in (val, test))

    monkeypatch.setattr(MnistMLP, "datasets", small_eval_sets)
    monkeypatch.setattr(axonal.train, "plot_history", lambda *a, **k: None)  # the smoke run checks it
    common = {"limit_train": 300, "quiet": True, "log": lambda *a: None}
    straight = train("mnist-mlp", epochs=2, out=tmp_path / "a", **common)

    save_then_stop = ModelCheckpoint.on_epoch_end

    def interrupted(self, epoch, logs=None):  # Ctrl-C right after the first epoch's checkpoint
        save_then_stop(self, epoch, logs)
        raise KeyboardInterrupt

    with monkeypatch.context() as m:
        m.setattr(ModelCheckpoint, "on_epoch_end", interrupted)
        with pytest.raises(KeyboardInterrupt):
            train("mnist-mlp", epochs=2, out=tmp_path / "b", **common)
    assert read_checkpoint(tmp_path / "b" / "checkpoint")["epoch"] == 1
    resumed = train("mnist-mlp", epochs=2, resume=tmp_path / "b" / "checkpoint", out=tmp_path / "b",
                    **common)  # batch size, lr and the 300-sample limit come from the checkpoint
    a = read_checkpoint(tmp_path / "a" / "checkpoint")["model"]
    b = read_checkpoint(tmp_path / "b" / "checkpoint")["model"]
    assert all(np.array_equal(a[k].numpy(), b[k].numpy()) for k in a)
    assert resumed["test_accuracy"] == straight["test_accuracy"] and resumed["epochs"] == 2
    assert resumed["epochs_this_run"] == 1 and resumed["train_samples"] == 300
    with pytest.raises(ValueError, match="already trained 2 epochs"):
        train("mnist-mlp", epochs=1, resume=tmp_path / "b" / "checkpoint", out=tmp_path / "d", **common)


def test_info_and_list(capsys):
    assert main(["info"]) == 0
    text = capsys.readouterr().out
    for word in ("axonal", "numpy", "numba", "BLAS", "threads", "GPU", "data dir", "MNIST"):
        assert word in text
    assert "MNIST" in text and "present" in text
    assert main(["train", "--list"]) == 0
    assert "mnist-mlp" in capsys.readouterr().out


def test_python_m_axonal_and_console_script():
    proc = axonal_cli("--version")
    assert proc.returncode == 0 and proc.stdout.startswith("axonal ")
    script = shutil.which("axonal")
    if script:  # installed with pip install -e .
        proc = subprocess.run([script, "train", "--list"], env=ENV, check=False, capture_output=True, text=True)
        assert proc.returncode == 0 and "mnist-mlp" in proc.stdout


@pytest.mark.parametrize("argv, code, message", [
    (["train", "mnist-mpl"], 1, "unknown recipe 'mnist-mpl'; did you mean mnist-mlp?"),
    (["evaluate", "/no/such/checkpoint"], 1, "checkpoint file not found: /no/such/checkpoint"),
    (["train", "mnist-mlp", "--resume", "/no/such/ckpt"], 1, "checkpoint file not found"),
    (["train", "mnist-mlp", "--epochs", "-1"], 2, "--epochs: must be >= 1"),
    (["train", "mnist-mlp", "--epochs", "0"], 2, "--epochs: must be >= 1, got 0"),
    (["train", "mnist-mlp", "--lr", "0"], 2, "--lr: must be a positive finite number"),
    (["train", "mnist-mlp", "--batch-size", "x"], 2, "--batch-size: expected an integer"),
    (["train", "mnist-mlp", "--device", "tpu"], 1, "unknown device type 'tpu'"),
    (["train"], 2, "a recipe NAME is required"),
    (["frobnicate"], 2, "invalid choice"),
    ([], 2, "usage"),
])
def test_errors_are_clear_and_nonzero(argv, code, message, capsys):
    try:
        rc = main(argv)
    except SystemExit as e:  # argparse exits by itself
        rc = e.code
    assert rc == code
    captured = capsys.readouterr()
    assert message in captured.err
    assert "Traceback" not in captured.err


def test_bad_checkpoint_files(tmp_path, capsys):
    text = tmp_path / "notes.txt"
    text.write_text("not a checkpoint at all")
    assert main(["evaluate", str(text)]) == 1
    assert "axonal: error:" in capsys.readouterr().err
    from axonal import nn
    from axonal.serialization import save
    from axonal.train import save_checkpoint
    save_checkpoint(tmp_path / "bare", nn.Linear(2, 2))  # a checkpoint without recipe metadata
    assert main(["evaluate", str(tmp_path / "bare")]) == 1
    assert "holds no recipe name" in capsys.readouterr().err
    save({"w": np.zeros(2)}, tmp_path / "weights")
    assert main(["evaluate", str(tmp_path / "weights")]) == 1
    assert "not a training checkpoint" in capsys.readouterr().err


def test_interrupt_exits_130_with_resume_hint(tmp_path, monkeypatch, capsys):
    import axonal.recipes

    def interrupted(name, **kw):
        (tmp_path / "checkpoint").write_bytes(b"")  # as if one epoch had completed
        raise KeyboardInterrupt

    monkeypatch.setattr(axonal.recipes, "train", interrupted)
    assert main(["train", "mnist-mlp", "--lr", "0.1", "--out", str(tmp_path), "--overwrite"]) == 130
    err = capsys.readouterr().err
    ckpt = tmp_path / "checkpoint"  # the full command: the same options, --resume and --out
    assert (f"interrupted; continue with: axonal train mnist-mlp --lr 0.1 --resume {ckpt} "
            f"--out {tmp_path}") in err
    assert "--overwrite" not in err


def test_recipe_help_lists_its_defaults_and_options(capsys):
    assert main(["train", "lenet", "--help"]) == 0
    out = capsys.readouterr().out
    assert "--overwrite" in out and "recipe lenet: LeNet-5" in out
    assert "--epochs       12" in out and "--lr           0.05" in out and "one-cycle" in out
    assert main(["train", "row-mnist", "-h"]) == 0
    out = capsys.readouterr().out
    assert "cell           lstm" in out and "--lr           0.001" in out
    assert main(["train", "mnist-mpl", "--help"]) == 1
    assert "did you mean mnist-mlp" in capsys.readouterr().err
