"""Dropout layers (Srivastava et al. 2014), inverted: scaled at training time, the identity in
evaluation. Dropout1d/Dropout2d drop whole channels (Tompson et al. 2015); the math is in
`nn.functional._dropout`."""
import numpy as np

from .. import functional as F
from ..module import Module

__all__ = ["Dropout", "Dropout1d", "Dropout2d"]


class _DropoutNd(Module):
    def __init__(self, p=0.5, inplace=False):
        super().__init__()
        if not isinstance(p, (int, float, np.floating)) or not 0.0 <= p <= 1.0:
            raise ValueError(f"{type(self).__name__}: dropout probability has to be between 0 "
                             f"and 1, but got {p}")
        self.p, self.inplace = float(p), inplace

    def extra_repr(self):
        return f"p={self.p}, inplace={self.inplace}"


class Dropout(_DropoutNd):
    """Zeroes each element with probability p while training and scales the survivors by
    1 / (1 - p), so expectations match evaluation mode, where the layer returns its input.
    Masks come from the axonal default generator (seed it with axonal.manual_seed)."""

    def forward(self, input):
        return F.dropout(input, self.p, self.training, self.inplace)


class Dropout2d(_DropoutNd):
    """Channel dropout for (N, C, H, W) feature maps (identity in eval mode)."""

    def forward(self, input):
        return F.dropout2d(input, self.p, self.training, self.inplace)


class Dropout1d(_DropoutNd):
    """Channel dropout for (N, C, L) sequences of features (identity in eval mode)."""

    def forward(self, input):
        return F.dropout1d(input, self.p, self.training, self.inplace)
