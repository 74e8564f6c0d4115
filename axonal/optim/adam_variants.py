"""Adamax, NAdam and RAdam: Adam's moving averages with other step rules (PyTorch's formulas,
`_single_tensor_*`, in the same arithmetic order). Each update is a pure function on arrays
(`adamax_update`, `nadam_update`, `radam_update`) mutating the parameter and state in place.

    Adamax (Kingma and Ba 2015, sec. 7): u_t = max(beta2 u_{t-1}, |g_t| + eps)
        theta_t = theta_{t-1} - gamma / (1 - beta1^t) m_t / u_t
    NAdam (Dozat 2016): Nesterov momentum with the schedule mu_t = beta1 (1 - 0.5 * 0.96^(t psi))
        theta_t = theta_{t-1} - gamma (1 - mu_t) / (1 - prod_{i<=t} mu_i) g_t / (sqrt(v^_t) + eps)
                              - gamma mu_{t+1} / (1 - prod_{i<=t+1} mu_i) m_t / (sqrt(v^_t) + eps)
    RAdam (Liu et al. 2020): rho_inf = 2 / (1 - beta2) - 1,
        rho_t = rho_inf - 2 t beta2^t / (1 - beta2^t); while rho_t <= 5 the step is SGD with
        momentum (m^_t), afterwards Adam's step times the rectification
        r_t = sqrt((rho_t - 4)(rho_t - 2) rho_inf / ((rho_inf - 4)(rho_inf - 2) rho_t)).

m_t = beta1 m_{t-1} + (1 - beta1) g_t and v_t = beta2 v_{t-1} + (1 - beta2) g_t^2 throughout.
As in PyTorch, NAdam's running product of mu is a float32 scalar tensor (state `mu_product`),
which load_state_dict casts to the parameter's dtype like every floating state value.
"""
from .. import backend
from .adam import _betas
from .optimizer import Optimizer, check_compat, check_number


def _decay(param, grad, lr, weight_decay, decoupled):
    if weight_decay != 0:
        if decoupled:
            param *= 1 - lr * weight_decay
        else:
            grad = grad + weight_decay * param
    return grad


def adamax_update(param, grad, exp_avg, exp_inf, step, *, lr=2e-3, beta1=0.9, beta2=0.999,
                  eps=1e-8, weight_decay=0.0, maximize=False):
    xp = backend.xp_of(param)
    if maximize:
        grad = -grad
    grad = _decay(param, grad, lr, weight_decay, False)
    exp_avg += (1 - beta1) * (grad - exp_avg)
    exp_inf *= beta2
    xp.maximum(exp_inf, xp.abs(grad) + eps, out=exp_inf)
    clr = lr / (1 - beta1 ** step)
    param -= clr * exp_avg / exp_inf


def nadam_update(param, grad, exp_avg, exp_avg_sq, mu_product, step, *, lr=2e-3, beta1=0.9,
                 beta2=0.999, eps=1e-8, weight_decay=0.0, momentum_decay=4e-3, maximize=False,
                 decoupled_weight_decay=False):
    """`mu_product` is the 0-d state array (float32 until a checkpoint is loaded), updated in
    place."""
    xp = backend.xp_of(param)
    if maximize:
        grad = -grad
    bias_correction2 = 1 - beta2 ** step
    grad = _decay(param, grad, lr, weight_decay, decoupled_weight_decay)
    mu = beta1 * (1.0 - 0.5 * (0.96 ** (step * momentum_decay)))
    mu_next = beta1 * (1.0 - 0.5 * (0.96 ** ((step + 1) * momentum_decay)))
    mu_product *= mu
    prod = float(mu_product)
    exp_avg += (1 - beta1) * (grad - exp_avg)
    exp_avg_sq *= beta2
    exp_avg_sq += (1 - beta2) * grad * grad
    denom = xp.sqrt(exp_avg_sq / bias_correction2)
    prod_next = prod * mu_next
    denom += eps
    param += (-lr * (1.0 - mu) / (1.0 - prod)) * grad / denom
    param += ((-lr * mu_next) / (1.0 - prod_next)) * exp_avg / denom


