"""PyTorch's import paths and small names that blocked real programs (issue 15): the
`torch.nn.modules.<file>.<Class>` paths, `nn.DataParallel`, `nn.parallel.DistributedDataParallel`,
`utils.data.distributed.DistributedSampler`, `compile`/`jit` (run eagerly), the constants, the
legacy typed constructors, `LSTM.flatten_parameters` and `Dropout2d` on 2-D/3-D input, against
PyTorch 2.x."""
import importlib
import math
import warnings

import numpy as np
import pytest

import axonal
from axonal import nn

torch = pytest.importorskip("torch")

PATHS = [("linear", "Linear"), ("linear", "Identity"), ("conv", "Conv2d"), ("conv", "Conv1d"),
         ("module", "Module"), ("loss", "CrossEntropyLoss"), ("loss", "MSELoss"),
         ("activation", "ReLU"), ("activation", "MultiheadAttention"), ("batchnorm", "BatchNorm2d"),
         ("normalization", "LayerNorm"), ("dropout", "Dropout"), ("rnn", "LSTM"),
         ("rnn", "LSTMCell"), ("container", "Sequential"), ("container", "ModuleList"),
         ("pooling", "MaxPool2d"), ("sparse", "Embedding"), ("flatten", "Flatten"),
         ("transformer", "TransformerEncoderLayer"), ("upsampling", "Upsample"), ("fold", "Fold")]


@pytest.mark.parametrize("file,cls", PATHS)
def test_nn_modules_paths(file, cls):
    assert hasattr(importlib.import_module(f"torch.nn.modules.{file}"), cls)  # PyTorch's path
    ours = importlib.import_module(f"axonal.nn.modules.{file}")
    assert getattr(ours, cls) is getattr(nn, cls)
    assert getattr(axonal.nn.modules, cls) is getattr(nn, cls)


def _torch_files():
    import inspect
    import pkgutil

    import torch.nn.modules as tm
    for info in pkgutil.iter_modules(tm.__path__):
        if not info.name.startswith("_"):
            mod = importlib.import_module(f"torch.nn.modules.{info.name}")
            classes = sorted(n for n, o in vars(mod).items() if inspect.isclass(o) and
                             o.__module__ == mod.__name__ and not n.startswith("_"))
            if classes:
                yield info.name, classes


def test_every_torch_nn_modules_path_of_a_class_axonal_has():
    """For each file of torch.nn.modules and each class it defines: when axonal.nn has the class,
    axonal.nn.modules.<file>.<Class> is that class; when it does not, the path is missing too."""
    seen = 0
    for file, classes in _torch_files():
        if file == "linear_cross_entropy_options":  # an options dataclass, not a module
            continue
        ours = importlib.import_module(f"axonal.nn.modules.{file}")
        for cls in classes:
            have = cls in vars(nn) or cls in dir(nn)
            if have and isinstance(getattr(nn, cls, None), type):
                assert getattr(ours, cls, None) is getattr(nn, cls), f"{file}.{cls}"
                seen += 1
            else:
                assert not hasattr(ours, cls), f"{file}.{cls}: a path to a class nn lacks"
    assert seen >= 80


def test_data_parallel_runs_the_module_and_prefixes_keys():
    axonal.manual_seed(0)
    net = nn.Linear(3, 2)
    dp = nn.DataParallel(net, device_ids=[0])
    tdp = torch.nn.DataParallel(torch.nn.Linear(3, 2))
    assert dp.module is net and list(dp.state_dict()) == list(tdp.state_dict())
    x = axonal.randn(4, 3)
    np.testing.assert_array_equal(dp(x).detach().numpy(), net(x).detach().numpy())
    assert nn.parallel.DataParallel is nn.DataParallel


def test_distributed_paths_are_axonals_classes():
    from axonal.nn.parallel import DistributedDataParallel
    from axonal.utils.data.distributed import DistributedSampler
    assert DistributedDataParallel is axonal.distributed.DistributedDataParallel
    assert DistributedSampler is axonal.distributed.DistributedSampler
    assert torch.nn.parallel.DistributedDataParallel.__name__ == DistributedDataParallel.__name__
    sampler = DistributedSampler(list(range(10)), num_replicas=2, rank=1, shuffle=False)
    tsampler = torch.utils.data.distributed.DistributedSampler(list(range(10)), num_replicas=2,
                                                              rank=1, shuffle=False)
    assert list(sampler) == list(tsampler)


