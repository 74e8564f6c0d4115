"""Whole-module save/load (`axonal.save(model, f)`, `axonal.load(f)`): the module tree is rebuilt
from class paths and recorded constructor arguments, never unpickled; classes outside axonal need
`serialization.safe_globals`/`add_safe_globals` or `weights_only=False`."""
import ast
import json
import pathlib

import numpy as np
import pytest

import axonal
import axonal.nn as nn
import axonal.nn.functional as F
from axonal import serialization
from axonal.serialization import CheckpointError
from axonal.utils import _safetensors as st


@pytest.fixture(autouse=True)
def _clean():
    serialization.clear_safe_globals()
    yield
    serialization.clear_safe_globals()


BUILT = []  # constructor calls of the user classes below: refusal must construct nothing


class CNN(nn.Module):
    def __init__(self, channels=(4, 8), num_classes=10, act=F.relu):
        super().__init__()
        BUILT.append(type(self).__name__)
        self.conv1 = nn.Conv2d(1, channels[0], 3, padding=1)
        self.bn = nn.BatchNorm2d(channels[0])
        self.conv2 = nn.Conv2d(channels[0], channels[1], 3)
        self.fc = nn.Linear(channels[1] * 6 * 6, num_classes)
        self.act = act

    def forward(self, x):
        x = F.max_pool2d(self.act(self.bn(self.conv1(x))), 2)
        x = F.max_pool2d(self.act(self.conv2(x)), 2)
        return self.fc(x.flatten(1))


class LSTMLM(nn.Module):
    """The word language model's shape: encoder, LSTM, decoder with tied weights."""

    def __init__(self, ntoken, ninp, nlayers, dropout=0.0, tie_weights=True):
        super().__init__()
        BUILT.append(type(self).__name__)
        self.encoder = nn.Embedding(ntoken, ninp)
        self.rnn = nn.LSTM(ninp, ninp, nlayers, dropout=dropout)
        self.decoder = nn.Linear(ninp, ntoken)
        if tie_weights:
            self.decoder.weight = self.encoder.weight
        self.nlayers = nlayers

    def forward(self, x):
        out, _ = self.rnn(self.encoder(x))
        return self.decoder(out)


class TransformerLM(nn.Module):
    def __init__(self, ntoken, d_model, nhead, nlayers):
        super().__init__()
        BUILT.append(type(self).__name__)
        layer = nn.TransformerEncoderLayer(d_model, nhead, 2 * d_model, dropout=0.0)
        self.encoder = nn.TransformerEncoder(layer, nlayers)
        self.embed = nn.Embedding(ntoken, d_model)
        self.head = nn.Linear(d_model, ntoken)
        self.register_buffer("mask", nn.Transformer.generate_square_subsequent_mask(5),
                             persistent=False)

    def forward(self, x):
        return self.head(self.encoder(self.embed(x), mask=self.mask[:x.shape[0], :x.shape[0]]))


