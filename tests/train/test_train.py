"""axonal.train: Trainer fit/evaluate/predict, metrics, History, callbacks, progress output, plots."""
import io
import math
import os
import weakref
from pathlib import Path

import numpy as np
import pytest

import axonal
import axonal.nn.functional as F
from axonal import nn, serialization
from axonal.optim import SGD, lr_scheduler
from axonal.train import (
    Accuracy,
    BinaryAccuracy,
    CSVLogger,
    EarlyStopping,
    History,
    LambdaCallback,
    LRSchedulerCallback,
    ModelCheckpoint,
    ProgressBar,
    TerminateOnNaN,
    TopKAccuracy,
    Trainer,
    fit,
    get_metric,
    load_checkpoint,
    plot_history,
    read_checkpoint,
    save_checkpoint,
)
from axonal.utils.data import DataLoader, TensorDataset


def blobs(n=240, seed=0, classes=3, dim=4):
    rng = np.random.default_rng(seed)
    centers = rng.normal(0, 3, size=(classes, dim)).astype(np.float32)
    y = rng.integers(0, classes, size=n)
    x = centers[y] + rng.normal(size=(n, dim)).astype(np.float32)
    return TensorDataset(axonal.tensor(x), axonal.tensor(y.astype(np.int64)))


def small_model(dim=4, classes=3, dropout=0.0):
    return nn.Sequential(nn.Linear(dim, 16), nn.ReLU(), nn.Dropout(dropout), nn.Linear(16, classes))


def make_trainer(lr=0.1, callbacks=(), cls=Trainer, **kw):
    model = small_model()
    return cls(model, SGD(model.parameters(), lr=lr, momentum=0.9), F.cross_entropy,
               callbacks=callbacks, **kw)


def weights(model):
    return {k: v.numpy().copy() for k, v in model.state_dict().items()}


class ScriptedVal(Trainer):
    """Validation loss follows a script indexed by epoch: plateaus built deterministically."""

    script = ()

    def eval_step(self, batch):
        logs = super().eval_step(batch)
        logs["loss"] = self.script[self.epoch]
        return logs


# -- Trainer ------------------------------------------------------------------------------------
def test_fit_learns_and_records_history(capsys):
    ds = blobs()
    trainer = make_trainer()
    hist = trainer.fit(DataLoader(ds, batch_size=32, shuffle=True), 6,
                       val_loader=DataLoader(ds, batch_size=100), verbose=0)
    assert isinstance(hist, History) and hist is trainer.history
    assert hist.epoch == list(range(6)) and trainer.epoch == 6
    assert set(hist.keys()) == {"loss", "accuracy", "val_loss", "val_accuracy", "lr", "seconds"}
    assert all(type(v) is float for col in hist.history.values() for v in col)
    assert hist["loss"][-1] < 0.5 * hist["loss"][0]
    assert hist["val_accuracy"][-1] > 0.9
    assert trainer.global_step == 6 * math.ceil(240 / 32)
    res = trainer.evaluate(DataLoader(ds, batch_size=50))
    assert set(res) == {"loss", "accuracy"} and res["accuracy"] > 0.9
    pred = trainer.predict(DataLoader(ds, batch_size=64))
    assert tuple(pred.shape) == (240, 3) and not pred.requires_grad
    assert capsys.readouterr().out == ""  # verbose=0 prints nothing


def test_epoch_values_are_per_sample_averages():
    # 10 samples in batches of 3, 3, 3, 1: averaging batch means would overweight the last sample
    ds = blobs(n=10)
    trainer = make_trainer()
    res = trainer.evaluate(DataLoader(ds, batch_size=3))
    full = trainer.evaluate(DataLoader(ds, batch_size=10))
    assert res["loss"] == pytest.approx(full["loss"], rel=1e-6)
    x, y = ds.tensors
    with axonal.no_grad():
        trainer.model.eval()
        out = trainer.model(x)
        expected = F.cross_entropy(out, y).item()
    assert res["loss"] == pytest.approx(expected, rel=1e-6)
    assert res["accuracy"] == pytest.approx(float((out.numpy().argmax(1) == y.numpy()).mean()))


def test_evaluate_restores_training_mode():
    trainer = make_trainer()
    trainer.model.train()
    trainer.evaluate(DataLoader(blobs(n=20), batch_size=8))
    assert trainer.model.training
    trainer.model.eval()
    trainer.predict(DataLoader(blobs(n=20), batch_size=8))
    assert not trainer.model.training


