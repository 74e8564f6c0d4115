"""axonal.distributed: collectives, DistributedDataParallel, DistributedSampler, launch and failures.

Two kinds of tests:
  * in this process, without MPI: the sampler against torch's (index for index), the autograd hooks
    DDP is built on, the graph counting, the launcher's helpers and the error messages;
  * real multi-process runs: `mpiexec -n 2` and `-n 3` (3 ranks on CI's 2 cores: MPICH oversubscribes
    without any flag) started from here with a timeout, running the scripts in tests/distributed/dist_scripts/.
    They need mpi4py and an MPI (`pip install mpi4py mpich`, in the `test` extra) and are skipped
    with that hint otherwise.
"""
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import axonal
import axonal.distributed as dist
from axonal import _engine as engine
from axonal import nn
from axonal.distributed import launch
from axonal.distributed import process_group as pg
from axonal.distributed.ddp import _count_uses

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPTS = os.path.join(HERE, "dist_scripts")
sys.path.insert(0, SCRIPTS)


# -- DistributedSampler: PyTorch's exact indices --------------------------------------------------
def _torch_indices(n, replicas, rank, shuffle, seed, drop_last, epoch):
    torch = pytest.importorskip("torch")
    from torch.utils.data import DistributedSampler as TorchSampler

    s = TorchSampler(range(n), num_replicas=replicas, rank=rank, shuffle=shuffle, seed=seed,
                     drop_last=drop_last)
    s.set_epoch(epoch)
    assert torch is not None
    return list(s), len(s)


@pytest.mark.torch
@pytest.mark.parametrize("n", [0, 1, 5, 10, 11, 100, 1001])
@pytest.mark.parametrize("replicas", [1, 2, 3, 4, 7])
@pytest.mark.parametrize("shuffle,drop_last", [(False, False), (True, False), (True, True),
                                               (False, True)])
def test_sampler_matches_torch(n, replicas, shuffle, drop_last):
    for seed, epoch in ((0, 0), (42, 3)):
        for rank in range(replicas):
            ours = dist.DistributedSampler(range(n), num_replicas=replicas, rank=rank,
                                           shuffle=shuffle, seed=seed, drop_last=drop_last)
            ours.set_epoch(epoch)
            want, want_len = _torch_indices(n, replicas, rank, shuffle, seed, drop_last, epoch)
            assert list(ours) == want, (n, replicas, rank, seed, epoch)
            assert len(ours) == want_len


@pytest.mark.torch
def test_sampler_matches_torch_on_a_large_dataset_and_large_seed():
    for seed in (0, 2**40 + 7):
        ours = dist.DistributedSampler(range(60000), num_replicas=4, rank=3, seed=seed)
        ours.set_epoch(5)
        assert list(ours) == _torch_indices(60000, 4, 3, True, seed, False, 5)[0]


def test_sampler_shares_cover_the_dataset_and_change_per_epoch():
    n, p = 103, 4
    samplers = [dist.DistributedSampler(range(n), num_replicas=p, rank=r, seed=1) for r in range(p)]
    shares = [list(s) for s in samplers]
    assert {len(s) for s in shares} == {26}  # ceil(103 / 4), padded with 1 repeated index
    assert set().union(*map(set, shares)) == set(range(n))
    for s in samplers:
        s.set_epoch(1)
    assert [list(s) for s in samplers] != shares
    cut = [list(dist.DistributedSampler(range(n), num_replicas=p, rank=r, drop_last=True))
           for r in range(p)]
    flat = [i for s in cut for i in s]
    assert {len(s) for s in cut} == {25} and len(set(flat)) == 100  # no repeats when dropping


def test_sampler_errors():
    with pytest.raises(ValueError, match="Invalid rank 2"):
        dist.DistributedSampler(range(4), num_replicas=2, rank=2)
    with pytest.raises(dist.DistError, match="init_process_group"):
        dist.DistributedSampler(range(4))  # no process group to ask


