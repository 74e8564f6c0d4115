"""StackDataset and utils.data.DistributedSampler against PyTorch's."""
import numpy as np
import pytest

import axonal
from axonal.utils import data as ad

torch = pytest.importorskip("torch")
from torch.utils import data as td  # noqa: E402


def _pair(lib_data, lib):
    xs = lib.from_numpy(np.arange(12, dtype=np.float32).reshape(6, 2))
    ys = lib.from_numpy(np.arange(6, dtype=np.int64))
    return lib_data.TensorDataset(xs), lib_data.TensorDataset(ys), xs, ys


@pytest.mark.parametrize("named", [False, True])
def test_stack_dataset_items_and_loader_match_torch(named):
    got = {}
    for name, lib, d in (("ax", axonal, ad), ("t", torch, td)):
        a, b, _, _ = _pair(d, lib)
        ds = d.StackDataset(x=a, y=b) if named else d.StackDataset(a, b)
        item = ds[4]
        batches = list(d.DataLoader(ds, batch_size=4))
        got[name] = (len(ds), item, batches, ds.__getitems__([0, 5]))
    assert got["ax"][0] == got["t"][0] == 6
    for ours, theirs in zip(got["ax"][1:], got["t"][1:]):  # item, loader batches, __getitems__
        assert _plain(ours) == _plain(theirs)


def _plain(obj):
    """The nested structure with container types kept and tensors as (dtype kind, nested list)."""
    if isinstance(obj, dict):
        return {"dict": {k: _plain(v) for k, v in obj.items()}}
    if isinstance(obj, (list, tuple)):
        return (type(obj).__name__, [_plain(v) for v in obj])
    a = obj.numpy()
    return (a.dtype.kind, a.tolist())


def test_stack_dataset_errors_as_torch():
    a, b, _, _ = _pair(ad, axonal)
    ta, tb, _, _ = _pair(td, torch)
    short = ad.TensorDataset(axonal.zeros(3, 1))
    for ours, theirs in ((lambda: ad.StackDataset(a, y=b), lambda: td.StackDataset(ta, y=tb)),
                         (lambda: ad.StackDataset(), lambda: td.StackDataset())):
        with pytest.raises(ValueError) as e1:
            ours()
        with pytest.raises(ValueError) as e2:
            theirs()
        assert str(e1.value) == str(e2.value)
    with pytest.raises(ValueError, match="size mismatch"):
        ad.StackDataset(a, short)


def test_distributed_sampler_under_utils_data():
    assert ad.DistributedSampler is axonal.distributed.DistributedSampler
    s = ad.DistributedSampler(list(range(10)), num_replicas=2, rank=1, shuffle=False)
    t = td.DistributedSampler(list(range(10)), num_replicas=2, rank=1, shuffle=False)
    assert list(s) == list(t)
