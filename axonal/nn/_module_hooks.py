"""Module hooks, as PyTorch's `nn.Module._call_impl` runs them.

A call `module(*args, **kwargs)` with hooks runs: forward pre-hooks (global ones first), then - if
backward hooks exist - the inputs go through `BackwardHookFunction` (an identity node whose
post-hook sees the gradients of the module's inputs), `forward`, forward hooks (global first), and
the outputs go through another `BackwardHookFunction` (whose post-hook sees the gradients of the
module's outputs and runs the backward pre-hooks). This is PyTorch's `torch.utils.hooks.BackwardHook`:
the full backward hooks get `(module, grad_input, grad_output)` once both are known.

`Module.__call__` comes here only when some hook exists (one check on its fast path).
"""
import collections
import warnings

from .. import _config
from .._hooks import RemovableHandle
from ..autograd.function import Function
from ..backend import xp_of
from ..tensor import Tensor, constant

_global_buffer_registration_hooks = collections.OrderedDict()
_global_module_registration_hooks = collections.OrderedDict()
_global_parameter_registration_hooks = collections.OrderedDict()
_global_backward_pre_hooks = collections.OrderedDict()
_global_backward_hooks = collections.OrderedDict()
_global_forward_pre_hooks = collections.OrderedDict()
_global_forward_hooks = collections.OrderedDict()
_global_forward_hooks_always_called = collections.OrderedDict()
_global_forward_hooks_with_kwargs = collections.OrderedDict()


class _Globals:
    n = 0  # global call hooks registered and not removed: Module.__call__'s fast-path switch


active = _Globals()


def _removed():
    active.n -= 1


def _register_global(table, hook, *extra):
    active.n += 1
    handle = RemovableHandle(table, extra_dict=list(extra), on_remove=_removed)
    table[handle.id] = hook
    return handle


def register(table, hook, prepend=False, extra=()):
    """Per-module registration: the hook under a fresh handle id (first if `prepend`)."""
    handle = RemovableHandle(table, extra_dict=list(extra))
    table[handle.id] = hook
    if prepend:
        table.move_to_end(handle.id, last=False)
    return handle


# -- global hooks (torch.nn.modules.module.register_module_*) --------------------------------------

def register_module_forward_pre_hook(hook):
    """`hook(module, args)` before every module's forward (before the module's own pre-hooks)."""
    return _register_global(_global_forward_pre_hooks, hook)


def register_module_forward_hook(hook, *, with_kwargs=False, always_call=False):
    """`hook(module, args, output)` (or `(module, args, kwargs, output)` with `with_kwargs`)
    after every module's forward; `always_call` runs it even when forward raises."""
    h = _register_global(_global_forward_hooks, hook, _global_forward_hooks_always_called,
                         _global_forward_hooks_with_kwargs)
    if with_kwargs:
        _global_forward_hooks_with_kwargs[h.id] = True
    if always_call:
        _global_forward_hooks_always_called[h.id] = True
    return h


def register_module_full_backward_pre_hook(hook):
    """`hook(module, grad_output)` for every module, before the module's own backward pre-hooks."""
    return _register_global(_global_backward_pre_hooks, hook)


def register_module_full_backward_hook(hook):
    """`hook(module, grad_input, grad_output)` for every module, before its own backward hooks."""
    return _register_global(_global_backward_hooks, hook)


def register_module_buffer_registration_hook(hook):
    """`hook(module, name, buffer)` on every `register_buffer`; may return a new buffer."""
    return register(_global_buffer_registration_hooks, hook)


def register_module_module_registration_hook(hook):
    """`hook(module, name, submodule)` on every `register_module`; may return a new module."""
    return register(_global_module_registration_hooks, hook)


def register_module_parameter_registration_hook(hook):
    """`hook(module, name, param)` on every `register_parameter`; may return a new parameter."""
    return register(_global_parameter_registration_hooks, hook)


