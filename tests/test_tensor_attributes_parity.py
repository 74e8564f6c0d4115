"""Tensor attributes and predicates against PyTorch: shape, size, strides, offsets, byte sizes,
dtype predicates and conversions of the same data, on float32 and float64 tensors of several
shapes, contiguous and not (transposed, strided, sliced views), tagged with the PyTorch names they
prove (tests/_parity.py)."""
import numpy as np
import pytest

import axonal

torch = pytest.importorskip("torch")

# (label, shape, view) -> the same values and layout in both libraries
VIEWS = {
    "c": lambda a: a,
    "T": lambda a: a.T,
    "s": lambda a: a[..., ::2],
    "sliced": lambda a: a[1:, 1:],
}


def _pair(shape, view, dtype):
    base = np.random.default_rng(len(shape) + len(view)).standard_normal(shape).astype(dtype)
    return VIEWS[view](axonal.from_numpy(base)), VIEWS[view](torch.from_numpy(base))


CASES = [((3, 4), v, d) for v in VIEWS for d in (np.float32, np.float64)] + \
    [((2, 3, 4), "T", np.float32), ((5,), "s", np.float64), ((2, 6), "s", np.float32)]


def _ids():
    return [f"{'x'.join(map(str, s))}-{v}-{np.dtype(d).name}" for s, v, d in CASES]


@pytest.mark.torch_parity("Tensor.dim", "Tensor.ndim", "Tensor.ndimension", "Tensor.numel",
                          "Tensor.nelement", "Tensor.element_size", "Tensor.itemsize",
                          "Tensor.nbytes", "Tensor.shape", "Tensor.size", "Tensor.stride",
                          "Tensor.storage_offset", "Tensor.is_contiguous",
                          "Tensor.is_floating_point", "Tensor.is_complex", "Tensor.is_signed",
                          "torch.numel", "torch.is_floating_point", "torch.is_complex",
                          "torch.is_signed", "Tensor.is_same_size", "torch.is_same_size",
                          "Tensor.tolist")
@pytest.mark.parametrize("shape,view,dtype", CASES, ids=_ids())
def test_attributes_match_torch(shape, view, dtype):
    a, t = _pair(shape, view, dtype)
    assert a.dim() == t.dim() and a.ndim == t.ndim and a.ndimension() == t.ndimension()
    assert a.numel() == t.numel() == axonal.numel(a) == torch.numel(t)
    assert a.nelement() == t.nelement()
    assert a.element_size() == t.element_size() and a.itemsize == t.itemsize
    assert a.nbytes == t.nbytes
    assert tuple(a.shape) == tuple(t.shape) and tuple(a.size()) == tuple(t.size())
    assert all(a.size(d) == t.size(d) for d in range(-a.ndim, a.ndim))
    assert tuple(a.stride()) == tuple(t.stride())
    assert all(a.stride(d) == t.stride(d) for d in range(a.ndim))
    assert a.storage_offset() == t.storage_offset()
    assert a.is_contiguous() == t.is_contiguous()
    for name in ("is_floating_point", "is_complex", "is_signed"):
        assert getattr(a, name)() == getattr(t, name)(), name
        assert getattr(axonal, name)(a) == getattr(torch, name)(t), name
    other = _pair(shape[::-1], "c", dtype)
    assert a.is_same_size(other[0]) == t.is_same_size(other[1])
    assert axonal.is_same_size(a, a) and torch.is_same_size(t, t)
    assert a.tolist() == t.tolist()
    c, tc = a.contiguous(), t.contiguous()
    assert c.is_contiguous() and tuple(c.stride()) == tuple(tc.stride())
    np.testing.assert_array_equal(c.numpy(), tc.numpy())
    k, tk = a.clone(), t.clone()
    assert tuple(k.stride()) == tuple(tk.stride()) or not t.is_contiguous()
    np.testing.assert_array_equal(k.numpy(), tk.numpy())


@pytest.mark.torch_parity("Tensor.is_nonzero", "torch.is_nonzero", "Tensor.item")
@pytest.mark.parametrize("value", [0.0, -1.5, 2.0])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
def test_is_nonzero_and_item(value, dtype):
    for shape in ((), (1,), (1, 1)):
        arr = np.full(shape, value).astype(dtype)
        a, t = axonal.from_numpy(arr), torch.from_numpy(arr)
        assert a.is_nonzero() == t.is_nonzero() == axonal.is_nonzero(a)
        assert a.item() == t.item() and type(a.item()) is type(t.item())
    for arr in (np.zeros(2, dtype), np.zeros(0, dtype)):
        with pytest.raises(RuntimeError) as ours:
            axonal.from_numpy(arr).is_nonzero()
        with pytest.raises(RuntimeError) as theirs:
            torch.from_numpy(arr).is_nonzero()
        assert str(ours.value) == str(theirs.value)
