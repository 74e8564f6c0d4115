"""Losses against PyTorch 2.x (value and gradients of every differentiable input, float32 and
float64, every option), gradcheck / gradgradcheck in float64, numerical extremes, errors, the fused
cross-entropy primitive and the loss modules."""
import itertools
import warnings

import numpy as np
import pytest

import axonal
from axonal.autograd import gradcheck, gradgradcheck
import axonal.nn.functional as F
from axonal.kernels._thresholds import THRESHOLDS

torch = pytest.importorskip("torch")
TF = torch.nn.functional
torch.set_num_threads(1)   # the oracle's tiny ops are ~100x slower when its threads contend

TOL = {np.float32: {"rtol": 1e-5, "atol": 1e-6}, np.float64: {"rtol": 1e-10, "atol": 1e-12}}
RED = ("none", "mean", "sum")
_r = np.random.default_rng(1234)   # fixed inputs so the parametrization is deterministic


def _n(*shape, scale=1.0):
    return _r.standard_normal(shape) * scale


def _u(*shape, lo=0.0, hi=1.0):
    return _r.uniform(lo, hi, shape)


def _labels(shape, c, ignore=None, n_ignored=2):
    t = _r.integers(0, c, shape)
    if ignore is not None:
        t.reshape(-1)[:n_ignored] = ignore
    return t


def _sign(*shape):
    return np.where(_r.random(shape) < 0.5, -1.0, 1.0)


def _probs(*shape):
    e = np.exp(_n(*shape))
    return e / e.sum(1 if len(shape) > 1 else 0, keepdims=True)