def test_compile_and_jit_run_eagerly():
    net = nn.Linear(2, 2)

    def f(x):
        return x * 2

    assert axonal.compile(net) is net and axonal.compile(f) is f
    assert axonal.compile(mode="max-autotune")(f) is f
    assert axonal.jit.script(net) is net and axonal.jit.trace(f, axonal.ones(2)) is f
    assert axonal.jit.ignore(f) is f and axonal.jit.ignore(drop=True)(f) is f


def test_constants():
    for name in ("pi", "e", "inf"):
        assert getattr(axonal, name) == getattr(torch, name) == getattr(math, name)
    assert math.isnan(axonal.nan) and math.isnan(torch.nan)


TYPED = ["FloatTensor", "DoubleTensor", "LongTensor", "IntTensor", "BoolTensor", "ByteTensor",
         "HalfTensor", "ShortTensor", "CharTensor"]


@pytest.mark.parametrize("name", TYPED)
def test_typed_constructors_and_isinstance(name):
    A, T = getattr(axonal, name), getattr(torch, name)
    for args in [(3, 4), ([1, 0, 2],), ([[1.0, 0.0], [2.5, 3.0]],), ()]:
        if name in ("FloatTensor", "DoubleTensor", "HalfTensor") or args != ([[1.0, 0.0],
                                                                                [2.5, 3.0]],):
            a, t = A(*args), T(*args)
            assert tuple(a.shape) == tuple(t.shape)
            assert a.dtype.name == str(t.dtype).replace("torch.", "")
            if args and not isinstance(args[0], int):
                np.testing.assert_array_equal(a.numpy(), t.numpy())
    for other in TYPED:
        a = axonal.zeros(2, dtype=getattr(axonal, other).dtype)
        t = torch.zeros(2, dtype=getattr(torch, other).dtype)
        assert isinstance(a, A) == isinstance(t, T) == (other == name)
    assert not isinstance(np.zeros(2), A)


def test_lstm_flatten_parameters_is_a_noop():
    axonal.manual_seed(0)
    lstm = nn.LSTM(3, 4, num_layers=2)
    x = axonal.randn(5, 2, 3)
    before = lstm(x)[0].detach().numpy()
    assert lstm.flatten_parameters() is None
    torch.nn.LSTM(3, 4).flatten_parameters()
    np.testing.assert_array_equal(lstm(x)[0].detach().numpy(), before)


def _warnings_of(fn):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fn()
    return [str(w.message) for w in caught]


@pytest.mark.parametrize("shape", [(64, 32), (16, 8, 6), (4, 6, 3, 3)])
def test_dropout2d_ranks_as_torch(shape):
    a_out = []
    a_warn = _warnings_of(lambda: a_out.append(nn.Dropout2d(0.5)(axonal.ones(*shape))))
    t_warn = _warnings_of(lambda: torch.nn.Dropout2d(0.5)(torch.ones(*shape)))
    assert a_warn == t_warn  # same words, same count (none for 4-D)
    y = a_out[0].numpy()
    assert y.shape == shape and set(np.unique(y)) <= {0.0, 2.0}
    # one draw per (N, C) entry: constant over the trailing dims (2-D: element-wise)
    per = y.reshape(shape[0], shape[1], -1)
    assert np.all(per == per[..., :1])
    assert 0.3 < (per[..., 0] == 0).mean() < 0.7


def test_every_nn_class_is_on_its_torch_modules_path():
    """A class axonal.nn has is importable from the torch.nn.modules.<file> PyTorch defines it in
    (the path files pick classes by name from where they live: a new home must be a source)."""
    import importlib
    import pkgutil

    torch_modules = pytest.importorskip("torch.nn.modules")
    missing = []
    for info in pkgutil.iter_modules(torch_modules.__path__):
        try:
            tmod = importlib.import_module(f"torch.nn.modules.{info.name}")
            amod = importlib.import_module(f"axonal.nn.modules.{info.name}")
        except ImportError:
            continue
        for name, obj in vars(tmod).items():
            if isinstance(obj, type) and obj.__module__ == tmod.__name__ \
                    and hasattr(axonal.nn, name) and not hasattr(amod, name):
                missing.append(f"{info.name}.{name}")
    assert not missing
