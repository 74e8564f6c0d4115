"""axonal.utils.data: datasets, samplers, collate and DataLoader, checked against PyTorch's semantics."""
import collections
import time

import numpy as np
import pytest

import axonal
from axonal.utils.data import (BatchSampler, ConcatDataset, DataLoader, Dataset, IterableDataset,
                               RandomSampler, SequentialSampler, Subset, SubsetRandomSampler,
                               TensorDataset, WeightedRandomSampler, default_collate, default_convert,
                               random_split)


def _xy(n=10, d=3):
    x = np.arange(n * d, dtype=np.float32).reshape(n, d)
    y = np.arange(n, dtype=np.int64)
    return x, y


def _ds(n=10, d=3):
    x, y = _xy(n, d)
    return TensorDataset(axonal.from_numpy(x), axonal.from_numpy(y))


def _labels(loader):
    return np.concatenate([b[1].numpy() for b in loader])


def _gen(seed):
    g = axonal.Generator()
    g.manual_seed(seed)
    return g


class _Range(Dataset):
    """A map-style dataset without the fast path: forces per-sample getitem + collate."""

    def __init__(self, n):
        self.n = n

    def __getitem__(self, i):
        if not 0 <= i < self.n:
            raise IndexError(i)
        return np.full(2, i, dtype=np.float32), i

    def __len__(self):
        return self.n


# ------------------------------------------------------------------------------------------- loader
@pytest.mark.parametrize("n,bs,drop_last,expected", [
    (10, 4, False, 3), (10, 4, True, 2), (8, 4, True, 2), (3, 5, False, 1), (3, 5, True, 0),
    (10, 1, False, 10)])
def test_len_and_batch_shapes(n, bs, drop_last, expected):
    loader = DataLoader(_ds(n), batch_size=bs, drop_last=drop_last)
    assert len(loader) == expected
    batches = list(loader)
    assert len(batches) == expected
    sizes = [b[0].shape[0] for b in batches]
    full = [bs] * (n // bs) + ([] if drop_last or n % bs == 0 else [n % bs])
    assert sizes == full
    for x, y in batches:
        assert tuple(x.shape)[1:] == (3,) and x.dtype == axonal.float32 and y.dtype == axonal.int64


def test_sequential_order_and_values():
    x, y = _xy(10)
    batches = list(DataLoader(_ds(10), batch_size=3))
    assert isinstance(batches[0], list)  # tuple samples collate to a list, as in PyTorch
    np.testing.assert_array_equal(np.concatenate([b[0].numpy() for b in batches]), x)
    np.testing.assert_array_equal(np.concatenate([b[1].numpy() for b in batches]), y)


@pytest.mark.torch
def test_matches_torch_dataloader_sequential():
    torch = pytest.importorskip("torch")
    x, y = _xy(23, 4)
    ours = list(DataLoader(TensorDataset(axonal.from_numpy(x), axonal.from_numpy(y)), batch_size=5,
                           drop_last=False))
    tds = torch.utils.data.TensorDataset(torch.from_numpy(x), torch.from_numpy(y))
    theirs = list(torch.utils.data.DataLoader(tds, batch_size=5))
    assert len(ours) == len(theirs)
    for (xa, ya), (xt, yt) in zip(ours, theirs):
        np.testing.assert_array_equal(xa.numpy(), xt.numpy())
        np.testing.assert_array_equal(ya.numpy(), yt.numpy())
    # per-sample collate of a dict dataset: same structure, dtypes and values
    samples = [{"a": np.full((2,), i, np.float32), "b": i, "c": (i * 0.5, "s")} for i in range(4)]
    ref = torch.utils.data.default_collate(samples)
    got = default_collate(samples)
    assert set(got) == set(ref)
    np.testing.assert_array_equal(got["a"].numpy(), ref["a"].numpy())
    np.testing.assert_array_equal(got["b"].numpy(), ref["b"].numpy())
    assert str(ref["b"].dtype) == "torch.int64" and got["b"].dtype == axonal.int64
    np.testing.assert_allclose(got["c"][0].numpy(), ref["c"][0].numpy())
    assert tuple(got["c"][1]) == tuple(ref["c"][1]) == ("s",) * 4


def test_shuffle_is_a_permutation_and_reproducible_with_generator():
    n = 97
    first = _labels(DataLoader(_ds(n), batch_size=8, shuffle=True, generator=_gen(3)))
    again = _labels(DataLoader(_ds(n), batch_size=8, shuffle=True, generator=_gen(3)))
    other = _labels(DataLoader(_ds(n), batch_size=8, shuffle=True, generator=_gen(4)))
    assert sorted(first.tolist()) == list(range(n))
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)
    assert not np.array_equal(first, np.arange(n))
    # successive epochs of one loader continue the generator: new order, still a permutation
    loader = DataLoader(_ds(n), batch_size=8, shuffle=True, generator=_gen(3))
    e1, e2 = _labels(loader), _labels(loader)
    np.testing.assert_array_equal(e1, first)
    assert not np.array_equal(e1, e2) and sorted(e2.tolist()) == list(range(n))


