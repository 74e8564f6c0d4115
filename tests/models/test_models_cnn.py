"""CNN models (LeNet-5, VGG, Inception/GoogLeNet, DenseNet, ResNets), ensembles, and smoke runs of
the lenet and resnet recipes. PyTorch (when installed) is the oracle for LeNet-5 and ResNet-18."""
import json
import os

import numpy as np
import pytest

import axonal
from axonal import nn
from axonal.models.cnn import (
    VGG,
    DenseBlock,
    DenseNet,
    GoogLeNetSmall,
    Inception,
    LeNet5,
    vgg_features,
)
from axonal.models.ensemble import Ensemble, average_probabilities, majority_vote
from axonal.models.resnet import (
    BasicBlock,
    Bottleneck,
    ResNet,
    cifar_resnet,
    resnet18,
    resnet20,
    resnet50,
)
from axonal.nn import functional as F


def n_params(model):
    return sum(p.numel() for p in model.parameters())


SMALL_MODELS = {
    "lenet5": lambda: LeNet5(),
    "lenet5-tanh-avg-32": lambda: LeNet5(input_size=32, activation="tanh", pool="avg"),
    "vgg-small": lambda: VGG("small", num_classes=10, in_channels=1),
    "vgg-list-nobn": lambda: VGG([8, "M", 16, "M"], num_classes=7, batch_norm=False, hidden=32),
    "googlenet-small": lambda: GoogLeNetSmall(num_classes=10, in_channels=1, shrink=8),
    "densenet": lambda: DenseNet(growth_rate=6, block_config=(2, 2), num_init_features=8),
    "resnet20": lambda: resnet20(10, in_channels=1, width=8),
    "resnet8-zero-init": lambda: cifar_resnet(8, 10, 1, width=8, zero_init_residual=True),
    "resnet-bottleneck-cifar": lambda: ResNet(Bottleneck, [1, 1], 10, 1, widths=[4, 8],
                                              stem="cifar"),
}


@pytest.mark.parametrize("name", sorted(SMALL_MODELS))
def test_model_builds_and_outputs_logits(name):
    model = SMALL_MODELS[name]()
    side = 32 if "32" in name else 28
    x = axonal.randn(3, 1, side, side)
    out = model(x)
    classes = 7 if name == "vgg-list-nobn" else 10
    assert tuple(out.shape) == (3, classes)
    assert np.isfinite(out.detach().numpy()).all()


def _train_mode_without_dropout(model):
    model.train()
    for m in model.modules():
        if isinstance(m, nn.Dropout):
            m.eval()  # the two losses compared must see the same network


@pytest.mark.parametrize("name", sorted(SMALL_MODELS))
def test_one_training_step_lowers_the_loss(name):
    model = SMALL_MODELS[name]()
    side = 32 if "32" in name else 28
    rng = np.random.default_rng(1)
    x = axonal.from_numpy(rng.standard_normal((8, 1, side, side)).astype(np.float32))
    classes = 7 if name == "vgg-list-nobn" else 10
    y = axonal.from_numpy(rng.integers(0, classes, 8).astype(np.int64))
    _train_mode_without_dropout(model)
    opt = axonal.optim.SGD(model.parameters(), lr=0.01)
    loss0 = F.cross_entropy(model(x), y)
    opt.zero_grad()
    loss0.backward()
    assert all(p.grad is not None for p in model.parameters() if p.requires_grad)
    opt.step()
    with axonal.no_grad():
        loss1 = F.cross_entropy(model(x), y)
    assert loss1.item() < loss0.item()


def test_lenet5_layout_and_errors():
    m = LeNet5()
    assert n_params(m) == 61706  # 156 + 2416 + 48120 + 10164 + 850
    assert tuple(m.conv1.weight.shape) == (6, 1, 5, 5)
    with pytest.raises(ValueError, match="input_size"):
        LeNet5(input_size=30)
    with pytest.raises(ValueError, match="activation"):
        LeNet5(activation="gelu")


