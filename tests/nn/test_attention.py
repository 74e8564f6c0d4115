"""Attention and transformer layers against PyTorch with copied weights (evaluation mode): outputs,
attention weights, input and parameter gradients, for every mask kind and layout flag."""
import itertools

import numpy as np
import pytest

import axonal
from axonal.nn.functional import scaled_dot_product_attention
from axonal.nn.layers.attention import MultiheadAttention
from axonal.nn.layers.transformer import (
    PositionalEncoding,
    Transformer,
    TransformerDecoder,
    TransformerDecoderLayer,
    TransformerEncoder,
    TransformerEncoderLayer,
)

torch = pytest.importorskip("torch")
TOL = {"rtol": 1e-4, "atol": 2e-5}


def _copy(a, t):
    a.load_state_dict({k: v.detach().numpy() for k, v in t.state_dict().items()})
    a.eval()
    t.eval()


def _both(x):
    return axonal.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)


def _backward_and_compare(outs_a, outs_t, leaves, rng, a=None, t=None, tol=TOL):
    la = lt = 0
    for u, v in zip(outs_a, outs_t):
        np.testing.assert_allclose(u.detach().numpy(), v.detach().numpy(), **tol)
        g = rng.standard_normal(tuple(v.shape)).astype(np.float32)
        la, lt = la + (u * axonal.tensor(g)).sum(), lt + (v * torch.tensor(g)).sum()
    la.backward()
    lt.backward()
    for xa, xt in leaves:
        np.testing.assert_allclose(xa.grad.numpy(), xt.grad.numpy(), **tol)
    if a is not None:
        tp = dict(t.named_parameters())
        names = {n for n, _ in a.named_parameters()}
        assert names == set(tp), names ^ set(tp)
        for name, p in a.named_parameters():
            np.testing.assert_allclose(p.grad.numpy(), tp[name].grad.numpy(), **tol, err_msg=name)


def _masks(kind, n_heads, n, L, S, rng):
    if kind is None:
        return None, None
    if kind == "bool":
        am = rng.random((L, S)) < 0.3
        am[:, 0] = False  # every query keeps at least one key
        kpm = np.zeros((n, S), bool)
        kpm[0, -2:] = True
        return am, kpm
    if kind == "float3d":
        return rng.standard_normal((n * n_heads, L, S)).astype(np.float32), \
            rng.standard_normal((n, S)).astype(np.float32)
    return rng.standard_normal((L, S)).astype(np.float32), None  # "float"


@pytest.mark.parametrize("batch_first,bias,mask,need_weights,average,kv_dims", list(
    itertools.product([False, True], [True, False], [None, "bool", "float", "float3d"],
                      [True, False], [True, False], [False, True]))[::3])
def test_multihead_attention_matches_torch(batch_first, bias, mask, need_weights, average,
                                           kv_dims):
    rng = np.random.default_rng(0)
    E, H, n, L, S = 8, 2, 3, 4, 5
    kd, vd = (6, 7) if kv_dims else (None, None)
    t = torch.nn.MultiheadAttention(E, H, dropout=0.3, bias=bias, kdim=kd, vdim=vd,
                                    batch_first=batch_first)
    a = MultiheadAttention(E, H, dropout=0.3, bias=bias, kdim=kd, vdim=vd,
                           batch_first=batch_first)
    _copy(a, t)
    shp = (lambda T, d: (n, T, d)) if batch_first else (lambda T, d: (T, n, d))
    q, k, v = (rng.standard_normal(shp(T, d)).astype(np.float32)
               for T, d in ((L, E), (S, kd or E), (S, vd or E)))
    (qa, qt), (ka, kt), (va, vt) = _both(q), _both(k), _both(v)
    am, kpm = _masks(mask, H, n, L, S, rng)
    kw_a = {"attn_mask": None if am is None else axonal.tensor(am),
                "key_padding_mask": None if kpm is None else axonal.tensor(kpm),
                "need_weights": need_weights, "average_attn_weights": average}
    kw_t = {"attn_mask": None if am is None else torch.tensor(am),
                "key_padding_mask": None if kpm is None else torch.tensor(kpm),
                "need_weights": need_weights, "average_attn_weights": average}
    oa, wa = a(qa, ka, va, **kw_a)
    ot, wt = t(qt, kt, vt, **kw_t)
    assert (wa is None) == (wt is None)
    outs = ([oa, wa], [ot, wt]) if wa is not None else ([oa], [ot])
    _backward_and_compare(*outs, [(qa, qt), (ka, kt), (va, vt)], rng, a, t)


