"""RBM and DBN against brute-force enumeration on a tiny machine (6 visible, 4 hidden: all 2^10
joint states), autograd of the free energy, and finite differences of the exact log-likelihood."""
import itertools

import numpy as np
import pytest

import axonal
from axonal.models.dbn import DBN, DBNClassifier
from axonal.models.rbm import RBM, RBMTrainer
from axonal.optim import SGD
from axonal.utils.data import DataLoader, TensorDataset

D, H = 6, 4
V_ALL = np.array(list(itertools.product([0, 1], repeat=D)), dtype=np.float64)   # (64, 6)
H_ALL = np.array(list(itertools.product([0, 1], repeat=H)), dtype=np.float64)   # (16, 4)
TOY = np.array([[1, 1, 1, 0, 0, 0], [0, 0, 0, 1, 1, 1], [1, 0, 1, 0, 1, 0]], dtype=np.float64)


def npy(t):
    return t.detach().numpy()


def t64(a):
    return axonal.tensor(np.asarray(a, dtype=np.float64), dtype=axonal.float64)


def tiny_rbm(visible="bernoulli", scale=1.0, seed=0, **kw):
    rng = np.random.default_rng(seed)
    rbm = RBM(D, H, visible=visible, **kw).double()
    rbm.weight._data = rng.normal(scale=scale, size=(H, D))
    rbm.v_bias._data = rng.normal(scale=scale, size=D)
    rbm.h_bias._data = rng.normal(scale=scale, size=H)
    return rbm


def params(rbm):
    return rbm.weight._data, rbm.v_bias._data, rbm.h_bias._data


def neg_energy(rbm, v, h):
    """-E(v, h) for all pairs, written out in NumPy: (len(v), len(h))."""
    w, b, c = params(rbm)
    inter = v @ w.T @ h.T                                   # h^T W v
    if rbm.visible == "bernoulli":
        vis = (v @ b)[:, None]
    else:
        vis = -0.5 * ((v - b) ** 2).sum(1)[:, None]
    return vis + (h @ c)[None, :] + inter


def log_marginal(rbm):
    """log p(v) for all 64 binary v by summing the 1024 joint states."""
    ne = neg_energy(rbm, V_ALL, H_ALL)
    log_unnorm = np.logaddexp.reduce(ne, axis=1)
    return log_unnorm - np.logaddexp.reduce(log_unnorm)


def exact_nll(rbm, data):
    lp = log_marginal(rbm)
    idx = (data @ (2 ** np.arange(D)[::-1])).astype(int)
    return -lp[idx].mean()


# -- the model against enumeration -----------------------------------------------------------------
@pytest.mark.parametrize("visible", ["bernoulli", "gaussian"])
def test_energy_and_free_energy_by_enumeration(visible):
    rbm = tiny_rbm(visible)
    rng = np.random.default_rng(1)
    v = V_ALL if visible == "bernoulli" else rng.normal(size=(10, D))
    ne = neg_energy(rbm, v, H_ALL)
    np.testing.assert_allclose(-npy(rbm.free_energy(t64(v))), np.logaddexp.reduce(ne, axis=1),
                               rtol=1e-12, atol=1e-12)
    vi, hi = np.repeat(v, len(H_ALL), 0), np.tile(H_ALL, (len(v), 1))
    np.testing.assert_allclose(-npy(rbm.energy(t64(vi), t64(hi))), ne.ravel(), atol=1e-12)


@pytest.mark.parametrize("visible", ["bernoulli", "gaussian"])
def test_p_h_given_v_by_enumeration(visible):
    rbm = tiny_rbm(visible)
    v = V_ALL if visible == "bernoulli" else np.random.default_rng(2).normal(size=(10, D))
    ne = neg_energy(rbm, v, H_ALL)
    post = np.exp(ne - np.logaddexp.reduce(ne, axis=1, keepdims=True))   # p(h | v), (n, 16)
    np.testing.assert_allclose(rbm.p_h_given_v(t64(v)).detach().numpy(), post @ H_ALL, atol=1e-12)