def test_step_logs_become_floats_and_graphs_are_freed():
    kept = []

    class TensorLogs(Trainer):
        def train_step(self, batch):
            x, y = batch
            loss = self.loss_fn(self.model(x), y)
            self.optimizer.zero_grad()
            loss.backward()
            self.optimizer.step()
            kept.append(weakref.ref(loss))
            return {"loss": loss}  # a Tensor that still requires grad

    trainer = make_trainer(cls=TensorLogs)
    hist = trainer.fit(DataLoader(blobs(n=64), batch_size=16), 2, verbose=0)
    assert all(type(v) is float for v in hist["loss"])
    assert len(kept) == 8 and all(r() is None for r in kept)  # nothing holds a step's loss


def test_train_step_override_with_two_optimizers():
    class TwoOptimizers(Trainer):  # the shape of a GAN step: two losses, two optimizers
        def __init__(self, a, b):
            super().__init__(nn.ModuleList([a, b]), metrics=())
            self.opt_a = SGD(a.parameters(), lr=0.1)
            self.opt_b = SGD(b.parameters(), lr=0.1)
            self.a, self.b = a, b

        def train_step(self, batch):
            x, y = batch
            logs = {}
            for name, net, opt in (("a_loss", self.a, self.opt_a), ("b_loss", self.b, self.opt_b)):
                loss = F.cross_entropy(net(x), y)
                opt.zero_grad()
                loss.backward()
                opt.step()
                logs[name] = loss.item()
            return logs

    trainer = TwoOptimizers(small_model(), small_model())
    hist = trainer.fit(DataLoader(blobs(), batch_size=40), 4, verbose=0)
    assert set(hist.keys()) == {"a_loss", "b_loss", "seconds"}  # no optimizer attribute: no lr
    assert hist["a_loss"][-1] < hist["a_loss"][0] and hist["b_loss"][-1] < hist["b_loss"][0]


def test_module_level_fit_defaults_to_adam_and_cross_entropy():
    model = small_model()
    hist = fit(model, DataLoader(blobs(), batch_size=32, shuffle=True), epochs=5, verbose=0)
    assert hist["loss"][-1] < hist["loss"][0] and hist["lr"] == [1e-3] * 5


def test_grad_clip_bounds_each_update():
    model = small_model()
    before = weights(model)
    trainer = Trainer(model, SGD(model.parameters(), lr=1.0), F.cross_entropy, grad_clip=1e-3)
    ds = blobs(n=32)
    trainer.fit(DataLoader(ds, batch_size=32), 1, verbose=0)  # one step of size lr * |g| <= 1e-3
    delta = np.sqrt(sum(((weights(model)[k] - before[k]) ** 2).sum() for k in before))
    assert 0 < delta <= 1e-3 * (1 + 1e-4)


@pytest.mark.parametrize("kwargs, match", [
    ({"epochs": -1}, "epochs must be a non-negative int"),
    ({"epochs": 1.5}, "epochs must be a non-negative int"),
    ({"epochs": 2, "initial_epoch": 3}, "initial_epoch=3 is past epochs=2"),
])
def test_fit_argument_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_trainer().fit(DataLoader(blobs(n=8), batch_size=4), **kwargs)


def test_fit_errors_on_empty_loader_and_missing_pieces():
    empty = DataLoader(blobs(n=3), batch_size=4, drop_last=True)
    with pytest.raises(ValueError, match="train_loader is empty"):
        make_trainer().fit(empty, 1)
    with pytest.raises(ValueError, match="val_loader is empty"):
        make_trainer().fit(DataLoader(blobs(n=8)), 1, val_loader=empty)
    model = small_model()
    with pytest.raises(ValueError, match="needs an optimizer"):
        Trainer(model, None, F.cross_entropy).fit(DataLoader(blobs(n=8), batch_size=4), 1, verbose=0)
    with pytest.raises(ValueError, match="grad_clip"):
        Trainer(model, None, F.cross_entropy, grad_clip=-1)