def _cases():
    """(id, loss name, positional arrays, indices that get gradients, keyword args)."""
    c = []
    x, y, w = _n(4, 5), _n(4, 5), _u(4, 5)
    for red in RED:
        c += [(f"mse-{red}", "mse_loss", [x, y], (0, 1), {"reduction": red}),
              (f"mse-w-{red}", "mse_loss", [x, y], (0, 1), {"reduction": red, "weight": w}),
              (f"l1-{red}", "l1_loss", [x, y], (0, 1), {"reduction": red}),
              (f"l1-w-{red}", "l1_loss", [x, y], (0, 1), {"reduction": red, "weight": w})]
        for beta in (0.0, 0.5, 1.0):
            c.append((f"smoothl1-{beta}-{red}", "smooth_l1_loss", [x, y], (0, 1),
                      {"reduction": red, "beta": beta}))
        for delta in (0.5, 2.0):
            c.append((f"huber-{delta}-{red}", "huber_loss", [x, y], (0, 1),
                      {"reduction": red, "delta": delta}))
        c.append((f"huber-w-{red}", "huber_loss", [x, y], (0, 1), {"reduction": red, "weight": w}))
        p, q = _u(4, 5, lo=0.05, hi=0.95), _u(4, 5)
        c += [(f"bce-{red}", "binary_cross_entropy", [p, q], (0, 1), {"reduction": red}),
              (f"bce-w-{red}", "binary_cross_entropy", [p, q], (0, 1),
               {"reduction": red, "weight": _u(5)})]
        for wt, pw in itertools.product((None, _u(4, 5)), (None, _u(5, lo=0.5, hi=3))):
            c.append((f"bcel-{wt is None}-{pw is None}-{red}", "binary_cross_entropy_with_logits",
                      [_n(4, 5, scale=3), q], (0, 1),
                      {"reduction": red, "weight": wt, "pos_weight": pw}))
        # cross-entropy with class indices: every combination of options
        for wt, ign, ls in itertools.product((None, _u(5, lo=0.2, hi=2)), (None, -100, 3),
                                             (0.0, 0.25)):
            t = _labels((6,), 5, ign)
            kw = dict(reduction=red, weight=wt, label_smoothing=ls,
                      **({} if ign is None else {"ignore_index": ign}))
            c.append((f"ce-{wt is None}-{ign}-{ls}-{red}", "cross_entropy", [_n(6, 5, scale=2), t],
                      (0,), kw))
        c += [(f"ce-spatial-{red}", "cross_entropy", [_n(2, 4, 3, 2), _labels((2, 3, 2), 4, -100)],
               (0,), {"reduction": red, "weight": _u(4), "label_smoothing": 0.1}),
              (f"ce-1d-{red}", "cross_entropy", [_n(5), np.array(3)], (0,), {"reduction": red}),
              (f"nll-{red}", "nll_loss", [_n(6, 5), _labels((6,), 5, -100)], (0,),
               {"reduction": red, "weight": _u(5)}),
              (f"nll-spatial-{red}", "nll_loss", [_n(2, 3, 4), _labels((2, 4), 3, 1)], (0,),
               {"reduction": red, "ignore_index": 1})]
        for wt, ls in itertools.product((None, _u(5)), (0.0, 0.3)):   # class-probability targets
            for grads in ((0,), (0, 1)):   # fused primitive / composed (target needs a gradient)
                c.append((f"ce-prob-{wt is None}-{ls}-{grads}-{red}", "cross_entropy",
                          [_n(6, 5), _probs(6, 5)], grads,
                          {"reduction": red, "weight": wt, "label_smoothing": ls}))
        c += [(f"ce-prob-spatial-{red}", "cross_entropy", [_n(2, 3, 4), _probs(2, 3, 4)], (0,),
               {"reduction": red}),
              (f"ce-prob-1d-{red}", "cross_entropy", [_n(4), _probs(4)], (0,),
               {"reduction": red, "label_smoothing": 0.1}),
              (f"nll-1d-{red}", "nll_loss", [_n(4), np.array(2)], (0,), {"reduction": red})]
        for lt in (False, True):
            tgt = np.log(_probs(4, 5)) if lt else _probs(4, 5)
            c.append((f"kl-{lt}-{red}", "kl_div", [np.log(_probs(4, 5)), tgt], (0, 1),
                      {"reduction": red, "log_target": lt}))
        for full in (False, True):
            v = _u(4, 5, lo=0.1, hi=2)
            v[0, :2] = 1e-9   # below eps: clamped value, straight-through gradient
            for var in (v, _u(4, lo=0.1, hi=2), _u(4, 1, lo=0.1, hi=2)):
                c.append((f"gnll-{full}-{var.shape}-{red}", "gaussian_nll_loss", [x, y, var],
                          (0, 1, 2), {"reduction": red, "full": full}))
            c.append((f"gnll-float-{full}-{red}", "gaussian_nll_loss", [x, y, 0.7], (0, 1),
                      {"reduction": red, "full": full}))
        for log_input, full in itertools.product((True, False), (False, True)):
            inp = _n(4, 5) if log_input else _u(4, 5, lo=0.1, hi=3)
            c.append((f"poisson-{log_input}-{full}-{red}", "poisson_nll_loss",
                      [inp, _r.integers(0, 5, (4, 5)).astype(float)], (0,),
                      {"reduction": red, "log_input": log_input, "full": full}))
        for m in (0.0, 0.5):
            c += [(f"rank-{m}-{red}", "margin_ranking_loss", [_n(8), _n(8), _sign(8)], (0, 1),
                   {"reduction": red, "margin": m}),
                  (f"hinge-{m}-{red}", "hinge_embedding_loss", [_n(8), _sign(8)], (0,),
                   {"reduction": red, "margin": m + 0.5}),
                  (f"cos-{m}-{red}", "cosine_embedding_loss", [_n(4, 6), _n(4, 6), _sign(4)],
                   (0, 1), {"reduction": red, "margin": m})]
        c += [(f"cos-1d-{red}", "cosine_embedding_loss", [_n(6), _n(6), np.array(-1.0)], (0, 1),
               {"reduction": red, "margin": -0.9}),
              (f"softmargin-{red}", "soft_margin_loss", [_n(4, 5, scale=3), _sign(4, 5)], (0,),
               {"reduction": red})]
    return c


CASES = _cases()


def _to(lib, v, dtype, rg=False):
    if not isinstance(v, np.ndarray):
        return v
    v = v.astype(dtype) if v.dtype.kind == "f" else v
    return axonal.tensor(v, requires_grad=rg) if lib == "ax" else torch.tensor(v, requires_grad=rg)


