"""Primitive differentiable ops, grouped by family, and the functions users call."""
from . import methods as _methods  # noqa: F401  (binds Tensor methods)
from . import _jvp, _jvp_inplace, _jvp_more  # attach the forward-mode AD rules to the op classes
from .activation import log_softmax, softmax
from .arith import (add, bitwise_left_shift, bitwise_right_shift, div, floor_divide, mul, neg, pow,
                    reciprocal, remainder, square, sub)
from .compare import (
                       allclose,
                       bitwise_and,
                       bitwise_not,
                       bitwise_or,
                       bitwise_xor,
                       clamp,
                       eq,
                       equal,
                       ge,
                       gt,
                       isclose,
                       isfinite,
                       isinf,
                       isnan,
                       le,
                       logical_and,
                       logical_not,
                       logical_or,
                       logical_xor,
                       lt,
                       maximum,
                       minimum,
                       ne,
                       where,
)
from .creation import (
                       arange,
                       as_tensor,
                       bernoulli,
                       empty,
                       empty_like,
                       eye,
                       from_numpy,
                       full,
                       full_like,
                       linspace,
                       logspace,
                       multinomial,
                       normal,
                       ones,
                       ones_like,
                       rand,
                       rand_like,
                       randint,
                       randint_like,
                       randn,
                       randn_like,
                       randperm,
                       tensor,
                       zeros,
                       zeros_like,
)
from .indexing import (gather, index_put, index_select, masked_fill, narrow, nonzero, scatter,
                       scatter_add, select)
from .einsum import einsum
from .linalg import bmm, diag, dot, linear, matmul, mm, mv, outer, tril, triu
from .reduction import (
                       all,
                       amax,
                       amin,
                       any,
                       argmax,
                       argmin,
                       count_nonzero,
                       cumsum,
                       max,
                       mean,
                       min,
                       norm,
                       prod,
                       sum,
)
from .moments import logsumexp, std, std_mean, var, var_mean
from .shape import (
                       broadcast_tensors,
                       broadcast_to,
                       cat,
                       chunk,
                       clone,
                       concat,
                       concatenate,
                       contiguous,
                       expand,
                       flatten,
                       flip,
                       movedim,
                       pad,
                       permute,
                       repeat,
                       reshape,
                       split,
                       squeeze,
                       stack,
                       t,
                       transpose,
                       unbind,
                       unflatten,
                       unsqueeze,
                       view,
)
from .replicate import meshgrid, repeat_interleave
from .strided import as_strided, diagonal
from .inplace_methods import relu_
from . import sparse
from .sorting import argsort, msort, sort, topk, unique
from .sparse import sparse_coo_tensor, spmm
from .typed import (
                       BoolTensor,
                       ByteTensor,
                       CharTensor,
                       DoubleTensor,
                       FloatTensor,
                       HalfTensor,
                       IntTensor,
                       LongTensor,
                       ShortTensor,
)
from .unary import (
                       abs,
                       ceil,
                       cos,
                       erf,
                       exp,
                       floor,
                       log,
                       log1p,
                       relu,
                       round,
                       rsqrt,
                       sigmoid,
                       sign,
                       sin,
                       sqrt,
                       tanh,
                       trunc,
)

clip = clamp
multiply = mul
divide = div
subtract = sub
true_divide = div
