"""LeakyRNN, the echo state network on Mackey-Glass, Pascanu's Omega (value and double-backprop
gradient against NumPy), truncated BPTT, the sequence models, and smoke runs of the recipes."""
import json

import numpy as np
import pytest

import axonal
from axonal.autograd import gradcheck
from axonal.datasets import mackey_glass
from axonal.nn import bptt
from axonal.nn.layers.leaky import EchoStateNetwork, LeakyRNN
from axonal.nn.layers.rnn import LSTM, RNN
from axonal.nn.layers.rnn_cells import RNNCell
from axonal.train import truncated_bptt

DATA = None  # the data dir conftest sets: generated files (Tiny Shakespeare, ...), offline


def test_leaky_rnn_alpha_zero_is_elman_rnn():
    leaky = LeakyRNN(3, 4, alpha=0.0)
    rnn = RNN(3, 4)
    rnn.load_state_dict({"weight_ih_l0": leaky.weight_ih._data, "weight_hh_l0": leaky.weight_hh._data,
                         "bias_ih_l0": leaky.bias._data, "bias_hh_l0": np.zeros(4, np.float32)})
    x = axonal.randn(6, 2, 3)
    np.testing.assert_allclose(leaky(x)[0].detach().numpy(), rnn(x)[0].detach().numpy(),
                               rtol=1e-5, atol=1e-6)


def test_leaky_rnn_integrates_and_learns_alpha():
    leaky = LeakyRNN(2, 3, alpha=0.8, learn_alpha=True, batch_first=True).double()
    a = leaky.alpha.item()
    assert abs(a - 0.8) < 1e-6
    x = axonal.randn(2, 5, 2, dtype=axonal.float64)
    h0 = axonal.randn(2, 3, dtype=axonal.float64)
    out, _h = leaky(x, h0)
    first = a * h0.numpy() + (1 - a) * np.tanh(x.numpy()[:, 0] @ leaky.weight_ih._data.T
                                             + h0.numpy() @ leaky.weight_hh._data.T
                                             + leaky.bias._data)
    np.testing.assert_allclose(out.detach().numpy()[:, 0], first, rtol=1e-12)
    assert gradcheck(lambda a, w: leaky(x, h0)[0], (leaky.alpha_logit, leaky.weight_hh))
    with pytest.raises(ValueError, match="alpha"):
        LeakyRNN(2, 3, alpha=1.0)


def test_echo_state_network_fits_mackey_glass():
    s = mackey_glass(2600)
    assert 0.3 < s.min() < s.max() < 1.5  # the attractor's usual range
    u, y = s[:-1] - 1.0, s[1:] - 1.0
    esn = EchoStateNetwork(1, 200, 1, spectral_radius=0.9, density=0.1, input_scaling=0.5,
                           leak_rate=0.5, ridge=1e-8, seed=0)
    radius = np.abs(np.linalg.eigvals(esn.weight_res.numpy())).max()
    assert abs(radius - 0.9) < 1e-9
    assert esn.fit(u[:2000], y[:2000], washout=100) < 0.01
    pred = esn(u).numpy()[2000:, 0]
    nrmse = np.sqrt(np.mean((pred - y[2000:]) ** 2)) / y[2000:].std()
    assert nrmse < 0.01, nrmse
    free = esn.generate(50, u[:2000]).numpy()[:, 0]  # closed loop: its own outputs as inputs
    assert np.sqrt(np.mean((free - (s[2000:2050] - 1)) ** 2)) / s.std() < 0.1
    assert "readout" in esn.state_dict()


