"""L-BFGS (Nocedal 1980; Liu & Nocedal 1989) with PyTorch's closure API and its optional strong
Wolfe line search (Nocedal & Wright, Numerical Optimization, algorithms 3.5 and 3.6).

All parameters are treated as one flat vector x. Each iteration builds the search direction
d = -H g from the last `history_size` curvature pairs (s = x_{k+1} - x_k, y = g_{k+1} - g_k) by the
two-loop recursion, with H_0 = (s.y / y.y) I, then moves x by t d, t from the line search or fixed.
The order of operations, the stopping tests and the state kept between `step` calls follow
`torch.optim.LBFGS`, so both produce the same iterates on the same problem.
"""
import copy

import numpy as np

from .. import _config
from ..backend import xp_of
from ..tensor import Tensor, constant
from .optimizer import Optimizer, check_number


def _cubic_interpolate(x1, f1, g1, x2, f2, g2, bounds=None):
    """The minimiser of the cubic through (x1, f1) and (x2, f2) with slopes g1, g2, clipped to
    `bounds` (default: the interval between x1 and x2); its midpoint when the cubic has no
    minimum (Nocedal & Wright, eq. 3.59)."""
    lo, hi = bounds if bounds is not None else ((x1, x2) if x1 <= x2 else (x2, x1))
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    d2_square = d1 ** 2 - g1 * g2
    if d2_square >= 0:
        d2 = d2_square ** 0.5
        if x1 <= x2:
            min_pos = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
        else:
            min_pos = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
        return min(max(min_pos, lo), hi)
    return (lo + hi) / 2.0


def _strong_wolfe(obj_func, x, t, d, f, g, gtd, c1=1e-4, c2=0.9, tolerance_change=1e-9,
                  max_ls=25):
    """A step t along d with sufficient decrease f(x + t d) <= f + c1 t g.d and curvature
    |g(x + t d).d| <= c2 |g.d|: bracket such a step by growing t (cubic extrapolation), then zoom
    into the bracket (cubic interpolation, kept away from its ends). Returns (f, g, t, evals)."""
    d_norm = float(abs(d).max())
    g = g.copy()
    f_new, g_new = obj_func(x, t, d)
    evals, gtd_new = 1, g_new.dot(d)
    t_prev, f_prev, g_prev, gtd_prev = 0, f, g, gtd
    done, ls_iter = False, 0
    while ls_iter < max_ls:  # bracketing phase
        no_decrease = f_new > f + c1 * t * gtd or (ls_iter > 1 and f_new >= f_prev)
        if not no_decrease and abs(gtd_new) <= -c2 * gtd:  # both Wolfe conditions hold
            bracket, bracket_f, bracket_g, done = [t], [f_new], [g_new], True
            break
        if no_decrease or gtd_new >= 0:  # a minimiser lies between t_prev and t
            bracket, bracket_f = [t_prev, t], [f_prev, f_new]
            bracket_g, bracket_gtd = [g_prev, g_new.copy()], [gtd_prev, gtd_new]
            break
        min_step, max_step = t + 0.01 * (t - t_prev), t * 10
        tmp = t
        t = _cubic_interpolate(t_prev, f_prev, gtd_prev, t, f_new, gtd_new,
                               bounds=(min_step, max_step))
        t_prev, f_prev, g_prev, gtd_prev = tmp, f_new, g_new.copy(), gtd_new
        f_new, g_new = obj_func(x, t, d)
        evals, gtd_new, ls_iter = evals + 1, g_new.dot(d), ls_iter + 1
    if ls_iter == max_ls:
        bracket, bracket_f, bracket_g = [0, t], [f, f_new], [g, g_new]
    insuf_progress = False  # zoom phase
    low, high = (0, 1) if bracket_f[0] <= bracket_f[-1] else (1, 0)
    while not done and ls_iter < max_ls:
        if abs(bracket[1] - bracket[0]) * d_norm < tolerance_change:
            break
        t = _cubic_interpolate(bracket[0], bracket_f[0], bracket_gtd[0], bracket[1], bracket_f[1],
                               bracket_gtd[1])
        # keep t at least 10% of the bracket away from its ends, unless the last steps stalled
        eps = 0.1 * (max(bracket) - min(bracket))
        if min(max(bracket) - t, t - min(bracket)) < eps:
            if insuf_progress or t >= max(bracket) or t <= min(bracket):
                t = max(bracket) - eps if abs(t - max(bracket)) < abs(t - min(bracket)) \
                    else min(bracket) + eps
                insuf_progress = False
            else:
                insuf_progress = True
        else:
            insuf_progress = False
        f_new, g_new = obj_func(x, t, d)
        evals, gtd_new, ls_iter = evals + 1, g_new.dot(d), ls_iter + 1
        if f_new > f + c1 * t * gtd or f_new >= bracket_f[low]:
            bracket[high], bracket_f[high] = t, f_new
            bracket_g[high], bracket_gtd[high] = g_new.copy(), gtd_new
            low, high = (0, 1) if bracket_f[0] <= bracket_f[1] else (1, 0)
        else:
            if abs(gtd_new) <= -c2 * gtd:
                done = True
            elif gtd_new * (bracket[high] - bracket[low]) >= 0:
                bracket[high], bracket_f[high] = bracket[low], bracket_f[low]
                bracket_g[high], bracket_gtd[high] = bracket_g[low], bracket_gtd[low]
            bracket[low], bracket_f[low] = t, f_new
            bracket_g[low], bracket_gtd[low] = g_new.copy(), gtd_new
    return bracket_f[low], bracket_g[low], bracket[low], evals