def test_p_v_given_h_by_enumeration():
    rbm = tiny_rbm()
    ne = neg_energy(rbm, V_ALL, H_ALL).T                                 # (16, 64)
    cond = np.exp(ne - np.logaddexp.reduce(ne, axis=1, keepdims=True))   # p(v | h)
    np.testing.assert_allclose(npy(rbm.p_v_given_h(t64(H_ALL))), cond @ V_ALL, atol=1e-12)


def test_gaussian_visible_conditional_is_the_unit_normal_around_the_mean():
    rbm = tiny_rbm("gaussian")
    rng = np.random.default_rng(3)
    h = H_ALL[[3, 9]]
    mean = rbm.visible_mean(t64(h)).detach().numpy()
    for row in range(2):
        v = rng.normal(size=(7, D)) * 2
        log_normal = -0.5 * ((v - mean[row]) ** 2).sum(1)
        diff = neg_energy(rbm, v, h[row:row + 1])[:, 0] - log_normal   # constant in v
        np.testing.assert_allclose(diff, diff[0], atol=1e-10)
    with pytest.raises(ValueError, match="Bernoulli visible"):
        rbm.p_v_given_h(t64(h))


def test_pseudo_log_likelihood_exact_and_stochastic_by_enumeration():
    rbm = tiny_rbm()
    lp = log_marginal(rbm)
    index = {tuple(v): i for i, v in enumerate(V_ALL)}
    data = V_ALL[[5, 17, 40, 63]]
    want = []
    for v in data:
        total = 0.0
        for i in range(D):
            flipped = v.copy()
            flipped[i] = 1 - flipped[i]
            a, b = lp[index[tuple(v)]], lp[index[tuple(flipped)]]
            total += a - np.logaddexp(a, b)                          # log p(v_i | v_-i)
        want.append(total)
    got = rbm.pseudo_log_likelihood(t64(data), exact=True, chunk=4)
    np.testing.assert_allclose(got, np.mean(want), rtol=1e-10)
    many = np.repeat(data, 5000, axis=0)
    est = rbm.pseudo_log_likelihood(t64(many), generator=axonal.Generator().manual_seed(0))
    assert abs(est - np.mean(want)) < 0.05 * abs(np.mean(want))


# -- learning --------------------------------------------------------------------------------------
def test_cd_grads_are_the_free_energy_gradient_difference():
    rbm = tiny_rbm(scale=0.5)
    v0 = t64(TOY[[0, 1, 2, 0]])
    logs = rbm.contrastive_divergence(v0, k=3, generator=axonal.Generator().manual_seed(5))
    grads = [p.grad.detach().numpy().copy() for p in (rbm.weight, rbm.v_bias, rbm.h_bias)]
    assert [g.shape for g in grads] == [(H, D), (D,), (H,)] and 0 <= logs["recon_error"] <= 1
    vk = rbm.gibbs(v0, 3, generator=axonal.Generator().manual_seed(5))   # the same chain
    rbm.zero_grad()
    (rbm.free_energy(v0).mean() - rbm.free_energy(vk).mean()).backward()
    for g, p in zip(grads, (rbm.weight, rbm.v_bias, rbm.h_bias)):
        np.testing.assert_allclose(g, p.grad.detach().numpy(), atol=1e-12)


def test_long_chains_approach_the_exact_likelihood_gradient():
    rbm = tiny_rbm(scale=0.4, seed=3)
    data = TOY
    exact = []
    for p in (rbm.weight, rbm.v_bias, rbm.h_bias):                     # finite differences
        g = np.zeros_like(p._data)
        for idx in np.ndindex(p._data.shape):
            orig = p._data[idx]
            p._data[idx] = orig + 1e-6
            up = exact_nll(rbm, data)
            p._data[idx] = orig - 1e-6
            down = exact_nll(rbm, data)
            p._data[idx] = orig
            g[idx] = (up - down) / 2e-6
        exact.append(g)
    axonal.manual_seed(0)
    rbm.contrastive_divergence(t64(np.repeat(data, 4000, axis=0)), k=100)
    for g, p in zip(exact, (rbm.weight, rbm.v_bias, rbm.h_bias)):
        np.testing.assert_allclose(p.grad.detach().numpy(), g, atol=0.03)
    # and the sign: the negative gradient lowers the exact NLL
    before = exact_nll(rbm, data)
    for p in (rbm.weight, rbm.v_bias, rbm.h_bias):
        p._data -= 0.05 * p.grad.detach().numpy()
    assert exact_nll(rbm, data) < before


