"""The three silent differences from PyTorch that issue 15 found (legacy `Tensor(3, 4)`, child order
after re-assignment, torchvision's ToTensor on a tensor), `Tensor.__format__`, and the error for a
PyTorch name Axonal lacks, each compared with PyTorch 2.x."""
import traceback

import numpy as np
import pytest

import axonal
from axonal.utils.transforms import ToTensor

torch = pytest.importorskip("torch")


# -- torch.Tensor's legacy constructor ----------------------------------------------------------
@pytest.mark.parametrize("args", [(3, 4), (5,), (), (2, 0, 3)])
def test_tensor_ints_are_a_shape(args):
    a, t = axonal.Tensor(*args), torch.Tensor(*args)
    assert tuple(a.shape) == tuple(t.shape)
    assert str(a.dtype) == str(t.dtype).replace("torch", "axonal") == "axonal.float32"
    assert a.requires_grad is t.requires_grad is False
    assert np.all(a.numpy() == 0)  # PyTorch leaves it uninitialised; Axonal fills zeros


@pytest.mark.parametrize("data", [[3, 4], (3, 4), [[1.5, 2.0], [3.0, 4.0]], [7]])
def test_tensor_sequence_is_data(data):
    a, t = axonal.Tensor(data), torch.Tensor(data)
    np.testing.assert_array_equal(a.numpy(), t.numpy())
    assert a.dtype == axonal.float32 and not a.requires_grad


def test_tensor_size_is_a_shape_and_other_forms():
    assert tuple(axonal.Tensor(axonal.Size([2, 3])).shape) == \
        tuple(torch.Tensor(torch.Size([2, 3])).shape) == (2, 3)
    assert axonal.Tensor(3, 4, dtype=axonal.float64).dtype == axonal.float64  # Axonal's extra
    assert axonal.Tensor([1.0, 2.0], True).requires_grad  # Axonal's (data, requires_grad) form
    assert axonal.Tensor(data=[1.0]).shape == (1,)
    with pytest.raises(TypeError):
        axonal.Tensor([1], [2])


# -- Tensor.__format__ --------------------------------------------------------------------------
@pytest.mark.parametrize("spec", [".4f", "", ">10.2e", "g"])
def test_format_of_a_0d_tensor(spec):
    v = 1.23456789
    assert format(axonal.tensor(v, dtype=axonal.float64), spec) == \
        format(torch.tensor(v, dtype=torch.float64), spec)
    assert f"{axonal.tensor(3):d}" == f"{torch.tensor(3):d}"


def test_format_of_a_bigger_tensor():
    x = axonal.tensor([1.0, 2.0])
    assert f"{x}" == repr(x)
    for lib in (axonal, torch):
        with pytest.raises(TypeError, match="unsupported format string"):
            format(lib.tensor([1.0, 2.0]), ".2f")


