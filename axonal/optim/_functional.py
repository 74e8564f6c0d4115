"""The update rules as pure functions on raw arrays (NumPy or CuPy).

Each function is one step of one algorithm for one parameter, PyTorch's `_single_tensor_*` in array
form. It mutates `param` and the state arrays in place and never writes to `grad` (the caller's
`.grad` must survive the step). The optimizer classes in this package are the stateful outside:
they find the arrays, count steps and call these functions, so custom training loops (or an RBM that
sets gradients by hand) can reuse the math directly.

Notation, as in the PyTorch documentation's algorithm boxes: theta = parameter, g = gradient,
gamma = lr, lambda = weight decay, t = step number (1 after the first step).

Arithmetic order mirrors PyTorch's kernels (same operations, same grouping) so float32 trajectories
agree to rounding. Python floats combine with float32 arrays as float32 (NumPy 2 weak scalars),
as PyTorch's scalar arguments do.

SGD (with or without momentum) and Adam/AdamW without amsgrad are the update functions of
`axonal.kernels` (`sgd_update`, `sgd_momentum_update`, `adam_update`): they run one fused pass for
float32 C-contiguous NumPy arrays and the same arithmetic with NumPy/CuPy otherwise (float64, CuPy,
strided arrays), so this module hands them every array. The other algorithms are written here.
"""
from .. import backend
from .. import kernels as K


def _effective_grad(param, grad, weight_decay, maximize):
    """g <- -g if maximizing; g <- g + lambda theta (coupled L2 weight decay). Never in place."""
    if maximize:
        grad = -grad
    if weight_decay != 0:
        grad = grad + weight_decay * param
    return grad


def sgd_update(param, grad, momentum_buffer, *, lr, momentum=0.0, dampening=0.0,
               weight_decay=0.0, nesterov=False, maximize=False):
    """SGD with optional (Nesterov) momentum; returns the momentum buffer (None without momentum).

        b_1 = g_1,  b_t = mu b_{t-1} + (1 - tau) g_t
        d_t = g_t + mu b_t (nesterov) or b_t
        theta_t = theta_{t-1} - gamma d_t

    `momentum_buffer` is None before the first step; the new buffer is a copy of g_1, so dampening
    does not apply to the first step (PyTorch's convention).
    """
    if maximize:
        grad = -grad
    if momentum == 0:
        K.sgd_update(param, grad, lr, weight_decay)
        return None
    first = momentum_buffer is None
    if first:
        momentum_buffer = backend.xp_of(param).empty_like(param)
    K.sgd_momentum_update(param, grad, momentum_buffer, lr, momentum, dampening, nesterov,
                          weight_decay, first_step=first)
    return momentum_buffer


def adagrad_update(param, grad, state_sum, step, *, lr, lr_decay=0.0, weight_decay=0.0,
                   eps=1e-10, maximize=False):
    """Adagrad: per-coordinate step sizes shrink with the accumulated squared gradients.

        gamma_t = gamma / (1 + (t - 1) eta)                 (eta = lr_decay)
        s_t = s_{t-1} + g_t^2
        theta_t = theta_{t-1} - gamma_t g_t / (sqrt(s_t) + eps)

    `step` is t, already incremented for this step.
    """
    xp = backend.xp_of(param)
    grad = _effective_grad(param, grad, weight_decay, maximize)
    clr = lr / (1 + (step - 1) * lr_decay)
    state_sum += grad * grad
    std = xp.sqrt(state_sum)
    std += eps
    param -= clr * grad / std


def adadelta_update(param, grad, square_avg, acc_delta, *, lr=1.0, rho=0.9, eps=1e-6,
                    weight_decay=0.0, maximize=False):
    """Adadelta: the step is the gradient rescaled by RMS(past updates) / RMS(past gradients).

        v_t = rho v_{t-1} + (1 - rho) g_t^2
        dx_t = sqrt(u_{t-1} + eps) / sqrt(v_t + eps) * g_t
        u_t = rho u_{t-1} + (1 - rho) dx_t^2
        theta_t = theta_{t-1} - gamma dx_t
    """
    xp = backend.xp_of(param)
    grad = _effective_grad(param, grad, weight_decay, maximize)
    square_avg *= rho
    square_avg += (1 - rho) * grad * grad
    std = xp.sqrt(square_avg + eps)
    delta = xp.sqrt(acc_delta + eps)
    delta /= std
    delta *= grad
    acc_delta *= rho
    acc_delta += (1 - rho) * delta * delta
    param -= lr * delta