class LBFGS(Optimizer):
    """torch.optim.LBFGS: `step(closure)` runs up to `max_iter` L-BFGS iterations, re-evaluating
    the model through `closure` (zero_grad, forward, backward, return the loss).

    Args:
        params: the parameters (one group; PyTorch's LBFGS has no per-group options).
        lr: step length scale (default 1).
        max_iter: iterations per `step` (default 20).
        max_eval: closure evaluations per `step` (default max_iter * 5 // 4).
        tolerance_grad: stop when max |g| <= this (default 1e-7).
        tolerance_change: stop when a step or the loss change is below this (default 1e-9).
        history_size: curvature pairs kept (default 100).
        line_search_fn: None (fixed step lr) or "strong_wolfe".
    """

    def __init__(self, params, lr=1, max_iter=20, max_eval=None, tolerance_grad=1e-7,
                 tolerance_change=1e-9, history_size=100, line_search_fn=None):
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        defaults = dict(lr=lr, max_iter=max_iter, max_eval=max_eval, tolerance_grad=tolerance_grad,
                        tolerance_change=tolerance_change, history_size=history_size,
                        line_search_fn=line_search_fn)
        super().__init__(params, defaults)
        if len(self.param_groups) != 1:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups)")
        self._params = self.param_groups[0]["params"]

    def _validate(self, group):
        check_number("LBFGS", "lr", group["lr"], low=0.0)
        if group["line_search_fn"] not in (None, "strong_wolfe"):
            raise RuntimeError("only 'strong_wolfe' is supported")

    # -- the flat vector view of the parameters -------------------------------------------------
    def _gather_flat_grad(self):
        xp = xp_of(self._params[0]._data)
        return xp.concatenate([xp.zeros(p._data.size, p._data.dtype) if p.grad is None
                               else p.grad._data.reshape(-1) for p in self._params])

    def _add_grad(self, step_size, update):
        offset = 0
        for p in self._params:
            n = p._data.size
            p._data += (step_size * update[offset:offset + n]).reshape(p._data.shape).astype(
                p._data.dtype, copy=False)
            offset += n

    def _clone_param(self):
        return [p._data.copy() for p in self._params]

    def _set_param(self, values):
        for p, v in zip(self._params, values):
            p._data[...] = v

    def _directional_evaluate(self, closure, x, t, d):
        self._add_grad(t, d)
        with _config.enable_grad():
            loss = float(closure())
        flat_grad = self._gather_flat_grad()
        self._set_param(x)
        return loss, flat_grad

    # -- one call: up to max_iter iterations ------------------------------------------------------
    def step(self, closure=None):
        if closure is None or not callable(closure):
            raise RuntimeError("LBFGS.step requires a closure that re-evaluates the model and "
                               "returns the loss")
        group = self.param_groups[0]
        lr, max_iter, max_eval = group["lr"], group["max_iter"], group["max_eval"]
        tol_grad, tol_change = group["tolerance_grad"], group["tolerance_change"]
        history_size, line_search_fn = group["history_size"], group["line_search_fn"]
        state = self.state[self._params[0]]
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)
        with _config.enable_grad():
            orig_loss = closure()
        loss, current_evals = float(orig_loss), 1
        state["func_evals"] += 1
        flat_grad = self._gather_flat_grad()
        if float(abs(flat_grad).max()) <= tol_grad:
            return orig_loss
        arr = _StateArrays(state)
        d, t, old_dirs, old_stps, ro, h_diag, prev_flat_grad, prev_loss, al = arr.load()
        with _config.no_grad():
            n_iter = 0
            while n_iter < max_iter:
                n_iter += 1
                state["n_iter"] += 1
                if state["n_iter"] == 1:
                    d, old_dirs, old_stps, ro, h_diag = -flat_grad, [], [], [], 1.0
                else:
                    y, s = flat_grad - prev_flat_grad, d * t
                    ys = y.dot(s)
                    if ys > 1e-10:  # keep the pair only where the curvature is positive
                        if len(old_dirs) == history_size:
                            old_dirs.pop(0), old_stps.pop(0), ro.pop(0)
                        old_dirs.append(y), old_stps.append(s), ro.append(1.0 / ys)
                        h_diag = ys / y.dot(y)
                    # two-loop recursion: q = -g through the newest pairs, r = H q back through
                    al = [0.0] * len(old_dirs)
                    q = -flat_grad
                    for i in range(len(old_dirs) - 1, -1, -1):
                        al[i] = old_stps[i].dot(q) * ro[i]
                        q = q - al[i] * old_dirs[i]
                    r = q * h_diag
                    for i in range(len(old_dirs)):
                        be_i = old_dirs[i].dot(r) * ro[i]
                        r = r + (al[i] - be_i) * old_stps[i]
                    d = r.astype(flat_grad.dtype, copy=False)
                prev_flat_grad, prev_loss = flat_grad.copy(), loss
                # the first step is scaled by 1 / |g|_1 (at most 1): its length is unknown yet
                t = (min(1.0, 1.0 / abs(flat_grad).sum()) * lr if state["n_iter"] == 1
                     else lr)
                gtd = flat_grad.dot(d)
                if gtd > -tol_change:  # not a descent direction
                    break
                ls_evals = 0
                if line_search_fn is not None:
                    x_init = self._clone_param()

                    def obj_func(x, step, direction):
                        return self._directional_evaluate(closure, x, step, direction)

                    loss, flat_grad, t, ls_evals = _strong_wolfe(obj_func, x_init, t, d, loss,
                                                                 flat_grad, gtd)
                    self._add_grad(t, d)
                    opt_cond = float(abs(flat_grad).max()) <= tol_grad
                else:
                    self._add_grad(t, d)
                    opt_cond = False
                    if n_iter != max_iter:  # re-evaluate, except after the last iteration
                        with _config.enable_grad():
                            loss = float(closure())
                        flat_grad = self._gather_flat_grad()
                        opt_cond = float(abs(flat_grad).max()) <= tol_grad
                        ls_evals = 1
                current_evals += ls_evals
                state["func_evals"] += ls_evals
                if n_iter == max_iter or current_evals >= max_eval or opt_cond:
                    break
                if float(abs(d * t).max()) <= tol_change or abs(loss - prev_loss) < tol_change:
                    break
        arr.store(d, t, old_dirs, old_stps, ro, h_diag, prev_flat_grad, prev_loss, al)
        return orig_loss

    def load_state_dict(self, state_dict):
        """As Optimizer's, but the flat vectors (direction, history) are kept as saved: they
        are shaped like all parameters together, not like the first one."""
        saved = copy.deepcopy(state_dict)
        state = saved.get("state", {})
        super().load_state_dict({**saved, "state": {}})
        for key, value in state.items():
            self.state[self._params[key] if isinstance(key, int) else key] = value