def test_lenet5_matches_torch_with_copied_weights():
    torch = pytest.importorskip("torch")
    tn = torch.nn
    ref = tn.Sequential(tn.Conv2d(1, 6, 5, padding=2), tn.ReLU(), tn.MaxPool2d(2),
                        tn.Conv2d(6, 16, 5), tn.ReLU(), tn.MaxPool2d(2), tn.Flatten(),
                        tn.Linear(400, 120), tn.ReLU(), tn.Linear(120, 84), tn.ReLU(),
                        tn.Linear(84, 10))
    ours = LeNet5()
    pairs = [(ref[0], ours.conv1), (ref[3], ours.conv2), (ref[7], ours.fc1), (ref[9], ours.fc2),
             (ref[11], ours.fc3)]
    for t, a in pairs:
        a.weight._data[...] = t.weight.detach().numpy()
        a.bias._data[...] = t.bias.detach().numpy()
    x = np.random.default_rng(0).standard_normal((4, 1, 28, 28)).astype(np.float32)
    expected = ref(torch.tensor(x)).detach().numpy()
    got = ours(axonal.from_numpy(x)).detach().numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)


def test_vgg_features_and_config_errors():
    feats = vgg_features([4, 4, "M", 8, "M"], in_channels=1)
    assert tuple(feats(axonal.randn(2, 1, 28, 28)).shape) == (2, 8, 7, 7)
    assert sum(isinstance(m, nn.BatchNorm2d) for m in feats.modules()) == 3
    with pytest.raises(ValueError, match="unknown config"):
        VGG("vgg99")
    with pytest.raises(ValueError, match="poolings"):
        VGG(["M"] * 5 + [4], input_size=28)


def test_inception_concatenates_its_branches():
    block = Inception(8, 4, 3, 5, 2, 3, 6)
    block.eval()
    x = axonal.randn(2, 8, 9, 9)
    out = block(x)
    assert block.out_channels == 4 + 5 + 3 + 6
    assert tuple(out.shape) == (2, 18, 9, 9)  # every branch keeps the spatial size
    o = out.detach().numpy()
    np.testing.assert_allclose(o[:, :4], block.branch1(x).detach().numpy(), rtol=1e-6)
    np.testing.assert_allclose(o[:, 4:9], block.branch2(x).detach().numpy(), rtol=1e-6)
    np.testing.assert_allclose(o[:, 12:], block.branch4(x).detach().numpy(), rtol=1e-6)


def test_dense_block_keeps_its_input_and_grows_by_k_per_layer():
    block = DenseBlock(3, in_channels=5, growth_rate=4, bn_size=2)
    x = axonal.randn(2, 5, 6, 6)
    out = block(x)
    assert block.out_channels == 5 + 3 * 4 and tuple(out.shape) == (2, 17, 6, 6)
    # concatenation, not addition: the input is passed on unchanged
    np.testing.assert_array_equal(out.detach().numpy()[:, :5], x.detach().numpy())
    # layer i sees everything before it
    ins = [layer.norm1.num_features for layer in block.children()]
    assert ins == [5, 9, 13]
    net = DenseNet(growth_rate=4, block_config=(2, 2), num_init_features=8, compression=0.5)
    assert net.features.transition1.conv.out_channels == (8 + 2 * 4) // 2
    assert "features.denseblock1.denselayer1.norm1.weight" in net.state_dict()


# ---------------------------------------------------------------------------------------- ResNet


def test_resnet_parameter_counts_match_torchvision():
    assert n_params(resnet18()) == 11_689_512
    assert n_params(resnet50()) == 25_557_032
    assert n_params(resnet20(10, in_channels=3)) == 272_474  # option-B shortcuts
    assert n_params(resnet18(num_classes=10, in_channels=1)) == 11_689_512 - 512 * 990 - 990 \
        - 64 * 2 * 49


