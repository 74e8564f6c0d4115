"""Dropout layers (Srivastava et al. 2014), inverted: scaled at training time, the identity in
evaluation. Dropout1d/2d/3d drop whole channels (Tompson et al. 2015); the math is in
`nn.functional._dropout`. AlphaDropout / FeatureAlphaDropout (Klambauer et al. 2017) keep the
mean and variance of SELU networks instead."""
import numpy as np

from .. import functional as F
from ..module import Module

__all__ = ["Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout", "FeatureAlphaDropout"]


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


class Dropout3d(_DropoutNd):
    """Channel dropout for (N, C, D, H, W) volumes (identity in eval mode)."""

    def forward(self, input):
        return F.dropout3d(input, self.p, self.training, self.inplace)


class AlphaDropout(_DropoutNd):
    """Alpha dropout for SELU networks: dropped units take SELU's saturation value and the result
    is rescaled so that mean and variance are kept. As PyTorch's, it ignores `inplace` (the flag
    is stored and shown, the result is a new tensor)."""

    def forward(self, input):
        return F.alpha_dropout(input, self.p, self.training)


class FeatureAlphaDropout(_DropoutNd):
    """Alpha dropout of whole channels (one decision per (N, C) entry); ignores `inplace`, as
    PyTorch's."""

    def forward(self, input):
        return F.feature_alpha_dropout(input, self.p, self.training)
