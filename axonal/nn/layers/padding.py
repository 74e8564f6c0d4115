"""Padding layers: ZeroPad, ConstantPad, ReflectionPad, ReplicationPad and CircularPad in 1, 2
and 3 dims, over `F.pad` (see `nn.functional._padding` for the modes).

`padding` is an int (the same width on every side) or a tuple of 2 n widths in F.pad's order
(left, right, top, bottom, front, back); it is stored as that tuple, as in PyTorch.
"""
from .. import functional as F
from ..module import Module
from ._util import check_tensor, shape_error

__all__ = ["CircularPad1d", "CircularPad2d", "CircularPad3d", "ConstantPad1d", "ConstantPad2d",
           "ConstantPad3d", "ReflectionPad1d", "ReflectionPad2d", "ReflectionPad3d",
           "ReplicationPad1d", "ReplicationPad2d", "ReplicationPad3d", "ZeroPad1d", "ZeroPad2d",
           "ZeroPad3d"]


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
    return type(name, (base,), {"_n": n, "_mode": mode, "__doc__": doc.format(n=n),
                                "__module__": __name__, "__qualname__": name})


_ZERO = "Pads the last {n} dims with zeros."
_CONST = "Pads the last {n} dims with a constant `value`."
_REFL = "Pads the last {n} dims with the reflection of the input (edge not repeated)."
_REPL = "Pads the last {n} dims by repeating the edge values."
_CIRC = "Pads the last {n} dims by wrapping around (periodic boundary)."
ZeroPad1d = _make("Zero", _ZeroPadNd, "constant", 1, _ZERO)
ZeroPad2d = _make("Zero", _ZeroPadNd, "constant", 2, _ZERO)
ZeroPad3d = _make("Zero", _ZeroPadNd, "constant", 3, _ZERO)
ConstantPad1d = _make("Constant", _ConstantPadNd, "constant", 1, _CONST)
ConstantPad2d = _make("Constant", _ConstantPadNd, "constant", 2, _CONST)
ConstantPad3d = _make("Constant", _ConstantPadNd, "constant", 3, _CONST)
ReflectionPad1d = _make("Reflection", _PadNd, "reflect", 1, _REFL)
ReflectionPad2d = _make("Reflection", _PadNd, "reflect", 2, _REFL)
ReflectionPad3d = _make("Reflection", _PadNd, "reflect", 3, _REFL)
ReplicationPad1d = _make("Replication", _PadNd, "replicate", 1, _REPL)
ReplicationPad2d = _make("Replication", _PadNd, "replicate", 2, _REPL)
ReplicationPad3d = _make("Replication", _PadNd, "replicate", 3, _REPL)
CircularPad1d = _make("Circular", _PadNd, "circular", 1, _CIRC)
CircularPad2d = _make("Circular", _PadNd, "circular", 2, _CIRC)
CircularPad3d = _make("Circular", _PadNd, "circular", 3, _CIRC)
