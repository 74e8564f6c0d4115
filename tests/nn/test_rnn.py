"""Recurrent layers and cells against PyTorch (weights copied through state_dict), finite
differences in float64 (first and second order), the lecture's BPTT formulas for a tanh RNN written
out in NumPy, packed sequences, long sequences and the error messages."""
import itertools

import numpy as np
import pytest

import axonal
from axonal.autograd import gradcheck, gradgradcheck
from axonal.nn.layers.rnn import GRU, LSTM, RNN
from axonal.nn.layers.rnn_cells import GRUCell, LSTMCell, RNNCell
from axonal.nn.utils import rnn as rnn_utils

torch = pytest.importorskip("torch")

LAYERS = {"rnn_tanh": (RNN, torch.nn.RNN, {}), "rnn_relu": (RNN, torch.nn.RNN,
                                                            {"nonlinearity": "relu"}),
          "lstm": (LSTM, torch.nn.LSTM, {}), "gru": (GRU, torch.nn.GRU, {})}
TOL = {"rtol": 2e-4, "atol": 2e-5}


def _pair(mode, *args, dtype=np.float32, **kw):
    ax_cls, th_cls, extra = LAYERS[mode]
    kw = {**extra, **kw}
    t = th_cls(*args, **kw)
    a = ax_cls(*args, **kw)
    if dtype == np.float64:
        t, a = t.double(), a.double()
    a.load_state_dict({k: v.detach().numpy() for k, v in t.state_dict().items()})
    return a, t


def _states(out):
    """Flatten (output, h_n) / (output, (h_n, c_n)) into a list of tensors."""
    o, h = out
    return [o] + (list(h) if isinstance(h, tuple) else [h])


def _compare(a, t, x, hx, rng, tol=TOL):
    """Forward, then backward of a random linear function of every output; compare everything."""
    xa = axonal.tensor(x, requires_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    ha = ht = None
    if hx is not None:
        ha = tuple(axonal.tensor(h, requires_grad=True) for h in hx)
        ht = tuple(torch.tensor(h, requires_grad=True) for h in hx)
    outs_a = _states(a(xa, None if ha is None else (ha if len(ha) == 2 else ha[0])))
    outs_t = _states(t(xt, None if ht is None else (ht if len(ht) == 2 else ht[0])))
    loss_a, loss_t = 0, 0
    for oa, ot in zip(outs_a, outs_t):
        np.testing.assert_allclose(oa.detach().numpy(), ot.detach().numpy(), **tol)
        g = rng.standard_normal(tuple(ot.shape)).astype(x.dtype)
        loss_a = loss_a + (oa * axonal.tensor(g)).sum()
        loss_t = loss_t + (ot * torch.tensor(g)).sum()
    loss_a.backward()
    loss_t.backward()
    np.testing.assert_allclose(xa.grad.numpy(), xt.grad.numpy(), **tol, err_msg="input grad")
    for k, (h1, h2) in enumerate(zip(ha or (), ht or ())):
        np.testing.assert_allclose(h1.grad.numpy(), h2.grad.numpy(), **tol, err_msg=f"hx[{k}]")
    tp = dict(t.named_parameters())
    assert set(tp) == {n for n, _ in a.named_parameters()}
    for name, p in a.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), tp[name].grad.numpy(), **tol, err_msg=name)


FLAGS = list(itertools.product(["rnn_tanh", "rnn_relu", "lstm", "gru"], [1, 2], [False, True],
                               [False, True], [True, False], [False, True]))


@pytest.mark.parametrize("mode,layers,bidir,batch_first,bias,with_state", FLAGS)
def test_layer_matches_torch(mode, layers, bidir, batch_first, bias, with_state):
    rng = np.random.default_rng(hash((mode, layers, bidir, batch_first, bias)) % 2**32)
    a, t = _pair(mode, 5, 6, num_layers=layers, bidirectional=bidir, batch_first=batch_first,
                 bias=bias)
    T, B = 4, 3
    x = rng.standard_normal((B, T, 5) if batch_first else (T, B, 5)).astype(np.float32)
    hx = None
    if with_state:
        shape = (layers * (2 if bidir else 1), B, 6)
        hx = tuple(rng.standard_normal(shape).astype(np.float32) * 0.5
                   for _ in range(2 if mode == "lstm" else 1))
    _compare(a, t, x, hx, rng)