# -- the autograd hooks DDP relies on -------------------------------------------------------------
def test_post_accumulate_grad_hook_runs_once_on_the_summed_gradient():
    w = axonal.tensor([1.0, 2.0], requires_grad=True)
    seen = []
    handle = w.register_post_accumulate_grad_hook(lambda t: seen.append(t.grad._data.copy()))
    (w * 3 + w * w).sum().backward()  # three graph edges into w, summed first (as PyTorch)
    assert len(seen) == 1 and np.allclose(seen[-1], [5.0, 7.0])
    handle.remove()
    handle.remove()  # twice is fine
    (w * 3).sum().backward()
    assert len(seen) == 1
    with pytest.raises(axonal.GraphError, match="leaf"):
        (w * 2).register_post_accumulate_grad_hook(print)


def test_queue_callback_runs_after_every_gradient_and_only_then():
    a = axonal.tensor([1.0], requires_grad=True)
    b = axonal.tensor([2.0], requires_grad=True)
    seen = []

    def hook(t):
        if not seen:
            engine.queue_callback(lambda: seen.append((a.grad is not None, b.grad is not None)))
        seen.append("hook")

    a.register_post_accumulate_grad_hook(hook)
    b.register_post_accumulate_grad_hook(hook)
    (a * b).sum().backward()
    assert seen[-1] == (True, True) and seen.count("hook") == 2
    with pytest.raises(axonal.GraphError, match="no backward pass"):
        engine.queue_callback(print)


def test_queue_callback_state_is_per_thread():
    # a backward running in this thread is invisible to another thread, like grad mode
    import threading

    w = axonal.tensor([1.0], requires_grad=True)
    errors, ran = [], []

    def other_thread():
        try:
            engine.queue_callback(print)
        except axonal.GraphError as e:
            errors.append(e)

    def hook(t):
        engine.queue_callback(lambda: ran.append("main"))
        worker = threading.Thread(target=other_thread)
        worker.start()
        worker.join()

    w.register_post_accumulate_grad_hook(hook)
    (w * 2).sum().backward()
    assert ran == ["main"] and len(errors) == 1 and "no backward pass" in str(errors[0])


def test_count_uses_marks_the_parameters_the_graph_reaches():
    lin, unused = nn.Linear(3, 3), nn.Linear(3, 3)
    params = [lin.weight, lin.bias, unused.weight]
    out = lin(lin(axonal.randn(2, 3)))  # the same layer twice
    counts = _count_uses([out], {id(p): i for i, p in enumerate(params)})
    assert counts == [1, 1, 0]  # one accumulation per backward, however many edges


# -- without a process group ------------------------------------------------------------------------
def test_without_a_process_group():
    assert not dist.is_initialized() and dist.is_main_process() and not dist.is_distributed()
    for call in (dist.get_rank, dist.get_world_size, dist.barrier,
                 lambda: dist.all_reduce(axonal.ones(2)),
                 lambda: dist.DistributedDataParallel(nn.Linear(2, 2))):
        with pytest.raises(dist.DistError, match="init_process_group"):
            call()
    assert dist.unwrap_model(nn.Linear(2, 2)).__class__ is nn.Linear


def test_missing_mpi4py_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "mpi4py", None)  # import mpi4py now raises ImportError
    monkeypatch.setitem(sys.modules, "mpi4py.MPI", None)
    assert not dist.is_available()
    with pytest.raises(ImportError, match="pip install mpi4py mpich"):
        pg.mpi()
    with pytest.raises(ImportError, match="pip install mpi4py mpich"):
        dist.init_process_group()
    with pytest.raises(ImportError, match="pip install mpi4py mpich"):
        launch.launch(2, ["-c", "pass"])