def rmsprop_update(param, grad, square_avg, grad_avg, momentum_buffer, *, lr=1e-2, alpha=0.99,
                   eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False, maximize=False):
    """RMSprop, optionally centered (divide by an estimate of the gradient's standard deviation
    instead of its RMS) and with momentum on the normalized step.

        v_t = alpha v_{t-1} + (1 - alpha) g_t^2
        centered: m_t = m_{t-1} + (1 - alpha)(g_t - m_{t-1}),  v~_t = v_t - m_t^2, else v~_t = v_t
        b_t = mu b_{t-1} + g_t / (sqrt(v~_t) + eps);  theta_t = theta_{t-1} - gamma b_t
        (without momentum: theta_t = theta_{t-1} - gamma g_t / (sqrt(v~_t) + eps))

    `grad_avg` is needed only when centered, `momentum_buffer` only when momentum > 0.
    """
    xp = backend.xp_of(param)
    grad = _effective_grad(param, grad, weight_decay, maximize)
    square_avg *= alpha
    square_avg += (1 - alpha) * grad * grad
    if centered:
        grad_avg += (1 - alpha) * (grad - grad_avg)
        avg = xp.sqrt(square_avg - grad_avg * grad_avg)
    else:
        avg = xp.sqrt(square_avg)
    avg += eps
    if momentum > 0:
        momentum_buffer *= momentum
        momentum_buffer += grad / avg
        param -= lr * momentum_buffer
    else:
        param -= lr * grad / avg


def adam_update(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, step, *, lr=1e-3, beta1=0.9,
                beta2=0.999, eps=1e-8, weight_decay=0.0, amsgrad=False, maximize=False,
                decoupled_weight_decay=False):
    """Adam (and AdamW when `decoupled_weight_decay`), with the AMSGrad variant.

        AdamW: theta <- theta (1 - gamma lambda)  (decay applied to the weights, not the gradient)
        Adam:  g_t <- g_t + lambda theta_{t-1}
        m_t = beta1 m_{t-1} + (1 - beta1) g_t
        v_t = beta2 v_{t-1} + (1 - beta2) g_t^2
        amsgrad: v^max_t = max(v^max_{t-1}, v_t) replaces v_t below
        theta_t = theta_{t-1} - gamma / (1 - beta1^t) * m_t / (sqrt(v_t) / sqrt(1 - beta2^t) + eps)

    The bias corrections are folded into scalars (PyTorch's arrangement), so eps is added to the
    bias-corrected sqrt(v), exactly as in the paper's algorithm 1. `step` is t, already incremented.
    """
    xp = backend.xp_of(param)
    if maximize:
        grad = -grad
    if not amsgrad and float(step).is_integer():  # the kernel's update counts whole steps
        K.adam_update(param, grad, exp_avg, exp_avg_sq, int(step), lr, beta1, beta2, eps,
                      weight_decay, decoupled_weight_decay)
        return
    if weight_decay != 0:
        if decoupled_weight_decay:
            param *= 1 - lr * weight_decay
        else:
            grad = grad + weight_decay * param
    exp_avg += (1 - beta1) * (grad - exp_avg)  # lerp towards g: beta1 m + (1 - beta1) g
    exp_avg_sq *= beta2
    exp_avg_sq += (1 - beta2) * grad * grad
    bias_correction1 = 1 - beta1 ** step
    bias_correction2_sqrt = (1 - beta2 ** step) ** 0.5
    step_size = lr / bias_correction1
    if amsgrad:
        xp.maximum(max_exp_avg_sq, exp_avg_sq, out=max_exp_avg_sq)
        denom = xp.sqrt(max_exp_avg_sq)
    else:
        denom = xp.sqrt(exp_avg_sq)
    denom /= bias_correction2_sqrt
    denom += eps
    param -= step_size * exp_avg / denom