def radam_update(param, grad, exp_avg, exp_avg_sq, step, *, lr=1e-3, beta1=0.9, beta2=0.999,
                 eps=1e-8, weight_decay=0.0, maximize=False, decoupled_weight_decay=False):
    xp = backend.xp_of(param)
    if maximize:
        grad = -grad
    grad = _decay(param, grad, lr, weight_decay, decoupled_weight_decay)
    exp_avg += (1 - beta1) * (grad - exp_avg)
    exp_avg_sq *= beta2
    exp_avg_sq += (1 - beta2) * grad * grad
    bias_correction1 = 1 - beta1 ** step
    bias_correction2 = 1 - beta2 ** step
    corrected = exp_avg / bias_correction1
    rho_inf = 2 / (1 - beta2) - 1
    rho_t = rho_inf - 2 * step * (beta2 ** step) / bias_correction2
    if rho_t > 5.0:
        rect = ((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) \
            ** 0.5
        adaptive = (bias_correction2 ** 0.5) / (xp.sqrt(exp_avg_sq) + eps)
        param -= corrected * lr * adaptive * rect
    else:
        param -= corrected * lr


class _AdamFamily(Optimizer):
    def _validate(self, group):
        name = type(self).__name__
        check_number(name, "lr", group["lr"], low=0.0, message="Invalid learning rate")
        check_number(name, "eps", group["eps"], low=0.0, message="Invalid epsilon value")
        beta1, beta2 = group["betas"] = _betas(name, group["betas"])
        check_number(name, "betas[0]", beta1, low=0.0, high=1.0, high_open=True,
                     message="Invalid beta parameter at index 0")
        check_number(name, "betas[1]", beta2, low=0.0, high=1.0, high_open=True,
                     message="Invalid beta parameter at index 1")
        check_number(name, "weight_decay", group["weight_decay"], low=0.0,
                     message="Invalid weight_decay value")

    def _moments(self, param, second):
        state = self.state[param]
        if len(state) == 0:
            state["step"] = self._step_tensor()
            if isinstance(self, NAdam):
                state["mu_product"] = self._step_tensor()
                state["mu_product"]._data[...] = 1.0
            state["exp_avg"] = self._state_buffer(param)
            state[second] = self._state_buffer(param)
        state["step"]._data += 1
        return state, float(state["step"]._data)


class Adamax(_AdamFamily):
    """Adamax: Adam with the infinity norm of past gradients in place of the RMS.

    State per parameter: `step`, `exp_avg`, `exp_inf`.
    """

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 foreach=None, *, maximize=False, differentiable=False, capturable=False):
        check_compat("Adamax", differentiable=differentiable, foreach=foreach,
                     capturable=capturable)
        super().__init__(params, {"lr": lr, "betas": _betas("Adamax", betas), "eps": eps,
                                  "weight_decay": weight_decay, "maximize": maximize})

    def _update(self, param, grad, group):
        state, step = self._moments(param, "exp_inf")
        beta1, beta2 = group["betas"]
        adamax_update(param._data, grad, state["exp_avg"]._data, state["exp_inf"]._data, step,
                      lr=group["lr"], beta1=beta1, beta2=beta2, eps=group["eps"],
                      weight_decay=group["weight_decay"], maximize=group["maximize"])


class NAdam(_AdamFamily):
    """NAdam: Adam with Nesterov momentum and a momentum warm-up schedule (momentum_decay psi).

    State per parameter: `step`, `mu_product`, `exp_avg`, `exp_avg_sq`.
    """

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 momentum_decay=4e-3, decoupled_weight_decay=False, *, foreach=None,
                 maximize=False, capturable=False, differentiable=False):
        check_compat("NAdam", differentiable=differentiable, foreach=foreach,
                     capturable=capturable)
        super().__init__(params, {"lr": lr, "betas": _betas("NAdam", betas), "eps": eps,
                                  "weight_decay": weight_decay, "momentum_decay": momentum_decay,
                                  "decoupled_weight_decay": decoupled_weight_decay,
                                  "maximize": maximize})

    def _validate(self, group):
        super()._validate(group)
        check_number("NAdam", "momentum_decay", group["momentum_decay"], low=0.0,
                     message="Invalid momentum_decay value")

    def _update(self, param, grad, group):
        state, step = self._moments(param, "exp_avg_sq")
        beta1, beta2 = group["betas"]
        # float32 when created; a loaded checkpoint casts it to the parameter's dtype (as
        # PyTorch's load_state_dict does with every floating state value but `step`)
        nadam_update(param._data, grad, state["exp_avg"]._data, state["exp_avg_sq"]._data,
                     state["mu_product"]._data, step, lr=group["lr"], beta1=beta1, beta2=beta2,
                     eps=group["eps"], weight_decay=group["weight_decay"],
                     momentum_decay=group["momentum_decay"], maximize=group["maximize"],
                     decoupled_weight_decay=group["decoupled_weight_decay"])


class RAdam(_AdamFamily):
    """RAdam: Adam whose adaptive step is switched on gradually, as the variance of the adaptive
    learning rate becomes tractable (the rectification term).

    State per parameter: `step`, `exp_avg`, `exp_avg_sq`.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 decoupled_weight_decay=False, *, foreach=None, maximize=False, capturable=False,
                 differentiable=False):
        check_compat("RAdam", differentiable=differentiable, foreach=foreach,
                     capturable=capturable)
        super().__init__(params, {"lr": lr, "betas": _betas("RAdam", betas), "eps": eps,
                                  "weight_decay": weight_decay,
                                  "decoupled_weight_decay": decoupled_weight_decay,
                                  "maximize": maximize})

    def _update(self, param, grad, group):
        state, step = self._moments(param, "exp_avg_sq")
        beta1, beta2 = group["betas"]
        radam_update(param._data, grad, state["exp_avg"]._data, state["exp_avg_sq"]._data, step,
                     lr=group["lr"], beta1=beta1, beta2=beta2, eps=group["eps"],
                     weight_decay=group["weight_decay"], maximize=group["maximize"],
                     decoupled_weight_decay=group["decoupled_weight_decay"])
