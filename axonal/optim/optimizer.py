"""`Optimizer`: the stateful outside of every update rule.

An optimizer holds `param_groups` (a list of dicts: `params` plus that group's hyperparameters) and
`state` (a dict keyed by parameter Tensor, each value a dict of per-parameter buffers). `step()`
walks the groups, skips parameters whose `.grad` is None, and hands the raw arrays to one pure
function from `_functional` per parameter. Updates write `param.data` in place: nothing goes
through autograd, so stepping never grows a graph and `.data` keeps its identity (views into it,
such as tied weights, stay valid).

`state_dict()` uses PyTorch's layout: parameters are replaced by their position in the order of
the groups, `{'state': {index: {name: Tensor | number}}, 'param_groups': [{..., 'params':
[indices]}]}`. Like PyTorch, it returns references to the live state buffers; `load_state_dict`
copies what it loads, so two optimizers never share buffers.
"""
import copy
import functools
import math
import numbers
import warnings
from collections import defaultdict

from .. import _config, backend
from .._errors import ShapeError
from .._storage import bump
from ..tensor import ARRAY_TYPES, Tensor, constant


class _RequiredParameter:
    """Sentinel for a hyperparameter with no default (each group must give it)."""

    def __repr__(self):
        return "<required parameter>"


required = _RequiredParameter()


def check_number(owner, name, value, *, low=None, high=None, low_open=False, high_open=False,
                 message=None):
    """Validate a real hyperparameter against [low, high] (or open ends); raise ValueError in
    PyTorch's words ("Invalid learning rate: -0.1"), prefixed with the class name."""
    text = message or f"Invalid {name} value"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{owner}: {name} must be a real number, got {value!r} "
                        f"({type(value).__name__})")
    bad = ((low is not None and (value <= low if low_open else value < low)) or
           (high is not None and (value >= high if high_open else value > high)) or
           math.isnan(value))
    if bad:
        raise ValueError(f"{owner}: {text}: {value}")


def check_compat(owner, *, differentiable=False, **ignored):
    """PyTorch's implementation switches (`foreach`, `fused`, `capturable`) select kernels; this
    framework has one path, so they are accepted and ignored. `differentiable=True` (updates
    recorded by autograd) is not supported: optimizers here never build a graph."""
    if differentiable:
        raise NotImplementedError(f"{owner}: differentiable=True is not supported; updates are "
                                  "applied to .data in place, outside autograd")