class Holder(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg


def _same_state(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    assert list(sa) == list(sb)
    for k in sa:
        assert sa[k].dtype == sb[k].dtype and np.array_equal(sa[k].numpy(), sb[k].numpy()), k


def _round_trip(model, tmp_path, x, **load_kw):
    path = tmp_path / "model.pt"
    model.eval()
    with axonal.no_grad():
        want = model(x).numpy()
    axonal.save(model, path)
    BUILT.clear()
    back = axonal.load(path, **load_kw)
    assert type(back) is type(model) and back is not model and not back.training
    _same_state(model, back)
    with axonal.no_grad():
        assert np.array_equal(back(x).numpy(), want)
    return back


def test_mlp_round_trip_needs_no_allowance(tmp_path):
    axonal.manual_seed(0)
    mlp = nn.Sequential(nn.Linear(6, 16), nn.Tanh(), nn.Dropout(0.2), nn.Linear(16, 3))
    back = _round_trip(mlp, tmp_path, axonal.randn(4, 6))
    assert [type(m) for m in back] == [type(m) for m in mlp]
    assert back[2].p == 0.2
    # the file is still a safetensors checkpoint whose tensors carry state-dict names
    assert set(axonal.load(tmp_path / "model.pt", weights_only=True).state_dict()) == \
        {"0.weight", "0.bias", "3.weight", "3.bias"}


def test_cnn_round_trip_with_safe_globals(tmp_path):
    axonal.manual_seed(1)
    cnn = CNN(channels=(4, 8), num_classes=5)
    cnn.train()
    cnn(axonal.randn(8, 1, 28, 28))  # move BatchNorm's running statistics off their start
    with serialization.safe_globals([CNN]):
        back = _round_trip(cnn, tmp_path, axonal.randn(2, 1, 28, 28))
    assert BUILT == ["CNN"] and back.act is F.relu and back.bn.num_batches_tracked.item() == 1
    assert back.conv1.weight.requires_grad


def test_lstm_lm_round_trip_keeps_the_tie(tmp_path):
    axonal.manual_seed(2)
    lm = LSTMLM(30, 12, 2)
    for p in lm.parameters():  # a training step moved the weights off their initial values
        p._data -= 0.1 * np.random.default_rng(0).standard_normal(p.shape).astype(np.float32)
    serialization.add_safe_globals([LSTMLM])
    back = _round_trip(lm, tmp_path, axonal.randint(0, 30, (7, 3)))
    assert back.decoder.weight is back.encoder.weight
    assert len(list(back.parameters())) == len(list(lm.parameters()))


def test_lstm_lm_untied_after_construction_stays_untied(tmp_path):
    lm = LSTMLM(20, 8, 1)
    lm.decoder.weight = nn.Parameter(axonal.randn(20, 8))  # untie after construction
    back = _round_trip(lm, tmp_path, axonal.randint(0, 20, (4, 2)), weights_only=False)
    assert back.decoder.weight is not back.encoder.weight


def test_transformer_round_trip(tmp_path):
    axonal.manual_seed(3)
    model = TransformerLM(25, 16, 4, 2)
    with serialization.safe_globals([TransformerLM]):
        back = _round_trip(model, tmp_path, axonal.randint(0, 25, (5, 2)))
    assert back.mask.shape == (5, 5) and "mask" in back._non_persistent_buffers_set
    layers = back.encoder.layers
    assert layers[0] is not layers[1] and layers[0].linear1.weight is not layers[1].linear1.weight


def test_changes_after_construction_are_kept(tmp_path):
    # replace a child (siamese ResNet's conv1), delete one, grow a ModuleList, change attributes
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.ModuleList([nn.Linear(2, 2)]))
    model[0] = nn.Conv2d(1, 4, 5, bias=False)
    model[2].append(nn.Linear(2, 7))
    model[1].inplace = True
    model[2][0].weight.requires_grad_(False)
    model.add_module("extra", None)
    model.train()
    model[2].eval()
    path = tmp_path / "m.safetensors"
    axonal.save(model, path)
    back = axonal.load(path)
    assert back[0].in_channels == 1 and back[0].bias is None
    assert back[0].weight.shape == (4, 1, 5, 5)
    assert [m.out_features for m in back[2]] == [2, 7] and back[1].inplace is True
    assert not back[2][0].weight.requires_grad and back[2][1].weight.requires_grad
    assert list(back._modules) == ["0", "1", "2", "extra"] and back.extra is None
    assert back.training and not back[2].training and not back[2][1].training
    _same_state(model, back)


def test_a_module_inside_a_checkpoint_dict_and_shared_modules(tmp_path):
    shared = nn.Linear(3, 3)
    model = nn.Sequential(shared, nn.ReLU(), shared)
    opt = axonal.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model(axonal.randn(2, 3)).sum().backward()
    opt.step()
    path = tmp_path / "ckpt.pt"
    axonal.save({"epoch": 3, "model": model, "opt": opt.state_dict()}, path)
    ck = axonal.load(path)
    assert ck["epoch"] == 3 and ck["model"][0] is ck["model"][2]
    opt2 = axonal.optim.SGD(ck["model"].parameters(), lr=0.1, momentum=0.9)
    opt2.load_state_dict(ck["opt"])
    _same_state(model, ck["model"])


def test_refuses_classes_it_is_not_allowed_to_import(tmp_path):
    path = tmp_path / "cnn.pt"
    axonal.save(CNN(), path)
    BUILT.clear()
    with pytest.raises(CheckpointError, match=r"test_module_save\.CNN.*safe_globals\(\[CNN\]\)"):
        axonal.load(path)
    with pytest.raises(CheckpointError, match="CNN"):
        axonal.load(path, weights_only=True)
    with serialization.safe_globals([LSTMLM]), pytest.raises(CheckpointError, match="CNN"):
        axonal.load(path)
    assert BUILT == []  # refused before any constructor ran
    assert isinstance(axonal.load(path, weights_only=False), CNN)
    serialization.add_safe_globals([(CNN, f"{CNN.__module__}.CNN")])  # PyTorch's pair form
    assert isinstance(axonal.load(path), CNN)


def _rewrite(path, edit):
    """Re-write a checkpoint after editing its module table (a forged file)."""
    raw = path.read_bytes()
    n = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8:8 + n])
    info = json.loads(header["__metadata__"]["axonal"])
    edit(info)
    header["__metadata__"]["axonal"] = json.dumps(info)
    new = json.dumps(header).encode()
    new += b" " * (st._padded_length(len(new)) - len(new))
    path.write_bytes(len(new).to_bytes(8, "little") + new + raw[8 + n:])