@pytest.mark.parametrize("batched", [True, False])
def test_self_attention_unbatched_and_causal(batched):
    rng = np.random.default_rng(1)
    t, a = torch.nn.MultiheadAttention(8, 4), MultiheadAttention(8, 4)
    _copy(a, t)
    x = rng.standard_normal((5, 2, 8) if batched else (5, 8)).astype(np.float32)
    xa, xt = _both(x)
    mask = Transformer.generate_square_subsequent_mask(5)
    np.testing.assert_array_equal(mask.numpy(),
                                  torch.nn.Transformer.generate_square_subsequent_mask(5).numpy())
    oa, wa = a(xa, xa, xa, attn_mask=mask)
    ot, wt = t(xt, xt, xt, attn_mask=torch.tensor(mask.numpy()))
    assert np.allclose(np.triu(wa.detach().numpy()[..., :, :], 1), 0)  # causal: no weight ahead
    _backward_and_compare([oa, wa], [ot, wt], [(xa, xt)], rng, a, t)


@pytest.mark.parametrize("mask", [None, "bool", "float", "causal"])
def test_scaled_dot_product_attention(mask):
    rng = np.random.default_rng(2)
    q, k, v = (rng.standard_normal(s).astype(np.float32) for s in ((2, 3, 4, 8), (2, 3, 6, 8),
                                                                   (2, 3, 6, 5)))
    (qa, qt), (ka, kt), (va, vt) = _both(q), _both(k), _both(v)
    kw_a, kw_t = {}, {}
    if mask == "bool":
        m = rng.random((4, 6)) > 0.3
        m[:, 0] = True
        kw_a, kw_t = {"attn_mask": axonal.tensor(m)}, {"attn_mask": torch.tensor(m)}
    elif mask == "float":
        m = rng.standard_normal((3, 4, 6)).astype(np.float32)
        kw_a, kw_t = {"attn_mask": axonal.tensor(m)}, {"attn_mask": torch.tensor(m)}
    elif mask == "causal":
        kw_a = kw_t = {"is_causal": True}
    oa = scaled_dot_product_attention(qa, ka, va, scale=0.3, **kw_a)
    ot = torch.nn.functional.scaled_dot_product_attention(qt, kt, vt, scale=0.3, **kw_t)
    _backward_and_compare([oa], [ot], [(qa, qt), (ka, kt), (va, vt)], rng)


LAYER_FLAGS = list(itertools.product([False, True], ["relu", "gelu"], [False, True]))


@pytest.mark.parametrize("norm_first,activation,batch_first", LAYER_FLAGS)
def test_encoder_layer_matches_torch(norm_first, activation, batch_first):
    rng = np.random.default_rng(3)
    kw = {"dim_feedforward": 16, "dropout": 0.2, "activation": activation, "norm_first": norm_first,
              "batch_first": batch_first}
    t, a = torch.nn.TransformerEncoderLayer(8, 2, **kw), TransformerEncoderLayer(8, 2, **kw)
    _copy(a, t)
    x = rng.standard_normal((2, 5, 8) if batch_first else (5, 2, 8)).astype(np.float32)
    xa, xt = _both(x)
    kpm = np.zeros((2, 5), bool)
    kpm[1, -1] = True
    mask = torch.tensor(np.triu(np.ones((5, 5), bool), 1))  # bool: True = may not attend
    oa = a(xa, src_mask=axonal.tensor(mask.numpy()), src_key_padding_mask=axonal.tensor(kpm))
    t.train()  # PyTorch's eval fast path differs at padded positions; dropout is 0 in eval...
    t.dropout.p = t.dropout1.p = t.dropout2.p = t.self_attn.dropout = 0.0  # ...so match it here
    ot = t(xt, src_mask=mask, src_key_padding_mask=torch.tensor(kpm))
    _backward_and_compare([oa], [ot], [(xa, xt)], rng, a, t)