@pytest.mark.parametrize("mode", list(LAYERS))
def test_unbatched_input_and_state(mode):
    rng = np.random.default_rng(1)
    a, t = _pair(mode, 3, 4, num_layers=2, bidirectional=True)
    x = rng.standard_normal((5, 3)).astype(np.float32)
    hx = tuple(rng.standard_normal((4, 4)).astype(np.float32) for _ in range(1 + (mode == "lstm")))
    _compare(a, t, x, hx, rng)
    _compare(a, t, x, None, rng)


@pytest.mark.parametrize("mode", ["lstm", "gru"])
def test_dropout_eval_is_identity_and_train_drops(mode):
    rng = np.random.default_rng(2)
    a, t = _pair(mode, 3, 4, num_layers=3, dropout=0.5)
    a.eval()
    t.eval()
    x = rng.standard_normal((6, 2, 3)).astype(np.float32)
    _compare(a, t, x, None, rng)
    a.train()
    o1 = a(axonal.tensor(x))[0].detach().numpy()
    o2 = a(axonal.tensor(x))[0].detach().numpy()
    assert not np.allclose(o1, o2)  # dropout between layers is active in training


@pytest.mark.parametrize("mode", list(LAYERS))
def test_dropout_zero_train_mode(mode):
    rng = np.random.default_rng(3)
    a, t = _pair(mode, 3, 4, num_layers=2, dropout=0.0)
    a.train()
    t.train()
    _compare(a, t, rng.standard_normal((5, 2, 3)).astype(np.float32), None, rng)


@pytest.mark.parametrize("mode", list(LAYERS))
def test_float64_matches_torch_tightly(mode):
    rng = np.random.default_rng(4)
    a, t = _pair(mode, 3, 4, num_layers=2, bidirectional=True, dtype=np.float64)
    hx = tuple(rng.standard_normal((4, 2, 4)) for _ in range(1 + (mode == "lstm")))
    _compare(a, t, rng.standard_normal((5, 2, 3)), hx, rng, tol={"rtol": 1e-10, "atol": 1e-12})


@pytest.mark.parametrize("mode,bidir", [("lstm", True), ("gru", True), ("rnn_tanh", False)])
def test_packed_sequence_matches_torch(mode, bidir):
    rng = np.random.default_rng(5)
    a, t = _pair(mode, 3, 4, num_layers=2, bidirectional=bidir, batch_first=True)
    lengths = [3, 6, 1, 4]
    x = rng.standard_normal((4, 6, 3)).astype(np.float32)
    xa, xt = axonal.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    pa = rnn_utils.pack_padded_sequence(xa, lengths, batch_first=True, enforce_sorted=False)
    pt = torch.nn.utils.rnn.pack_padded_sequence(xt, lengths, batch_first=True,
                                                 enforce_sorted=False)
    np.testing.assert_array_equal(pa.batch_sizes.numpy(), pt.batch_sizes.numpy())
    np.testing.assert_allclose(pa.data.detach().numpy(), pt.data.detach().numpy())
    oa, ha = a(pa)
    ot, ht = t(pt)
    ya, la = rnn_utils.pad_packed_sequence(oa, batch_first=True)
    yt, lt = torch.nn.utils.rnn.pad_packed_sequence(ot, batch_first=True)
    np.testing.assert_array_equal(la.numpy(), lt.numpy())
    outs_a, outs_t = [ya] + _states((None, ha))[1:], [yt] + _states((None, ht))[1:]
    loss_a = loss_t = 0
    for u, v in zip(outs_a, outs_t):
        np.testing.assert_allclose(u.detach().numpy(), v.detach().numpy(), **TOL)
        g = rng.standard_normal(tuple(v.shape)).astype(np.float32)
        loss_a, loss_t = loss_a + (u * axonal.tensor(g)).sum(), loss_t + (v * torch.tensor(g)).sum()
    loss_a.backward()
    loss_t.backward()
    np.testing.assert_allclose(xa.grad.numpy(), xt.grad.numpy(), **TOL)
    tp = dict(t.named_parameters())
    for name, p in a.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), tp[name].grad.numpy(), **TOL, err_msg=name)


