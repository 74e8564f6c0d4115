"""Exact resume across processes, and checkpoints that survive a process killed mid-save.

Both tests run child Python processes: the point is that nothing but the checkpoint file carries state
from one run to the next.
"""
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from axonal import nn
from axonal.optim import Adam
from axonal.serialization import load
from axonal.train import load_checkpoint

# one BLAS/numba thread: the cores are shared with other test workers, and thread counts must match
# between the processes whose results are compared
ENV = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1",
           NUMBA_NUM_THREADS="1")

TRAIN = textwrap.dedent("""
    import sys
    import numpy as np
    import axonal, axonal.nn as nn, axonal.nn.functional as F
    from axonal.optim import Adam, lr_scheduler
    from axonal.serialization import save
    from axonal.train import EarlyStopping, ModelCheckpoint, Trainer
    from axonal.utils.data import DataLoader, TensorDataset

    mode, out = sys.argv[1], sys.argv[2]

    def run(variant, epochs, tag, resume=False, restore_rng=True):
        axonal.manual_seed(7)
        rng = np.random.default_rng(0)
        x = rng.normal(size=(200, 6)).astype(np.float32)
        y = (x[:, 0] > 0).astype(np.int64) + (x[:, 1] > 0.5).astype(np.int64)
        gen = axonal.Generator().manual_seed(3) if variant == "gen" else None
        loader = DataLoader(TensorDataset(axonal.tensor(x), axonal.tensor(y)), batch_size=16,
                            shuffle=True, generator=gen)
        model = nn.Sequential(nn.Linear(6, 32), nn.ReLU(), nn.Dropout(0.3), nn.Linear(32, 3))
        opt = Adam(model.parameters(), lr=0.01, weight_decay=1e-3)
        sched = lr_scheduler.StepLR(opt, step_size=1, gamma=0.7)
        callbacks = [ModelCheckpoint(f"{out}/{variant}-{tag}.ck"),
                     EarlyStopping(monitor="loss", patience=5)]
        trainer = Trainer(model, opt, F.cross_entropy, callbacks=callbacks, scheduler=sched)
        first = 0
        if resume:
            ckpt = trainer.load_checkpoint(f"{out}/{variant}-first.ck", restore_rng=restore_rng)
            first = ckpt["epoch"]
        trainer.fit(loader, epochs, initial_epoch=first, verbose=0)
        save({"weights": model.state_dict(), "history": trainer.history.state_dict(),
              "step": trainer.global_step, "optimizer": opt.state_dict()},
             f"{out}/{variant}-{tag}.final")

    for variant in ("default", "gen"):  # shuffling from axonal's default generator / its own one
        if mode == "prepare":
            run(variant, 2, "full")   # 2 epochs straight
            run(variant, 1, "first")  # 1 epoch, then a checkpoint
        else:
            run(variant, 2, "resumed", resume=True)
    if mode == "resume":  # the control: the same resume without the RNG state must differ
        run("default", 2, "norng", resume=True, restore_rng=False)
""")


def _run(script, *args, timeout=120):
    proc = subprocess.run([sys.executable, str(script), *args], env=ENV, check=False, capture_output=True,
                          text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stderr[-3000:]


def _same(a, b):
    return all(np.array_equal(a[k].numpy(), b[k].numpy()) for k in a) and a.keys() == b.keys()


def test_resume_in_fresh_process_is_bit_identical(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(TRAIN)
    _run(script, "prepare", str(tmp_path))  # 2 epochs straight; and 1 epoch + checkpoint
    _run(script, "resume", str(tmp_path))   # 1 more epoch from the checkpoint, in a fresh process
    for variant in ("default", "gen"):
        full = load(tmp_path / f"{variant}-full.final")
        resumed = load(tmp_path / f"{variant}-resumed.final")
        assert _same(full["weights"], resumed["weights"]), variant
        hist_full, hist_res = full["history"]["history"], resumed["history"]["history"]
        hist_full.pop("seconds"), hist_res.pop("seconds")  # wall-clock time is the one difference
        assert hist_full == hist_res and len(hist_full["loss"]) == 2, variant  # bit for bit
        assert full["step"] == resumed["step"] == 2 * 13
        st_full, st_res = full["optimizer"]["state"], resumed["optimizer"]["state"]
        assert st_full.keys() == st_res.keys()
        for i in st_full:
            assert np.array_equal(st_full[i]["exp_avg_sq"].numpy(), st_res[i]["exp_avg_sq"].numpy())
    # the test can fail: a resume that does not restore the RNG (shuffle order, dropout masks) drifts
    norng = load(tmp_path / "default-norng.final")
    assert not _same(load(tmp_path / "default-full.final")["weights"], norng["weights"])


KILL = textwrap.dedent("""
    import sys
    import axonal, axonal.nn as nn
    from axonal.optim import Adam
    from axonal.train import save_checkpoint

    path = sys.argv[1]
    model = nn.Linear(2048, 2048)          # 16 MB of weights + 32 MB of Adam state per checkpoint
    opt = Adam(model.parameters())
    model(axonal.ones(1, 2048)).sum().backward()
    opt.step()
    epoch = 0
    while True:
        epoch += 1
        model.weight.data[...] = epoch     # each checkpoint's content names its epoch
        save_checkpoint(path, model, opt, epoch=epoch)
        if epoch == 1:
            print("saved", flush=True)
""")


def _kill_during_save(script, folder):
    """Start the saver, wait for its first checkpoint, SIGKILL it while a temp file is being written.
    Returns True when the kill landed mid-save (the temp file is left behind)."""
    path = folder / "ck"
    proc = subprocess.Popen([sys.executable, str(script), str(path)], env=ENV,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "saved", proc.stderr.read()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            temps = [p for p in folder.iterdir() if p.name != "ck"]
            if temps and temps[0].stat().st_size > 0:
                proc.send_signal(signal.SIGKILL)
                break
            time.sleep(0.0005)
        else:
            pytest.fail("the child never started a second save")
    finally:
        proc.kill()
        proc.wait()
        proc.stdout.close()
        proc.stderr.close()
    return any(p.name != "ck" for p in folder.iterdir())


def test_sigkill_during_checkpoint_save_leaves_previous_checkpoint(tmp_path):
    script = tmp_path / "saver.py"
    script.write_text(KILL)
    for attempt in range(3):  # the kill can, rarely, land just after a save completed: try again
        folder = tmp_path / f"run{attempt}"
        folder.mkdir()
        if _kill_during_save(script, folder):
            break
    else:
        pytest.fail("could not kill the child in the middle of a save in 3 attempts")
    model = nn.Linear(2048, 2048)
    opt = Adam(model.parameters())
    ckpt = load_checkpoint(folder / "ck", model, opt)  # the previous, complete checkpoint
    epoch = ckpt["epoch"]
    assert epoch >= 1
    assert np.all(model.weight.detach().numpy() == epoch)  # its content is that epoch's, not a mixture
    assert opt.state_dict()["state"][0]["exp_avg"].shape == (2048, 2048)
