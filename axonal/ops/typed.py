"""PyTorch's legacy typed constructors, `FloatTensor`, `LongTensor`, ...: calling one builds an
ordinary `Tensor` of that dtype with `Tensor`'s legacy rules (ints are a shape, one sequence or
array is the data), and `isinstance(t, FloatTensor)` holds, as in PyTorch, for a CPU tensor of
that dtype (a metaclass `__instancecheck__`: there is no subclass, every tensor is a `Tensor`)."""
from .. import _dtype as _dt
from ..tensor import Tensor


class _TypedTensorMeta(type):
    def __instancecheck__(cls, obj):
        return isinstance(obj, Tensor) and obj.dtype is cls.dtype and not obj.is_cuda

    def __call__(cls, *args, device=None):
        return Tensor(*args, dtype=cls.dtype, device=device)


def _typed(name, dtype):
    doc = f"torch.{name}: a {dtype} tensor ({name}(3, 4): a shape, {name}([...]): data)"
    return _TypedTensorMeta(name, (), {"dtype": dtype, "__doc__": doc, "__module__": __name__})


FloatTensor = _typed("FloatTensor", _dt.float32)
DoubleTensor = _typed("DoubleTensor", _dt.float64)
HalfTensor = _typed("HalfTensor", _dt.float16)
LongTensor = _typed("LongTensor", _dt.int64)
IntTensor = _typed("IntTensor", _dt.int32)
ShortTensor = _typed("ShortTensor", _dt.int16)
CharTensor = _typed("CharTensor", _dt.int8)
ByteTensor = _typed("ByteTensor", _dt.uint8)
BoolTensor = _typed("BoolTensor", _dt.bool_)
