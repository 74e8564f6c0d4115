"""Generative models against independent oracles: flows vs finite-difference Jacobians and numerical
integration, PCA vs an eigendecomposition, the VAE's ELBO vs NumPy and vs log p(x) by quadrature,
GAN losses vs their formulas; and smoke runs of every generative recipe."""
import json
import math

import numpy as np
import pytest

import axonal
from axonal import nn
from axonal.models.autoencoder import DenoisingAutoencoder, ReconstructionTrainer, mlp_autoencoder
from axonal.models.flows import PlanarFlow, RealNVP
from axonal.models.gan import GANTrainer, dcgan, gan_optimizer, mlp_gan
from axonal.models.pca import PCA
from axonal.models.vae import VAE, VAETrainer, conv_vae, mlp_vae
from axonal.utils.data import DataLoader, TensorDataset


def t64(a):
    return axonal.tensor(np.asarray(a, dtype=np.float64), dtype=axonal.float64)


def npy(t):
    return t.detach().numpy()


def numerical_jacobian(f, x, eps=1e-6):
    """d f(x) / d x for f: (n, d) -> (n, d), one (d, d) Jacobian per row, by central differences."""
    n, d = x.shape
    jac = np.zeros((n, d, d))
    for j in range(d):
        step = np.zeros(d)
        step[j] = eps
        jac[:, :, j] = (f(x + step) - f(x - step)) / (2 * eps)
    return jac


def scramble(module, std=0.3, seed=0):
    """Random weights everywhere (the couplings start as the identity, which would test nothing)."""
    rng = np.random.default_rng(seed)
    for p in module.parameters():
        p._data = rng.normal(scale=std, size=p.shape).astype(p._data.dtype)
    return module


# -- RealNVP ---------------------------------------------------------------------------------------
@pytest.fixture
def flow():
    axonal.manual_seed(0)
    return scramble(RealNVP(2, n_layers=4, hidden=16, loc=[0.5, 0.2], scale=[0.9, 0.6]).double())


def test_realnvp_log_prob_matches_a_numerical_jacobian(flow):
    x = np.random.default_rng(1).normal(size=(6, 2))
    with axonal.no_grad():
        z, logdet = flow(t64(x))
        jac = numerical_jacobian(lambda a: flow(t64(a))[0].numpy(), x)
        np.testing.assert_allclose(logdet.numpy(), np.log(np.abs(np.linalg.det(jac))), atol=1e-6)
        want = -0.5 * (z.numpy() ** 2).sum(1) - math.log(2 * math.pi) + np.log(
            np.abs(np.linalg.det(jac)))
        np.testing.assert_allclose(flow.log_prob(t64(x)).numpy(), want, atol=1e-6)


def test_realnvp_inverse_and_forward_round_trip(flow):
    x = t64(np.random.default_rng(2).normal(size=(50, 2)) * 2)
    with axonal.no_grad():
        np.testing.assert_allclose(flow.inverse(flow(x)[0]).numpy(), x.numpy(), atol=1e-10)
        np.testing.assert_allclose(flow(flow.inverse(x))[0].numpy(), x.numpy(), atol=1e-10)
        assert flow.sample(7).shape == (7, 2)


def test_realnvp_density_integrates_to_one(flow):
    g = np.linspace(-12, 12, 481)
    gx, gy = np.meshgrid(g, g)
    pts = np.stack([gx.ravel(), gy.ravel()], 1)
    with axonal.no_grad():
        dens = np.exp(flow.log_prob(t64(pts)).numpy())
    assert abs(dens.sum() * (g[1] - g[0]) ** 2 - 1) < 2e-3


def test_realnvp_log_prob_gradient_and_validation(flow):
    x = axonal.tensor(np.random.default_rng(3).normal(size=(2, 2)), dtype=axonal.float64,
                      requires_grad=True)
    assert axonal.autograd.gradcheck(lambda a: flow.log_prob(a), (x,))
    with pytest.raises(ValueError, match="dim >= 2"):
        RealNVP(1)


