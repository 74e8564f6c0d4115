"""nn.init.sparse_ and the deprecated underscore-less aliases, against PyTorch's."""
import math
import warnings

import numpy as np
import pytest

import axonal
from axonal.nn import init

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("shape,sparsity", [((10, 7), 0.1), ((50, 40), 0.35), ((3, 5), 0.9)])
def test_sparse_zeros_per_column_as_torch(shape, sparsity):
    w = axonal.empty(*shape)
    t = torch.empty(*shape)
    assert init.sparse_(w, sparsity, std=0.5, generator=axonal.Generator().manual_seed(0)) is w
    torch.nn.init.sparse_(t, sparsity, std=0.5)
    zeros = (w.numpy() == 0).sum(axis=0)
    assert (zeros == (t.numpy() == 0).sum(axis=0)).all()
    assert (zeros == math.ceil(sparsity * shape[0])).all()


def test_sparse_values_are_normal_with_std():
    w = init.sparse_(axonal.empty(400, 300), 0.5, std=0.02, generator=axonal.Generator().manual_seed(1))
    nz = w.numpy()[w.numpy() != 0]
    assert abs(nz.std() - 0.02) < 0.001 and abs(nz.mean()) < 0.001


def test_sparse_rejects_non_matrices_as_torch():
    with pytest.raises(ValueError, match="2 dimensions"):
        init.sparse_(axonal.empty(3), 0.1)
    with pytest.raises(ValueError, match="2 dimensions"):
        torch.nn.init.sparse_(torch.empty(3), 0.1)


@pytest.mark.parametrize("old", ["uniform", "normal", "constant", "eye", "dirac", "sparse",
                                 "xavier_uniform", "xavier_normal", "kaiming_uniform",
                                 "kaiming_normal", "orthogonal"])
def test_deprecated_aliases_warn_like_torch(old):
    args = {"constant": (0.5,), "sparse": (0.2,)}.get(old, ())
    shape = (4, 3, 3) if old == "dirac" else (4, 3)
    with warnings.catch_warnings(record=True) as ours:
        warnings.simplefilter("always")
        w = getattr(init, old)(axonal.empty(*shape), *args)
    with warnings.catch_warnings(record=True) as theirs:
        warnings.simplefilter("always")
        getattr(torch.nn.init, old)(torch.empty(*shape), *args)
    assert [(type(m.message), str(m.message)) for m in ours] == [
        (type(m.message), str(m.message)) for m in theirs]
    assert ours[0].filename == __file__  # stacklevel points at the caller
    assert np.isfinite(w.numpy()).all()