def test_shuffle_reproducible_after_manual_seed():
    def run():
        axonal.manual_seed(1234)
        loader = DataLoader(_ds(50), batch_size=7, shuffle=True)
        return _labels(loader), _labels(loader)

    (a1, a2), (b1, b2) = run(), run()
    np.testing.assert_array_equal(a1, b1)
    np.testing.assert_array_equal(a2, b2)
    assert not np.array_equal(a1, a2)


def test_fast_path_equals_per_sample_path():
    ds = _ds(37, 5)
    slow_collate = lambda batch: default_collate(batch)  # not default_collate itself: no fast path
    for make in (lambda c: DataLoader(ds, batch_size=6, shuffle=True, generator=_gen(9), collate_fn=c),
                 lambda c: DataLoader(Subset(ds, list(range(30, 3, -2))), batch_size=4, collate_fn=c),
                 lambda c: DataLoader(ds, batch_size=10, drop_last=True, shuffle=True, generator=_gen(1),
                                      collate_fn=c)):
        fast, slow = list(make(None)), list(make(slow_collate))
        assert len(fast) == len(slow) > 0
        for (xf, yf), (xs, ys) in zip(fast, slow):
            np.testing.assert_array_equal(xf.numpy(), xs.numpy())
            np.testing.assert_array_equal(yf.numpy(), ys.numpy())
            assert xf.dtype == xs.dtype and yf.dtype == ys.dtype


def test_custom_sampler_batch_sampler_and_no_autobatch():
    ds = _Range(10)
    got = _labels(DataLoader(ds, batch_size=3, sampler=[9, 0, 5, 5]))
    np.testing.assert_array_equal(got, [9, 0, 5, 5])
    bs = [[1, 2], [7], [0, 3, 4]]
    batches = list(DataLoader(ds, batch_sampler=bs))
    assert [b[1].numpy().tolist() for b in batches] == bs and len(DataLoader(ds, batch_sampler=bs)) == 3
    single = list(DataLoader(ds, batch_size=None))
    assert len(single) == 10 and isinstance(single[3], list)
    assert tuple(single[3][0].shape) == (2,) and single[3][1] == 3  # default_convert: ints stay ints


def test_iterable_dataset():
    class Stream(IterableDataset):
        def __iter__(self):
            return iter(range(11))

        def __len__(self):
            return 11

    loader = DataLoader(Stream(), batch_size=4)
    assert [b.numpy().tolist() for b in loader] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10]]
    assert len(loader) == 3 and len(DataLoader(Stream(), batch_size=4, drop_last=True)) == 2
    assert len(list(DataLoader(Stream(), batch_size=4, drop_last=True))) == 2
    with pytest.raises(ValueError, match="shuffle"):
        DataLoader(Stream(), shuffle=True)
    with pytest.raises(ValueError, match="sampler"):
        DataLoader(Stream(), sampler=[0])


# ------------------------------------------------------------------------------------ bad arguments
@pytest.mark.parametrize("bs", [0, -3, 2.5, True])
def test_bad_batch_size(bs):
    with pytest.raises(ValueError, match=f"batch_size={bs!r}"):
        DataLoader(_ds(), batch_size=bs)
    with pytest.raises(ValueError, match="batch_size"):
        BatchSampler(SequentialSampler(range(4)), bs, False)