class Optimizer:
    """Base class: `Optimizer(params, defaults)`.

    Args:
        params: an iterable of Tensors, of `(name, Tensor)` pairs, or of dicts (parameter groups,
            each with a `params` entry and optional per-group hyperparameters).
        defaults: hyperparameters used by groups that do not set their own.

    Subclasses implement `_validate(group)` (raise on bad hyperparameters) and
    `_update(param, grad, group)` (one in-place update of one parameter).
    """

    def __init_subclass__(cls, **kwargs):
        """A subclass that writes its own `step()` (PyTorch style) still marks the optimizer as
        stepped, so LR schedulers can warn when they are stepped first."""
        super().__init_subclass__(**kwargs)
        step = cls.__dict__.get("step")
        if step is not None and not getattr(step, "_marks_called", False):
            @functools.wraps(step)
            def marked_step(self, *args, **kw):
                self._opt_called = True
                out = step(self, *args, **kw)
                for group in self.param_groups:  # the step wrote into the parameters
                    for p in group["params"]:
                        if p.grad is not None:
                            bump(p)
                return out

            marked_step._marks_called = True
            cls.step = marked_step

    def __init__(self, params, defaults):
        if not isinstance(defaults, dict):
            raise TypeError(f"{type(self).__name__}: defaults must be a dict, got "
                            f"{type(defaults).__name__}")
        self.defaults = defaults
        if not any(v is required for v in defaults.values()):
            self._validate(dict(defaults))  # groups that override a bad default still fail early
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of "
                            "Tensors or dicts, but got a Tensor")
        if isinstance(params, dict):
            raise TypeError("params argument given to the optimizer should be an iterable of "
                            "Tensors or dicts, but got a dict (wrap a single group in a list)")
        self.state = defaultdict(dict)
        self.param_groups = []
        param_groups = list(params)
        if len(param_groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for group in param_groups:
            self.add_param_group(group)

    # -- hooks for subclasses ------------------------------------------------------------------
    def _validate(self, group):
        """Raise ValueError/TypeError for bad hyperparameters in `group` (a dict)."""

    def _update(self, param, grad, group):
        raise NotImplementedError(f"{type(self).__name__} does not implement _update")

    # -- groups ------------------------------------------------------------------------------------
    def add_param_group(self, param_group):
        """Append a group (a dict with `params`); missing hyperparameters come from `defaults`."""
        name = type(self).__name__
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group).__name__}")
        if "params" not in param_group:
            raise ValueError(f"{name}: a parameter group needs a 'params' entry, got keys "
                             f"{sorted(param_group)}")
        group = param_group  # kept as the same dict object, as in PyTorch
        params = group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, (set, frozenset)):
            raise TypeError("optimizer parameters need to be organized in ordered collections, "
                            "but the ordering of tensors in sets will change between runs. "
                            "Please use a list instead.")
        params = list(params)
        names = [p[0] for p in params if isinstance(p, tuple)]
        params = [p[1] if isinstance(p, tuple) else p for p in params]
        if names:
            if len(names) != len(params):
                raise ValueError("all optimizer params should be with/without names. Some param "
                                 "names are missing")
            group["param_names"] = names
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(f"optimizer can only optimize Tensors, but one of the params is "
                                f"{type(p).__module__}.{type(p).__name__}")
            if not (p.is_leaf or p.retains_grad):
                raise ValueError("can't optimize a non-leaf Tensor")
            if not p.is_floating_point():
                raise TypeError(f"{name}: can only optimize floating point Tensors, got one of "
                                f"dtype {p.dtype} and shape {tuple(p.shape)}")
        group["params"] = params
        for key, default in self.defaults.items():
            if default is required and key not in group:
                raise ValueError(f"parameter group didn't specify a value of required "
                                 f"optimization parameter {key}")
            group.setdefault(key, default)
        self._validate(group)
        if len({id(p) for p in params}) != len(params):
            warnings.warn("optimizer contains a parameter group with duplicate parameters; "
                          "in future, this will cause an error", UserWarning, stacklevel=3)
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        for g in self.param_groups:
            if ("param_names" in g) != ("param_names" in group):
                which = "with names" if "param_names" in group else "without names"
                raise ValueError("all optimizer param groups should be with/without names. "
                                 f"cannot add param group {which} to the optimizer")
        if any(id(p) in seen for p in params):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(group)

    # -- the training-loop API ---------------------------------------------------------------------
    def zero_grad(self, set_to_none=True):
        """Forget the gradients: set `.grad` to None (default) or fill it with zeros in place."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    if p.grad.grad_fn is not None:
                        p.grad.detach_()
                    else:
                        p.grad.requires_grad_(False)
                    p.grad._data[...] = 0

    def step(self, closure=None):
        """One update of every parameter that has a gradient.

        Args:
            closure: optional callable that re-evaluates the model (zero_grad, forward,
                backward) and returns the loss; it runs with grad mode on.

        Returns:
            the closure's loss, or None.
        """
        loss = None
        if closure is not None:
            if not callable(closure):
                raise TypeError(f"{type(self).__name__}.step: closure must be callable, got "
                                f"{type(closure).__name__}")
            with _config.enable_grad():
                loss = closure()
        with _config.no_grad():
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is not None:
                        self._update(p, self._grad_of(p), group)
                        bump(p)  # an in-place write, as PyTorch counts it
        self._opt_called = True  # lets LR schedulers warn when they are stepped first
        return loss

    def _grad_of(self, p):
        grad = p.grad._data
        if grad.shape != p._data.shape:
            raise ShapeError(f"{type(self).__name__}.step: a parameter of shape "
                             f"{tuple(p.data.shape)} has a gradient of shape {tuple(grad.shape)}")
        if backend.device_of(grad) != backend.device_of(p._data):
            raise RuntimeError(f"{type(self).__name__}.step: a parameter on "
                               f"{backend.device_of(p.data)} has a gradient on "
                               f"{backend.device_of(grad)}")
        return grad

    def _state_buffer(self, p, fill=0.0):
        """A new state Tensor shaped like `p` (same dtype and device), filled with `fill`."""
        xp = backend.xp_of(p._data)
        return constant(xp.full_like(p._data, fill))

    @staticmethod
    def _step_tensor():
        """PyTorch keeps the step count as a float32 0-d tensor on the CPU; so do we."""
        return Tensor(0.0, dtype="float32")

    # -- checkpoints ------------------------------------------------------------------------------
    def state_dict(self):
        """The optimizer's state with parameters replaced by their indices (PyTorch's layout).
        State values are references to the live buffers; deep-copy to snapshot mid-training."""
        index = {}
        groups = []
        start = 0
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            for i, p in enumerate(group["params"], start):
                index.setdefault(id(p), i)
            packed["params"] = [index[id(p)] for p in group["params"]]
            start += len(packed["params"])
            groups.append(packed)
        state = {(index[id(k)] if isinstance(k, Tensor) else k): v for k, v in self.state.items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        """Restore a `state_dict()`; group count and sizes must match this optimizer's.
        Floating state buffers (not `step`) are copied to each parameter's dtype and device."""
        name = type(self).__name__
        if not isinstance(state_dict, dict):
            raise TypeError(f"{name}.load_state_dict: expected a dict, got "
                            f"{type(state_dict).__name__}")
        missing = [k for k in ("state", "param_groups") if k not in state_dict]
        if missing:
            raise ValueError(f"{name}.load_state_dict: the state dict has no {missing} entry "
                             f"(keys: {sorted(map(str, state_dict))})")
        groups = self.param_groups
        saved_groups = copy.deepcopy(state_dict["param_groups"])
        if len(groups) != len(saved_groups):
            raise ValueError(f"loaded state dict has a different number of parameter groups: "
                             f"{len(saved_groups)} saved, {len(groups)} in this {name}")
        for i, (g, s) in enumerate(zip(groups, saved_groups)):
            if len(g["params"]) != len(s["params"]):
                raise ValueError(f"loaded state dict contains a parameter group that doesn't "
                                 f"match the size of optimizer's group: group {i} has "
                                 f"{len(s['params'])} saved parameters, {len(g['params'])} here")
        id_map = {}
        for g, s in zip(groups, saved_groups):
            for saved_index, p in zip(s["params"], g["params"]):
                id_map[saved_index] = p
        state = defaultdict(dict)
        for key, value in state_dict["state"].items():
            if key in id_map:
                p = id_map[key]
                state[p] = {k: _cast_state(name, p, k, v) for k, v in value.items()}
            else:
                state[key] = copy.deepcopy(value)
        new_groups = []
        for g, s in zip(groups, saved_groups):
            s["params"] = g["params"]
            if "param_names" in g and "param_names" not in s:
                s["param_names"] = g["param_names"]
            new_groups.append(s)
        self.state = state
        self.param_groups = new_groups

    def __repr__(self):
        text = type(self).__name__ + " ("
        for i, group in enumerate(self.param_groups):
            text += f"\nParameter Group {i}\n"
            for key in sorted(group):
                if key != "params":
                    text += f"    {key}: {group[key]}\n"
        return text + ")"


def _cast_state(owner, param, key, value):
    """A private copy of one loaded state value. Arrays and Tensors become Tensors; buffers other
    than the step count move to the parameter's device, and floating ones take its dtype."""
    if isinstance(value, Tensor):
        value = value._data
    if not isinstance(value, ARRAY_TYPES):
        return copy.deepcopy(value)
    if key == "step":
        return constant(backend.to_numpy(value).copy())
    if value.ndim != 0 and value.shape != param._data.shape:
        raise ShapeError(f"{owner}.load_state_dict: state '{key}' has shape "
                         f"{tuple(value.shape)} but its parameter has shape "
                         f"{tuple(param.data.shape)}")
    device = backend.device_of(param._data)
    dtype = param._data.dtype if value.dtype.kind in "fV" else value.dtype
    arr = backend.to_device(value, device)
    return constant(backend.xp_for(device).array(arr, dtype=dtype, copy=True))