# -- re-assigning a child keeps its place ------------------------------------------------------
def _net(lib):
    class Net(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = lib.nn.Linear(3, 4)
            self.mid = lib.nn.ReLU()
            self.fc = lib.nn.Linear(4, 2)
            self.scale = lib.nn.Parameter(lib.ones(2))
            self.bias2 = lib.nn.Parameter(lib.zeros(2))
            self.register_buffer("a", lib.zeros(1))
            self.register_buffer("b", lib.zeros(1))
    net = Net()
    net.conv1 = lib.nn.Linear(3, 4, bias=False)  # the siamese ResNet idiom: replace conv1
    net.scale = lib.nn.Parameter(lib.ones(2))
    net.a = lib.ones(1)
    return net


def test_reassigned_child_keeps_its_position():
    a, t = _net(axonal), _net(torch)
    assert [n for n, _ in a.named_children()] == [n for n, _ in t.named_children()] == \
        ["conv1", "mid", "fc"]
    assert [n for n, _ in a.named_modules()] == [n for n, _ in t.named_modules()]
    assert list(a.state_dict()) == list(t.state_dict())
    assert [n for n, _ in a.named_parameters()] == [n for n, _ in t.named_parameters()]
    assert a.conv1.bias is None


def test_changing_kind_moves_the_name():
    for lib in (axonal, torch):
        m = lib.nn.Module()
        m.c = lib.nn.Linear(1, 1)
        m.d = lib.nn.ReLU()
        m.c = lib.nn.Parameter(lib.ones(1))  # a child name re-assigned a parameter
        assert [n for n, _ in m.named_children()] == ["d"]
        assert [n for n, _ in m.named_parameters()] == ["c"]
        with pytest.raises(TypeError):
            m.c = lib.nn.Linear(1, 1)  # a parameter name takes only a Parameter or None


# -- torchvision's ToTensor refuses a tensor ------------------------------------------------------
def test_to_tensor_on_a_tensor_raises_as_torchvision():
    chw = axonal.rand(3, 8, 8)
    # torchvision 0.28: F.to_tensor raises TypeError("pic should be PIL Image or ndarray. Got ...")
    with pytest.raises(TypeError, match="pic should be PIL Image or ndarray"):
        ToTensor()(chw)
    out = ToTensor("CHW")(chw)  # an explicit layout is Axonal's own extension and reads as said
    np.testing.assert_array_equal(out.numpy(), chw.numpy())
    hwc = (np.arange(2 * 4 * 3) % 256).astype(np.uint8).reshape(2, 4, 3)
    np.testing.assert_allclose(ToTensor()(hwc).numpy(),
                               torch.from_numpy(hwc).permute(2, 0, 1).float().numpy() / 255)


# -- the error for a PyTorch name that Axonal lacks ----------------------------------------------
SPACES = [("axonal", "torch", "histogramdd"), ("axonal.nn", "torch.nn", "CrossMapLRN2d"),
          ("axonal.nn.functional", "torch.nn.functional", "conv_tbc"),
          ("axonal.optim", "torch.optim", "SparseAdam")]


@pytest.mark.parametrize("ours,theirs,name", SPACES)
def test_missing_torch_name_says_so(ours, theirs, name):
    import importlib
    mod, tmod = importlib.import_module(ours), importlib.import_module(theirs)
    assert hasattr(tmod, name) and not hasattr(mod, name)
    with pytest.raises(AttributeError, match=f"axonal does not implement {theirs}.{name} yet"):
        getattr(mod, name)
    with pytest.raises(AttributeError) as info:  # a name torch lacks too: the usual message
        mod.no_such_name_anywhere  # noqa: B018
    assert "does not implement" not in str(info.value)


def test_nearest_name_and_no_python_suggestion():
    try:
        axonal.nn.SyncBatchNorm  # noqa: B018
    except AttributeError:
        text = traceback.format_exc()
    assert "axonal does not implement torch.nn.SyncBatchNorm yet" in text
    assert "the nearest Axonal name is axonal.nn.BatchNorm3d" in text
    assert "Did you mean" not in text


def test_missing_tensor_method():
    x = axonal.ones(2)
    assert hasattr(torch.ones(2), "digamma") and not hasattr(x, "digamma")
    with pytest.raises(AttributeError, match="axonal does not implement torch.Tensor.digamma"):
        x.digamma  # noqa: B018
    with pytest.raises(AttributeError, match="has no attribute 'bogus_attr'"):
        x.bogus_attr  # noqa: B018
    assert getattr(x, "bogus_attr", 7) == 7 and x.sum().item() == 2.0


def test_nearest_name_is_offered_only_when_close():
    from axonal._compat import missing_name

    have = ["autograd", "logsumexp", "add"]
    assert "nearest" not in str(missing_name("torch", "histogramdd", have))  # not a spelling
    assert "nearest Axonal name is axonal.logsumexp" in str(
        missing_name("torch", "logcumsumexp", have))


@pytest.mark.parametrize("space,name", [("linalg", "qr"), ("special", "gammaln")])
def test_linalg_and_special_name_what_is_missing(space, name):
    with pytest.raises(AttributeError, match=f"axonal does not implement torch.{space}.{name} yet"):
        getattr(getattr(axonal, space), name)