def _run_both(name, arrays, grads, kw, dtype, seed=0):
    xa = [_to("ax", a, dtype, i in grads) for i, a in enumerate(arrays)]
    xt = [_to("th", a, dtype, i in grads) for i, a in enumerate(arrays)]
    kwa = {k: _to("ax", v, dtype) for k, v in kw.items()}
    kwt = {k: _to("th", v, dtype) for k, v in kw.items()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out, ref = getattr(F, name)(*xa, **kwa), getattr(TF, name)(*xt, **kwt)
    assert out.dtype == getattr(axonal, str(ref.dtype).split(".")[-1])
    assert tuple(out.shape) == tuple(ref.shape)
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), **TOL[dtype])
    up = np.random.default_rng(seed).standard_normal(tuple(ref.shape)).astype(dtype)
    ga = axonal.autograd.grad([out], [xa[i] for i in grads], [axonal.tensor(up)])
    gt = torch.autograd.grad(ref, [xt[i] for i in grads], torch.tensor(up))
    for i, a, b in zip(grads, ga, gt):
        np.testing.assert_allclose(a.numpy(), b.numpy(), err_msg=f"gradient of input {i}",
                                   **TOL[dtype])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_matches_torch(case, dtype):
    _, name, arrays, grads, kw = case
    _run_both(name, arrays, grads, kw, dtype)


# -- finite differences ----------------------------------------------------------------------------
def _t(a, rg=True):
    return axonal.tensor(np.asarray(a, dtype=np.float64), requires_grad=rg)


W4, W5, Y6, Y3 = _t(_u(4), False), _t(_u(5), False), _t(_sign(6), False), _t(_sign(3), False)
GRADCHECK = {   # name -> (fn of float64 tensors, inputs); constants are bound outside the fns
    "mse": (lambda a, b: F.mse_loss(a, b), [_t(_n(3, 4)), _t(_n(3, 4))]),
    "l1": (lambda a, b: F.l1_loss(a, b, reduction="sum"), [_t(_n(3, 4)), _t(_n(3, 4))]),
    "smooth_l1": (lambda a, b: F.smooth_l1_loss(a, b, beta=0.7), [_t(_n(3, 4)), _t(_n(3, 4))]),
    "huber": (lambda a, b: F.huber_loss(a, b, delta=0.6, reduction="none"),
              [_t(_n(3, 4)), _t(_n(3, 4))]),
    "bce": (lambda a, b: F.binary_cross_entropy(a, b, weight=W4),
            [_t(_u(3, 4, lo=0.1, hi=0.9)), _t(_u(3, 4))]),
    "bce_logits": (lambda a, b, p: F.binary_cross_entropy_with_logits(a, b, pos_weight=p),
                   [_t(_n(3, 4)), _t(_u(3, 4)), _t(_u(4, lo=0.5, hi=2))]),
    "ce": (lambda a: F.cross_entropy(a, axonal.tensor([0, 3, -100, 2]), weight=W5,
                                     label_smoothing=0.2), [_t(_n(4, 5))]),
    "ce_spatial_none": (lambda a: F.cross_entropy(a, axonal.tensor([[0, 2], [1, 1]]),
                                                  reduction="none"), [_t(_n(2, 3, 2))]),
    "ce_prob": (lambda a, b: F.cross_entropy(a, b), [_t(_n(3, 4)), _t(_probs(3, 4))]),
    "nll": (lambda a: F.nll_loss(a, axonal.tensor([1, 0, 2]), reduction="sum"), [_t(_n(3, 4))]),
    "kl": (lambda a, b: F.kl_div(a, b, reduction="batchmean"), [_t(_n(3, 4)), _t(_u(3, 4))]),
    "kl_log": (lambda a, b: F.kl_div(a, b, log_target=True, reduction="sum"),
               [_t(_n(3, 4)), _t(_n(3, 4))]),
    "gaussian_nll": (lambda a, b, v: F.gaussian_nll_loss(a, b, v, full=True),
                     [_t(_n(3, 4)), _t(_n(3, 4)), _t(_u(3, lo=0.5, hi=2))]),
    "poisson": (lambda a, b: F.poisson_nll_loss(a, b, log_input=False, full=True),
                [_t(_u(3, 4, lo=0.5, hi=2)), _t(_u(3, 4, lo=0.0, hi=4))]),
    "margin_ranking": (lambda a, b: F.margin_ranking_loss(a, b, Y6, margin=0.3),
                       [_t(_n(6)), _t(_n(6))]),
    "hinge": (lambda a: F.hinge_embedding_loss(a, Y6), [_t(_n(6))]),
    "soft_margin": (lambda a: F.soft_margin_loss(a, Y6), [_t(_n(6))]),
    "cosine": (lambda a, b: F.cosine_embedding_loss(a, b, Y3, margin=0.1),
               [_t(_n(3, 4)), _t(_n(3, 4))]),
}


