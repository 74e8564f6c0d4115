"""Dropout (Srivastava et al. 2014), inverted: scaled at training time, the identity in eval."""
from .. import functional as F
from ..module import Module


class Dropout(Module):
    """Zeroes each element with probability p while training and scales the survivors by
    1 / (1 - p), so expectations match evaluation mode, where the layer returns its input.
    Masks come from the axonal default generator (seed it with axonal.manual_seed)."""

    def __init__(self, p=0.5, inplace=False):
        super().__init__()
        if not isinstance(p, (int, float)) or not 0.0 <= p <= 1.0:
            raise ValueError(f"Dropout: dropout probability has to be between 0 and 1, but got {p}")
        self.p, self.inplace = float(p), inplace

    def forward(self, input):
        return F.dropout(input, self.p, self.training)

    def extra_repr(self):
        return f"p={self.p}, inplace={self.inplace}"
