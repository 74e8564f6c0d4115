"""Loss modules (axonal.nn.layers.loss) against torch.nn's: values, gradients, buffers, and the
constructor arguments (legacy size_average / reduce, keyword-only options)."""
import numpy as np
import pytest

import axonal
from axonal.nn.layers import loss as LM

torch = pytest.importorskip("torch")
torch.set_num_threads(1)
_r = np.random.default_rng(7)


def _n(*shape):
    return _r.standard_normal(shape)


def _u(*shape, lo=0.0, hi=1.0):
    return _r.uniform(lo, hi, shape)


def _sign(*shape):
    return np.where(_r.random(shape) < 0.5, -1.0, 1.0)


def _to(lib, v, rg=False):
    v = v.astype(np.float32) if v.dtype.kind == "f" else v
    return axonal.tensor(v, requires_grad=rg) if lib == "ax" else torch.tensor(v, requires_grad=rg)


MODULES = [  # (axonal module, torch module, arrays)
    (LM.MSELoss(reduction="sum"), torch.nn.MSELoss(reduction="sum"), [_n(3, 4), _n(3, 4)]),
    (LM.L1Loss(reduce=False), torch.nn.L1Loss(reduction="none"), [_n(3, 4), _n(3, 4)]),
    (LM.SmoothL1Loss(beta=0.5), torch.nn.SmoothL1Loss(beta=0.5), [_n(3, 4), _n(3, 4)]),
    (LM.HuberLoss(delta=0.3), torch.nn.HuberLoss(delta=0.3), [_n(3, 4), _n(3, 4)]),
    (LM.BCELoss(weight=axonal.tensor(_u(4))), None, [_u(3, 4, lo=0.1, hi=0.9), _u(3, 4)]),
    (LM.BCEWithLogitsLoss(pos_weight=axonal.tensor(_u(4) + 0.5)), None, [_n(3, 4), _u(3, 4)]),
    (LM.CrossEntropyLoss(weight=axonal.tensor(_u(4)), ignore_index=1, label_smoothing=0.1),
     None, [_n(5, 4), np.array([0, 1, 2, 3, 1])]),
    (LM.NLLLoss(size_average=False), torch.nn.NLLLoss(reduction="sum"),
     [_n(5, 4), np.array([0, 1, 2, 3, 1])]),
    (LM.KLDivLoss(reduction="batchmean", log_target=True),
     torch.nn.KLDivLoss(reduction="batchmean", log_target=True), [_n(3, 4), _n(3, 4)]),
    (LM.GaussianNLLLoss(full=True), torch.nn.GaussianNLLLoss(full=True),
     [_n(3, 4), _n(3, 4), _u(3, 1, lo=0.5)]),
    (LM.PoissonNLLLoss(), torch.nn.PoissonNLLLoss(), [_n(3, 4), _u(3, 4, hi=3)]),
    (LM.MarginRankingLoss(0.2), torch.nn.MarginRankingLoss(0.2), [_n(5), _n(5), _sign(5)]),
    (LM.HingeEmbeddingLoss(), torch.nn.HingeEmbeddingLoss(), [_n(5), _sign(5)]),
    (LM.SoftMarginLoss(), torch.nn.SoftMarginLoss(), [_n(5), _sign(5)]),
    (LM.CosineEmbeddingLoss(0.1), torch.nn.CosineEmbeddingLoss(0.1),
     [_n(3, 4), _n(3, 4), _sign(3)]),
]


@pytest.mark.parametrize("i", range(len(MODULES)))
def test_modules_match_torch(i):
    mod, ref, arrays = MODULES[i]
    mod = mod.float()   # weight buffers built from float64 arrays follow the module to float32
    if ref is None:   # build the torch twin from the buffers (weights live in buffers)
        name = type(mod).__name__
        kw = {k: torch.tensor(b.numpy()) for k, b in mod.named_buffers()}
        kw.update({k: getattr(mod, k) for k in ("ignore_index", "label_smoothing")
                   if hasattr(mod, k)})
        ref = getattr(torch.nn, name)(**kw)
    xa = [_to("ax", a, j == 0) for j, a in enumerate(arrays)]
    xt = [_to("th", a, j == 0) for j, a in enumerate(arrays)]
    out, exp = mod(*xa), ref(*xt)
    np.testing.assert_allclose(out.detach().numpy(), exp.detach().numpy(), rtol=1e-5, atol=1e-6)
    out.sum().backward()
    exp.sum().backward()
    np.testing.assert_allclose(xa[0].grad.numpy(), xt[0].grad.numpy(), rtol=1e-5, atol=1e-6)


def test_module_buffers_and_arguments():
    m = LM.BCEWithLogitsLoss(weight=axonal.ones(3), pos_weight=axonal.ones(3))
    assert set(m.state_dict()) == {"weight", "pos_weight"}
    assert m.double().pos_weight.dtype is axonal.float64
    ce = LM.CrossEntropyLoss()
    assert ce.weight is None and ce.ignore_index == -100 and ce.reduction == "mean"
    assert LM.MSELoss(size_average=False).reduction == "sum"
    assert LM.MSELoss(size_average=True, reduce=False).reduction == "none"
    assert repr(LM.L1Loss(reduction="sum")) == "L1Loss(reduction='sum')"
    with pytest.raises(ValueError, match="MSELoss: 'avg' is not a valid"):
        LM.MSELoss(reduction="avg")
    with pytest.raises(TypeError):
        LM.GaussianNLLLoss(True)   # keyword-only, as in PyTorch
    # a float64 weight buffer with float32 logits: the loss follows the input's dtype
    out = LM.CrossEntropyLoss(weight=axonal.ones(3, dtype=axonal.float64))(
        axonal.randn(2, 3), axonal.tensor([0, 2]))
    assert out.dtype is axonal.float32