def test_bad_loader_arguments():
    ds = _ds()
    with pytest.raises(ValueError, match="sampler option is mutually exclusive with shuffle"):
        DataLoader(ds, shuffle=True, sampler=SequentialSampler(ds))
    with pytest.raises(ValueError, match="batch_sampler option is mutually exclusive"):
        DataLoader(ds, batch_size=4, batch_sampler=[[0, 1]])
    with pytest.raises(ValueError, match="batch_sampler option is mutually exclusive"):
        DataLoader(ds, shuffle=True, batch_sampler=[[0, 1]])
    with pytest.raises(ValueError, match="drop_last"):
        DataLoader(ds, batch_size=None, drop_last=True)
    with pytest.raises(ValueError, match="num_workers"):
        DataLoader(ds, num_workers=-1)
    with pytest.raises(ValueError, match="persistent_workers"):
        DataLoader(ds, persistent_workers=True)
    with pytest.raises(ValueError, match="prefetch_factor"):
        DataLoader(ds, prefetch_factor=2)
    loader = DataLoader(ds, batch_size=2)
    with pytest.raises(ValueError, match="batch_size attribute should not be set"):
        loader.batch_size = 4
    assert len(list(DataLoader(ds, batch_size=5, num_workers=2))) == 2  # worker processes


def test_random_split():
    ds = _ds(10)
    parts = random_split(ds, [3, 7], generator=_gen(0))
    assert [len(p) for p in parts] == [3, 7]
    idx = sorted(parts[0].indices + parts[1].indices)
    assert idx == list(range(10))
    again = random_split(ds, [3, 7], generator=_gen(0))
    assert parts[0].indices == again[0].indices
    # fractions: floor, then the remainder round-robin from the first split (torch's rule)
    assert [len(p) for p in random_split(range(10), [0.33, 0.33, 0.34], generator=_gen(0))] == [4, 3, 3]
    assert [len(p) for p in random_split(range(30), [0.3, 0.3, 0.4], generator=_gen(0))] == [9, 9, 12]
    with pytest.raises(ValueError, match=r"Sum of input lengths \(9\) does not equal the length "
                                         r"of the input dataset \(10\)"):
        random_split(ds, [4, 5])
    with pytest.raises(ValueError, match="fractions"):
        random_split(ds, [0.3, 0.3])
    with pytest.raises(ValueError, match="between 0 and 1"):
        random_split(ds, [1.5, -0.5])


@pytest.mark.torch
def test_random_split_lengths_match_torch():
    torch = pytest.importorskip("torch")
    for n, fracs in [(10, [0.33, 0.33, 0.34]), (7, [0.5, 0.5]), (101, [0.8, 0.1, 0.1]), (5, [0.1, 0.9])]:
        ours = [len(p) for p in random_split(range(n), fracs, generator=_gen(0))]
        theirs = [len(p) for p in torch.utils.data.random_split(range(n), fracs)]
        assert ours == theirs


def test_datasets_concat_subset_tensor():
    a, b = _ds(4), _ds(3)
    cat = a + b
    assert isinstance(cat, ConcatDataset) and len(cat) == 7 and cat.cumulative_sizes == [4, 7]
    assert int(cat[5][1].item()) == 1 and int(cat[-1][1].item()) == 2 and int(cat[3][1].item()) == 3
    with pytest.raises(IndexError):
        cat[7]
    sub = Subset(a, [3, 1])
    assert len(sub) == 2 and int(sub[0][1].item()) == 3
    with pytest.raises(ValueError, match=r"Size mismatch between tensors.*\(4, 3\)"):
        TensorDataset(axonal.zeros(4, 2), axonal.zeros(3))
    x, y = a[2]
    assert tuple(x.shape) == (3,) and tuple(y.shape) == () and y.dtype == axonal.int64


# --------------------------------------------------------------------------------------- samplers
def test_samplers():
    assert list(SequentialSampler(range(4))) == [0, 1, 2, 3]
    seq = SequentialSampler(range(10))
    assert list(BatchSampler(seq, 3, False)) == [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]
    assert list(BatchSampler(seq, 3, True)) == [[0, 1, 2], [3, 4, 5], [6, 7, 8]]
    rs = RandomSampler(range(10), replacement=True, num_samples=25, generator=_gen(0))
    draws = list(rs)
    assert len(rs) == len(draws) == 25 and all(0 <= i < 10 for i in draws)
    over = list(RandomSampler(range(4), num_samples=10, generator=_gen(0)))
    assert len(over) == 10 and sorted(over[:4]) == [0, 1, 2, 3] and sorted(over[4:8]) == [0, 1, 2, 3]
    with pytest.raises(ValueError, match="num_samples=0"):
        RandomSampler(range(4), num_samples=0)
    with pytest.raises(TypeError, match="replacement"):
        RandomSampler(range(4), replacement=1)
    sub = list(SubsetRandomSampler([5, 7, 9], generator=_gen(0)))
    assert sorted(sub) == [5, 7, 9]
    w = list(WeightedRandomSampler([0, 0, 1, 0], 5, generator=_gen(0)))
    assert w == [2] * 5
    # iterating a sampler by hand consumes the generator exactly as the loader's fast path does
    by_hand = list(RandomSampler(range(20), generator=_gen(5)))
    loader = DataLoader(_ds(20), batch_size=6, shuffle=True, generator=_gen(5))
    assert _labels(loader).tolist() == by_hand