def test_pad_sequence_and_pack_sequence():
    seqs = [np.arange(n * 2, dtype=np.float32).reshape(n, 2) for n in (3, 1, 2)]
    pa = rnn_utils.pad_sequence([axonal.tensor(s) for s in seqs], batch_first=True,
                                padding_value=-1.0)
    pt = torch.nn.utils.rnn.pad_sequence([torch.tensor(s) for s in seqs], batch_first=True,
                                         padding_value=-1.0)
    np.testing.assert_array_equal(pa.numpy(), pt.numpy())
    packed = rnn_utils.pack_sequence([axonal.tensor(s) for s in seqs], enforce_sorted=False)
    back = rnn_utils.unpack_sequence(packed)
    for s, b in zip(seqs, back):
        np.testing.assert_array_equal(b.numpy(), s)
    with pytest.raises(RuntimeError, match="sorted in decreasing order"):
        rnn_utils.pack_padded_sequence(axonal.zeros(3, 2, 1), [1, 3])


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_cells_match_torch(cell):
    rng = np.random.default_rng(6)
    ax_cls, th_cls = {"rnn": (RNNCell, torch.nn.RNNCell), "lstm": (LSTMCell, torch.nn.LSTMCell),
                      "gru": (GRUCell, torch.nn.GRUCell)}[cell]
    t, a = th_cls(3, 5), ax_cls(3, 5)
    a.load_state_dict({k: v.detach().numpy() for k, v in t.state_dict().items()})
    for batched in (True, False):
        shape = (4, 3) if batched else (3,)
        x = rng.standard_normal(shape).astype(np.float32)
        hs = [rng.standard_normal(shape[:-1] + (5,)).astype(np.float32)
              for _ in range(2 if cell == "lstm" else 1)]
        xa, xt = axonal.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        ha = [axonal.tensor(h, requires_grad=True) for h in hs]
        ht = [torch.tensor(h, requires_grad=True) for h in hs]
        oa = a(xa, tuple(ha) if cell == "lstm" else ha[0])
        ot = t(xt, tuple(ht) if cell == "lstm" else ht[0])
        oa, ot = (list(oa), list(ot)) if cell == "lstm" else ([oa], [ot])
        la = lt = 0
        for u, v in zip(oa, ot):
            np.testing.assert_allclose(u.detach().numpy(), v.detach().numpy(), **TOL)
            g = rng.standard_normal(tuple(v.shape)).astype(np.float32)
            la, lt = la + (u * axonal.tensor(g)).sum(), lt + (v * torch.tensor(g)).sum()
        la.backward()
        lt.backward()
        np.testing.assert_allclose(xa.grad.numpy(), xt.grad.numpy(), **TOL)
        for u, v in zip(ha, ht):
            np.testing.assert_allclose(u.grad.numpy(), v.grad.numpy(), **TOL)
    assert a(axonal.tensor(x)) is not None  # no state: zeros


@pytest.mark.parametrize("mode", list(LAYERS))
def test_gradcheck_float64(mode):
    axonal.manual_seed(0)
    cls, _, extra = LAYERS[mode]
    layer = cls(2, 3, num_layers=2, bidirectional=True, **extra).double()
    x = axonal.randn(3, 2, 2, dtype=axonal.float64, requires_grad=True)
    h0 = axonal.randn(4, 2, 3, dtype=axonal.float64, requires_grad=True)
    params = list(layer.parameters())

    def f(x, h0, *ps):
        hx = (h0, h0 * 0.5) if mode == "lstm" else h0
        out, h = layer(x, hx)
        return (out, h[0], h[1]) if mode == "lstm" else (out, h)

    assert gradcheck(f, (x, h0, params[0], params[1], params[-1]))