# -- metrics ------------------------------------------------------------------------------------
def test_accuracy_and_top_k():
    out = axonal.tensor([[0.1, 0.5, 0.4], [0.9, 0.05, 0.05], [0.2, 0.3, 0.5], [0.3, 0.3, 0.4]])
    y = axonal.tensor([2, 0, 0, 0])
    assert Accuracy()(out, y) == 0.25
    # sample 2's target is 3rd; sample 3's target ties with class 1 for 2nd place and counts
    assert TopKAccuracy(2)(out, y) == 0.75
    assert TopKAccuracy(3)(out, y) == 1.0
    one_hot = axonal.tensor(np.eye(3, dtype=np.float32)[[2, 0, 0, 0]])
    assert Accuracy()(out, one_hot) == 0.25
    assert get_metric("top2").k == 2 and get_metric("top_5_accuracy").k == 5
    assert get_metric("acc").name == "accuracy"
    assert BinaryAccuracy(0.0)(axonal.tensor([1.5, -2.0, 0.3]), axonal.tensor([1.0, 0.0, 0.0])) == \
        pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="k=4 is larger than the number of classes"):
        TopKAccuracy(4)(out, y)
    with pytest.raises(ValueError, match="unknown metric 'f1'"):
        get_metric("f1")
    with pytest.raises(ValueError, match="binary_accuracy"):
        Accuracy()(axonal.tensor([0.2, 0.8]), axonal.tensor([0, 1]))


def test_metrics_in_fit_and_custom_metric_names():
    def wrong_fraction(outputs, targets):
        return 1.0 - Accuracy()(outputs, targets)

    trainer = make_trainer(metrics=("accuracy", TopKAccuracy(2), wrong_fraction))
    hist = trainer.fit(DataLoader(blobs(), batch_size=32), 2, verbose=0)
    assert {"accuracy", "top2_accuracy", "wrong_fraction"} <= set(hist.keys())
    for a, w in zip(hist["accuracy"], hist["wrong_fraction"]):
        assert a + w == pytest.approx(1.0)
    with pytest.raises(ValueError, match="two metrics are named 'accuracy'"):
        make_trainer(metrics=("accuracy", "acc"))


# -- callbacks ----------------------------------------------------------------------------------
def test_early_stopping_stops_on_plateau_and_restores_best_weights():
    snapshots = []
    record = LambdaCallback(on_epoch_end=lambda epoch, logs: snapshots.append(weights(trainer.model)))
    stop = EarlyStopping(monitor="val_loss", patience=2, min_delta=0.01, restore_best_weights=True)
    trainer = make_trainer(callbacks=[record, stop], cls=ScriptedVal)
    # best at epoch 1; 0.495 is not better by more than min_delta; 2 epochs without improvement
    trainer.script = [1.0, 0.5, 0.495, 0.7, 0.1, 0.1]
    hist = trainer.fit(DataLoader(blobs(), batch_size=32, shuffle=True), 6,
                       val_loader=DataLoader(blobs(n=20)), verbose=0)
    assert hist.epoch == [0, 1, 2, 3] and stop.stopped_epoch == 3 and stop.best_epoch == 1
    assert trainer.stop_training
    final = weights(trainer.model)
    assert all(np.array_equal(final[k], snapshots[1][k]) for k in final)
    assert not all(np.array_equal(final[k], snapshots[3][k]) for k in final)


def test_early_stopping_mode_max_and_missing_monitor():
    stop = EarlyStopping(monitor="val_accuracy", patience=0)
    assert stop.mode == "max"
    trainer = make_trainer(callbacks=[EarlyStopping(patience=1)])
    with pytest.raises(KeyError, match="'val_loss' is not in the logs.*pass val_loader"):
        trainer.fit(DataLoader(blobs(n=8), batch_size=4), 2, verbose=0)
    with pytest.raises(ValueError, match="mode must be"):
        EarlyStopping(mode="up")


def test_model_checkpoint_best_only(tmp_path):
    snapshots = []
    record = LambdaCallback(on_epoch_end=lambda epoch, logs: snapshots.append(weights(trainer.model)))
    every = ModelCheckpoint(tmp_path / "ck-{epoch}", save_best_only=True)
    best = ModelCheckpoint(tmp_path / "best", save_best_only=True, extra={"note": "hi"})
    trainer = make_trainer(callbacks=[record, every, best], cls=ScriptedVal)
    trainer.script = [1.0, 0.5, 0.7, 0.4, 0.9]
    trainer.fit(DataLoader(blobs(), batch_size=32), 5, val_loader=DataLoader(blobs(n=20)), verbose=0)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["best", "ck-1", "ck-2", "ck-4"]
    model = small_model()
    ckpt = load_checkpoint(tmp_path / "best", model)
    assert ckpt["epoch"] == 4 and ckpt["extra"] == {"note": "hi"}
    assert len(ckpt["history"]) == 4 and ckpt["history"]["val_loss"] == pytest.approx([1.0, 0.5, 0.7, 0.4])
    got = weights(model)
    assert all(np.array_equal(got[k], snapshots[3][k]) for k in got)
    assert ckpt["trainer"]["callbacks"]["ModelCheckpoint_1"]["best"] == pytest.approx(0.4)