def run_registration_hooks(table, module, name, value):
    for hook in tuple(table.values()):
        res = hook(module, name, value)
        if res is not None:
            value = res
    return value


# -- the call --------------------------------------------------------------------------------------

def call_impl(module, args, kwargs):
    """`module(*args, **kwargs)` with its hooks (see the module docstring)."""
    result = None
    called_always = set()
    try:
        pre_bw = [*_global_backward_pre_hooks.values(), *module._backward_pre_hooks.values()]
        full_bw = [*_global_backward_hooks.values(), *module._backward_hooks.values()]
        for hook_id, hook in (*_global_forward_pre_hooks.items(),
                              *module._forward_pre_hooks.items()):
            if hook_id in module._forward_pre_hooks_with_kwargs:
                res = hook(module, args, kwargs)
                if res is not None:
                    if not (isinstance(res, tuple) and len(res) == 2):
                        raise RuntimeError("forward pre-hook must return None or a tuple of "
                                           f"(new_args, new_kwargs), but got {res}.")
                    args, kwargs = res
            else:
                res = hook(module, args)
                if res is not None:
                    args = res if isinstance(res, tuple) else (res,)
        bw_hook = None
        if full_bw or pre_bw:
            bw_hook = BackwardHook(module, full_bw, pre_bw)
            args = bw_hook.setup_input_hook(args)
        result = module.forward(*args, **kwargs)
        for hook_id, hook in (*_global_forward_hooks.items(), *module._forward_hooks.items()):
            if hook_id in module._forward_hooks_always_called or \
                    hook_id in _global_forward_hooks_always_called:
                called_always.add(hook_id)
            if hook_id in module._forward_hooks_with_kwargs or \
                    hook_id in _global_forward_hooks_with_kwargs:
                res = hook(module, args, kwargs, result)
            else:
                res = hook(module, args, result)
            if res is not None:
                result = res
        if bw_hook is not None:
            if not isinstance(result, (Tensor, tuple)):
                warnings.warn("For backward hooks to be called, module output should be a Tensor "
                              f"or a tuple of Tensors but received {type(result)}")
            result = bw_hook.setup_output_hook(result)
        return result
    except Exception:
        _run_always_called(module, args, kwargs, result, called_always)
        raise


def _run_always_called(module, args, kwargs, result, called):
    """After a failed forward: the `always_call` forward hooks not yet run (errors silenced)."""
    for table, flags, kw, what in (
            (_global_forward_hooks, _global_forward_hooks_always_called,
             _global_forward_hooks_with_kwargs, "global module forward hook"),
            (module._forward_hooks, module._forward_hooks_always_called,
             module._forward_hooks_with_kwargs, "module forward hook")):
        for hook_id, hook in tuple(table.items()):
            if hook_id not in flags or hook_id in called:
                continue
            try:
                res = hook(module, args, kwargs, result) if hook_id in kw else \
                    hook(module, args, result)
                if res is not None:
                    result = res
            except Exception as e:  # noqa: BLE001 - PyTorch silences it (with a warning)
                warnings.warn(f"{what} with ``always_call=True`` raised an exception that was "
                              f"silenced as a result of a failed forward. Error: {e}")


# -- backward hooks: identity nodes around the module's inputs and outputs ------------------------

class BackwardHookFunction(Function):
    """Identity on several tensors: a node whose hooks see their gradients."""

    _node_name = "BackwardHookFunctionBackward"

    @staticmethod
    def forward(ctx, *args):
        return tuple(a._data for a in args)

    @staticmethod
    def backward(ctx, *grads):
        return grads


