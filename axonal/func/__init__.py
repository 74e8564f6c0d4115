"""Function transforms, as PyTorch's `torch.func` (vmap here; grad, jacrev ... in their module)."""
from ._vmap import vmap
