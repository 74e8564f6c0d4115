"""The few places where data loading touches the core: Tensors, dtypes and generators.

Layer 5 (`utils`, `datasets`). Everything here imports only lower layers (`tensor`, `random`,
`backend`, `dtype`, `_config`), never `axonal/__init__`, so `tests/test_layering.py` stays green. The
imports are done lazily so that the array-level parts of data loading (samplers, IDX reader, toy sets)
work and can be tested even in a tree where the Tensor class is still being written.

Data loading never needs gradients: a batch is a fresh leaf. So batches are built on raw arrays
(`numpy.stack`, fancy indexing) and wrapped in a Tensor once, which costs one object per batch instead
of one graph node per sample.
"""
import numpy as np

from ...backend import xp_of


def tensor_type():
    from ...tensor import Tensor

    return Tensor


def is_tensor(x) -> bool:
    return isinstance(x, tensor_type())


def wrap(array):
    """A Tensor that shares `array` (NumPy or CuPy); no copy, no grad."""
    return tensor_type()(array)


def default_float():
    """NumPy dtype of axonal's default float (float32 unless `set_default_dtype` changed it)."""
    from ..._config import get_default_float

    return np.dtype(get_default_float())


def stack_tensors(tensors):
    """Stack same-shaped Tensors along a new dim 0.

    Plain leaves (the usual case) are stacked on the raw arrays. If any sample still needs grad (a
    dataset that returns outputs of a model), the differentiable `stack` op is used so the graph is
    kept, as `torch.stack` in PyTorch's collate would.
    """
    if any(getattr(t, "requires_grad", False) for t in tensors):
        from ...ops import stack

        return stack(list(tensors), 0)
    arrays = [t._data for t in tensors]
    return wrap(xp_of(*arrays).stack(arrays, 0))


# --------------------------------------------------------------------------------------------------
# Random numbers. Every draw goes through a NumPy `Generator`: the one inside an axonal Generator
# (`gen.np`), or a plain `numpy.random.Generator` passed by the user.


def _default_generator():
    from ...random import default_generator

    return default_generator


def numpy_rng(generator=None) -> np.random.Generator:
    """The NumPy Generator behind `generator` (None: axonal's default generator)."""
    if generator is None:
        generator = _default_generator()
    if isinstance(generator, np.random.Generator):
        return generator
    rng = getattr(generator, "np", None)
    if isinstance(rng, np.random.Generator):
        return rng
    raise TypeError(f"expected an axonal.Generator or numpy.random.Generator, "
                    f"got {type(generator).__name__}")


def fresh_rng() -> np.random.Generator:
    """A new NumPy Generator seeded by one draw from axonal's default generator.

    This is what PyTorch's RandomSampler does when it has no generator: each epoch draws one 64-bit seed
    from the global generator and shuffles with a private generator. So the whole run is reproducible
    after `axonal.manual_seed(s)`, and other consumers of the global stream (init, dropout) shift it by
    exactly one draw per epoch, however large the dataset.
    """
    seed = int(numpy_rng(None).integers(0, 2**63 - 1, dtype=np.int64))
    return np.random.default_rng(seed)


def randperm(n: int, generator=None) -> np.ndarray:
    """A random permutation of range(n) as an int64 array, drawn from `generator`."""
    return numpy_rng(generator).permutation(n).astype(np.int64, copy=False)


def resolve_seed(seed) -> np.random.Generator:
    """NumPy Generator for the toy-data makers: an int seed, a Generator, or None (one draw from
    axonal's default generator, so `axonal.manual_seed` makes the data repeatable too)."""
    if seed is None:
        return fresh_rng()
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        return np.random.default_rng(int(seed))
    return numpy_rng(seed)