# -- planar flow --------------------------------------------------------------------------------
def test_planar_flow_log_det_matches_numerical_jacobian():
    axonal.manual_seed(0)
    pf = PlanarFlow(2, n_layers=5).double()
    scramble(pf, std=1.0, seed=4)
    z = np.random.default_rng(5).normal(size=(8, 2))
    with axonal.no_grad():
        _, logdet = pf(t64(z))
        jac = numerical_jacobian(lambda a: pf(t64(a))[0].numpy(), z)
    np.testing.assert_allclose(logdet.numpy(), np.log(np.abs(np.linalg.det(jac))), atol=1e-6)


def test_planar_flow_stays_invertible_and_fits_a_target():
    axonal.manual_seed(0)
    pf = PlanarFlow(3, n_layers=2).double()
    pf.w._data = np.array([[1.0, 2.0, -1.0], [0.5, 0.0, 0.3]])
    pf.u._data = -5 * pf.w._data  # w^T u << -1: the raw layer would not be invertible
    for k in range(2):
        assert float((pf.w[k] * pf.u_hat(k)).sum().item()) >= -1 - 1e-12
    # reverse KL to a Gaussian N((1, -1), 0.5^2 I) with a 2-D flow
    axonal.manual_seed(1)
    pf = PlanarFlow(2, n_layers=4)
    mu = axonal.tensor([1.0, -1.0])

    def log_target(x):
        return -((x - mu) ** 2).sum(1) / (2 * 0.25)

    opt = axonal.optim.Adam(pf.parameters(), lr=0.05)
    losses = []
    for _ in range(150):
        loss = pf.reverse_kl(log_target, n=128)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    # KL(q || p) - log Z: the log normalizer of the target is log(2 pi 0.25) = 0.45
    assert np.mean(losses[:10]) > np.mean(losses[-10:]) + 1.0


# -- PCA -----------------------------------------------------------------------------------------
def test_pca_against_the_covariance_eigendecomposition():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 6)) @ rng.normal(size=(6, 6)) + 3.0
    pca = PCA(3).fit(x)
    evals, evecs = np.linalg.eigh(np.cov(x.T))
    order = np.argsort(evals)[::-1]
    np.testing.assert_allclose(pca.explained_variance_, evals[order[:3]], rtol=1e-10)
    np.testing.assert_allclose(pca.explained_variance_ratio_, evals[order[:3]] / evals.sum(),
                               rtol=1e-10)
    for k in range(3):  # the same directions up to sign, with the sign convention applied
        v = evecs[:, order[k]]
        np.testing.assert_allclose(np.abs(pca.components_[k] @ v), 1.0, atol=1e-10)
        assert pca.components_[k][np.argmax(np.abs(pca.components_[k]))] > 0
    _, s, _ = np.linalg.svd(x - x.mean(0), full_matrices=False)
    np.testing.assert_allclose(pca.singular_values_, s[:3], rtol=1e-10)
    # the rank-3 reconstruction error is the variance left in the other directions
    err = pca.reconstruction_error(x)
    np.testing.assert_allclose(err * x.size, evals[order[3:]].sum() * (len(x) - 1), rtol=1e-8)
    full = PCA().fit(x)
    np.testing.assert_allclose(full.inverse_transform(full.transform(x)), x, atol=1e-10)


def test_pca_tensors_whitening_and_errors():
    x = axonal.randn(100, 4)
    pca = PCA(2, whiten=True).fit(x)
    z = pca.transform(x)
    assert isinstance(z, axonal.Tensor) and z.dtype == axonal.float32
    np.testing.assert_allclose(np.cov(z.numpy().T), np.eye(2), atol=1e-4)
    with pytest.raises(RuntimeError, match="fit"):
        PCA(2).transform(x)
    with pytest.raises(ValueError, match="n_components=5"):
        PCA(5).fit(x)
    with pytest.raises(ValueError, match="expected 4 features"):
        pca.transform(axonal.randn(3, 5))


