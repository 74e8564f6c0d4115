"""`torch.nn.modules.transformer`'s import path: of the classes PyTorch's file defines, those
Axonal has (see _pick.py), and Axonal's PositionalEncoding, which lives beside them."""
from ..layers.transformer import PositionalEncoding
from ._pick import pick

__all__ = pick(globals(), [
    "Transformer", "TransformerDecoder", "TransformerDecoderLayer", "TransformerEncoder",
    "TransformerEncoderLayer",
]) + ["PositionalEncoding"]
