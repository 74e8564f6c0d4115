"""The torchvision oracle for the axonal.vision tests.

torchvision 0.28.0 (the release that matches torch 2.13.0) is found installed, or in the folder
.ci/run installs it to (`pip install --no-deps --target ~/.cache/axonal/torchvision-oracle`, or
$AXONAL_TORCHVISION_PATH). The wheel on PyPI is a CUDA build: its C++ operators (nms, roi_align...)
do not load next to the CPU torch, and its import then fails registering their fake kernels. Only
that registration is stubbed while importing; the Python code the tests compare with (models,
transforms, datasets, utils) is torchvision's own. Without it, `tv` skips naming torchvision.
"""
import os
import sys

import pytest

_PATH = os.environ.get("AXONAL_TORCHVISION_PATH",
                       os.path.expanduser("~/.cache/axonal/torchvision-oracle"))
_CACHE = []


def _import_torchvision():
    import torch
    import torch.library
    if os.path.isdir(_PATH) and _PATH not in sys.path:
        sys.path.append(_PATH)
    real = torch.library.register_fake
    torch.library.register_fake = lambda *a, **k: (lambda fn: fn)  # CUDA ops: not loadable here
    try:
        import torchvision
    finally:
        torch.library.register_fake = real
    return torchvision


@pytest.fixture
def tv():
    pytest.importorskip("torch")
    if not _CACHE:
        try:
            _CACHE.append(_import_torchvision())
        except ImportError as e:
            _CACHE.append(f"torchvision (the test oracle) is not installed ({e}); .ci/run installs "
                          f"torchvision==0.28.0 --no-deps into {_PATH}")
    if isinstance(_CACHE[0], str):
        pytest.skip(_CACHE[0])
    return _CACHE[0]