@pytest.mark.parametrize("name", list(GRADCHECK))
def test_gradcheck(name):
    fn, inputs = GRADCHECK[name]
    assert gradcheck(fn, inputs)


@pytest.mark.parametrize("name", ["ce", "ce_spatial_none", "ce_prob", "bce", "bce_logits", "kl"])
def test_gradgradcheck(name):
    fn, inputs = GRADCHECK[name]
    assert gradgradcheck(fn, inputs)


@pytest.mark.parametrize("kw", [{}, {"weight": [1.0, 2.0, 0.5, 1.5], "ignore_index": 1,
                                         "label_smoothing": 0.1, "reduction": "sum"}])
def test_cross_entropy_double_backward_matches_torch(kw):
    x, t, v = _n(5, 4), np.array([0, 1, 3, 2, 1]), _n(5, 4)
    xa, xt = _t(x), torch.tensor(x, requires_grad=True)
    kwa = {k: axonal.tensor(val) if isinstance(val, list) else val for k, val in kw.items()}
    kwt = {k: torch.tensor(val, dtype=torch.float64) if isinstance(val, list) else val
           for k, val in kw.items()}
    (ga,) = axonal.autograd.grad([F.cross_entropy(xa, axonal.tensor(t), **kwa)], [xa],
                                 create_graph=True)
    (gt,) = torch.autograd.grad(TF.cross_entropy(xt, torch.tensor(t), **kwt), xt,
                                create_graph=True)
    (ga * _t(v, False)).sum().backward()
    (gt * torch.tensor(v)).sum().backward()   # Hessian-vector products
    np.testing.assert_allclose(xa.grad.numpy(), xt.grad.numpy(), rtol=1e-10, atol=1e-12)


# -- numerical extremes and ignored targets --------------------------------------------------------
BIG = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, 1e4], [1e4, 1e4, -1e4], [0.0, 1e4, -1e4]])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name, arrays, grads, kw", [
    ("cross_entropy", [BIG, np.array([1, 0, 2, 1])], (0,), {}),
    ("cross_entropy", [BIG, np.array([1, 0, 2, 1])], (0,), {"label_smoothing": 0.1}),
    ("cross_entropy", [BIG, _probs(4, 3)], (0,), {"reduction": "none"}),
    ("binary_cross_entropy_with_logits", [BIG, _u(4, 3)], (0, 1), {"pos_weight": _u(3) + 1}),
    ("poisson_nll_loss", [BIG / 1e3, _u(4, 3)], (0,), {}),
])
def test_extreme_values_stay_finite(name, arrays, grads, kw, dtype):
    out = getattr(F, name)(*[_to("ax", a, dtype) for a in arrays], **{
        k: _to("ax", v, dtype) for k, v in kw.items()})
    assert np.isfinite(out.numpy()).all()
    _run_both(name, arrays, grads, kw, dtype)


def test_soft_margin_is_finite_where_torch_overflows():
    # PyTorch computes log(1 + exp(-y x)) directly and returns inf at y x = -1e4; the softplus
    # form is exact: compare with NumPy's logaddexp and the gradient -y sigmoid(-y x) / n
    y = _sign(4, 3)
    x = axonal.tensor(BIG.astype(np.float32), requires_grad=True)
    out = F.soft_margin_loss(x, axonal.tensor(y.astype(np.float32)))
    out.backward()
    np.testing.assert_allclose(out.item(), np.logaddexp(0, -y * BIG).mean(), rtol=1e-6)
    sig = 0.5 * (1 - np.tanh(y * BIG / 2))   # sigmoid(-y x) without overflow
    np.testing.assert_allclose(x.grad.numpy(), -y * sig / y.size, atol=1e-7)


def test_bce_at_zero_and_one_matches_torch():
    # log is clamped at -100 and the gradient denominator at 1e-12, as in PyTorch (whose 1e-12 is
    # a float32 constant: the gradients of +-2.5e11 agree to 4e-9 relative)
    x, y = np.array([0.0, 1.0, 0.0, 1.0]), np.array([1.0, 0, 0, 1])
    xa, xt = _t(x), torch.tensor(x, requires_grad=True)
    out = F.binary_cross_entropy(xa, _t(y, False))
    ref = TF.binary_cross_entropy(xt, torch.tensor(y))
    assert out.item() == ref.item() == 50.0
    out.backward()
    ref.backward()
    np.testing.assert_allclose(xa.grad.numpy(), xt.grad.numpy(), rtol=1e-8)


