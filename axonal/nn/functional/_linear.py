"""Linear maps: `linear` (y = x W^T + b) and `bilinear` (y_k = x1^T W_k x2 + b_k)."""
from ... import _autocast_state
from ..._errors import DTypeError, ShapeError
from ...ops import matmul, reshape
from ...ops.linalg import linear as _linear


def linear(input, weight, bias=None):
    if input.dtype is not weight.dtype and not _autocast_state.enabled_for(input.device.type):
        raise DTypeError(f"linear: input has dtype {input.dtype} but weight has dtype "
                         f"{weight.dtype}; convert one of them (e.g. model.double() or x.float())")
    return _linear(input, weight, bias)


def bilinear(input1, input2, weight, bias=None):
    """y_k = x1^T W_k x2 + b_k, weight (out, in1, in2); as one GEMM x1 [W_0 .. W_out] then a
    row-wise dot with x2."""
    if weight.ndim != 3:
        raise ShapeError(f"bilinear: weight must be 3-D (out, in1, in2), got {tuple(weight.shape)}")
    out_f, in1, in2 = weight.shape
    if input1.ndim == 0 or input1.shape[-1] != in1 or input2.ndim == 0 or \
            input2.shape[-1] != in2 or input1.shape[:-1] != input2.shape[:-1]:
        raise ShapeError(f"bilinear: inputs of shapes {tuple(input1.shape)} and "
                         f"{tuple(input2.shape)} do not match weight {tuple(weight.shape)}: "
                         f"expected (..., {in1}) and (..., {in2}) with equal leading dims")
    if bias is not None and tuple(bias.shape) != (out_f,):
        raise ShapeError(f"bilinear: bias of shape {tuple(bias.shape)} does not match "
                         f"out_features {out_f}")
    lead = tuple(input1.shape[:-1])
    a, c = reshape(input1, -1, in1), reshape(input2, -1, in2)
    t = matmul(a, reshape(weight.permute(1, 0, 2), in1, out_f * in2))
    y = (reshape(t, -1, out_f, in2) * c.unsqueeze(1)).sum(-1)
    if bias is not None:
        y = y + bias
    return reshape(y, lead + (out_f,))
