"""Runs after test_attention_kernels, test_bmm and test_layer_norm_kernels (files run in name
order): each kernel of the transformer families still has one compiled signature, so no call path
of those tests (or of warmup) compiled a second one, which would cost ~1 s in the middle of a
training step."""
from axonal import kernels as K
from axonal.kernels import _sgemm

FAMILIES = ["attention", "layer_norm", "gemm"]


def test_one_signature_per_transformer_kernel():
    cases = K._kernels(FAMILIES)
    times = K.warmup(modules=FAMILIES)
    assert len(cases) == len(times) == (12 if _sgemm.SGEMM_SMALL is not None else 10)
    for fn, _ in cases:
        assert len(fn.signatures) == 1, (fn.__name__, fn.signatures)