def test_csv_logger_content_and_append(tmp_path):
    path = tmp_path / "log.csv"
    trainer = make_trainer(callbacks=[CSVLogger(path)])
    hist = trainer.fit(DataLoader(blobs(), batch_size=64), 3, val_loader=DataLoader(blobs(n=30)),
                       verbose=0)
    lines = path.read_text().splitlines()
    assert lines[0] == "epoch,accuracy,loss,lr,seconds,val_accuracy,val_loss"
    assert len(lines) == 4
    for i, line in enumerate(lines[1:]):
        cells = line.split(",")
        assert cells[0] == str(i)
        assert float(cells[2]) == hist["loss"][i] and float(cells[6]) == hist["val_loss"][i]
    trainer.fit(DataLoader(blobs(), batch_size=64), 5, val_loader=DataLoader(blobs(n=30)),
                initial_epoch=3, verbose=0)  # a resumed run continues the file
    lines = path.read_text().splitlines()
    assert len(lines) == 6 and lines[0].startswith("epoch,") and lines[4].startswith("3,")


def test_lr_scheduler_epoch_step_and_plateau():
    t = make_trainer(lr=0.1)
    t = Trainer(t.model, t.optimizer, F.cross_entropy,
                scheduler=lr_scheduler.StepLR(t.optimizer, step_size=1, gamma=0.5))
    hist = t.fit(DataLoader(blobs(), batch_size=60), 3, verbose=0)
    assert hist["lr"] == pytest.approx([0.1, 0.05, 0.025])  # the rate each epoch trained with

    t = make_trainer(lr=0.1)
    steps = LRSchedulerCallback(lr_scheduler.StepLR(t.optimizer, step_size=2, gamma=0.5),
                                interval="step")
    t = Trainer(t.model, t.optimizer, F.cross_entropy, scheduler=steps)
    t.fit(DataLoader(blobs(), batch_size=60), 1, verbose=0)  # 4 steps -> two halvings
    assert t.optimizer.param_groups[0]["lr"] == pytest.approx(0.025)

    t = make_trainer(lr=0.1, cls=ScriptedVal)
    t.script = [1.0, 1.0, 1.0, 1.0]
    plateau = lr_scheduler.ReduceLROnPlateau(t.optimizer, factor=0.1, patience=1)
    t.callbacks.append(LRSchedulerCallback(plateau))  # gets val_loss: no improvement -> reduce
    hist = t.fit(DataLoader(blobs(), batch_size=60), 4, val_loader=DataLoader(blobs(n=20)), verbose=0)
    assert hist["lr"] == pytest.approx([0.1, 0.1, 0.1, 0.01])


def test_terminate_on_nan():
    trainer = make_trainer(lr=1e6, callbacks=[TerminateOnNaN()])
    ds = blobs()
    ds.tensors[0]._data[5] = np.nan
    hist = trainer.fit(DataLoader(ds, batch_size=8), 3, verbose=0)
    assert trainer.stop_training and len(hist) == 1 and trainer.global_step == 1


# -- progress output ----------------------------------------------------------------------------
def test_non_tty_output_is_one_line_per_epoch(capsys):
    trainer = make_trainer()
    trainer.fit(DataLoader(blobs(), batch_size=8), 3, val_loader=DataLoader(blobs(n=20)))
    out, err = capsys.readouterr()  # captured streams are not terminals: verbose "auto" -> 2
    lines = out.splitlines()
    assert len(lines) == 3 and err == ""
    for i, line in enumerate(lines):
        assert line.startswith(f"epoch {i + 1}/3  loss ")
        assert " accuracy " in line and " val_loss " in line and line.endswith("s")


def test_tty_bar_draws_and_ends_with_epoch_logs():
    stream = io.StringIO()
    bar = ProgressBar(verbose=1, stream=stream)
    bar.set_params({"epochs": 2, "steps": 3})
    bar.on_epoch_begin(0)
    for step in range(3):
        bar.on_batch_end(step, {"loss": 1.0 / (step + 1)})
    bar.on_epoch_end(0, {"loss": 0.5, "accuracy": 0.75, "seconds": 1.0})
    text = stream.getvalue()
    assert text.startswith("\rEpoch 1/2:") and "0/3" in text  # the live bar
    # ... replaced by the complete epoch line when the epoch ends
    assert text.endswith("epoch 1/2  loss 0.5000  accuracy 0.7500  1.00s\n")
    with pytest.raises(ValueError, match="verbose must be"):
        ProgressBar(verbose=3)