def test_launch_helpers(monkeypatch, tmp_path):
    assert launch.strip_nproc(["train", "x", "--nproc", "2", "--nproc=3", "--epochs", "1"]) == \
        ["train", "x", "--epochs", "1"]
    monkeypatch.setenv("AXONAL_MPIEXEC", str(tmp_path / "nope"))
    with pytest.raises(FileNotFoundError, match="AXONAL_MPIEXEC"):
        launch.find_mpiexec()
    monkeypatch.delenv("AXONAL_MPIEXEC")
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(sys, "executable", str(tmp_path / "python"))
    from importlib import metadata

    def no_wheel(name):
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(metadata, "distribution", no_wheel)
    with pytest.raises(FileNotFoundError, match="pip install mpi4py mpich"):
        launch.find_mpiexec()
    with pytest.raises(ValueError, match="--nproc"):
        launch.mpiexec_command(0, ["x"], mpiexec="/bin/true")
    assert launch.threads_per_rank(64) == 1


def test_launched_ranks_apply_the_thread_policy_for_their_own_share(monkeypatch):
    # the parent's policy values (its thread count) are not passed on; the opt-in is
    from axonal import _threads

    monkeypatch.setitem(_threads._state, "configured", True)
    monkeypatch.setitem(_threads._state, "written", {"NUMBA_NUM_THREADS": "8",
                                                     "GOMP_SPINCOUNT": "100000"})
    parent = {"NUMBA_NUM_THREADS": "8", "GOMP_SPINCOUNT": "7", "PATH": "/bin"}  # 7: the user's
    monkeypatch.setattr(launch._pg, "is_available", lambda: True)
    monkeypatch.setattr(launch, "mpiexec_command", lambda n, args: ["mpiexec", "-n", str(n)])
    seen = {}

    def fake_run(cmd, env, **kwargs):
        seen.update(env)
        return subprocess.CompletedProcess(cmd, 0)

    monkeypatch.setattr(launch.subprocess, "run", fake_run)
    assert launch.launch(64, ["-c", "pass"], env=parent) == 0
    assert seen == {"GOMP_SPINCOUNT": "7", "PATH": "/bin", "AXONAL_THREADS": "auto",
                    "AXONAL_NPROC": "64", "AXONAL_NUM_THREADS": "1"}


# -- multi-process runs -----------------------------------------------------------------------------
def _mpiexec_or_skip():
    if not dist.is_available():
        pytest.skip("needs mpi4py and an MPI: pip install mpi4py mpich")
    try:
        return launch.find_mpiexec()
    except FileNotFoundError as e:
        pytest.skip(str(e))


def run_mpi(nproc, args, timeout):
    """Run `python args...` as nproc MPI ranks; (exit status, output, seconds). On timeout the whole
    process group (mpiexec, its proxies, the ranks) is killed and the test fails."""
    cmd = launch.mpiexec_command(nproc, args, _mpiexec_or_skip())
    env = dict(os.environ, AXONAL_NUM_THREADS="1", AXONAL_NPROC=str(nproc))
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=env, start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        pytest.fail(f"mpiexec -n {nproc} {args} still running after {timeout} s:\n{out[-3000:]}")
    return proc.returncode, out, time.perf_counter() - start


@pytest.mark.parametrize("nproc", [2, 3])
def test_collectives_all_dtypes_shapes_and_layouts(nproc, tmp_path):
    out = tmp_path / "result.json"
    rc, log, _ = run_mpi(nproc, [os.path.join(SCRIPTS, "collectives_check.py"), str(out)], 120)
    assert rc == 0, log[-3000:]
    result = json.loads(out.read_text())
    assert result["world_size"] == nproc
    assert result["checks"] > 1000 * nproc
    assert result["failures"] == []


_REFERENCE = {}


def _reference(global_batch, steps):
    import ddp_train

    key = (global_batch, steps)
    if key not in _REFERENCE:
        _REFERENCE[key] = ddp_train.reference(global_batch, steps)
    return _REFERENCE[key]


@pytest.mark.parametrize("nproc,global_batch,steps,bucket_mb", [(2, 128, 50, 25.0),
                                                                (3, 120, 20, 0.05)])
