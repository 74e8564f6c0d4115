"""`axonal.func.functional_call` against `torch.func.functional_call`: substituted parameters and
buffers, several dicts, strict mode, tied weights, restoration (also after an error), and
per-parameter gradients with `grad` matching PyTorch's for the same weights."""
import numpy as np
import pytest

import axonal as ax
import axonal.func as AFn

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(3)


def _pair():
    """The same small MLP with a BatchNorm (a buffer) in both frameworks."""
    m = ax.nn.Sequential(ax.nn.Linear(4, 5), ax.nn.BatchNorm1d(5), ax.nn.Tanh(),
                         ax.nn.Linear(5, 2)).double().eval()
    t = torch.nn.Sequential(torch.nn.Linear(4, 5), torch.nn.BatchNorm1d(5), torch.nn.Tanh(),
                            torch.nn.Linear(5, 2)).double().eval()
    state = {k: RNG.standard_normal(tuple(v.shape)) if v.dtype.is_floating_point else v.numpy()
             for k, v in t.state_dict().items()}
    state["1.running_var"] = np.abs(state["1.running_var"]) + 0.5
    t.load_state_dict({k: torch.tensor(v) for k, v in state.items()})
    m.load_state_dict({k: ax.tensor(v) for k, v in state.items()})
    return m, t


def test_output_and_grads_match_torch():
    m, t = _pair()
    xn = RNG.standard_normal((3, 4))
    new = {k: RNG.standard_normal(tuple(v.shape)) for k, v in t.named_parameters()}
    pa, pt = {k: ax.tensor(v) for k, v in new.items()}, {k: torch.tensor(v) for k, v in new.items()}
    out_a = AFn.functional_call(m, pa, (ax.tensor(xn),))
    out_t = torch.func.functional_call(t, pt, (torch.tensor(xn),))
    np.testing.assert_allclose(out_a.detach().numpy(), out_t.detach().numpy(), rtol=1e-10)

    ga = AFn.grad(lambda p: AFn.functional_call(m, p, ax.tensor(xn)).pow(2).sum())(pa)
    gt = torch.func.grad(lambda p: torch.func.functional_call(t, p, torch.tensor(xn))
                         .pow(2).sum())(pt)
    assert list(ga) == list(gt)
    for k in gt:
        np.testing.assert_allclose(ga[k].numpy(), gt[k].numpy(), rtol=1e-9, err_msg=k)
    # the module's own parameters are back
    np.testing.assert_allclose(m[0].weight.detach().numpy(), t[0].weight.detach().numpy())


def test_buffers_several_dicts_and_kwargs():
    m, t = _pair()
    xn = RNG.standard_normal((2, 4))
    mean = RNG.standard_normal(5)
    da = ({"1.running_mean": ax.tensor(mean)}, {"0.bias": ax.zeros(5, dtype=ax.float64)})
    dt = ({"1.running_mean": torch.tensor(mean)}, {"0.bias": torch.zeros(5, dtype=torch.float64)})
    out_a = AFn.functional_call(m, da, (), {"input": ax.tensor(xn)})
    out_t = torch.func.functional_call(t, dt, (), {"input": torch.tensor(xn)})
    np.testing.assert_allclose(out_a.detach().numpy(), out_t.detach().numpy(), rtol=1e-10)
    with pytest.raises(ValueError, match="appeared in multiple dictionaries"):
        AFn.functional_call(m, (da[0], da[0]), (ax.tensor(xn),))


def test_strict_tied_weights_and_restore_on_error():
    m, _ = _pair()
    x = ax.randn(2, 4, dtype=ax.float64)
    with pytest.raises(RuntimeError, match="Missing key\\(s\\)"):
        AFn.functional_call(m, {"0.weight": ax.zeros(5, 4, dtype=ax.float64)}, (x,), strict=True)

    class Tied(ax.nn.Module):
        def __init__(self):
            super().__init__()
            self.a = ax.nn.Linear(3, 3, bias=False)
            self.b = ax.nn.Linear(3, 3, bias=False)
            self.b.weight = self.a.weight

        def forward(self, x):
            return self.b(self.a(x))

    tied = Tied().double()
    eye = ax.eye(3, dtype=ax.float64)
    x3 = ax.randn(2, 3, dtype=ax.float64)
    out = AFn.functional_call(tied, {"a.weight": eye * 2}, (x3,))
    np.testing.assert_allclose(out.detach().numpy(), 4 * x3.numpy())  # both uses replaced
    out = AFn.functional_call(tied, {"a.weight": eye * 2}, (x3,), tie_weights=False)
    expected = 2 * x3.numpy() @ tied.a.weight.detach().numpy().T
    np.testing.assert_allclose(out.detach().numpy(), expected)

    before = m[0].weight
    with pytest.raises(ax.ShapeError, match="linear"):
        AFn.functional_call(m, {"0.weight": ax.zeros(7, 7, dtype=ax.float64)}, (x,))
    assert m[0].weight is before


def test_hessian_and_jacfwd_over_module_parameters_match_torch():
    """Forward over reverse through a whole model: linear, layer_norm, gelu, cross_entropy."""
    xn, target = RNG.standard_normal((4, 3)), [0, 2, 1, 2]
    m = ax.nn.Sequential(ax.nn.Linear(3, 4), ax.nn.LayerNorm(4), ax.nn.GELU(),
                         ax.nn.Linear(4, 3)).double()
    t = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.LayerNorm(4), torch.nn.GELU(),
                            torch.nn.Linear(4, 3)).double()
    pn = {k: RNG.standard_normal(tuple(v.shape)) for k, v in t.named_parameters()}
    pa, pt = {k: ax.tensor(v) for k, v in pn.items()}, {k: torch.tensor(v) for k, v in pn.items()}

    def loss_a(w):
        p = dict(pa, **{"3.weight": w})
        return ax.nn.functional.cross_entropy(AFn.functional_call(m, p, ax.tensor(xn)),
                                              ax.tensor(target))

    def loss_t(w):
        p = dict(pt, **{"3.weight": w})
        return torch.nn.functional.cross_entropy(torch.func.functional_call(t, p, torch.tensor(xn)),
                                                 torch.tensor(target))

    h_a, h_t = AFn.hessian(loss_a)(pa["3.weight"]), torch.func.hessian(loss_t)(pt["3.weight"])
    np.testing.assert_allclose(h_a.numpy(), h_t.numpy(), rtol=1e-8, atol=1e-12)
    j_a = AFn.jacfwd(lambda p: AFn.functional_call(m, p, ax.tensor(xn)))(pa)
    j_t = torch.func.jacfwd(lambda p: torch.func.functional_call(t, p, torch.tensor(xn)))(pt)
    for k in pn:
        np.testing.assert_allclose(j_a[k].numpy(), j_t[k].numpy(), rtol=1e-8, atol=1e-12,
                                   err_msg=k)
