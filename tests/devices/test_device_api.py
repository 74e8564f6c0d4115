"""The device API on a CPU-only machine, side by side with a CPU-only PyTorch: torch.accelerator,
torch.cuda, torch.backends, the deterministic / matmul-precision switches, torch.device's parser
and the Tensor device properties. Each case is called on both libraries and must give the same
value or raise in the same family (AssertionError for "not compiled with CUDA", RuntimeError for
"no accelerator")."""
import pickle
import warnings

import pytest

import axonal

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.skipif(axonal.cuda.is_available() or torch.cuda.is_available(),
                                reason="compares the CPU-only answers")


def _answer(fn):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            value = fn()
        except AssertionError:
            return ("raises", "AssertionError")
        except RuntimeError:  # Axonal's errors may also be ValueErrors; PyTorch's family first
            return ("raises", "RuntimeError")
        except (ValueError, TypeError) as e:
            return ("raises", type(e).__name__)
    if isinstance(value, (torch.device, axonal.device)):
        return ("device", repr(value))
    if isinstance(value, dict):
        return ("dict", dict(value))
    return ("value", value)


CASES = {
    "accelerator.is_available": lambda m: m.accelerator.is_available(),
    "accelerator.current_accelerator": lambda m: m.accelerator.current_accelerator(),
    "accelerator.current_accelerator(check)":
        lambda m: m.accelerator.current_accelerator(check_available=True),
    "accelerator.device_count": lambda m: m.accelerator.device_count(),
    "accelerator.current_device_index": lambda m: m.accelerator.current_device_index(),
    "accelerator.current_device_idx": lambda m: m.accelerator.current_device_idx(),
    "accelerator.set_device_index": lambda m: m.accelerator.set_device_index(0),
    "accelerator.synchronize": lambda m: m.accelerator.synchronize(),
    "accelerator.current_stream": lambda m: m.accelerator.current_stream(),
    "accelerator.memory_allocated": lambda m: m.accelerator.memory.memory_allocated(),
    "accelerator.empty_cache": lambda m: m.accelerator.memory.empty_cache(),
    "accelerator.device_index(None)": lambda m: m.accelerator.device_index(None).__enter__() and 1,
    "accelerator.device_index(0)": lambda m: m.accelerator.device_index(0).__enter__(),
    "cuda.is_available": lambda m: m.cuda.is_available(),
    "cuda.device_count": lambda m: m.cuda.device_count(),
    "cuda.is_initialized": lambda m: m.cuda.is_initialized(),
    "cuda.init": lambda m: m.cuda.init(),
    "cuda.manual_seed": lambda m: m.cuda.manual_seed(5),
    "cuda.manual_seed_all": lambda m: m.cuda.manual_seed_all(5),
    "cuda.seed": lambda m: m.cuda.seed(),
    "cuda.seed_all": lambda m: m.cuda.seed_all(),
    "cuda.initial_seed": lambda m: m.cuda.initial_seed(),
    "cuda.get_rng_state": lambda m: m.cuda.get_rng_state(),
    "cuda.get_rng_state_all": lambda m: m.cuda.get_rng_state_all(),
    "cuda.set_rng_state_all": lambda m: m.cuda.set_rng_state_all([]),
    "cuda.synchronize": lambda m: m.cuda.synchronize(),
    "cuda.empty_cache": lambda m: m.cuda.empty_cache(),
    "cuda.memory_allocated": lambda m: m.cuda.memory_allocated(),
    "cuda.max_memory_allocated": lambda m: m.cuda.max_memory_allocated(),
    "cuda.memory_reserved": lambda m: m.cuda.memory_reserved(),
    "cuda.max_memory_reserved": lambda m: m.cuda.max_memory_reserved(),
    "cuda.memory_stats": lambda m: m.cuda.memory_stats(),
    "cuda.get_device_name": lambda m: m.cuda.get_device_name(),
    "cuda.get_device_name(0)": lambda m: m.cuda.get_device_name(0),
    "cuda.get_device_capability": lambda m: m.cuda.get_device_capability(),
    "cuda.get_device_properties": lambda m: m.cuda.get_device_properties(0),
    "cuda.current_device": lambda m: m.cuda.current_device(),
    "cuda.current_stream": lambda m: m.cuda.current_stream(),
    "cuda.set_device(cpu)": lambda m: m.cuda.set_device("cpu"),
    "cuda.mem_get_info": lambda m: m.cuda.mem_get_info(),
    "cuda.ipc_collect": lambda m: m.cuda.ipc_collect(),
    "cuda.get_arch_list": lambda m: m.cuda.get_arch_list(),
    "cuda.is_bf16_supported": lambda m: m.cuda.is_bf16_supported(),
    "cuda.Stream": lambda m: m.cuda.Stream(),
    "cuda.Event": lambda m: m.cuda.Event(enable_timing=True),
    "cuda.device(0)": lambda m: m.cuda.device(0).__enter__(),
    "cuda.device(-1)": lambda m: m.cuda.device(-1).__enter__() and 1,
    "cuda.device_of(cpu tensor)": lambda m: m.cuda.device_of(m.ones(2)).__enter__() and 1,
    "cuda.stream(None)": lambda m: m.cuda.stream(None).__enter__(),
    "backends.cuda.is_built": lambda m: m.backends.cuda.is_built(),
    "cudnn.enabled": lambda m: m.backends.cudnn.enabled,
    "cudnn.benchmark": lambda m: m.backends.cudnn.benchmark,
    "cudnn.benchmark_limit": lambda m: m.backends.cudnn.benchmark_limit,
    "cudnn.deterministic": lambda m: m.backends.cudnn.deterministic,
    "cudnn.allow_tf32": lambda m: m.backends.cudnn.allow_tf32,
    "cudnn.is_available": lambda m: m.backends.cudnn.is_available(),
    "cudnn.version": lambda m: m.backends.cudnn.version(),
    "mps.is_available": lambda m: m.backends.mps.is_available(),
    "mps.is_built": lambda m: m.backends.mps.is_built(),
    "matmul.allow_tf32": lambda m: m.backends.cuda.matmul.allow_tf32,
    "matmul.fp16_reduction":
        lambda m: m.backends.cuda.matmul.allow_fp16_reduced_precision_reduction,
    "matmul.bf16_reduction":
        lambda m: m.backends.cuda.matmul.allow_bf16_reduced_precision_reduction,
    "mkldnn.enabled": lambda m: m.backends.mkldnn.enabled,
    "flash_sdp_enabled": lambda m: m.backends.cuda.flash_sdp_enabled(),
    "math_sdp_enabled": lambda m: m.backends.cuda.math_sdp_enabled(),
    "get_float32_matmul_precision": lambda m: m.get_float32_matmul_precision(),
    "are_deterministic_algorithms_enabled": lambda m: m.are_deterministic_algorithms_enabled(),
    "warn_only_enabled": lambda m: m.is_deterministic_algorithms_warn_only_enabled(),
    "get_deterministic_debug_mode": lambda m: m.get_deterministic_debug_mode(),
    "cpu.is_available": lambda m: m.cpu.is_available(),
    "cpu.device_count": lambda m: m.cpu.device_count(),
    "cpu.current_device": lambda m: m.cpu.current_device(),
    "cpu.synchronize": lambda m: m.cpu.synchronize(),
    "cpu.set_device": lambda m: m.cpu.set_device("cpu"),
    "cpu.is_initialized": lambda m: m.cpu.is_initialized(),
    "tensor.is_cuda": lambda m: m.ones(2).is_cuda,
    "tensor.is_cpu": lambda m: m.ones(2).is_cpu,
    "tensor.is_xpu": lambda m: m.ones(2).is_xpu,
    "tensor.is_mps": lambda m: m.ones(2).is_mps,
    "tensor.is_meta": lambda m: m.ones(2).is_meta,
    "tensor.get_device": lambda m: m.ones(2).get_device(),
    "tensor.device": lambda m: m.ones(2).device,
    "tensor.pin_memory": lambda m: m.ones(2).pin_memory(),
    "tensor.is_pinned": lambda m: m.ones(2).is_pinned(),
    "tensor.cuda": lambda m: m.ones(2).cuda(),
    "tensor.to(cuda)": lambda m: m.ones(2).to("cuda", non_blocking=True),
    "tensor.to(device(cuda))": lambda m: m.ones(2).to(m.device("cuda")),
    "ones(device=cuda)": lambda m: m.ones(2, device="cuda"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_cpu_only_answers_match_torch(name):
    call = CASES[name]
    assert _answer(lambda: call(axonal)) == _answer(lambda: call(torch)), name


DEVICE_SPECS = [("cpu",), ("cuda",), ("cuda:1",), ("cuda", 1), ("cpu", 0), ("cpu:0",), ("mps",),
                ("meta",), ("xpu",), ("gpu",), ("cuda:-1",), ("cpu", -1), ("cuda:01",), (0,),
                ("cuda:1", 2), ("cuda:x",)]


@pytest.mark.parametrize("spec", DEVICE_SPECS, ids=str)
def test_device_parser_as_torch(spec):
    def parts(m):
        d = m.device(*spec)
        return (d.type, d.index, str(d), repr(d))
    assert _answer(lambda: parts(axonal)) == _answer(lambda: parts(torch))


def test_device_equality_hash_and_copy():
    pairs = [("cuda", "cuda:0"), ("cpu", "cpu:0"), ("cuda:1", "cuda:1"), ("cpu", "cpu")]
    for a, b in pairs:
        assert (axonal.device(a) == axonal.device(b)) == (torch.device(a) == torch.device(b))
    assert hash(axonal.device("cuda:1")) == hash(axonal.device("cuda", 1))
    d = axonal.device("cuda:1")
    assert pickle.loads(pickle.dumps(d)) == d
    assert axonal.device(d) == d and axonal.device(type="cuda", index=2).index == 2


def test_cpu_moves_return_self_and_ignore_non_blocking():
    x = axonal.ones(3)
    for dev in ("cpu", "cpu:0", axonal.device("cpu"), axonal.device("cpu", 0)):
        assert x.to(dev) is x and x.to(dev, non_blocking=True) is x
        assert torch.ones(3).to(str(dev)).device.type == "cpu"
    y = x.to("cpu", axonal.float64, non_blocking=True)
    assert y.dtype is axonal.float64
    with pytest.raises(RuntimeError, match="meta"):
        x.to("meta")  # torch has meta tensors; Axonal says so instead of running on the CPU


def test_deterministic_switches_as_torch():
    for call in [lambda m: m.use_deterministic_algorithms(True),
                 lambda m: m.use_deterministic_algorithms(True, warn_only=True),
                 lambda m: m.set_deterministic_debug_mode("error"),
                 lambda m: m.set_deterministic_debug_mode(1),
                 lambda m: m.set_deterministic_debug_mode("bad"),
                 lambda m: m.set_deterministic_debug_mode(3),
                 lambda m: m.use_deterministic_algorithms(False)]:
        assert _answer(lambda c=call: c(axonal)) == _answer(lambda c=call: c(torch))
        assert (torch.are_deterministic_algorithms_enabled(),
                torch.is_deterministic_algorithms_warn_only_enabled(),
                torch.get_deterministic_debug_mode()) == \
               (axonal.are_deterministic_algorithms_enabled(),
                axonal.is_deterministic_algorithms_warn_only_enabled(),
                axonal.get_deterministic_debug_mode())
    assert axonal.get_deterministic_debug_mode() == torch.get_deterministic_debug_mode() == 0


def test_matmul_precision_and_tf32_flag_are_coupled():
    try:
        for p in ("high", "medium", "highest", "medium"):
            axonal.set_float32_matmul_precision(p)
            torch.set_float32_matmul_precision(p)
            assert axonal.get_float32_matmul_precision() == torch.get_float32_matmul_precision()
            assert axonal.backends.cuda.matmul.allow_tf32 == torch.backends.cuda.matmul.allow_tf32
        # the legacy flag sets the precision (torch refuses to mix the two APIs, so ours alone)
        axonal.backends.cuda.matmul.allow_tf32 = False
        assert axonal.get_float32_matmul_precision() == "highest"
        axonal.backends.cuda.matmul.allow_tf32 = True
        with pytest.warns(UserWarning, match="no effect"):
            axonal.set_float32_matmul_precision("fast")
        assert axonal.get_float32_matmul_precision() == "high"
    finally:
        axonal.set_float32_matmul_precision("highest")
        torch.set_float32_matmul_precision("highest")


def test_cudnn_flags_context_restores():
    for m in (axonal, torch):
        with m.backends.cudnn.flags(enabled=False, benchmark=True):
            assert m.backends.cudnn.enabled is False and m.backends.cudnn.benchmark is True
        assert m.backends.cudnn.enabled is True and m.backends.cudnn.benchmark is False
    axonal.backends.cudnn.benchmark = True
    try:
        assert axonal.backends.cudnn.benchmark is True
    finally:
        axonal.backends.cudnn.benchmark = False


def test_bfloat16_on_cuda_raises_clearly(monkeypatch):
    import pathlib

    # the strict fake CuPy device of tests/gpu
    monkeypatch.syspath_prepend(str(pathlib.Path(__file__).resolve().parents[1] / "gpu"))
    fake_device = __import__("fake_cupy").fake_device

    with fake_device():
        with pytest.raises(TypeError, match="bfloat16 tensors on cuda"):
            axonal.ones(2).bfloat16().cuda()
        assert axonal.ones(2).half().cuda().dtype is axonal.float16
