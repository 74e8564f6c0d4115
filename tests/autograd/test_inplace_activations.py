"""`inplace=True` on every activation and dropout that has it, and the functional `_` forms, as
PyTorch: the input tensor itself is returned and modified (same object, same memory, version + 1),
views of it see the new values, and the gradients are PyTorch's, also when the input is a view.
"""
import numpy as np
import pytest
from inplace_harness import T, same

rng = np.random.default_rng(2)
A = rng.standard_normal((4, 6)) * 2
W = rng.standard_normal((4, 6))


def F(lib):
    return lib.nn.functional


ACTS = [
    ("relu", lambda lib, x: F(lib).relu(x, inplace=True)),
    ("relu6", lambda lib, x: F(lib).relu6(x, inplace=True)),
    ("leaky_relu", lambda lib, x: F(lib).leaky_relu(x, 0.2, inplace=True)),
    ("elu", lambda lib, x: F(lib).elu(x, 1.5, inplace=True)),
    ("selu", lambda lib, x: F(lib).selu(x, inplace=True)),
    ("celu", lambda lib, x: F(lib).celu(x, 0.7, inplace=True)),
    ("silu", lambda lib, x: F(lib).silu(x, inplace=True)),
    ("mish", lambda lib, x: F(lib).mish(x, inplace=True)),
    ("hardtanh", lambda lib, x: F(lib).hardtanh(x, -0.5, 1.5, inplace=True)),
    ("hardsigmoid", lambda lib, x: F(lib).hardsigmoid(x, inplace=True)),
    ("hardswish", lambda lib, x: F(lib).hardswish(x, inplace=True)),
    ("threshold", lambda lib, x: F(lib).threshold(x, 0.3, -2.0, inplace=True)),
    ("relu_", lambda lib, x: F(lib).relu_(x)),
    ("elu_", lambda lib, x: F(lib).elu_(x)),
    ("leaky_relu_", lambda lib, x: F(lib).leaky_relu_(x, 0.1)),
    ("hardtanh_", lambda lib, x: F(lib).hardtanh_(x)),
    ("threshold_", lambda lib, x: F(lib).threshold_(x, 0.0, 1.0)),
    ("lib.relu_", lambda lib, x: lib.relu_(x)),
    ("nn.ReLU", lambda lib, x: lib.nn.ReLU(inplace=True)(x)),
    ("nn.ReLU6", lambda lib, x: lib.nn.ReLU6(inplace=True)(x)),
    ("nn.LeakyReLU", lambda lib, x: lib.nn.LeakyReLU(0.3, inplace=True)(x)),
    ("nn.ELU", lambda lib, x: lib.nn.ELU(0.5, inplace=True)(x)),
    ("nn.CELU", lambda lib, x: lib.nn.CELU(1.2, inplace=True)(x)),
    ("nn.SELU", lambda lib, x: lib.nn.SELU(inplace=True)(x)),
    ("nn.SiLU", lambda lib, x: lib.nn.SiLU(inplace=True)(x)),
    ("nn.Mish", lambda lib, x: lib.nn.Mish(inplace=True)(x)),
    ("nn.Hardtanh", lambda lib, x: lib.nn.Hardtanh(-2.0, 0.5, inplace=True)(x)),
    ("nn.Hardsigmoid", lambda lib, x: lib.nn.Hardsigmoid(inplace=True)(x)),
    ("nn.Hardswish", lambda lib, x: lib.nn.Hardswish(inplace=True)(x)),
    ("nn.Threshold", lambda lib, x: lib.nn.Threshold(0.1, 20.0, inplace=True)(x)),
]


def _ids(rows):
    return [r[0] for r in rows]


@pytest.mark.parametrize("where", ["direct", "view", "transposed"])
@pytest.mark.parametrize("name,act", ACTS, ids=_ids(ACTS))
def test_inplace_activation_vs_torch(name, act, where):
    def program(lib):
        leaf = T(lib, A, requires_grad=True)
        base = leaf * 1.0
        x = {"direct": base, "view": base[1:3], "transposed": base.t()}[where]
        seen = base[:, 2]  # a view made before sees the activation's result
        ptr, before = x.data_ptr(), base._version
        y = act(lib, x)
        out = {"returns_input": y is x, "same_memory": x.data_ptr() == ptr,
               "bumps": base._version - before, "base": base, "seen": seen, "y": y}
        (base * T(lib, W)).sum().backward()
        out["grad"] = leaf.grad
        return out

    same(program, message=False)


@pytest.mark.parametrize("name,act", ACTS[:12], ids=_ids(ACTS[:12]))
def test_inplace_activation_on_a_leaf_that_requires_grad_raises(name, act):
    def program(lib):
        act(lib, T(lib, A, requires_grad=True))

    same(program, torch_raises=True)


@pytest.mark.parametrize("name,act", ACTS[:12], ids=_ids(ACTS[:12]))
def test_inplace_activation_without_grad_and_under_no_grad(name, act):
    def program(lib):
        x = T(lib, A)
        y = act(lib, x)
        leaf = T(lib, A, requires_grad=True)
        with lib.no_grad():
            z = act(lib, leaf)
        return y is x, x, x._version, z is leaf, leaf.detach(), leaf._version, leaf.grad_fn is None

    same(program)