# -- autoencoders ---------------------------------------------------------------------------------
def test_mlp_autoencoder_shapes_and_denoising():
    ae = mlp_autoencoder([20, 16, 8, 3])
    kinds = [type(m).__name__ for m in ae.encoder] + ["|"] + [type(m).__name__ for m in ae.decoder]
    assert kinds == ["Linear", "ReLU", "Linear", "ReLU", "Linear", "|", "Linear", "ReLU", "Linear",
                     "ReLU", "Linear", "Sigmoid"]
    x = axonal.rand(5, 20)
    assert ae.encode(x).shape == (5, 3) and ae(x).shape == (5, 20)
    dae = mlp_autoencoder([20, 3], denoising="masking", noise_level=0.5)
    assert isinstance(dae, DenoisingAutoencoder)
    ones = axonal.ones(400, 20)
    frac = float((dae.corrupt(ones) == 0).float().mean().item())
    assert 0.45 < frac < 0.55
    dae.eval()
    np.testing.assert_allclose(npy(dae(x)), npy(dae.decoder(dae.encoder(x))))
    with pytest.raises(ValueError, match="noise must be"):
        mlp_autoencoder([4, 2], denoising="blur")


def test_reconstruction_trainer_learns_a_low_rank_set():
    axonal.manual_seed(0)
    rng = np.random.default_rng(0)
    x = (rng.random((256, 2)) @ rng.random((2, 12)) / 2).astype(np.float32)
    ae = mlp_autoencoder([12, 8, 2])
    trainer = ReconstructionTrainer(ae, axonal.optim.Adam(ae.parameters(), lr=1e-2))
    data = DataLoader(TensorDataset(x, np.zeros(256, dtype=np.int64)), batch_size=32, shuffle=True)
    hist = trainer.fit(data, 20, verbose=0)
    assert hist["loss"][-1] < 0.2 * hist["loss"][0]


# -- VAE ------------------------------------------------------------------------------------------
def test_vae_negative_elbo_matches_a_numpy_computation():
    axonal.manual_seed(0)
    vae = mlp_vae(6, 5, 2).double()
    x = t64((np.random.default_rng(0).random((4, 6)) < 0.5).astype(float))
    axonal.manual_seed(3)
    recon, kl = vae.loss_terms(x)
    axonal.manual_seed(3)
    eps = axonal.randn(4, 2, dtype=axonal.float64).numpy()
    with axonal.no_grad():
        h = vae.encoder(x).numpy()
        mu, logvar = h[:, :2], h[:, 2:]
        z = mu + np.exp(0.5 * logvar) * eps
        logits = vae.decoder(t64(z)).numpy()
    xn = x.numpy()
    want_recon = (np.logaddexp(0, logits) - xn * logits).sum(1)        # BCE with logits
    want_kl = 0.5 * (mu ** 2 + np.exp(logvar) - 1 - logvar).sum(1)
    np.testing.assert_allclose(npy(recon), want_recon, rtol=1e-10)
    np.testing.assert_allclose(npy(kl), want_kl, rtol=1e-10)
    vae.loss(x)["loss"].backward()
    assert all(p.grad is not None and np.abs(p.grad.numpy()).sum() > 0 for p in vae.parameters())


def test_vae_elbo_bounds_the_log_likelihood_by_quadrature():
    """1-d latent: log p(x) = log integral N(z) p(x|z) dz on a fine grid; the ELBO (with the
    reconstruction expectation integrated on the same grid) lies below it, and the importance
    weighted estimate lies between them."""
    from axonal.recipes.vae import importance_weighted_nll

    axonal.manual_seed(2)
    vae = scramble(mlp_vae(3, 4, 1).double(), std=1.0, seed=2)
    x = np.array([[1.0, 0.0, 1.0], [0.0, 0.0, 1.0]])
    zs = np.linspace(-10, 10, 4001)
    dz = zs[1] - zs[0]
    with axonal.no_grad():
        logits = vae.decoder(t64(zs[:, None])).numpy()                     # (G, 3)
        h = vae.encoder(t64(x)).numpy()
    log_px_z = (x[:, None, :] * logits[None] - np.logaddexp(0, logits)[None]).sum(-1)  # (2, G)
    log_prior = -0.5 * zs ** 2 - 0.5 * math.log(2 * math.pi)
    log_px = np.log((np.exp(log_px_z + log_prior) * dz).sum(1))
    mu, sd = h[:, 0], np.exp(0.5 * h[:, 1])
    q = np.exp(-0.5 * ((zs[None] - mu[:, None]) / sd[:, None]) ** 2) / (sd[:, None] * math.sqrt(
        2 * math.pi))
    kl = 0.5 * (mu ** 2 + sd ** 2 - 1 - np.log(sd ** 2))
    elbo = (q * log_px_z * dz).sum(1) - kl
    assert (elbo < log_px).all()
    axonal.manual_seed(0)
    mc = np.mean([npy(vae.negative_elbo(t64(x))) for _ in range(400)], axis=0)
    np.testing.assert_allclose(mc, -elbo, rtol=0.05)
    iw = importance_weighted_nll(vae, x, k=2000)
    assert -log_px.mean() - 0.02 < iw < -elbo.mean()


