"""Version counters: one per storage, shared by a tensor, its views and `detach()`.

Sits below `tensor` (it knows nothing of tensors beyond the `_vc` slot) so that both the Tensor class
and the autograd checks can use it; `autograd/versions.py` explains what the counts are for.
"""


class VersionCounter:
    """In-place writes to one storage, counted (`v`) for the saved-tensor checks of backward;
    `g` counts those that changed the storage's graph (its views then rebuild their grad_fn)."""
    __slots__ = ("v", "g")

    def __init__(self):
        self.v = 0
        self.g = 0


def version_counter(t):
    """`t`'s version counter, made on first use (most tensors are never written in place)."""
    vc = t._vc
    if vc is None:
        vc = t._vc = VersionCounter()
    return vc