@pytest.mark.parametrize("forged, message", [
    ("os:system", "os.system, which is neither axonal's nor allowed"),
    ("builtins:eval", "builtins.eval, which is neither axonal's nor allowed"),
    ("axonal.serialization:os.system", "not defined where the file says"),
    ("axonal.serialization:save", "not a Module class"),
    ("axonal.nn:Nope", "cannot import axonal.nn.Nope"),
])
def test_forged_class_paths_are_refused(tmp_path, forged, message):
    path = tmp_path / "f.pt"
    axonal.save(nn.Sequential(nn.Linear(2, 2)), path)

    def edit(info):
        info["modules"][-1]["class"] = forged
    _rewrite(path, edit)
    with pytest.raises(CheckpointError, match=message):
        axonal.load(path)


def test_forged_function_argument_is_refused(tmp_path):
    path = tmp_path / "f.pt"
    axonal.save(CNN(act=F.gelu), path)
    assert axonal.load(path, weights_only=False).act is F.gelu

    def edit(info):
        for e in info["modules"]:
            for kv in e["kwargs"][1]:
                if kv[0] == ["s", "act"]:
                    kv[1] = ["g", "os:system"]
    _rewrite(path, edit)
    with serialization.safe_globals([CNN]), pytest.raises(CheckpointError, match="os.system"):
        axonal.load(path)


def test_what_cannot_be_saved_fails_before_writing(tmp_path):
    path = tmp_path / "x.pt"
    with pytest.raises(TypeError, match="lambda"):
        axonal.save(CNN(act=lambda x: x), path)

    class Local(nn.Module):
        def __init__(self):
            super().__init__()

    with pytest.raises(TypeError, match="defined inside a function"):
        axonal.save(Local(), path)
    with pytest.raises(TypeError, match=r"constructor argument of the model \(Holder\).*object"):
        axonal.save(Holder(cfg={"a": object()}), path)
    assert not path.exists()


def test_the_rebuilder_never_unpickles():
    src = pathlib.Path(axonal.nn.__file__).parent / "_saved_module.py"
    tree = ast.parse(src.read_text())
    imported = {a.name.split(".")[0] for node in ast.walk(tree)
                if isinstance(node, (ast.Import, ast.ImportFrom)) for a in node.names}
    assert not imported & {"pickle", "marshal", "shelve", "dill", "copyreg"}


def test_recording_follows_the_outermost_constructor():
    class Base(nn.Module):
        def __init__(self, k):
            super().__init__()
            self.lin = nn.Linear(k, k)

    class Child(Base):
        def __init__(self, k, extra=1):
            super().__init__(k)

    class Plain(Child):
        pass

    assert Base(3)._init_args == ((3,), {})
    assert Child(3, extra=2)._init_args == ((3,), {"extra": 2})
    assert Plain(4)._init_args == ((4,), {})
    assert Child.__init__.__name__ == "__init__" and Child.__init__.__wrapped__.__qualname__ \
        .endswith("Child.__init__")