def test_vae_trainer_and_conv_vae():
    axonal.manual_seed(0)
    vae = mlp_vae(16, 8, 2)
    x = (np.random.default_rng(0).random((64, 16)) < 0.3).astype(np.float32)
    trainer = VAETrainer(vae, axonal.optim.Adam(vae.parameters(), lr=1e-2), binarize=True)
    hist = trainer.fit(DataLoader(TensorDataset(x), batch_size=16), 10, verbose=0)
    assert set(hist.keys()) >= {"loss", "recon", "kl"} and hist["loss"][-1] < hist["loss"][0]
    assert trainer.evaluate(DataLoader(TensorDataset(x), batch_size=64))["loss"] > 0
    cv = conv_vae(latent_dim=3, channels=(4, 8))
    img = axonal.bernoulli(axonal.rand(2, 1, 28, 28))
    assert cv.loss(img)["loss"].shape == () and cv.sample(3).shape == (3, 1, 28, 28)
    with pytest.raises(ValueError, match=r"\(batch, 6\)"):
        VAE(nn.Linear(4, 5), nn.Linear(3, 4), 3).encode(axonal.zeros(2, 4))


# -- GAN ------------------------------------------------------------------------------------------
def test_gan_losses_are_the_minimax_and_non_saturating_objectives():
    axonal.manual_seed(0)
    gan = mlp_gan(latent_dim=4, hidden=(8, 8), out_features=6, dropout=0.0)
    real, fake = axonal.rand(5, 6), gan.sample(5)
    d_loss, _, _ = gan.discriminator_loss(real, fake)
    g_loss, _ = gan.generator_loss(fake)
    with axonal.no_grad():
        dr = npy(gan.discriminator(real).sigmoid())
        df = npy(gan.discriminator(fake).sigmoid())
    np.testing.assert_allclose(d_loss.item(), -(np.log(dr).mean() + np.log(1 - df).mean()),
                               rtol=1e-5)
    np.testing.assert_allclose(g_loss.item(), -np.log(df).mean(), rtol=1e-5)
    gan.zero_grad()
    gan.discriminator_loss(real, fake)[0].backward()   # the fake batch is detached: G gets nothing
    assert all(p.grad is None for p in gan.generator.parameters())


def test_gan_trainer_updates_both_players_and_checkpoints_its_optimizers():
    axonal.manual_seed(0)
    gan = mlp_gan(latent_dim=4, hidden=(8, 8), out_features=6)
    opt = gan_optimizer(gan, lr=1e-3)
    before = {k: v.numpy().copy() for k, v in gan.state_dict().items()}
    trainer = GANTrainer(gan, opt)
    data = DataLoader(TensorDataset(axonal.rand(32, 6) * 2 - 1), batch_size=16)
    hist = trainer.fit(data, 1, verbose=0)
    assert set(hist.keys()) >= {"d_loss", "g_loss", "d_real", "d_fake"}
    after = gan.state_dict()
    for prefix in ("generator.", "discriminator."):
        assert any(not np.allclose(before[k], after[k].numpy()) for k in before
                   if k.startswith(prefix))
    state = opt.state_dict()
    fresh = gan_optimizer(gan, lr=1e-3)
    fresh.load_state_dict(state)
    assert fresh.state_dict()["generator"]["param_groups"] == state["generator"]["param_groups"]
    assert len(opt.param_groups) == 2
    with pytest.raises(TypeError, match="GANOptimizer"):
        GANTrainer(gan, axonal.optim.Adam(gan.parameters())).fit(data, 1, verbose=0)