def _tanh_rnn(seed=0, T=6, B=3, H=4, n_in=2):
    axonal.manual_seed(seed)
    cell = RNNCell(n_in, H).double()
    x = axonal.randn(T, B, n_in, dtype=axonal.float64)
    hs = [axonal.zeros(B, H, dtype=axonal.float64)]
    for t in range(T):
        hs.append(cell(x[t], hs[-1]))
    loss = (hs[-1] ** 2).sum() + 0.5 * (hs[T // 2] * hs[T // 2]).sum()
    return cell, x, hs, loss


def test_omega_value_and_double_backprop_gradient_against_numpy():
    cell, x, hs, loss = _tanh_rnn()
    om = bptt.omega(loss, hs, lambda k, h: cell(x[k], h))
    w_ih, b = cell.weight_ih._data, cell.bias_ih._data + cell.bias_hh._data
    gs = [g.numpy() for g in axonal.autograd.grad(loss, hs[1:], retain_graph=True)]
    hk = [h.detach().numpy() for h in hs]

    def omega_np(w_hh):  # dL/dh_{k+1} and h_k held fixed, the Jacobian recomputed from W_hh
        total = 0.0
        for k, g in enumerate(gs):
            h_next = np.tanh(x.numpy()[k] @ w_ih.T + hk[k] @ w_hh.T + b)
            v = ((1 - h_next ** 2) * g) @ w_hh
            ratio = np.linalg.norm(v, axis=1) / np.linalg.norm(g, axis=1)
            total += np.mean((ratio - 1) ** 2)
        return total

    w = cell.weight_hh._data.copy()
    np.testing.assert_allclose(om.item(), omega_np(w), rtol=1e-10)
    cell.weight_hh.grad = None
    om.backward()
    numeric = np.zeros_like(w)
    for i in np.ndindex(*w.shape):
        d = np.zeros_like(w)
        d[i] = 1e-6
        numeric[i] = (omega_np(w + d) - omega_np(w - d)) / 2e-6
    np.testing.assert_allclose(cell.weight_hh.grad.numpy(), numeric, rtol=1e-5, atol=1e-8)


def test_truncated_bptt_detaches_between_chunks():
    axonal.manual_seed(0)
    lstm, head = LSTM(2, 5, batch_first=True), axonal.nn.Linear(5, 1)

    def model(x, state):
        out, state = lstm(x, state)
        return head(out), state

    params = list(lstm.parameters()) + list(head.parameters())
    opt = axonal.optim.SGD(params, lr=0.0)  # lr 0: weights stay, so grads can be recomputed
    x, y = axonal.randn(3, 8, 2), axonal.randn(3, 8, 1)
    mse = axonal.nn.functional.mse_loss
    _loss, state = truncated_bptt(model, x, y, mse, opt, k=4)
    assert all(s.grad_fn is None for s in state)
    last = [p.grad.numpy().copy() for p in params]
    with axonal.no_grad():
        _, mid = model(x[:, :4], None)
    opt.zero_grad()
    mse(model(x[:, 4:], bptt.detach_state(mid))[0], y[:, 4:]).backward()
    for a, p in zip(last, params):
        np.testing.assert_allclose(a, p.grad.numpy(), rtol=1e-5, atol=1e-7)
    assert [c.shape[1] for c in bptt.split_time(x, 3)] == [3, 3, 2]


def test_char_models_state_carry_and_causality():
    from axonal.models.rnn_lm import CharLSTM, CharTransformer, sample

    m = CharLSTM(10, 8, 16, num_layers=2)
    ids = axonal.tensor(np.random.default_rng(0).integers(0, 10, (2, 12)))
    full = m(ids).detach().numpy()
    a, st = m(ids[:, :5], return_state=True)
    b = m(ids[:, 5:], st)
    np.testing.assert_allclose(np.concatenate([a.detach().numpy(), b.detach().numpy()], 1), full,
                               rtol=1e-5, atol=1e-6)
    t = CharTransformer(10, d_model=16, nhead=2, num_layers=2, dim_feedforward=32, max_len=16)
    t.eval()
    changed = ids.numpy().copy()
    changed[:, 8] = (changed[:, 8] + 1) % 10
    y1, y2 = t(ids).detach().numpy(), t(axonal.tensor(changed)).detach().numpy()
    np.testing.assert_allclose(y1[:, :8], y2[:, :8], rtol=1e-5, atol=1e-6)  # the past ignores it
    assert not np.allclose(y1[:, 8:], y2[:, 8:])
    assert len(sample(m, [1, 2], 7, 0.5, np.random.default_rng(0))) == 7


def _smoke(name, tmp_path, monkeypatch=None, n_eval=64, **kw):
    """One epoch of a recipe through the runner, with validation and test cut to n_eval samples
    (the full evaluation sets are for CLI runs)."""
    from axonal.recipes import get_recipe, train
    from axonal.utils.data import Subset

    if monkeypatch is not None:
        cls = type(get_recipe(name))
        full = cls.datasets

        def small(self, data_dir=None, limit_train=None):
            tr, va, te = full(self, data_dir, limit_train)
            return tr, Subset(va, range(min(n_eval, len(va)))), Subset(te, range(min(n_eval, len(te))))
        monkeypatch.setattr(cls, "datasets", small)
    out = tmp_path / name
    metrics = train(name, epochs=1, out=str(out), quiet=True, data=DATA, log=lambda *a: None, **kw)
    saved = json.loads((out / "metrics.json").read_text())
    assert saved["epochs"] == 1 and "val_loss" in saved and "seconds" in saved
    return metrics, out


def test_row_mnist_smoke_and_cell_option(tmp_path, monkeypatch):
    m, _ = _smoke("row-mnist", tmp_path, monkeypatch, limit_train=256, batch_size=64,
                  options={"cell": "gru"})
    assert 0 <= m["test_accuracy"] <= 1
    with pytest.raises(ValueError, match="--cell must be one of"):
        _smoke("row-mnist", tmp_path, monkeypatch, limit_train=64, options={"cell": "tcn"})
    with pytest.raises(ValueError, match="has no option"):
        _smoke("mnist-mlp", tmp_path, limit_train=64, options={"cell": "lstm"})


def test_char_lstm_smoke_and_generate(tmp_path, capsys, monkeypatch):
    from axonal.cli import main

    m, out = _smoke("char-lstm", tmp_path, monkeypatch, limit_train=16, batch_size=8, n_eval=16)
    assert m["val_loss"] < 4.3  # ln 65 = 4.17: near uniform after a few steps
    monkeypatch.setenv("AXONAL_DATA", str(tmp_path / "no-data-here"))  # sampling needs no corpus
    monkeypatch.setenv("HOME", str(tmp_path))
    assert main(["generate", str(out / "checkpoint"), "--prompt", "ROMEO:", "--length", "40",
                 "--temperature", "0.8", "--seed", "1"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("ROMEO:") and len(text.rstrip("\n")) >= 46


def test_tiny_shakespeare_vocabulary_constant_matches_the_file():
    from axonal.datasets import TinyShakespeare

    assert "".join(TinyShakespeare(DATA, "val", seq_len=8).chars) == TinyShakespeare.VOCAB


def test_seq2seq_toy_smoke(tmp_path, monkeypatch):
    from axonal.recipes.seq2seq_toy import reverse_task

    x, y = reverse_task(3, 0)
    np.testing.assert_array_equal(y[:, :-1], x[:, :10][:, ::-1])
    m, _ = _smoke("seq2seq-toy", tmp_path, monkeypatch, limit_train=256, n_eval=256)
    assert "test_sequence_accuracy" in m


def test_gradient_flow_experiment(tmp_path):
    from axonal.recipes.gradient_flow import run

    summary = run(str(tmp_path), steps=30)
    assert (tmp_path / "gradient_flow.png").exists()
    assert summary["rnn"]["ratio_first_to_last"] < 1e-3        # vanishes
    assert summary["irnn"]["ratio_first_to_last"] > 1e-2       # survives
    assert summary["lstm-fb3"]["ratio_first_to_last"] > summary["rnn"]["ratio_first_to_last"]
