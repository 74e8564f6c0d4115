"""CTCLoss, TripletMarginLoss, TripletMarginWithDistanceLoss, MultiMarginLoss,
MultiLabelMarginLoss, MultiLabelSoftMarginLoss, PairwiseDistance, CosineSimilarity and their
functional forms (with pdist) against torch: values and input gradients for each reduction, on two
shapes, float32 and float64, non-contiguous inputs; float64 finite differences."""
import numpy as np
import pytest

import axonal
import axonal.nn as nn
import axonal.nn.functional as F
from axonal.autograd import gradcheck

torch = pytest.importorskip("torch")
TF = torch.nn.functional
TOL = {np.float32: 1e-4, np.float64: 1e-10}


def _nc(x):
    """A non-contiguous array with the values of x."""
    if x.ndim < 2:
        return np.repeat(x, 2)[::2]
    return np.ascontiguousarray(np.swapaxes(x, -1, -2)).swapaxes(-1, -2)


def run(fa, ft, arrays, consts=(), dtype=np.float64, seed=0):
    """fa(*tensors, *consts) vs ft(...): outputs and the gradients of every float array."""
    rng = np.random.default_rng(seed)
    arrays = [_nc(a.astype(dtype)) for a in arrays]
    xa = [axonal.tensor(a, requires_grad=True) for a in arrays]
    xt = [torch.tensor(a, requires_grad=True) for a in arrays]
    ya = fa(*xa, *[axonal.tensor(c) if isinstance(c, np.ndarray) else c for c in consts])
    yt = ft(*xt, *[torch.tensor(c) if isinstance(c, np.ndarray) else c for c in consts])
    assert tuple(ya.shape) == tuple(yt.shape)
    tol = TOL[dtype]
    np.testing.assert_allclose(ya.detach().numpy(), yt.detach().numpy(), rtol=tol, atol=tol)
    g = rng.standard_normal(tuple(yt.shape)).astype(dtype)
    ya.backward(axonal.tensor(g))
    yt.backward(torch.tensor(g))
    for a, t in zip(xa, xt):
        np.testing.assert_allclose(a.grad.numpy(), t.grad.numpy(), rtol=tol, atol=tol)


DT = [np.float32, np.float64]
RED = ["none", "mean", "sum"]


@pytest.mark.parametrize("dtype", DT)
@pytest.mark.parametrize("reduction", RED)
@pytest.mark.parametrize("shape", [(5, 4), (4,)])
def test_triplet_margin(shape, reduction, dtype):
    rng = np.random.default_rng(1)
    a, p, n = (rng.standard_normal(shape) for _ in range(3))
    for kw in ({}, {"margin": 2.0, "p": 1.0, "swap": True}):
        m, tm = nn.TripletMarginLoss(reduction=reduction, **kw), \
            torch.nn.TripletMarginLoss(reduction=reduction, **kw)
        run(m, tm, [a, p, n], dtype=dtype)
    assert repr(nn.TripletMarginLoss()) == repr(torch.nn.TripletMarginLoss())


@pytest.mark.parametrize("dtype", DT)
def test_triplet_with_distance(dtype):
    rng = np.random.default_rng(2)
    a, p, n = (rng.standard_normal((6, 3)) for _ in range(3))
    run(nn.TripletMarginWithDistanceLoss(), torch.nn.TripletMarginWithDistanceLoss(), [a, p, n],
        dtype=dtype)
    assert repr(nn.TripletMarginWithDistanceLoss()) == \
        repr(torch.nn.TripletMarginWithDistanceLoss())

    def cos_a(x, y):
        return 1 - F.cosine_similarity(x, y)

    def cos_t(x, y):
        return 1 - TF.cosine_similarity(x, y)

    run(nn.TripletMarginWithDistanceLoss(distance_function=cos_a, margin=0.5, swap=True,
                                         reduction="none"),
        torch.nn.TripletMarginWithDistanceLoss(distance_function=cos_t, margin=0.5, swap=True,
                                               reduction="none"), [a, p, n], dtype=dtype)