# -- checkpoints and plots ----------------------------------------------------------------------
def test_checkpoint_round_trip_and_errors(tmp_path):
    trainer = make_trainer()
    sched = lr_scheduler.StepLR(trainer.optimizer, step_size=1, gamma=0.5)
    trainer = Trainer(trainer.model, trainer.optimizer, F.cross_entropy, scheduler=sched)
    trainer.fit(DataLoader(blobs(), batch_size=32, shuffle=True), 2, verbose=0)
    path = tmp_path / "ck"
    save_checkpoint(path, trainer.model, trainer.optimizer, sched, epoch=2, history=trainer.history,
                    extra={"recipe": "x", "big": 2**100})
    state = axonal.get_rng_state()
    axonal.manual_seed(123)
    model = small_model()
    opt = SGD(model.parameters(), lr=0.1, momentum=0.9)
    sched2 = lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    ckpt = load_checkpoint(path, model, opt, sched2)
    assert ckpt["epoch"] == 2 and ckpt["extra"]["big"] == 2**100
    assert axonal.get_rng_state() == state
    assert opt.param_groups[0]["lr"] == trainer.optimizer.param_groups[0]["lr"] == 0.025
    assert sched2.last_epoch == 2
    assert all(np.array_equal(a, b) for a, b in zip(weights(model).values(),
                                                    weights(trainer.model).values()))
    with pytest.raises(FileNotFoundError, match="checkpoint file not found"):
        read_checkpoint(tmp_path / "missing")
    serialization.save({"w": axonal.ones(2)}, tmp_path / "plain")
    with pytest.raises(ValueError, match="not a training checkpoint"):
        read_checkpoint(tmp_path / "plain")
    save_checkpoint(path, model)  # no optimizer state stored
    with pytest.raises(ValueError, match="holds no optimizer state"):
        load_checkpoint(path, model, opt)
    with pytest.raises(ValueError, match="epoch must be a non-negative int"):
        save_checkpoint(path, model, epoch=-1)


def test_plot_history_writes_png(tmp_path, monkeypatch):
    hist = History()
    for e, (l, vl) in enumerate([(1.0, 1.1), (0.5, 0.6), (0.3, 0.45)]):
        hist.append(e, {"loss": l, "accuracy": 0.5 + e / 10, "val_loss": vl, "lr": 0.1 / (e + 1)})
    path = plot_history(hist, tmp_path / "curves.png")
    data = Path(path).read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000
    with pytest.raises(ValueError, match="history is empty"):
        plot_history(History(), tmp_path / "x.png")
    import sys
    for mod in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, mod)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
    with pytest.raises(ImportError, match="plot_history needs matplotlib"):
        plot_history(hist, tmp_path / "y.png")


def test_history_pads_missing_keys_and_round_trips():
    h = History()
    h.append(0, {"loss": 1.0})
    h.append(1, {"loss": 0.5, "val_loss": 0.7})
    assert math.isnan(h["val_loss"][0]) and h["val_loss"][1] == 0.7
    assert h.best("loss") == (1, 0.5) and h.best("val_loss") == (1, 0.7)
    h2 = History.from_state_dict(h.state_dict())
    assert h2.epoch == [0, 1] and h2["loss"] == [1.0, 0.5]
    h2.truncate(1)
    assert h2.epoch == [0] and h2["loss"] == [1.0]


@pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs a pseudo-terminal (POSIX)")
def test_progress_bar_is_drawn_on_a_terminal_that_reports_no_size():
    """A pty nobody sized reports 0x0 (some CI runners, IDE consoles): the bar falls back to a
    fixed width instead of drawing nothing."""
    import pty
    import subprocess
    import sys

    code = ("from axonal.train.progress import ProgressBar\n"
            "pb = ProgressBar(verbose=1); pb.params = {'epochs': 1, 'steps': 20}\n"
            "pb.on_epoch_begin(0)\n"
            "for i in range(20): pb.on_batch_end(i, {'loss': 0.5})\n"
            "pb._bar.refresh(); pb.on_epoch_end(0, {'loss': 0.5})\n")
    main, child = pty.openpty()  # no TIOCSWINSZ: the size stays 0x0
    assert os.get_terminal_size(child) == (0, 0)
    proc = subprocess.run([sys.executable, "-c", code], stdin=child, stdout=child, stderr=child,
                          env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)),
                          timeout=120, check=False)
    os.close(child)
    out = b""
    while True:
        try:
            chunk = os.read(main, 65536)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    os.close(main)
    text = out.decode(errors="replace")
    assert proc.returncode == 0, text
    assert "Epoch 1/1" in text and "20/20" in text and "epoch 1/1  loss 0.5000" in text