class BackwardHook:
    """PyTorch's `torch.utils.hooks.BackwardHook`, one per hooked module call."""

    def __init__(self, module, user_hooks, user_pre_hooks):
        self.user_hooks, self.user_pre_hooks, self.module = user_hooks, user_pre_hooks, module
        self.grad_outputs = None
        self.n_outputs = self.n_inputs = -1
        self.output_tensors_index = self.input_tensors_index = None

    @staticmethod
    def _pack_with_none(indices, values, size):
        res = [None] * size
        for idx, val in zip(indices, values):
            res[idx] = val
        return tuple(res)

    def _set_user_hook(self, grad_fn):
        def hook(grad_input, _):
            if self.grad_outputs is None:  # gradient reached the inputs without the outputs
                return None
            res = self._pack_with_none(self.input_grad_index, grad_input, self.n_inputs)
            # tensor inputs without grad: zeros, as PyTorch's identity node materializes them
            zeros = self._zeros
            res = tuple(g if i not in zeros else constant(zeros[i][0].zeros(*zeros[i][1:]))
                        for i, g in enumerate(res))
            for user_hook in self.user_hooks:
                out = user_hook(self.module, res, self.grad_outputs)
                if out is None:
                    continue
                if len(out) != len(res):
                    raise RuntimeError("Backward hook returned an invalid number of grad_input, "
                                       f"got {len(out)}, but expected {len(res)}")
                res = out
            self.grad_outputs = None
            return tuple(res[i] for i in self.input_grad_index)

        grad_fn.register_hook(hook)

    def _apply_on_tensors(self, fn, args):
        idx = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        if not (any(args[i]._rg for i in idx) and _config.is_grad_enabled()):
            return args, None, None
        # only tensors that require grad go through the node (the others get None gradients)
        grad_idx = [i for i in idx if args[i]._rg]
        new = BackwardHookFunction.apply(*[args[i] for i in grad_idx])
        node = new[0].grad_fn
        fn(node)
        out = list(args)
        for i, t in zip(grad_idx, new):
            out[i] = t
        return tuple(out), idx, grad_idx

    def setup_input_hook(self, args):
        res = self._apply_on_tensors(self._set_user_hook, args)
        self.n_inputs = len(args)
        if res[1] is None:
            self.input_tensors_index = None
            return res[0]
        # the node's gradients are for the inputs that require grad
        self.input_tensors_index, self.input_grad_index = res[1], res[2]
        self._zeros = {i: (xp_of(args[i]._data), args[i]._data.shape, args[i]._data.dtype)
                       for i in res[1] if i not in res[2]}
        return res[0]

    def setup_output_hook(self, args):
        def fn(grad_fn):
            def hook(_, grad_output):
                self.grad_outputs = self._pack_with_none(self.output_tensors_index, grad_output,
                                                         self.n_outputs)
                expected = len(self.grad_outputs)
                for pre in self.user_pre_hooks:
                    res = pre(self.module, self.grad_outputs)
                    if res is None:
                        continue
                    if len(res) != expected:
                        raise RuntimeError("Backward pre hook returned an invalid number of "
                                           f"grad_output, got {len(res)}, but expected {expected}")
                    self.grad_outputs = res
                local = self.grad_outputs
                if self.input_tensors_index is None:  # no input requires grad: fire now
                    warnings.warn("Full backward hook is firing when gradients are computed with "
                                  "respect to module outputs since no inputs require gradients.",
                                  stacklevel=5)
                    grad_inputs = (None,) * self.n_inputs
                    for user_hook in self.user_hooks:
                        res = user_hook(self.module, grad_inputs, self.grad_outputs)
                        if res is not None and not (isinstance(res, tuple) and
                                                    all(r is None for r in res)):
                            raise RuntimeError("Backward hook for Modules where no input requires "
                                               "gradient should always return None or None for "
                                               "all gradients.")
                    self.grad_outputs = None
                if local is not None:
                    return tuple(local[i] for i in self.output_tensors_index)
                return None

            grad_fn.register_hook(hook)

        is_tuple = isinstance(args, tuple)
        if not is_tuple:
            args = (args,)
        res = self._apply_on_tensors(fn, args)
        self.n_outputs = len(args)
        self.output_tensors_index = res[2] if res[1] is not None else None
        out = res[0]
        return out if is_tuple else out[0]