def _torch_resnet18(torch):
    """torchvision's resnet18 written out with torch.nn (torchvision is not a dependency)."""
    tn = torch.nn

    class Block(tn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.conv1 = tn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.bn1 = tn.BatchNorm2d(cout)
            self.relu = tn.ReLU()
            self.conv2 = tn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.bn2 = tn.BatchNorm2d(cout)
            self.downsample = None
            if stride != 1 or cin != cout:
                self.downsample = tn.Sequential(tn.Conv2d(cin, cout, 1, stride, bias=False),
                                                tn.BatchNorm2d(cout))

        def forward(self, x):
            idt = x if self.downsample is None else self.downsample(x)
            return self.relu(self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x))))) + idt)

    class Net(tn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = tn.Conv2d(3, 64, 7, 2, 3, bias=False)
            self.bn1, self.relu = tn.BatchNorm2d(64), tn.ReLU()
            self.maxpool = tn.MaxPool2d(3, 2, 1)
            cin = 64
            for i, c in enumerate([64, 128, 256, 512]):
                s = 1 if i == 0 else 2
                setattr(self, f"layer{i + 1}", tn.Sequential(Block(cin, c, s), Block(c, c, 1)))
                cin = c
            self.avgpool, self.fc = tn.AdaptiveAvgPool2d((1, 1)), tn.Linear(512, 1000)

        def forward(self, x):
            x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
            x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
            return self.fc(torch.flatten(self.avgpool(x), 1))

    return Net()


def test_resnet18_state_dict_follows_torchvision_and_loads_its_weights():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    ref = _torch_resnet18(torch)
    ref.eval()
    ours = resnet18()
    ref_sd, our_sd = ref.state_dict(), ours.state_dict()
    assert list(our_sd) == list(ref_sd)  # same names, same order
    for k in ref_sd:
        assert tuple(our_sd[k].shape) == tuple(ref_sd[k].shape), k
    for k in ("conv1.weight", "layer2.0.downsample.0.weight", "layer4.1.bn2.running_var",
              "layer1.0.bn1.num_batches_tracked", "fc.bias"):
        assert k in our_sd
    with torch.no_grad():  # non-trivial BN statistics, so eval mode is really tested
        for m in ref.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.1, 0.1)
                m.running_var.uniform_(0.5, 1.5)
                m.weight.uniform_(0.5, 1.5)
    ours.load_state_dict({k: axonal.from_numpy(v.detach().numpy().copy())
                          for k, v in ref.state_dict().items()})
    ours.eval()
    x = np.random.default_rng(0).standard_normal((2, 3, 64, 64)).astype(np.float32)
    with torch.no_grad():
        expected = ref(torch.tensor(x)).detach().numpy()
    with axonal.no_grad():
        got = ours(axonal.from_numpy(x)).detach().numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-3, atol=1e-4)


def test_resnet_blocks_and_shortcuts():
    block = BasicBlock(4, 4)
    assert block.downsample is None  # same shape: identity shortcut
    x = axonal.randn(2, 4, 8, 8)
    for bn in (block.bn1, block.bn2):
        nn.init.zeros_(bn.weight)
    # with F(x) = 0 the block is relu(x): the identity path alone
    np.testing.assert_allclose(block(x).detach().numpy(), np.maximum(x.detach().numpy(), 0),
                               rtol=1e-6)
    net = resnet20(10, in_channels=1)
    first = net.layer2[0]
    assert first.downsample is not None and first.conv1.stride == (2, 2)
    assert tuple(net.features(axonal.randn(1, 1, 28, 28)).shape) == (1, 64, 7, 7)
    zero = cifar_resnet(8, zero_init_residual=True)
    assert all(float(abs(b.bn2.weight).sum().item()) == 0 for b in zero.modules()
               if isinstance(b, BasicBlock))
    with pytest.raises(ValueError, match="6n"):
        cifar_resnet(21)
    with pytest.raises(ValueError, match="widths"):
        ResNet("basic", [1, 1], widths=[8])
    with pytest.raises(ValueError, match="block"):
        ResNet("wide", [1])


# -------------------------------------------------------------------------------------- Ensemble


