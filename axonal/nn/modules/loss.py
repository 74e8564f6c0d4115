"""`torch.nn.modules.loss`'s import path: loss modules."""
from ..layers.loss import *
from ..layers.loss import __all__ as _loss
from ..layers.loss_extra import (
                                 CTCLoss,
                                 MultiLabelMarginLoss,
                                 MultiLabelSoftMarginLoss,
                                 MultiMarginLoss,
    NLLLoss2d,
                                 TripletMarginLoss,
                                 TripletMarginWithDistanceLoss,
)

__all__ = list(_loss) + ["CTCLoss", "MultiLabelMarginLoss", "MultiLabelSoftMarginLoss",
                         "MultiMarginLoss", "NLLLoss2d", "TripletMarginLoss",
                         "TripletMarginWithDistanceLoss"]