def test_dcgan_shapes():
    axonal.manual_seed(0)
    gan = dcgan(latent_dim=8, channels=4)
    img = gan.sample(3)
    assert img.shape == (3, 1, 28, 28) and float(img.abs().max().item()) <= 1
    assert gan.discriminator(img).shape == (3, 1)


# -- recipes: smoke runs (a few steps on tiny subsets) ---------------------------------------------
SMOKE = {
    "autoencoder": {}, "autoencoder-2d": {}, "banknote-autoencoder": {},
    "vae": {"iw_samples": 16, "iw_k": 4}, "conv-vae": {"iw_samples": 8, "iw_k": 2},
    "gan": {"judge_epochs": 1, "judged_samples": 50},
    "dcgan": {"judge_epochs": 1, "judged_samples": 20},
    "realnvp": {"dataset": "moons"},
    "rbm": {"gibbs_steps": 5, "pll_exact_samples": 16},
    "dbn": {"few_labels": 32, "few_label_epochs": 1},
}
EXPECTED = {
    "autoencoder": ["test_mse", "pca_test_mse", "mse_ratio", "knn_accuracy", "pca_knn_accuracy"],
    "autoencoder-2d": ["test_mse", "pca_test_mse", "knn_accuracy", "pca_knn_accuracy"],
    "banknote-autoencoder": ["test_mse", "pca_test_mse"],
    "vae": ["test_neg_elbo", "test_kl", "test_nll_iw"], "conv-vae": ["test_neg_elbo"],
    "gan": ["sample_mean_max_prob", "sample_classes_covered", "judge_test_accuracy"],
    "dcgan": ["sample_mean_max_prob", "sample_classes_covered"],
    "realnvp": ["test_nll", "gaussian_test_nll", "nll_improvement"],
    "rbm": ["recon_error_by_epoch", "pll_by_epoch", "test_pll_exact"],
    "dbn": ["test_accuracy", "labels1000_pretrained_accuracy", "labels1000_random_init_accuracy"],
}


@pytest.mark.parametrize("name", sorted(SMOKE))
def test_recipe_smoke_run(name, tmp_path):
    pytest.importorskip("matplotlib")
    from axonal.recipes import train

    opts = SMOKE[name]
    metrics = train(name, epochs=1, limit_train=64, out=tmp_path, quiet=True, batch_size=32,
                    options=opts or None, log=lambda *a: None)
    saved = json.loads((tmp_path / "metrics.json").read_text())
    for key in EXPECTED[name]:
        assert key in saved and key in metrics, key
    assert (tmp_path / "checkpoint").exists() and (tmp_path / "curves.png").exists()
    assert len(list(tmp_path.glob("*.png"))) >= 2
    if name in ("vae", "realnvp"):  # `axonal evaluate` rebuilds the recipe's own Trainer
        from axonal.recipes import evaluate

        result = evaluate(tmp_path / "checkpoint")
        assert result["recipe"] == name and math.isfinite(result["test_loss"])


def test_gan_judge_sees_samples_as_it_saw_real_digits(tmp_path):
    # a "generator" that returns real test digits (in the generator's [-1, 1] range) must be judged
    # exactly as confidently as the real digits themselves: the judge is trained and applied on
    # one scale
    from axonal.recipes._common import arrays_of
    from axonal.recipes.registry import get_recipe

    rec = get_recipe("gan")
    rec.options.update(judge_epochs=1, judged_samples=500)
    datasets = rec.datasets(limit_train=3000)
    real = arrays_of(datasets[2])[0]  # (2000, 784) in [-1, 1]

    class Perfect(nn.Module):
        latent_dim = 4

        def __init__(self):
            super().__init__()
            self.generator = lambda z: axonal.from_numpy(real[:z.shape[0]])

    m, _ = rec.report(Perfect(), None, datasets, str(tmp_path), lambda *a: None)
    assert m["judge_test_accuracy"] > 0.8  # one epoch on 3,000 digits: a modest judge
    assert m["judge_real_mean_max_prob"] > 0.6
    assert abs(m["sample_mean_max_prob"] - m["judge_real_mean_max_prob"]) < 0.05
    assert m["sample_classes_covered"] == 10
