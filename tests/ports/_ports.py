"""Helpers for the port tests (a module of its own name, not conftest.py: tests/vision has a
conftest too, and `from conftest import` would find whichever was imported last).

Each program in programs/ exists twice, `<name>_torch.py` and `<name>_axonal.py`, identical except
their import lines. Both are imported from their files (under
a module name of their own, so that whole-module `save(model)` finds their classes again) and
their `main(argv)` runs at smoke size; the tests compare what the two return.

The torch side needs torch (pytest.importorskip) and, for the torchvision programs, the
torchvision oracle that tests/vision/conftest.py describes (skipped when absent).
"""
import gzip
import importlib.util
import os
import sys

import numpy as np
import pytest

PROGRAMS = os.path.join(os.path.dirname(__file__), "programs")
_TV = []


def program_path(name, side):
    return os.path.join(PROGRAMS, f"{name}_{side}.py")


def load_program(name, side):
    """Import programs/<name>_<side>.py as module `ports_<name>_<side>` (registered in sys.modules:
    pickle (torch.save of a module) and axonal's module save name classes by module path)."""
    if side == "torch":
        pytest.importorskip("torch")
        if "torchvision" in open(program_path(name, side)).read():
            _torchvision()
    modname = f"ports_{name}_{side}"
    spec = importlib.util.spec_from_file_location(modname, program_path(name, side))
    module = importlib.util.module_from_spec(spec)
    sys.modules[modname] = module
    spec.loader.exec_module(module)
    return module


def _torchvision():
    """torchvision 0.28 as tests/vision/conftest.py imports it (its CUDA operator registrations
    stubbed), or a skip that says how to install it."""
    if not _TV:
        here = os.path.join(os.path.dirname(os.path.dirname(__file__)), "vision", "conftest.py")
        spec = importlib.util.spec_from_file_location("_ports_vision_conftest", here)
        conf = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(conf)
        try:
            _TV.append(conf._import_torchvision())
        except ImportError as e:
            _TV.append(f"torchvision (the test oracle) is not installed ({e})")
    if isinstance(_TV[0], str):
        pytest.skip(_TV[0])
    return _TV[0]


def run_pair(name, argv, tmp_path):
    """Run the torch program (it writes its freshly initialised weights to an npz), then the axonal
    one starting from those weights. Returns (torch_result, axonal_result)."""
    theirs_mod = load_program(name, "torch")
    ours_mod = load_program(name, "axonal")
    init = str(tmp_path / f"{name}_init.npz")
    (tmp_path / "torch").mkdir(exist_ok=True)
    (tmp_path / "axonal").mkdir(exist_ok=True)
    import torch
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # smoke-sized ops: PyTorch's thread pool only adds contention on CI
    try:
        theirs = theirs_mod.main(argv + ["--save-init", init, "--out", str(tmp_path / "torch")])
    finally:
        torch.set_num_threads(threads)
    ours = ours_mod.main(argv + ["--init", init, "--out", str(tmp_path / "axonal")])
    return theirs, ours


# -- data in the canonical formats, generated --------------------------------------------------
def write_idx(path, arr):
    header = bytes([0, 0, 8, arr.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in arr.shape)
    with (gzip.open if path.endswith(".gz") else open)(path, "wb") as f:
        f.write(header + arr.astype(np.uint8).tobytes())


def mnist_like(root, n_train=64, n_test=32, seed=0, folder="MNIST"):
    """MNIST-format files in torchvision's layout (<root>/MNIST/raw/, decompressed): ten classes,
    each a blocky random prototype plus noise, so that a small CNN can learn them in a few steps."""
    rng = np.random.default_rng(seed)
    # 7x7 random blocks of 4x4 pixels: a shift by a pixel or two (RandomCrop) keeps the class
    protos = np.kron(rng.random((10, 7, 7)) > 0.6, np.ones((4, 4)))
    raw = os.path.join(root, folder, "raw")
    os.makedirs(raw, exist_ok=True)
    for split, n in (("train", n_train), ("t10k", n_test)):
        labels = rng.permutation(np.arange(n) % 10)  # every class present (the siamese pairs)
        images = protos[labels] * 200.0 + rng.normal(0, 40, (n, 28, 28))
        write_idx(os.path.join(raw, f"{split}-images-idx3-ubyte"), np.clip(images, 0, 255))
        write_idx(os.path.join(raw, f"{split}-labels-idx1-ubyte"), labels)
    return root


def text_corpus(folder, seed=0, words=400):
    """train/valid/test.txt as the word language model example reads them: a small vocabulary drawn
    from a Markov chain, so the next word is partly predictable."""
    rng = np.random.default_rng(seed)
    vocab = [f"w{i}" for i in range(30)]
    nxt = rng.integers(0, 30, (30, 3))
    os.makedirs(folder, exist_ok=True)
    for split, n in (("train", words), ("valid", words // 4), ("test", words // 4)):
        w, lines, line = 0, [], []
        for _ in range(n):
            w = int(nxt[w, rng.integers(0, 3)])
            line.append(vocab[w])
            if len(line) == 12:
                lines.append(" ".join(line))
                line = []
        with open(os.path.join(folder, f"{split}.txt"), "w") as f:
            f.write("\n".join(lines) + "\n")
    return folder