@pytest.mark.parametrize("name, kw", [("cross_entropy", {}),
                                      ("cross_entropy", {"label_smoothing": 0.2}),
                                      ("cross_entropy", {"weight": _u(4)}),
                                      ("nll_loss", {"ignore_index": 2})])
@pytest.mark.parametrize("reduction", RED)
def test_all_targets_ignored(name, kw, reduction):
    """mean over no targets is nan with a zero gradient, sum is 0, none is zeros (PyTorch)."""
    ign = kw.get("ignore_index", -100)
    _run_both(name, [_n(3, 4), np.full(3, ign)], (0,), dict(kw, reduction=reduction), np.float64)
    out = getattr(F, name)(axonal.tensor(_n(3, 4)), axonal.tensor(np.full(3, ign)),
                           **{k: _to("ax", v, np.float64) for k, v in kw.items()},
                           reduction=reduction)
    assert np.isnan(out.item()) if reduction == "mean" else not out.numpy().any()


# -- errors ----------------------------------------------------------------------------------------
def _ax(*shape):
    return axonal.tensor(_n(*shape))


ERRORS = [
    (lambda: F.cross_entropy(_ax(4, 10), axonal.tensor([1, 2, 3])), axonal.ShapeError,
     r"cross_entropy: .*batch_size \(4\).*\(4, 10\).*\(3,\)"),
    (lambda: F.cross_entropy(_ax(2, 10), axonal.tensor([12, 1])), IndexError,
     "cross_entropy: target 12 is out of bounds for 10 classes"),
    (lambda: F.cross_entropy(_ax(2, 10), axonal.tensor([1, -1])), IndexError,
     "cross_entropy: target -1 is out of bounds for 10 classes"),
    (lambda: F.nll_loss(_ax(2, 3), axonal.tensor([3, 0])), IndexError,
     "nll_loss: target 3 is out of bounds for 3 classes"),
    (lambda: F.cross_entropy(_ax(2, 3, 4, 4), axonal.tensor(np.zeros((2, 4, 3), np.int64))),
     axonal.ShapeError, r"expected target of shape \(2, 4, 4\).*\(2, 3, 4, 4\)"),
    (lambda: F.cross_entropy(_ax(2, 3), axonal.tensor([0.0, 1.0])), TypeError,
     "cross_entropy: class-index target must be an integer tensor"),
    (lambda: F.cross_entropy(_ax(2, 3), axonal.tensor([0, 1]), weight=axonal.ones(4)),
     axonal.ShapeError, r"cross_entropy: weight .*\(3,\).*\(4,\)"),
    (lambda: F.cross_entropy(_ax(2, 3), axonal.tensor([0, 1]),
                             weight=axonal.ones(3, requires_grad=True)), RuntimeError,
     "not differentiable with respect to weight"),
    (lambda: F.cross_entropy(_ax(2, 3), axonal.tensor([0, 1]), label_smoothing=1.5), ValueError,
     "label_smoothing"),
    (lambda: F.cross_entropy(_ax(2, 3), axonal.tensor(_probs(2, 3)), ignore_index=0), ValueError,
     "ignore_index=0 is not supported"),
    (lambda: F.cross_entropy(axonal.tensor(1.0), axonal.tensor(0)), axonal.ShapeError,
     "class dimension"),
    (lambda: F.cross_entropy(axonal.tensor([[1, 2]]), axonal.tensor([0])), TypeError,
     "cross_entropy: expected a floating point input, got axonal.int64"),
    (lambda: F.cross_entropy(_ax(2, 3), axonal.tensor([0, 1]), reduction="avg"), ValueError,
     "cross_entropy: 'avg' is not a valid value for reduction"),
    (lambda: F.binary_cross_entropy(axonal.tensor([0.5, 1.5]), axonal.tensor([0.0, 1.0])),
     ValueError, r"binary_cross_entropy: all elements of input should be between 0 and 1"),
    (lambda: F.binary_cross_entropy(axonal.tensor([0.5, 0.5]), axonal.tensor([-0.1, 1.0])),
     ValueError, r"all elements of target should be between 0 and 1"),
    (lambda: F.binary_cross_entropy(axonal.rand(3, 4), axonal.rand(3)), axonal.ShapeError,
     r"binary_cross_entropy: target of shape \(3,\) .* input \(3, 4\)"),
    (lambda: F.binary_cross_entropy_with_logits(_ax(3, 4), axonal.rand(4, 3)), axonal.ShapeError,
     r"binary_cross_entropy_with_logits: target of shape \(4, 3\)"),
    (lambda: F.binary_cross_entropy_with_logits(_ax(3, 4), axonal.rand(3, 4),
                                                pos_weight=axonal.ones(3)),
     axonal.ShapeError, r"pos_weight of shape \(3,\)"),
    (lambda: F.mse_loss(_ax(3, 4), _ax(3, 5)), axonal.ShapeError,
     r"mse_loss: input of shape \(3, 4\) and target of shape \(3, 5\)"),
    (lambda: F.mse_loss(_ax(3, 4), _ax(3, 4), weight=axonal.ones(4)), axonal.ShapeError,
     r"mse_loss: weight of shape \(4,\)"),
    (lambda: F.smooth_l1_loss(_ax(3), _ax(3), beta=-1.0), ValueError, "beta"),
    (lambda: F.huber_loss(_ax(3), _ax(3), delta=0.0), ValueError, "delta"),
    (lambda: F.kl_div(_ax(3), _ax(3), reduction="batch"), ValueError, "'batchmean'"),
    (lambda: F.gaussian_nll_loss(_ax(3, 4), _ax(3, 4), -axonal.ones(3, 4)), ValueError,
     "gaussian_nll_loss: var has negative"),
    (lambda: F.gaussian_nll_loss(_ax(3, 4), _ax(3, 4), axonal.ones(3, 2)), axonal.ShapeError,
     r"gaussian_nll_loss: var of shape \(3, 2\)"),
    (lambda: F.margin_ranking_loss(_ax(3), _ax(3), _ax(3, 1)), axonal.ShapeError,
     "margin_ranking_loss"),
    (lambda: F.cosine_embedding_loss(_ax(3, 4), _ax(3, 4), _ax(4)), axonal.ShapeError,
     r"cosine_embedding_loss: target of shape \(4,\)"),
]


