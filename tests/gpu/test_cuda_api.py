"""axonal.cuda / accelerator / backends and the Tensor device methods: on this CPU-only machine they
answer what a CPU-only PyTorch answers (compared with torch itself); under the strict fake device
(tests/gpu/fake_cupy.py) they take the CuPy branch. Checkpoints saved from device tensors load on a
CPU-only machine."""
import numpy as np
import pytest

import axonal
from axonal import backend, nn
from fake_cupy import fake_device

torch = pytest.importorskip("torch")

needs_cpu_only = pytest.mark.skipif(axonal.cuda.is_available() or torch.cuda.is_available(),
                                    reason="compares the CPU-only answers")


def _answer(fn):
    try:
        return ("value", fn())
    except AssertionError:
        return ("raises", AssertionError)
    except (RuntimeError, ValueError, AttributeError) as e:
        return ("raises", type(e).__name__)


@needs_cpu_only
@pytest.mark.parametrize("name,call", [
    ("is_available", lambda m: m.cuda.is_available()),
    ("is_initialized", lambda m: m.cuda.is_initialized()),
    ("device_count", lambda m: m.cuda.device_count()),
    ("current_device", lambda m: m.cuda.current_device()),
    ("synchronize", lambda m: m.cuda.synchronize()),
    ("get_device_name", lambda m: m.cuda.get_device_name()),
    ("set_device_cpu", lambda m: m.cuda.set_device("cpu")),
    ("manual_seed", lambda m: m.cuda.manual_seed(3)),
    ("manual_seed_all", lambda m: m.cuda.manual_seed_all(3)),
    ("memory_allocated", lambda m: m.cuda.memory_allocated()),
    ("max_memory_allocated", lambda m: m.cuda.max_memory_allocated()),
    ("empty_cache", lambda m: m.cuda.empty_cache()),
    ("accelerator.is_available", lambda m: m.accelerator.is_available()),
    ("accelerator.current_accelerator", lambda m: m.accelerator.current_accelerator()),
    ("accelerator.device_count", lambda m: m.accelerator.device_count()),
    ("cudnn.enabled", lambda m: m.backends.cudnn.enabled),
    ("cudnn.benchmark", lambda m: m.backends.cudnn.benchmark),
    ("cudnn.deterministic", lambda m: m.backends.cudnn.deterministic),
    ("cudnn.allow_tf32", lambda m: m.backends.cudnn.allow_tf32),
    ("cudnn.is_available", lambda m: m.backends.cudnn.is_available()),
    ("mps.is_available", lambda m: m.backends.mps.is_available()),
    ("matmul.allow_tf32", lambda m: m.backends.cuda.matmul.allow_tf32),
    ("tensor.cuda", lambda m: m.ones(2).cuda()),
    ("tensor.to_cuda", lambda m: m.ones(2).to("cuda", non_blocking=True)),
    ("tensor.pin_memory", lambda m: m.ones(2).pin_memory()),
    ("tensor.is_pinned", lambda m: m.ones(2).is_pinned()),
    ("tensor.is_cuda", lambda m: m.ones(2).is_cuda),
])
def test_cpu_only_answers_match_torch(name, call):
    assert _answer(lambda: call(axonal)) == _answer(lambda: call(torch)), name


def test_cpu_and_to_cpu_return_self():
    x = axonal.ones(2)
    assert x.cpu() is x and x.to("cpu", non_blocking=True) is x
    assert x.to("cpu", copy=True) is not x


def test_cuda_module_on_the_fake_device():
    with fake_device():
        cuda = axonal.cuda
        assert cuda.is_available() and cuda.is_initialized() and cuda.device_count() == 1
        assert cuda.current_device() == 0 and cuda.get_device_name() == "Fake Device"
        assert cuda.get_device_name("cuda:0") == cuda.get_device_name(0)
        cuda.set_device(0)
        cuda.set_device("cuda:0")
        with pytest.raises(ValueError):
            cuda.set_device("cpu")
        cuda.synchronize()
        cuda.manual_seed(1)
        cuda.manual_seed_all(1)
        assert cuda.memory_allocated() == 0 and cuda.max_memory_allocated() >= 0
        cuda.reset_peak_memory_stats()
        cuda.empty_cache()
        assert axonal.accelerator.is_available()
        assert axonal.accelerator.current_accelerator() == axonal.device("cuda")
        assert axonal.accelerator.device_count() == 1
        x = axonal.arange(4.0)
        y = x.cuda()
        assert y.is_cuda and str(y.device) == "cuda:0" and y.to("cuda") is y
        assert x.to("cuda:0", non_blocking=True).is_cuda
        z = y.cpu()
        assert not z.is_cuda and z.numpy().tolist() == [0.0, 1.0, 2.0, 3.0]
        assert x.pin_memory() is not x and x.pin_memory().numpy().tolist() == x.numpy().tolist()
        with pytest.raises(RuntimeError):
            y.pin_memory()
        with pytest.raises(TypeError):
            y.numpy()  # a device tensor converts only through .cpu()
        with pytest.raises(TypeError, match="cpu"):
            np.asarray(y)  # as PyTorch: no implicit device-to-host copy


def test_unavailable_error_is_both_kinds():
    assert issubclass(backend.CudaUnavailableError, RuntimeError)
    assert issubclass(backend.CudaUnavailableError, AssertionError)


def test_checkpoint_saved_on_device_loads_on_cpu(tmp_path):
    axonal.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3), nn.ReLU(), nn.Linear(3, 2))
    opt = axonal.optim.Adam(model.parameters(), lr=1e-2)
    x = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
    path = tmp_path / "gpu.pt"
    with fake_device():
        model.to("cuda")
        model(axonal.tensor(x).cuda()).sum().backward()
        opt.step()
        ref = {k: v.cpu().numpy().copy() for k, v in model.state_dict().items()}
        axonal.save({"model": model.state_dict(), "optim": opt.state_dict(), "t": axonal.ones(2)
                     .cuda()}, path)
    loaded = axonal.load(path)  # no device module now: a CPU-only machine
    assert not loaded["t"].is_cuda and loaded["t"].numpy().tolist() == [1.0, 1.0]
    fresh = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3), nn.ReLU(), nn.Linear(3, 2))
    fresh.load_state_dict(loaded["model"])
    for k, v in fresh.state_dict().items():
        assert not v.is_cuda
        np.testing.assert_array_equal(v.numpy(), ref[k], err_msg=k)
    opt2 = axonal.optim.Adam(fresh.parameters(), lr=1e-2)
    opt2.load_state_dict(loaded["optim"])
    fresh(axonal.tensor(x)).sum().backward()
    opt2.step()  # the restored moments are host arrays