@pytest.mark.parametrize("norm_first,activation,batch_first", LAYER_FLAGS)
def test_decoder_layer_matches_torch(norm_first, activation, batch_first):
    rng = np.random.default_rng(4)
    kw = {"dim_feedforward": 16, "dropout": 0.2, "activation": activation, "norm_first": norm_first,
              "batch_first": batch_first}
    t, a = torch.nn.TransformerDecoderLayer(8, 2, **kw), TransformerDecoderLayer(8, 2, **kw)
    _copy(a, t)
    shp = (lambda T: (2, T, 8)) if batch_first else (lambda T: (T, 2, 8))
    (ya, yt), (ma, mt) = _both(rng.standard_normal(shp(4)).astype(np.float32)), \
        _both(rng.standard_normal(shp(6)).astype(np.float32))
    mask = torch.nn.Transformer.generate_square_subsequent_mask(4)
    mkpm = np.zeros((2, 6), bool)
    mkpm[0, -2:] = True
    oa = a(ya, ma, tgt_mask=axonal.tensor(mask.numpy()),
           memory_key_padding_mask=axonal.tensor(mkpm))
    ot = t(yt, mt, tgt_mask=mask, memory_key_padding_mask=torch.tensor(mkpm))
    _backward_and_compare([oa], [ot], [(ya, yt), (ma, mt)], rng, a, t)


@pytest.mark.parametrize("batch_first,norm_first", [(False, False), (True, True)])
def test_full_transformer_matches_torch(batch_first, norm_first):
    rng = np.random.default_rng(5)
    kw = {"d_model": 8, "nhead": 2, "num_encoder_layers": 2, "num_decoder_layers": 2, "dim_feedforward": 16,
              "dropout": 0.1, "batch_first": batch_first, "norm_first": norm_first}
    t, a = torch.nn.Transformer(**kw), Transformer(**kw)
    assert list(a.state_dict()) == list(t.state_dict())
    _copy(a, t)
    shp = (lambda T: (2, T, 8)) if batch_first else (lambda T: (T, 2, 8))
    (sa, st), (ya, yt) = _both(rng.standard_normal(shp(5)).astype(np.float32)), \
        _both(rng.standard_normal(shp(3)).astype(np.float32))
    m = Transformer.generate_square_subsequent_mask(3)
    oa = a(sa, ya, tgt_mask=m, tgt_is_causal=True)
    ot = t(st, yt, tgt_mask=torch.tensor(m.numpy()), tgt_is_causal=True)
    # float32 through encoder and decoder stacks: the BLAS libraries' summation orders differ
    # (OpenBLAS, MKL, PyTorch's MKL), so input gradients of magnitude ~4 agree to ~1e-4
    _backward_and_compare([oa], [ot], [(sa, st), (ya, yt)], rng, a, t,
                          tol={"rtol": 1e-4, "atol": 2e-4})


def test_encoder_decoder_stacks_copy_layers():
    enc = TransformerEncoder(TransformerEncoderLayer(8, 2, 16), num_layers=3)
    w = [layer.linear1.weight.detach().numpy() for layer in enc.layers]
    assert all(np.array_equal(w[0], x) for x in w)  # deep copies of one layer, as in PyTorch
    assert enc.layers[0].linear1.weight is not enc.layers[1].linear1.weight
    dec = TransformerDecoder(TransformerDecoderLayer(8, 2, 16), num_layers=2)
    assert len(list(dec.parameters())) == 2 * len(list(dec.layers[0].parameters()))


def test_positional_encoding_formula():
    pe = PositionalEncoding(6, max_len=50)
    x = axonal.zeros(7, 2, 6)
    y = pe(x).numpy()
    pos, i = 5, 2
    assert np.isclose(y[pos, 1, 2 * i], np.sin(pos / 10000 ** (2 * i / 6)), atol=1e-6)
    assert np.isclose(y[pos, 0, 2 * i + 1], np.cos(pos / 10000 ** (2 * i / 6)), atol=1e-6)
    assert "pe" not in pe.state_dict()
    with pytest.raises(axonal.ShapeError, match="PositionalEncoding"):
        pe(axonal.zeros(51, 1, 6))


def test_attention_errors():
    with pytest.raises(ValueError, match="divisible"):
        MultiheadAttention(10, 3)
    mha = MultiheadAttention(8, 2)
    with pytest.raises(axonal.ShapeError, match="attn_mask"):
        mha(axonal.zeros(4, 1, 8), axonal.zeros(4, 1, 8), axonal.zeros(4, 1, 8),
            attn_mask=axonal.zeros(3, 3))
    with pytest.raises(axonal.ShapeError, match="query has last dim"):
        mha(axonal.zeros(4, 1, 7), axonal.zeros(4, 1, 8), axonal.zeros(4, 1, 8))