# -- the Module methods (a base class of Module) ---------------------------------------------------

def init_tables(d):
    """The hook tables of a new Module (its `__dict__` is `d`)."""
    for name in ("_forward_hooks", "_forward_hooks_with_kwargs", "_forward_hooks_always_called",
                 "_forward_pre_hooks", "_forward_pre_hooks_with_kwargs", "_backward_hooks",
                 "_backward_pre_hooks"):
        d[name] = collections.OrderedDict()
    d["_is_full_backward_hook"] = None


class HookMethods:
    """Hook registration and lookups by qualified name, with PyTorch's signatures."""

    def register_forward_pre_hook(self, hook, *, prepend=False, with_kwargs=False):
        """`hook(module, args)` -> None or new args (a non-tuple is wrapped), or with
        `with_kwargs`: `hook(module, args, kwargs)` -> None or (new_args, new_kwargs)."""
        h = register(self._forward_pre_hooks, hook, prepend, [self._forward_pre_hooks_with_kwargs])
        if with_kwargs:
            self._forward_pre_hooks_with_kwargs[h.id] = True
        return h

    def register_forward_hook(self, hook, *, prepend=False, with_kwargs=False, always_call=False):
        """`hook(module, args, output)` (or `(module, args, kwargs, output)`) -> None or a new
        output; `always_call` runs it even if forward raises."""
        h = register(self._forward_hooks, hook, prepend,
                     [self._forward_hooks_with_kwargs, self._forward_hooks_always_called])
        if with_kwargs:
            self._forward_hooks_with_kwargs[h.id] = True
        if always_call:
            self._forward_hooks_always_called[h.id] = True
        return h

    def register_full_backward_pre_hook(self, hook, prepend=False):
        """`hook(module, grad_output)` when the gradients of the module's outputs are known;
        may return a new grad_output tuple."""
        return register(self._backward_pre_hooks, hook, prepend)

    def register_full_backward_hook(self, hook, prepend=False):
        """`hook(module, grad_input, grad_output)` when the gradients of the module's positional
        inputs are known (None for non-tensors and tensors without grad); may return a new
        grad_input tuple."""
        if self._is_full_backward_hook is False:
            raise RuntimeError("Cannot use both regular backward hooks and full backward hooks "
                               "on a single Module. Please use only one of them.")
        self.__dict__["_is_full_backward_hook"] = True
        return register(self._backward_hooks, hook, prepend)

    def get_submodule(self, target):
        if target == "":
            return self
        mod = self
        for item in target.split("."):
            if not hasattr(mod, item):
                raise AttributeError(mod._get_name() + " has no attribute `" + item + "`")
            mod = getattr(mod, item)
            if not isinstance(mod, HookMethods):
                raise AttributeError(  # noqa: TRY004 - PyTorch's error type
                    "`" + item + "` is not an nn.Module")
        return mod

    def _get_member(self, target, kind):
        mod_path, _, name = target.rpartition(".")
        mod = self.get_submodule(mod_path)
        if not hasattr(mod, name):
            raise AttributeError(mod._get_name() + " has no attribute `" + name + "`")
        if name not in mod.__dict__["_parameters" if kind == "parameter" else "_buffers"]:
            raise AttributeError("`" + name + "` is not " +
                                 ("an nn.Parameter" if kind == "parameter" else "a buffer"))
        return getattr(mod, name)

    def get_parameter(self, target):
        return self._get_member(target, "parameter")

    def get_buffer(self, target):
        return self._get_member(target, "buffer")

    def zero_grad(self, set_to_none=True):
        """Drop (`set_to_none=True`) or zero in place every parameter's `.grad`."""
        for p in self.parameters():
            if p.grad is None:
                continue
            if set_to_none:
                p.grad = None
            else:
                if p.grad._ctx is not None:
                    p.grad = p.grad.detach()
                else:
                    p.grad._rg = False
                p.grad._data[...] = 0
