"""The benchmark workloads compute the same thing in both frameworks: from the same weights
(`workloads.same_weights`) and the same data, three training steps give PyTorch's losses within
1e-4. A speed ratio means nothing unless both sides run the same program; this is that check, at
the benchmarks' real sizes (a few seconds per workload)."""
import os
import sys

import pytest

torch = pytest.importorskip("torch")

import axonal

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "benchmarks"))
import workloads

pytestmark = pytest.mark.torch


def _losses(lib, name):
    step = workloads.REGISTRY[name][0](lib, workloads.same_weights(lib, seed=3))
    return [float(step().detach()) for _ in range(3)]


@pytest.mark.parametrize("name", workloads.TRAINING)
def test_three_steps_give_torchs_losses(name):
    ours, theirs = _losses(axonal, name), _losses(torch, name)
    assert ours == pytest.approx(theirs, abs=1e-4), (name, ours, theirs)
    assert ours[0] != ours[2]  # the weights moved: the steps really trained


def test_registry_lists_the_issue_workloads():
    for name in ("mlp_step", "lenet", "cifar", "resnet20", "resnet20_cifar", "lstm", "gpt",
                 "gpt_offshape"):
        assert name in workloads.TRAINING
    for name in ("mlp_step", "gpt", "gpt_offshape"):
        assert workloads.FLOPS[name] > 1e8
