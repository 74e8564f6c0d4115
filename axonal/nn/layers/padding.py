"""Padding layers: ZeroPad, ConstantPad, ReflectionPad, ReplicationPad and CircularPad in 1, 2
and 3 dims, over `F.pad` (see `nn.functional._padding` for the modes).

`padding` is an int (the same width on every side) or a tuple of 2 n widths in F.pad's order
(left, right, top, bottom, front, back); it is stored as that tuple, as in PyTorch.
"""
from .. import functional as F
from ..module import Module
from ._util import check_tensor, shape_error

__all__ = [f"{kind}Pad{n}d" for kind in ("Zero", "Constant", "Reflection", "Replication",
                                          "Circular") for n in (1, 2, 3)]


class _PadNd(Module):
    _n = 1
    _mode = "constant"

    def __init__(self, padding):
        super().__init__()
        n = self._n
        if isinstance(padding, int):
            padding = (padding,) * (2 * n)
        padding = tuple(int(p) for p in padding)
        if len(padding) != 2 * n:
            raise ValueError(f"{type(self).__name__}: padding must be an int or a tuple of "
                             f"{2 * n} ints, got {padding}")
        self.padding = padding

    def forward(self, input):
        check_tensor(self, input)
        n = self._n
        if input.ndim not in (n + 1, n + 2):
            raise shape_error(self, f"expected {n + 1}D or {n + 2}D input, got {input.ndim}D "
                              f"input of shape {tuple(input.shape)}")
        if self._mode == "constant":
            return F.pad(input, self.padding, "constant", self.value)
        return F.pad(input, self.padding, self._mode)

    def extra_repr(self):
        return f"{self.padding}"


class _ConstantPadNd(_PadNd):
    def __init__(self, padding, value):
        super().__init__(padding)
        self.value = value

    def extra_repr(self):
        return f"padding={self.padding}, value={self.value}"


class _ZeroPadNd(_ConstantPadNd):
    def __init__(self, padding):
        super().__init__(padding, 0.0)

    def extra_repr(self):
        return f"{self.padding}"


def _make(kind, base, mode, n, doc):
    name = f"{kind}Pad{n}d"
    cls = type(name, (base,), {"_n": n, "_mode": mode, "__doc__": doc.format(n=n),
                               "__module__": __name__, "__qualname__": name})
    globals()[name] = cls


for _n in (1, 2, 3):
    _make("Zero", _ZeroPadNd, "constant", _n, "Pads the last {n} dims with zeros.")
    _make("Constant", _ConstantPadNd, "constant", _n,
          "Pads the last {n} dims with a constant `value`.")
    _make("Reflection", _PadNd, "reflect", _n,
          "Pads the last {n} dims with the reflection of the input (edge not repeated).")
    _make("Replication", _PadNd, "replicate", _n,
          "Pads the last {n} dims by repeating the edge values.")
    _make("Circular", _PadNd, "circular", _n,
          "Pads the last {n} dims by wrapping around (periodic boundary).")
del _n