@pytest.mark.parametrize("dtype", DT)
@pytest.mark.parametrize("reduction", RED)
def test_multi_margin(reduction, dtype):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((6, 4))
    y = rng.integers(0, 4, 6)
    w = rng.random(4)
    for kw in ({}, {"p": 2, "margin": 0.7}):
        run(nn.MultiMarginLoss(reduction=reduction, **kw),
            torch.nn.MultiMarginLoss(reduction=reduction, **kw), [x], (y,), dtype)
        ma = nn.MultiMarginLoss(weight=axonal.tensor(w.astype(dtype)), reduction=reduction, **kw)
        mt = torch.nn.MultiMarginLoss(weight=torch.tensor(w.astype(dtype)), reduction=reduction,
                                      **kw)
        assert list(ma.state_dict()) == list(mt.state_dict()) == ["weight"]
        run(ma, mt, [x], (y,), dtype)
    # unbatched: the output has the target's shape
    run(nn.MultiMarginLoss(reduction=reduction), torch.nn.MultiMarginLoss(reduction=reduction),
        [x[0]], (y[:1],), dtype)


@pytest.mark.parametrize("dtype", DT)
@pytest.mark.parametrize("reduction", RED)
def test_multilabel_margin(reduction, dtype):
    rng = np.random.default_rng(4)
    x = rng.standard_normal((5, 4))
    y = np.array([[3, 0, -1, 1], [0, 1, 2, 3], [1, -1, 2, 2], [-1, 0, 0, 0], [2, 2, -1, 0]])
    run(nn.MultiLabelMarginLoss(reduction=reduction),
        torch.nn.MultiLabelMarginLoss(reduction=reduction), [x], (y,), dtype)
    run(nn.MultiLabelMarginLoss(reduction=reduction),
        torch.nn.MultiLabelMarginLoss(reduction=reduction), [x[0]], (y[0],), dtype)


@pytest.mark.parametrize("dtype", DT)
@pytest.mark.parametrize("reduction", RED)
@pytest.mark.parametrize("shape", [(5, 4), (2, 3, 4)])
def test_multilabel_soft_margin(shape, reduction, dtype):
    rng = np.random.default_rng(5)
    x = rng.standard_normal(shape)
    y = rng.integers(0, 2, shape).astype(dtype)
    w = rng.random(shape[-1]).astype(dtype)
    run(nn.MultiLabelSoftMarginLoss(reduction=reduction),
        torch.nn.MultiLabelSoftMarginLoss(reduction=reduction), [x], (y,), dtype)
    run(nn.MultiLabelSoftMarginLoss(weight=axonal.tensor(w), reduction=reduction),
        torch.nn.MultiLabelSoftMarginLoss(weight=torch.tensor(w), reduction=reduction), [x],
        (y,), dtype)


@pytest.mark.parametrize("dtype", DT)
def test_distances(dtype):
    rng = np.random.default_rng(6)
    a, b = rng.standard_normal((5, 4)), rng.standard_normal((1, 4))
    run(nn.PairwiseDistance(), torch.nn.PairwiseDistance(), [a, b], dtype=dtype)
    run(nn.PairwiseDistance(p=3, keepdim=True), torch.nn.PairwiseDistance(p=3, keepdim=True),
        [a[0], b[0]], dtype=dtype)
    run(nn.CosineSimilarity(), torch.nn.CosineSimilarity(), [a, b], dtype=dtype)
    run(nn.CosineSimilarity(dim=0), torch.nn.CosineSimilarity(dim=0),
        [rng.standard_normal((3, 2, 4)), rng.standard_normal((3, 1, 4))], dtype=dtype)
    run(lambda x: F.pdist(x, 1.5), lambda x: TF.pdist(x, 1.5), [a], dtype=dtype)
    assert repr(nn.PairwiseDistance()) == repr(torch.nn.PairwiseDistance())


def _ctc_case(rng, t=12, n=4, c=5):
    logits = rng.standard_normal((t, n, c))
    tg = rng.integers(1, c, (n, 6))
    tg[1, 1] = tg[1, 0]  # a repeated label needs a blank between the two
    return logits, tg, [t, t - 2, 7, t], [6, 3, 2, 0]


@pytest.mark.parametrize("dtype", DT)
@pytest.mark.parametrize("reduction", RED)
@pytest.mark.parametrize("form", ["padded", "concatenated"])
def test_ctc_loss(form, reduction, dtype):
    rng = np.random.default_rng(7)
    logits, tg, il, tl = _ctc_case(rng)
    if form == "concatenated":
        tg = np.concatenate([tg[i, :tl[i]] for i in range(len(tl))])

    def fa(x, *rest):
        return nn.CTCLoss(reduction=reduction)(F.log_softmax(x, 2), *rest)

    def ft(x, *rest):
        return torch.nn.CTCLoss(reduction=reduction)(x.log_softmax(2), *rest)

    run(fa, ft, [logits], (tg, il, tl), dtype)
    # lengths as tensors, blank elsewhere
    run(lambda x, *r: F.ctc_loss(F.log_softmax(x, 2), *r, blank=4, reduction=reduction),
        lambda x, *r: TF.ctc_loss(x.log_softmax(2), *r, blank=4, reduction=reduction),
        [logits], (tg - 1, np.array(il), np.array(tl)), dtype)