@pytest.mark.parametrize("persistent", [False, True])
def test_optimizer_steps_raise_likelihood_and_lower_reconstruction_error(persistent):
    rbm = tiny_rbm(scale=0.01, seed=4, persistent=persistent)
    opt = SGD(rbm.parameters(), lr=0.1, momentum=0.5)
    data = t64(np.repeat(TOY, 10, axis=0))
    nll0, rec0 = exact_nll(rbm, TOY), rbm.reconstruction_error(data)
    for _ in range(300):
        rbm.contrastive_divergence(data)
        opt.step()
    assert exact_nll(rbm, TOY) < nll0 - 1.0
    assert rbm.reconstruction_error(data) < 0.5 * rec0
    if persistent:
        assert rbm.chain is not None and tuple(rbm.chain.shape) == (30, D)
        assert "chain" not in rbm.state_dict()


def test_rbm_trainer_with_any_optimizer():
    axonal.manual_seed(0)
    rbm = RBM(D, 8)
    data = TensorDataset(axonal.tensor(np.repeat(TOY, 20, axis=0), dtype=axonal.float32))
    trainer = RBMTrainer(rbm, axonal.optim.Adam(rbm.parameters(), lr=0.05))
    hist = trainer.fit(DataLoader(data, batch_size=10, shuffle=True), 5, verbose=0)
    assert hist["recon_error"][-1] < hist["recon_error"][0]
    ev = trainer.evaluate(DataLoader(data, batch_size=60))
    assert set(ev) == {"recon_error", "free_energy", "pll"}
    assert ev == trainer.evaluate(DataLoader(data, batch_size=60))  # fixed flips: repeatable


def test_rbm_argument_errors():
    with pytest.raises(ValueError, match="visible must be"):
        RBM(3, 2, visible="binary")
    with pytest.raises(ValueError, match="positive int"):
        RBM(3, 2, k=0)
    with pytest.raises(ValueError, match=r"shape \(batch, 3\)"):
        RBM(3, 2).p_h_given_v(axonal.zeros(2, 4))
    with pytest.raises(ValueError, match="Bernoulli"):
        RBM(3, 2, visible="gaussian").pseudo_log_likelihood(axonal.zeros(2, 3))


# -- DBN -------------------------------------------------------------------------------------------
def test_dbn_pretrain_and_unroll():
    axonal.manual_seed(0)
    data = np.repeat(TOY, 30, axis=0).astype(np.float32)
    dbn = DBN([D, 5, 3])
    hist = dbn.pretrain(data, epochs=4, batch_size=15, lr=0.1)
    assert [(h["layer"], h["epoch"]) for h in hist] == [(i, e) for i in (1, 2) for e in range(1, 5)]
    assert hist[3]["recon_error"] < hist[0]["recon_error"]
    x = axonal.tensor(data[:5])
    clf = dbn.to_classifier(2)
    np.testing.assert_allclose(clf[:-1](x).detach().numpy(), dbn(x).detach().numpy(), atol=1e-6)
    ae = dbn.to_autoencoder()
    np.testing.assert_allclose(npy(ae.decoder[0].weight), npy(dbn.rbms[1].weight).T)
    np.testing.assert_allclose(npy(ae.decoder[-2].bias), npy(dbn.rbms[0].v_bias))
    assert ae(x).shape == (5, D)
    model = DBNClassifier([D, 5, 3], 2)
    model.dbn.load_state_dict(dbn.state_dict())
    before = model.net[0].weight.detach().numpy().copy()
    model.load_pretrained()
    assert not np.allclose(before, model.net[0].weight.detach().numpy())
    np.testing.assert_allclose(npy(model.net[2].weight), npy(dbn.rbms[1].weight))