# ---------------------------------------------------------------------------------------- collate
def test_default_collate_types_and_nesting():
    Point = collections.namedtuple("Point", "x y")
    batch = [{"img": axonal.from_numpy(np.full((2, 2), i, np.float32)), "label": i, "w": i / 2,
              "flag": i % 2 == 0, "pt": Point(np.int32(i), [i, i + 1]), "name": f"s{i}"}
             for i in range(3)]
    out = default_collate(batch)
    assert tuple(out["img"].shape) == (3, 2, 2) and out["img"].dtype == axonal.float32
    assert out["label"].dtype == axonal.int64 and out["label"].numpy().tolist() == [0, 1, 2]
    assert out["w"].dtype == axonal.float32 and out["w"].numpy().tolist() == [0.0, 0.5, 1.0]
    assert out["flag"].dtype == axonal.bool and out["flag"].numpy().tolist() == [True, False, True]
    assert isinstance(out["pt"], Point) and out["pt"].x.dtype == axonal.int32
    assert [t.numpy().tolist() for t in out["pt"].y] == [[0, 1, 2], [1, 2, 3]]
    assert out["name"] == ["s0", "s1", "s2"]
    arr = default_collate([np.zeros((2, 3), np.float64), np.ones((2, 3), np.float64)])
    assert tuple(arr.shape) == (2, 2, 3) and arr.dtype == axonal.float64
    conv = default_convert({"a": np.arange(3), "b": (np.float32(1.5), "x")})
    assert conv["a"].numpy().tolist() == [0, 1, 2] and conv["b"][1] == "x"


def test_default_collate_errors_name_the_culprit():
    with pytest.raises(RuntimeError, match=r"\(2,\) at entry 0 and \(3,\) at entry 2"):
        default_collate([np.zeros(2), np.zeros(2), np.zeros(3)])
    with pytest.raises(RuntimeError, match=r"\(2, 2\) at entry 0 and \(2, 1\) at entry 1"):
        default_collate([axonal.zeros(2, 2), axonal.zeros(2, 1)])
    with pytest.raises(TypeError, match="element 1 is str"):
        default_collate([1, "a"])
    with pytest.raises(TypeError, match="element 0 of the batch is a Tensor but element 1 is "
                                        "numpy.ndarray"):
        default_collate([axonal.zeros(2), np.zeros(2)])
    with pytest.raises(TypeError, match="found NoneType"):
        default_collate([None, None])
    with pytest.raises(TypeError, match="dtype <U1|dtype object"):
        default_collate([np.array(["a"]), np.array(["b"])])
    with pytest.raises(RuntimeError, match=r"equal size; got lengths \[2, 3\]"):
        default_collate([(1, 2), (1, 2, 3)])
    with pytest.raises(KeyError, match="'b' of element 0 is missing from element 1"):
        default_collate([{"a": 1, "b": 2}, {"a": 1}])


# ------------------------------------------------------------------------------------------ speed
def test_tensor_dataset_loader_fast_path_is_much_faster():
    """A shuffled epoch over a TensorDataset costs one gather per batch, not one getitem per sample."""
    x = np.random.default_rng(0).random((20000, 784), dtype=np.float32)
    ds = TensorDataset(axonal.from_numpy(x), axonal.from_numpy(np.arange(20000) % 10))

    def epoch_seconds(collate_fn):
        loader = DataLoader(ds, batch_size=64, shuffle=True, generator=_gen(0), collate_fn=collate_fn)
        best = float("inf")
        for _ in range(2):
            start = time.perf_counter()
            n = sum(b[0].shape[0] for b in loader)
            best = min(best, time.perf_counter() - start)
        assert n == 20000
        return best

    fast = epoch_seconds(None)
    slow = epoch_seconds(lambda batch: default_collate(batch))  # per-sample getitem + stack
    assert fast * 3 < slow, f"fast path {fast:.4f} s vs per-sample path {slow:.4f} s"