def test_ctc_raw_log_probs_zero_infinity_unbatched():
    rng = np.random.default_rng(8)
    logits, tg, il, tl = _ctc_case(rng)
    lp = np.log(np.abs(rng.standard_normal(logits.shape)))  # not normalized: PyTorch's gradient
    run(lambda x, *r: F.ctc_loss(x, *r), lambda x, *r: TF.ctc_loss(x, *r), [lp], (tg, il, tl))
    il[0] = 2  # too short for 6 labels: an infinite loss
    run(lambda x, *r: F.ctc_loss(F.log_softmax(x, 2), *r, reduction="none", zero_infinity=True),
        lambda x, *r: TF.ctc_loss(x.log_softmax(2), *r, reduction="none", zero_infinity=True),
        [logits], (tg, il, tl))
    la = F.ctc_loss(F.log_softmax(axonal.tensor(logits), 2), axonal.tensor(tg), il, tl,
                    reduction="none")
    assert np.isinf(la.numpy()[0])
    run(lambda x, *r: F.ctc_loss(F.log_softmax(x, 1), *r),
        lambda x, *r: TF.ctc_loss(x.log_softmax(1), *r), [logits[:, 0]], (tg[0], [12], [6]))


FD = [
    ("triplet", lambda a, p, n: F.triplet_margin_loss(a, p, n, margin=3.0, swap=True),
     [(3, 4)] * 3),
    ("multi_margin", lambda x: F.multi_margin_loss(x, axonal.tensor([0, 2, 1]), p=2, margin=3.0),
     [(3, 4)]),
    ("multilabel_margin",
     lambda x: F.multilabel_margin_loss(x, axonal.tensor([[1, 0, -1], [2, -1, 0], [0, 1, 2]])),
     [(3, 3)]),
    ("multilabel_soft_margin",
     lambda x: F.multilabel_soft_margin_loss(x, axonal.tensor([[1.0, 0.0, 1.0]])), [(2, 3)]),
    ("cosine_similarity", lambda a, b: F.cosine_similarity(a, b), [(3, 4), (3, 4)]),
    ("pdist", lambda x: F.pdist(x), [(4, 3)]),
    ("ctc", lambda x: F.ctc_loss(F.log_softmax(x, 2), axonal.tensor([[1, 1], [2, 0]]), [5, 4],
                                 [2, 1]), [(5, 2, 3)]),
]


@pytest.mark.parametrize("name,fn,shapes", FD, ids=[f[0] for f in FD])
def test_finite_differences(name, fn, shapes):
    rng = np.random.default_rng(9)
    inputs = [axonal.tensor(rng.standard_normal(s), requires_grad=True) for s in shapes]
    assert gradcheck(fn, inputs, eps=1e-6, atol=1e-6, rtol=1e-4)


def test_errors():
    with pytest.raises(ValueError, match="margin"):
        nn.TripletMarginLoss(margin=0.0)
    with pytest.raises(ValueError, match="p == 1 and p == 2"):
        nn.MultiMarginLoss(p=3)
    with pytest.raises(IndexError, match="target"):
        F.multi_margin_loss(axonal.randn(2, 3), axonal.tensor([0, 3]))
    with pytest.raises(ValueError, match="input_lengths"):
        F.ctc_loss(axonal.randn(4, 1, 3), axonal.tensor([[1]]), [5], [1])


def test_nll_loss_2d_is_the_deprecated_nll_loss():
    rng = np.random.default_rng(10)
    x = rng.standard_normal((2, 3, 4, 5))
    y = rng.integers(0, 3, (2, 4, 5))
    with pytest.warns(FutureWarning, match="NLLLoss2d"):
        ma = nn.NLLLoss2d(ignore_index=1)
    with pytest.warns(FutureWarning):
        mt = torch.nn.NLLLoss2d(ignore_index=1)
    assert repr(ma) == repr(mt) and isinstance(ma, nn.NLLLoss)
    run(lambda a, t: ma(F.log_softmax(a, 1), t), lambda a, t: mt(a.log_softmax(1), t), [x],
        (y,))