def test_module_repr_shows_inplace():
    def program(lib):
        return [repr(m) for m in (lib.nn.ReLU(inplace=True), lib.nn.LeakyReLU(0.2, inplace=True),
                                  lib.nn.Dropout(0.3, inplace=True), lib.nn.ELU(inplace=True),
                                  lib.nn.Hardtanh(inplace=True), lib.nn.Threshold(0.1, 2.0, True))]

    same(program)


# -- dropout --------------------------------------------------------------------------------------

DROPS = [
    ("dropout", lambda lib, x, tr: F(lib).dropout(x, 0.4, training=tr, inplace=True), (24, 10)),
    ("dropout1d", lambda lib, x, tr: F(lib).dropout1d(x, 0.4, training=tr, inplace=True),
     (6, 8, 5)),
    ("dropout2d", lambda lib, x, tr: F(lib).dropout2d(x, 0.4, training=tr, inplace=True),
     (3, 8, 4, 2)),
    ("dropout3d", lambda lib, x, tr: F(lib).dropout3d(x, 0.4, training=tr, inplace=True),
     (3, 8, 2, 2, 2)),
    ("nn.Dropout", lambda lib, x, tr: lib.nn.Dropout(0.4, inplace=True).train(tr)(x), (24, 10)),
    ("nn.Dropout1d", lambda lib, x, tr: lib.nn.Dropout1d(0.4, inplace=True).train(tr)(x),
     (6, 8, 5)),
    ("nn.Dropout2d", lambda lib, x, tr: lib.nn.Dropout2d(0.4, inplace=True).train(tr)(x),
     (3, 8, 4, 2)),
    ("nn.Dropout3d", lambda lib, x, tr: lib.nn.Dropout3d(0.4, inplace=True).train(tr)(x),
     (3, 8, 2, 2, 2)),
]
ALPHA = [
    ("alpha_dropout", lambda lib, x, tr: F(lib).alpha_dropout(x, 0.4, tr, inplace=True), (24, 10)),
    ("feature_alpha_dropout",
     lambda lib, x, tr: F(lib).feature_alpha_dropout(x, 0.4, tr, inplace=True), (3, 8, 4, 2)),
    ("nn.AlphaDropout", lambda lib, x, tr: lib.nn.AlphaDropout(0.4, inplace=True).train(tr)(x),
     (24, 10)),
    ("nn.FeatureAlphaDropout",
     lambda lib, x, tr: lib.nn.FeatureAlphaDropout(0.4, inplace=True).train(tr)(x), (3, 8, 4, 2)),
]


def _dropout_program(drop, shape, training, alpha=False):
    """The same checks on both libraries (the random masks differ, their laws do not): the input
    is returned and modified; kept entries are scaled by 1/(1-p) (dropout) or affinely (alpha);
    channel dropout drops whole channels; the gradient is the mask's scale."""
    vals = np.arange(1, int(np.prod(shape)) + 1, dtype=np.float64).reshape(shape) / 10

    def program(lib):
        lib.manual_seed(0)
        leaf = T(lib, vals, requires_grad=True)
        x = leaf * 1.0
        before = x.detach().clone()
        y = drop(lib, x, training)
        # (PyTorch's nn.AlphaDropout / FeatureAlphaDropout ignore inplace=True: a new tensor;
        # alpha dropout bumps the version twice: the counts are compared as "changed or not")
        out = {"returns_input": y is x, "modified_input": x._version > 0,
               "shape": tuple(y.shape)}
        y.sum().backward()
        g, a, b = leaf.grad.numpy(), y.detach().numpy(), before.numpy()
        if not training:
            out["unchanged"] = bool(np.array_equal(a, b))
            return out
        if alpha:
            kept = np.isclose(g, g.max())  # kept entries get the largest gradient (the scale a)
            out["two_gradient_values"] = len(np.unique(np.round(g, 10))) == 2
            out["dropped_is_constant"] = len(np.unique(np.round(a[~kept], 10))) == 1
        else:
            kept = a != 0
            out["kept_scaled"] = bool(np.allclose(a[kept], b[kept] / 0.6))
            out["grad_is_mask_scale"] = bool(np.allclose(g, kept / 0.6))
        if len(shape) > 2:  # channel dropout: one decision per (sample, channel)
            per_channel = kept.reshape(shape[0], shape[1], -1)
            out["whole_channels"] = bool(np.all(per_channel.all(-1) | ~per_channel.any(-1)))
        out["fraction_plausible"] = bool(0.2 < kept.mean() < 0.9)
        return out

    return program


@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("name,drop,shape", DROPS, ids=_ids(DROPS))
def test_inplace_dropout(name, drop, shape, training):
    same(_dropout_program(drop, shape, training))


@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("name,drop,shape", ALPHA, ids=_ids(ALPHA))
def test_inplace_alpha_dropout(name, drop, shape, training):
    same(_dropout_program(drop, shape, training, alpha=True))


def test_inplace_dropout_on_a_leaf_that_requires_grad_raises():
    def program(lib):
        F(lib).dropout(T(lib, A, requires_grad=True), 0.5, training=True, inplace=True)

    same(program, torch_raises=True)


def test_inplace_relu_after_a_use_that_saved_the_input():
    """sigmoid saves its output, mul saves its inputs: overwriting them in place is caught at
    backward with PyTorch's message (and with no use, nothing is raised)."""
    def program(lib):
        leaf = T(lib, A, requires_grad=True)
        x = leaf * 1.0
        s = x * x  # saves x
        F(lib).relu(x, inplace=True)
        (s.sum() + x.sum()).backward()

    same(program, torch_raises=True)