def test_ddp_training_equals_one_process_with_the_global_batch(nproc, global_batch, steps,
                                                               bucket_mb, tmp_path):
    """The MNIST MLP: P ranks x (B / P) samples per step == one process x B samples per step.

    The two runs differ only in summation order (a mean of means against one mean, and the BLAS's
    own blocking, which differs between MKL and OpenBLAS and with the thread count). In float32
    that is ~1e-8 per step, which stays small unless a ReLU input lies within rounding of 0 and
    switches side: one such sample moves the weights by ~1e-6 and the runs drift apart (measured:
    3 ranks with a global batch of 126 under OpenBLAS, and 2 ranks with 128 under MKL, drifted to
    1e-4-1e-3). So the runs are in float64, where the rounding differences are ~1e-16 and
    equality holds to 1e-10 for any configuration."""
    rc, log, _ = run_mpi(nproc, [os.path.join(SCRIPTS, "ddp_train.py"), str(tmp_path),
                                 str(global_batch), str(steps), str(bucket_mb)], 240)
    assert rc == 0, log[-3000:]
    got = np.load(tmp_path / "ddp.npz")
    want, want_acc = _reference(global_batch, steps)
    worst = max(float(np.abs(got[k] - v).max()) for k, v in want.items())
    assert worst <= 1e-10, f"max |w_ddp - w_single| = {worst}"
    assert float(got["accuracy"]) == want_acc
    moved = max(float(np.abs(v - w0).max()) for v, w0 in zip(want.values(), _initial_weights()))
    assert moved > 1e-2  # the run really trained: equality is not two untouched initializations
    if bucket_mb < 1:  # several messages, at least one started before backward finished
        assert int(got["buckets"]) > 2 and int(got["overlapped"]) >= 1
    checks = json.loads((tmp_path / "checks.json").read_text())
    assert checks["world_size"] == nproc and checks["failures"] == []


def _initial_weights():
    import ddp_train

    return [v._data.copy() for v in ddp_train.mlp().state_dict().values()]


def test_a_rank_that_raises_mid_epoch_ends_the_job():
    rc, log, seconds = run_mpi(2, [os.path.join(SCRIPTS, "fail_rank.py"), "raise"], 90)
    assert rc != 0, log[-3000:]
    assert seconds < 60
    assert "[rank 1/2]" in log and "injected failure on rank 1 at step 3" in log
    assert "trained:" not in log


def test_watchdog_aborts_a_job_whose_rank_hangs():
    rc, log, seconds = run_mpi(2, [os.path.join(SCRIPTS, "fail_rank.py"), "hang"], 90)
    assert rc != 0, log[-3000:]
    assert seconds < 60
    assert "all_reduce did not complete within the 2 s timeout" in log


def test_cli_nproc_trains_on_rank_0_outputs_and_resumes_with_another_process_count(tmp_path):
    _mpiexec_or_skip()
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "axonal", "train", "mnist-mlp", "--nproc", "2", "--epochs", "1",
           "--limit-train", "512", "--out", str(out)]
    env = dict(os.environ, AXONAL_NUM_THREADS="1")
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=240, env=env, check=False)
    assert res.returncode == 0, res.stderr[-3000:]
    assert res.stdout.count("epoch 1/1") == 1  # progress from rank 0 only
    assert (out / "log.csv").read_text().count("\n") == 2  # header + one epoch, written once
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["epochs"] == 1 and metrics["test_accuracy"] > 0.5
    from axonal.train import read_checkpoint
    ckpt = read_checkpoint(out / "checkpoint")
    assert all(not k.startswith("module.") for k in ckpt["model"])  # loads into a plain model
    # resume the 2-process run in this single process
    from axonal.recipes import train
    m2 = train("mnist-mlp", epochs=2, resume=str(out / "checkpoint"), out=str(out), quiet=True,
               log=lambda *a: None)
    assert m2["epochs"] == 2 and m2["epochs_this_run"] == 1