class _StateArrays:
    """The L-BFGS memory in `state`, under PyTorch's keys: Tensors there (so the state dict
    saves like PyTorch's), arrays while a step runs."""

    KEYS = ("d", "t", "old_dirs", "old_stps", "ro", "H_diag", "prev_flat_grad", "prev_loss", "al")

    def __init__(self, state):
        self.state = state

    def load(self):
        def arr(v):  # 0-d state comes back as a NumPy scalar, which keeps float32 math float32
            return (v._data[()] if v._data.ndim == 0 else v._data) if isinstance(v, Tensor) else v

        return [[arr(x) for x in v] if isinstance(v, list) else arr(v)
                for v in (self.state.get(k) for k in self.KEYS)]

    def store(self, d, t, old_dirs, old_stps, ro, h_diag, prev_flat_grad, prev_loss, al):
        def tensor(v):
            return None if v is None else constant(v if getattr(v, "ndim", 0) else np.asarray(v))

        self.state.update(d=tensor(d), t=None if t is None else float(t),
                          old_dirs=[tensor(v) for v in old_dirs or []],
                          old_stps=[tensor(v) for v in old_stps or []],
                          ro=[tensor(v) for v in ro or []], H_diag=tensor(h_diag),
                          prev_flat_grad=tensor(prev_flat_grad),
                          prev_loss=None if prev_loss is None else float(prev_loss),
                          al=[tensor(v) for v in al or []])
