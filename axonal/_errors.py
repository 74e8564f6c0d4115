"""Error types shared by every layer.

Shape and dtype problems raise `ShapeError` / `DTypeError`. Each is both a `ValueError` (what Python
users expect for a bad argument) and a `RuntimeError` (what PyTorch raises, so ported code that catches
`RuntimeError` keeps working).
"""


class ShapeError(ValueError, RuntimeError):
    """An op received tensors whose shapes do not fit together."""


class DTypeError(TypeError, RuntimeError):
    """An op received a tensor of a dtype it cannot handle."""


class GraphError(RuntimeError):
    """Misuse of the autograd graph (backward twice, non-scalar backward, ...)."""


def fmt_shapes(*shapes) -> str:
    return " and ".join(str(tuple(s)) for s in shapes)


# PyTorch's message for detach_() on a view (word for word: programs and tests match on it)
DETACH_VIEW = ("Can't detach views in-place. Use detach() instead. If you are using "
               "DistributedDataParallel (DDP) for training, and gradient_as_bucket_view is set as "
               "True, gradients are views of DDP buckets, and hence detach_() cannot be called on "
               "these gradients. To fix this error, please refer to the Optimizer.zero_grad() "
               "function in torch/optim/optimizer.py as the solution.")