def _softmax(z):
    e = np.exp(z - z.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def test_average_probabilities_matches_the_numpy_formula():
    rng = np.random.default_rng(0)
    logits = [rng.standard_normal((5, 4)) * 3 for _ in range(3)]
    w = np.array([1.0, 2.0, 1.0])
    expected = sum(wi * _softmax(z) for wi, z in zip(w / w.sum(), logits))
    np.testing.assert_allclose(average_probabilities(logits, w), expected, rtol=1e-12)
    got = average_probabilities([axonal.from_numpy(z.astype(np.float32)) for z in logits], w)
    np.testing.assert_allclose(got.detach().numpy(), expected, rtol=1e-5, atol=1e-6)
    probs = [_softmax(z) for z in logits]
    np.testing.assert_allclose(average_probabilities(probs, logits=False), sum(probs) / 3)
    with pytest.raises(ValueError, match="weights"):
        average_probabilities(logits, [1, -1, 1])


def test_majority_vote_and_tie_break():
    preds = np.array([[0, 1, 2, 3], [0, 2, 2, 1], [1, 2, 0, 0]])
    np.testing.assert_array_equal(majority_vote(preds), [0, 2, 2, 0])  # 4th: three-way tie -> 0
    scores = np.zeros((4, 4))
    scores[3, 3] = 1.0
    np.testing.assert_array_equal(majority_vote(preds, 4, tie_break=scores), [0, 2, 2, 3])
    with pytest.raises(ValueError, match="num_classes"):
        majority_vote(preds, num_classes=3)


class _Fixed(nn.Module):
    def __init__(self, logits):
        super().__init__()
        self.logits = axonal.from_numpy(np.asarray(logits, dtype=np.float32))

    def forward(self, x):
        return self.logits


def test_ensemble_forward_is_log_mean_probability_and_predicts():
    rng = np.random.default_rng(1)
    logits = [rng.standard_normal((6, 3)) * 2 for _ in range(3)]
    ens = Ensemble([_Fixed(z) for z in logits], weights=[1, 1, 2])
    mean = sum(wi * _softmax(z) for wi, z in zip([0.25, 0.25, 0.5], logits))
    x = axonal.zeros(6, 1)
    np.testing.assert_allclose(ens(x).detach().numpy(), np.log(mean), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ens.predict_proba(x).detach().numpy(), mean, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(ens.predict(x).detach().numpy(), mean.argmax(1))
    votes = majority_vote([z.argmax(1) for z in logits], 3, tie_break=mean)
    np.testing.assert_array_equal(ens.predict(x, method="vote").detach().numpy(), votes)
    # cross_entropy on the log-probabilities is the ensemble's negative log-likelihood
    y = axonal.from_numpy(np.array([0, 1, 2, 0, 1, 2]))
    nll = -np.log(mean[np.arange(6), [0, 1, 2, 0, 1, 2]]).mean()
    assert F.cross_entropy(ens(x), y).item() == pytest.approx(nll, rel=1e-5)
    with pytest.raises(ValueError, match="method"):
        Ensemble([_Fixed(logits[0])], method="median")


def test_ensemble_of_real_models_is_a_module():
    ens = Ensemble([LeNet5(), LeNet5()])
    ens.eval()
    assert not ens.members[1].training
    assert tuple(ens(axonal.randn(2, 1, 28, 28)).shape) == (2, 10)
    assert any(k.startswith("members.1.conv1") for k in ens.state_dict())


# ---------------------------------------------------------------------------- recipes (smoke runs)


def _shrink_eval_sets(monkeypatch, recipe_cls, n=200):
    """Validation and test sets cut to `n` images, so a smoke run takes seconds."""
    from axonal.utils.data import Subset

    original, original_test = recipe_cls.datasets, recipe_cls.test_dataset

    def small(self, data_dir=None, limit_train=None):
        train, val, test = original(self, data_dir, limit_train)
        return train, Subset(val, range(n)), Subset(test, range(n))

    def small_test(self, data_dir=None):
        return Subset(original_test(self, data_dir), range(n))
    monkeypatch.setattr(recipe_cls, "datasets", small)
    monkeypatch.setattr(recipe_cls, "test_dataset", small_test)


EXPECTED_FILES = ("metrics.json", "checkpoint", "curves.png", "log.csv", "filters.png",
                  "features_input.png", "features_conv1.png")


def test_lenet_recipe_smoke_run(tmp_path, monkeypatch):
    from axonal.recipes import evaluate, train
    from axonal.recipes.lenet import LeNet

    _shrink_eval_sets(monkeypatch, LeNet)
    train("lenet", epochs=1, limit_train=256, batch_size=64, out=tmp_path, quiet=True,
                    log=lambda *a: None)
    for name in EXPECTED_FILES + ("features_conv2.png",):
        assert (tmp_path / name).is_file(), name
    saved = json.loads((tmp_path / "metrics.json").read_text())
    for key in ("test_accuracy", "test_loss", "val_loss", "epochs", "seconds"):
        assert key in saved
    assert saved["epochs"] == 1 and saved["train_samples"] == 256
    assert np.isfinite(saved["test_loss"])
    result = evaluate(os.fspath(tmp_path / "checkpoint"))
    assert result["recipe"] == "lenet" and result["test_samples"] == 200
    assert result["test_accuracy"] == pytest.approx(saved["test_accuracy"])


def test_resnet_recipe_smoke_run_and_dataset_option(tmp_path, monkeypatch):
    from axonal.recipes import evaluate, get_recipe, train
    from axonal.recipes.resnet import ResNetRecipe

    _shrink_eval_sets(monkeypatch, ResNetRecipe, n=100)
    metrics = train("resnet", epochs=1, limit_train=128, batch_size=64, out=tmp_path, quiet=True,
                    options={"dataset": "mnist", "depth": 8, "width": 4}, log=lambda *a: None)
    for name in EXPECTED_FILES + ("features_layer1.png", "features_layer3.png"):
        assert (tmp_path / name).is_file(), name
    assert metrics["epochs"] == 1
    from axonal.train import read_checkpoint
    config = read_checkpoint(tmp_path / "checkpoint")["extra"]["model_config"]
    assert config["dataset"] == "mnist" and config["depth"] == 8
    # `axonal evaluate` tests on the dataset the checkpoint was trained on, not the default one
    import axonal.recipes.resnet as resnet_recipe
    used = []
    split = resnet_recipe.test_split
    monkeypatch.setattr(resnet_recipe, "test_split",
                        lambda cls, d=None: used.append(cls) or split(cls, d))
    result = evaluate(os.fspath(tmp_path / "checkpoint"))
    assert [c.__name__ for c in used] == ["MNIST"]
    assert result["test_accuracy"] == pytest.approx(metrics["test_accuracy"])
    with pytest.raises(ValueError, match="trained on mnist"):  # resuming with another dataset
        train("resnet", epochs=2, resume=tmp_path / "checkpoint", out=tmp_path / "r",
              options={"dataset": "fashion-mnist"}, quiet=True, log=lambda *a: None)
    with pytest.raises(ValueError, match="--dataset"):
        train("resnet", epochs=1, out=tmp_path / "bad", options={"dataset": "cifar10"})
    with pytest.raises(ValueError, match="no option"):
        train("resnet", epochs=1, out=tmp_path / "bad", options={"cell": "lstm"})
    rec = get_recipe("resnet")
    assert rec.options["dataset"] == "fashion-mnist" and rec.defaults["epochs"] == 10


def test_cli_passes_dataset_to_the_resnet_recipe(monkeypatch):
    from axonal import cli

    seen = {}
    monkeypatch.setattr("axonal.recipes.train", lambda name, **kw: seen.update(kw, name=name))
    assert cli.main(["train", "resnet", "--dataset", "mnist", "--epochs", "1"]) == 0
    assert seen["name"] == "resnet" and seen["options"] == {"dataset": "mnist"}
