"""Axonal: a deep learning framework built from first principles on NumPy (CPU) and CuPy (GPU).

    import axonal
    x = axonal.randn(3, requires_grad=True)
    (x.tanh() ** 2).sum().backward()
    print(x.grad)
"""
from . import _threads  # first, and standard library only

_threads.configure_if_requested()  # AXONAL_THREADS=auto: the thread policy, before NumPy loads

# isort: split
from . import (  # noqa: E402  (PyTorch's namespaces; distributed imports MPI only when used)
    autograd,
    backend,
    datasets,
    distributed,
    distributions,
    func,
    nn,
    optim,
    random,
    train,
    utils,
)
from . import accelerator, backends, cpu, cuda  # noqa: E402  (torch.cuda/accelerator/backends answers)
from .backends import (  # noqa: E402  (torch's global switches, kept in backends)
    are_deterministic_algorithms_enabled,
    get_deterministic_debug_mode,
    get_float32_matmul_precision,
    is_deterministic_algorithms_warn_only_enabled,
    set_deterministic_debug_mode,
    set_float32_matmul_precision,
    use_deterministic_algorithms,
)
from ._config import enable_grad, is_grad_enabled, no_grad, set_grad_enabled  # noqa: E402
from ._dtype import bool_ as bool  # noqa: E402,A004
from ._dtype import (
    bfloat16,
    double,
    dtype,
    float,
    float16,
    float32,
    float64,
    get_default_dtype,
    half,
    int,
    int8,
    int16,
    int32,
    int64,
    long,
    set_default_dtype,
    short,
    uint8,
)
from ._errors import DTypeError, GraphError, ShapeError  # noqa: E402
from .backend import Device as device  # noqa: E402
from .ops import *  # noqa: E402,F401,F403
from .ops import coverage_methods as _coverage_methods  # noqa: E402,F401  (binds Tensor methods)
from .ops.combine import *  # noqa: E402,F401,F403
from .ops.pointwise import *  # noqa: E402,F401,F403
from .ops.scan import *  # noqa: E402,F401,F403
from .ops.copies import *  # noqa: E402,F401,F403
from .ops.discrete import *  # noqa: E402,F401,F403
from .ops.stats import *  # noqa: E402,F401,F403
from . import linalg, special  # noqa: E402  (after the star imports: ops' own linalg module)
from .linalg import det, inverse, logdet, matrix_power, slogdet  # noqa: E402
from .linalg import _cholesky_method as cholesky  # noqa: E402  (torch.cholesky(A, upper=False))

# torch.* names of functional forms whose signature is nn.functional's (torch.conv2d ...); those
# whose torch.* signature differs (embedding, batch_norm, the losses' int reductions) are not here
(celu, selu, threshold, prelu, conv1d, conv2d, conv_transpose1d, conv_transpose2d, bilinear,
 avg_pool1d, max_pool1d, max_pool2d, adaptive_avg_pool1d) = (getattr(nn.functional, _n) for _n in (
    "celu selu threshold prelu conv1d conv2d conv_transpose1d conv_transpose2d bilinear "
    "avg_pool1d max_pool1d max_pool2d adaptive_avg_pool1d").split())
from .random import (  # noqa: E402
    Generator,
    default_generator,
    get_rng_state,
    initial_seed,
    manual_seed,
    seed,
    set_rng_state,
)
from .serialization import CheckpointError, load, save  # noqa: E402
from .tensor import Size, Tensor  # noqa: E402

__version__ = "0.1.0"


def is_tensor(obj) -> bool:
    return isinstance(obj, Tensor)


def numel(x) -> int:
    return x.numel()


def set_num_threads(n: int) -> None:
    """Use `n` threads in Axonal's kernels and in the BLAS from now on (at run time; see
    `configure_threads` for the whole thread policy)."""
    _threads.set_num_threads(n)


def configure_threads() -> int:
    """Apply Axonal's thread policy (axonal/_threads.py): thread counts, short spins for the
    BLAS and OpenMP workers, one OpenMP pool with MKL. `import axonal` does not do it by itself,
    because its environment variables reach every library loaded afterwards. Here they reach the
    libraries not loaded yet and child processes, and the thread counts of those already loaded
    are set at run time; for all of it to apply, set AXONAL_THREADS=auto in the environment
    before Python starts instead. Returns the number of threads per pool."""
    return _threads.configure()


def get_num_threads() -> int:
    return _threads.get_num_threads()


import math as _math  # noqa: E402

from . import _compat, amp, jit, onnx
from .amp import autocast
from .amp.autocast_mode import (
    get_autocast_cpu_dtype,
    get_autocast_dtype,
    get_autocast_gpu_dtype,
    is_autocast_cpu_enabled,
    is_autocast_enabled,
)
from .cpu import amp as _cpu_amp  # torch.cpu.amp and torch.cuda.amp (above cpu/cuda in the layers)
from .cuda import amp as _cuda_amp
from .jit import compile  # noqa: A004  (torch.compile: runs eagerly, returns its argument)
from .utils.data import distributed as _data_distributed

# PyTorch's paths to the distributed classes, which live above nn and utils in the layers
nn.parallel.DistributedDataParallel = distributed.DistributedDataParallel
_data_distributed.DistributedSampler = distributed.DistributedSampler
utils.data.DistributedSampler = distributed.DistributedSampler  # torch.utils.data's name too

pi, e, inf, nan = _math.pi, _math.e, _math.inf, _math.nan
vmap = func.vmap  # torch.vmap is torch.func.vmap

# a PyTorch name that Axonal lacks: "axonal does not implement torch.X yet" (PEP 562 for the
# module; for Tensor, stand-in class attributes, installed once every method is bound)
__getattr__ = _compat.module_getattr("torch", globals())
ops.inplace_methods.install(Tensor, ops.inplace_methods.inplace_names())  # for methods bound late
_compat.install_missing(Tensor, "torch.Tensor")