@pytest.mark.parametrize("mode", list(LAYERS))
def test_gradgradcheck_float64_packed_reverse(mode):
    """Second derivatives (create_graph=True) through the recomputed, differentiable BPTT."""
    from axonal.ops.rnn import recurrence

    g = {"lstm": 4, "gru": 3}.get(mode, 1)
    rng = np.random.default_rng(7)
    gx = axonal.tensor(rng.standard_normal((6, g * 2)), requires_grad=True)
    w = axonal.tensor(rng.standard_normal((g * 2, 2)) * 0.7, requires_grad=True)
    b = axonal.tensor(rng.standard_normal(g * 2), requires_grad=True)
    h0 = axonal.tensor(rng.standard_normal((3, 2)), requires_grad=True)
    if mode == "rnn_relu":  # keep pre-activations away from the kink for finite differences
        gx = axonal.tensor(np.abs(gx._data) + 0.5, requires_grad=True)
        w = axonal.tensor(np.abs(w._data) * 0.3, requires_grad=True)
    for reverse in (False, True):
        def f(gx, w, b, h0, reverse=reverse):
            out, h, c = recurrence(mode, gx, w, b, h0, h0 * 0.3, batch_sizes=[3, 2, 1],
                                   reverse=reverse)
            return (out, h) if c is None else (out, h, c)

        assert gradcheck(f, (gx, w, b, h0))
        assert gradgradcheck(f, (gx, w, b, h0), atol=1e-4)


def test_bptt_formulas_by_hand_tanh_rnn():
    """h_t = tanh(W_ih x_t + b + W_hh h_{t-1}), L = sum_t v_t . h_t.

    dL/dh_t = v_t + W_hh^T diag(1 - h_{t+1}^2) dL/dh_{t+1}      (dL/dh_T = v_T)
    delta_t = diag(1 - h_t^2) dL/dh_t
    dL/dW_hh = sum_t delta_t h_{t-1}^T,  dL/dW_ih = sum_t delta_t x_t^T,  dL/db = sum_t delta_t
    """
    rng = np.random.default_rng(8)
    T, n_in, H = 7, 3, 4
    x = rng.standard_normal((T, n_in))
    v = rng.standard_normal((T, H))
    layer = RNN(n_in, H, bias=True).double()
    w_ih, w_hh = layer.weight_ih_l0._data, layer.weight_hh_l0._data
    b = layer.bias_ih_l0._data + layer.bias_hh_l0._data
    hs = [np.zeros(H)]
    for t in range(T):
        hs.append(np.tanh(w_ih @ x[t] + w_hh @ hs[-1] + b))
    hs = np.array(hs)  # hs[t + 1] = h_t
    dh = np.zeros((T, H))
    dh[T - 1] = v[T - 1]
    for t in range(T - 2, -1, -1):
        dh[t] = v[t] + w_hh.T @ ((1 - hs[t + 2] ** 2) * dh[t + 1])
    delta = (1 - hs[1:] ** 2) * dh
    d_whh = sum(np.outer(delta[t], hs[t]) for t in range(T))
    d_wih = sum(np.outer(delta[t], x[t]) for t in range(T))
    out, _ = layer(axonal.tensor(x))
    np.testing.assert_allclose(out.detach().numpy(), hs[1:], rtol=1e-12)
    (out * axonal.tensor(v)).sum().backward()
    np.testing.assert_allclose(layer.weight_hh_l0.grad.numpy(), d_whh, rtol=1e-10)
    np.testing.assert_allclose(layer.weight_ih_l0.grad.numpy(), d_wih, rtol=1e-10)
    np.testing.assert_allclose(layer.bias_hh_l0.grad.numpy(), delta.sum(0), rtol=1e-10)