@pytest.mark.parametrize("i", range(len(ERRORS)))
def test_errors_name_the_loss_and_the_problem(i):
    fn, exc, pattern = ERRORS[i]
    with pytest.raises(exc, match=pattern):
        fn()


def test_mismatched_shapes_warn_and_broadcast_like_torch():
    with pytest.warns(UserWarning, match="mse_loss: using a target size"):
        F.mse_loss(_ax(3, 4), _ax(3, 1))
    _run_both("mse_loss", [_n(3, 4), _n(3, 1)], (0, 1), {}, np.float64)


# -- the fused primitive ---------------------------------------------------------------------------
def test_cross_entropy_is_one_node_on_the_input():
    x = axonal.randn(8, 10, requires_grad=True)
    loss = F.cross_entropy(x, axonal.randint(0, 10, (8,)))
    assert type(loss.grad_fn).__name__ == "NllLossBackward0"  # PyTorch's name for its last node
    assert loss.grad_fn.next_functions[0][0].variable is x


@pytest.mark.parametrize("use_kernels", [True, False])
def test_hot_path_with_and_without_kernels(use_kernels, monkeypatch):
    if not use_kernels:   # the kernels' own array fallbacks (they run below these sizes)
        for name in ("softmax_cross_entropy", "softmax_cross_entropy_backward"):
            monkeypatch.setitem(THRESHOLDS, name, (10**12, THRESHOLDS[name][1]))
    x, t = _n(128, 10, scale=3), _r.integers(0, 10, 128)
    _run_both("cross_entropy", [x, t], (0,), {}, np.float32)
    xa = axonal.tensor(x.astype(np.float32), requires_grad=True)
    loss = F.cross_entropy(xa, axonal.tensor(t))
    loss.backward(retain_graph=True)
    first = xa.grad.numpy().copy()
    loss.backward()   # the saved probabilities must not have been modified in place
    np.testing.assert_allclose(xa.grad.numpy(), 2 * first, rtol=1e-6)