def test_thousand_step_sequence_trains():
    axonal.manual_seed(0)
    lstm = LSTM(2, 8)
    head = axonal.nn.Linear(8, 1)
    opt = axonal.optim.Adam(list(lstm.parameters()) + list(head.parameters()), lr=1e-2)
    x = axonal.randn(1000, 2, 2)
    losses = []
    for _ in range(2):
        out, _ = lstm(x)
        loss = (head(out[-1]) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert np.isfinite(losses).all()
    assert all(np.isfinite(p.grad.numpy()).all() for p in lstm.parameters())
    cell, h = RNNCell(2, 4), None  # a 1,000-step Python loop of cells: a deep graph, no recursion
    for t in range(1000):
        h = cell(x[t], h)
    h.sum().backward()
    assert np.isfinite(cell.weight_hh.grad.numpy()).all()


def test_state_dict_names_and_init_match_torch():
    a, t = LSTM(3, 4, num_layers=2, bidirectional=True), torch.nn.LSTM(3, 4, 2, bidirectional=True)
    assert list(a.state_dict()) == list(t.state_dict())
    for (n, p), (_, q) in zip(a.state_dict().items(), t.state_dict().items()):
        assert tuple(p.shape) == tuple(q.shape), n
        assert np.abs(p.numpy()).max() <= 0.5  # U(-1/sqrt(4), 1/sqrt(4))
    assert repr(a) == repr(t)


def test_clear_errors():
    lstm = LSTM(3, 4, num_layers=2)
    with pytest.raises(axonal.ShapeError, match=r"LSTM\(3, 4, num_layers=2\).*input"):
        lstm(axonal.zeros(5, 2, 7))
    with pytest.raises(axonal.ShapeError, match="h_0 of shape"):
        lstm(axonal.zeros(5, 2, 3), (axonal.zeros(1, 2, 4), axonal.zeros(2, 2, 4)))
    with pytest.raises(axonal.DTypeError, match="dtype"):
        lstm(axonal.zeros(5, 2, 3, dtype=axonal.float64))
    with pytest.raises(axonal.ShapeError, match="GRUCell"):
        GRUCell(3, 4)(axonal.zeros(2, 5))


# -- the whole-sequence LSTM kernel (kernels.rnn.lstm_seq_*): batches split across threads ---------
@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("bidir", [False, True])
def test_lstm_sequence_kernel_matches_torch(threads, bidir, monkeypatch):
    from axonal.kernels import rnn as K

    if K.SGEMM is None:
        pytest.skip("no OpenBLAS sgemm found: the sequence kernel is not used")
    for fn, args in K.warmup_cases():  # compile first: the parallel drivers bind the serial ones
        fn(*args)
    calls = []
    for name in ("lstm_seq_fwd_par", "lstm_seq_bwd_par", "lstm_seq_fwd", "lstm_seq_bwd"):
        fn = getattr(K, name)
        monkeypatch.setattr(K, name, lambda *a, _f=fn, _n=name: calls.append(_n) or _f(*a))
    rng = np.random.default_rng(11)
    prev = axonal.get_num_threads()
    axonal.set_num_threads(threads)
    try:
        a, t = _pair("lstm", 5, 12, num_layers=2, bidirectional=bidir)
        hx = tuple(rng.standard_normal((2 * (1 + bidir), 37, 12)).astype(np.float32)
                   for _ in range(2))
        _compare(a, t, rng.standard_normal((9, 37, 5)).astype(np.float32), hx, rng)
    finally:
        axonal.set_num_threads(prev)
    kind = "_par" if threads == 2 else ""
    n = 2 * (1 + bidir)  # layers x directions
    assert sorted(calls) == sorted([f"lstm_seq_fwd{kind}", f"lstm_seq_bwd{kind}"] * n)


def test_lstm_sequence_kernel_packed_rows_split_unevenly():
    # 40 sequences of lengths 1..13: the threads' row blocks run out at different steps
    rng = np.random.default_rng(12)
    a, t = _pair("lstm", 3, 8, num_layers=1, bidirectional=True, batch_first=True)
    lengths = [int(v) for v in rng.integers(1, 14, 40)]
    x = rng.standard_normal((40, 13, 3)).astype(np.float32)
    xa, xt = axonal.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    oa, (ha, _) = a(rnn_utils.pack_padded_sequence(xa, lengths, batch_first=True,
                                                   enforce_sorted=False))
    ot, (ht, _) = t(torch.nn.utils.rnn.pack_padded_sequence(xt, lengths, batch_first=True,
                                                            enforce_sorted=False))
    ya, _ = rnn_utils.pad_packed_sequence(oa, batch_first=True)
    yt, _ = torch.nn.utils.rnn.pad_packed_sequence(ot, batch_first=True)
    np.testing.assert_allclose(ya.detach().numpy(), yt.detach().numpy(), **TOL)
    np.testing.assert_allclose(ha.detach().numpy(), ht.detach().numpy(), **TOL)
    g = rng.standard_normal(tuple(yt.shape)).astype(np.float32)
    ((ya * axonal.tensor(g)).sum() + ha.sum()).backward()
    ((yt * torch.tensor(g)).sum() + ht.sum()).backward()
    np.testing.assert_allclose(xa.grad.numpy(), xt.grad.numpy(), **TOL)
    tp = dict(t.named_parameters())
    for name, p in a.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), tp[name].grad.numpy(), **TOL, err_msg=name)
