"""Module hooks (forward pre/post, full backward pre/post, global and registration hooks) and the
lookups by qualified name, each scenario run on Axonal and on PyTorch 2.13."""
import warnings

import numpy as np
import pytest

import axonal
torch = pytest.importorskip("torch")  # the oracle; CI's fresh-clone venv has none


def _plain(v):
    if isinstance(v, (axonal.Tensor, torch.Tensor)):
        return np.round(np.asarray(v.detach().numpy(), dtype=np.float64), 5).tolist()
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, (axonal.Size, torch.Size)):
        return list(v)
    return v


def both(scenario):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours, theirs = _plain(scenario(axonal)), _plain(scenario(torch))
    assert ours == theirs
    return ours


def linear(m, n_in=3, n_out=2):
    lin = m.nn.Linear(n_in, n_out)
    with m.no_grad():
        lin.weight.copy_(m.tensor(np.arange(n_in * n_out).reshape(n_out, n_in) / 10 - 0.2,
                                  dtype=m.float32))
        lin.bias.copy_(m.tensor(np.linspace(-0.5, 0.5, n_out), dtype=m.float32))
    return lin


def inputs(m, *shape, requires_grad=True):
    return m.tensor(np.linspace(-1, 1, int(np.prod(shape))).reshape(shape), dtype=m.float32,
                    requires_grad=requires_grad)


class Scale(axonal.nn.Module):
    """forward(x, y, k=...) with a non-tensor positional argument, in both libraries."""

    def forward(self, x, s, y=None, k=1.0):
        return x * s * k + (0 if y is None else y), x.sum()


class TScale(torch.nn.Module):
    forward = Scale.forward


def scale(m):
    return Scale() if m is axonal else TScale()


# -- forward hooks --------------------------------------------------------------------------------

def test_forward_pre_hook_replaces_args_and_kwargs_in_order():
    def run(m):
        lin, log = linear(m), []
        lin.register_forward_pre_hook(lambda mod, args: log.append("a") or args[0] * 2)
        lin.register_forward_pre_hook(lambda mod, args: log.append("first"), prepend=True)

        def with_kw(mod, args, kwargs):
            log.append(("kw", sorted(kwargs)))
            return (args[0] + 1,), kwargs

        lin.register_forward_pre_hook(with_kw, with_kwargs=True)
        return log, lin(inputs(m, 2, 3))

    log, _ = both(run)
    assert log == ["first", "a", ["kw", []]]


def test_forward_hook_replaces_the_output_and_sees_kwargs():
    def run(m):
        mod, log = scale(m), []
        mod.register_forward_hook(lambda md, args, out: log.append(len(args)) or (out[0] * 10,
                                                                                 out[1]))
        mod.register_forward_hook(lambda md, args, kw, out: log.append(sorted(kw)),
                                  with_kwargs=True, prepend=True)
        out = mod(inputs(m, 3), 2.0, k=3.0)
        return log, out

    log, _out = both(run)
    assert log == [["k"], 2]


def test_always_call_forward_hook_runs_when_forward_raises():
    class Boom:
        def forward(self, x):
            raise ValueError("boom")

    def run(m):
        mod = type("B", (Boom, m.nn.Module), {})()
        log = []
        mod.register_forward_hook(lambda md, a, o: log.append("normal"))
        mod.register_forward_hook(lambda md, a, o: log.append(("always", o)), always_call=True)
        with pytest.raises(ValueError, match="boom"):
            mod(inputs(m, 2))
        return log

    assert both(run) == [["always", None]]


def test_global_forward_hooks_run_before_the_modules_own():
    def run(m):
        mm = m.nn.modules.module
        lin, log = linear(m), []
        lin.register_forward_pre_hook(lambda mod, a: log.append("own pre"))
        lin.register_forward_hook(lambda mod, a, o: log.append("own"))
        handles = [mm.register_module_forward_pre_hook(lambda mod, a: log.append("global pre")),
                   mm.register_module_forward_hook(lambda mod, a, o: log.append("global"))]
        try:
            lin(inputs(m, 1, 3))
        finally:
            for h in handles:
                h.remove()
        lin(inputs(m, 1, 3))
        return log

    assert both(run) == ["global pre", "own pre", "global", "own", "own pre", "own"]


def test_handles_remove_and_work_as_context_managers():
    def run(m):
        lin, log = linear(m), []
        h = lin.register_forward_hook(lambda mod, a, o: log.append("h"))
        with lin.register_forward_pre_hook(lambda mod, a: log.append("ctx")):
            lin(inputs(m, 1, 3))
        h.remove()
        h.remove()
        lin(inputs(m, 1, 3))
        return log, len(lin._forward_hooks), len(lin._forward_pre_hooks)

    assert both(run) == [["ctx", "h"], 0, 0]


# -- backward hooks -------------------------------------------------------------------------------

def test_full_backward_hooks_see_grad_input_and_grad_output():
    def run(m):
        lin, log = linear(m), []
        lin.register_full_backward_pre_hook(lambda mod, go: log.append(("pre", go)))
        lin.register_full_backward_hook(lambda mod, gi, go: log.append(("post", gi, go)))
        x = inputs(m, 4, 3)
        lin(x).pow(2).sum().backward()
        return log, x.grad, lin.weight.grad

    log, *_ = both(run)
    assert [e[0] for e in log] == ["pre", "post"]


def test_backward_hooks_replace_gradients():
    def run(m):
        lin = linear(m)
        lin.register_full_backward_pre_hook(lambda mod, go: (go[0] * 2,))
        lin.register_full_backward_hook(lambda mod, gi, go: (gi[0] + 1,))
        x = inputs(m, 4, 3)
        lin(x).sum().backward()
        return x.grad, lin.weight.grad, lin.bias.grad

    both(run)


def test_backward_hook_with_non_tensor_and_no_grad_inputs_and_two_outputs():
    def run(m):
        mod, log = scale(m), []
        mod.register_full_backward_hook(lambda md, gi, go: log.append((gi, go)))
        x, y = inputs(m, 3), inputs(m, 3, requires_grad=False)
        a, _s = mod(x, 3.0, y)
        a.sum().backward()  # the second output gets no gradient
        return log, x.grad

    (entry,), _ = both(run)[0], None
    gi, go = entry
    # the float is None; y (no grad) gets zeros from PyTorch's identity node; `s` had no gradient
    assert gi[1] is None and gi[2] == [0.0] * 3 and go[1] is None


def test_backward_hook_when_no_input_requires_grad_fires_with_none():
    def run(m):
        lin, log = linear(m), []
        lin.register_full_backward_hook(lambda mod, gi, go: log.append((gi, go)))
        lin(inputs(m, 2, 3, requires_grad=False)).sum().backward()
        return log, lin.weight.grad

    log, _ = both(run)
    assert log[0][0] == [None]


def test_backward_hooks_order_through_a_sequential():
    def run(m):
        net = m.nn.Sequential(linear(m, 3, 4), m.nn.Tanh(), linear(m, 4, 2))
        log = []
        for name, mod in net.named_modules():
            mod.register_full_backward_pre_hook(lambda md, go, n=name: log.append(("pre", n)))
            mod.register_full_backward_hook(lambda md, gi, go, n=name: log.append(("post", n)))
        net(inputs(m, 5, 3)).sum().backward()
        return log

    log = both(run)
    assert log[0] == ["pre", ""] and log[-1] == ["post", ""]


def test_global_backward_hooks():
    def run(m):
        mm = m.nn.modules.module
        lin, log = linear(m), []
        lin.register_full_backward_hook(lambda mod, gi, go: log.append("own"))
        handles = [mm.register_module_full_backward_pre_hook(lambda mod, go: log.append("gpre")),
                   mm.register_module_full_backward_hook(lambda mod, gi, go: log.append("g"))]
        try:
            lin(inputs(m, 2, 3)).sum().backward()
        finally:
            for h in handles:
                h.remove()
        return log

    assert both(run) == ["gpre", "g", "own"]


def test_backward_hook_wrong_length_errors():
    for m in (axonal, torch):
        lin = linear(m)
        lin.register_full_backward_hook(lambda mod, gi, go: (gi[0], gi[0]))
        with pytest.raises(RuntimeError, match="invalid number of grad_input"):
            lin(inputs(m, 2, 3)).sum().backward()


# -- registration hooks and lookups ---------------------------------------------------------------

def test_registration_hooks():
    def run(m):
        mm, log = m.nn.modules.module, []
        handles = [
            mm.register_module_buffer_registration_hook(
                lambda mod, name, b: log.append(("buffer", name)) or b * 2),
            mm.register_module_parameter_registration_hook(
                lambda mod, name, p: log.append(("param", name))),
            mm.register_module_module_registration_hook(
                lambda mod, name, sub: log.append(("module", name))),
        ]
        try:
            root = m.nn.Module()
            root.register_buffer("b", m.ones(2))
            root.p = m.nn.Parameter(m.zeros(1))
            root.child = m.nn.Identity()
            root.add_module("other", m.nn.Identity())
        finally:
            for h in handles:
                h.remove()
        root.register_buffer("c", m.ones(1))
        return log, root.b

    log, b = both(run)
    assert b == [2.0, 2.0] and len(log) == 4


def test_get_submodule_parameter_buffer_and_their_errors():
    def run(m):
        net = m.nn.Sequential(m.nn.Linear(2, 2), m.nn.BatchNorm1d(2))
        got = [net.get_submodule("") is net, type(net.get_submodule("1")).__name__,
               list(net.get_parameter("0.weight").shape), list(net.get_buffer("1.running_mean").shape)]
        for call in (lambda: net.get_submodule("0.nope"), lambda: net.get_submodule("0.weight"),
                     lambda: net.get_parameter("1.running_mean"), lambda: net.get_buffer("0.bias"),
                     lambda: net.get_parameter("0.nope")):
            with pytest.raises(AttributeError) as e:
                call()
            got.append(str(e.value))
        return got

    both(run)


def test_zero_grad_set_to_none_false_zeroes_in_place():
    def run(m):
        lin = linear(m)
        lin(inputs(m, 2, 3)).sum().backward()
        g = lin.weight.grad
        lin.zero_grad(set_to_none=False)
        same = lin.weight.grad is g
        lin.zero_grad()
        return same, lin.weight.grad, g

    assert both(run)[0] is True


def test_apply_order_and_non_persistent_buffers():
    def run(m):
        net = m.nn.Sequential(m.nn.Linear(1, 1), m.nn.Sequential(m.nn.ReLU(), m.nn.Tanh()))
        seen = []
        net.apply(lambda mod: seen.append(type(mod).__name__))
        net.register_buffer("scratch", m.ones(1), persistent=False)
        return seen, sorted(net.state_dict()), [n for n, _ in net.named_buffers()]

    both(run)


def test_no_hook_tables_touched_on_the_fast_path():
    lin = linear(axonal)
    assert axonal.nn._module_hooks.active.n == 0
    assert not (lin._forward_hooks or lin._forward_pre_hooks or lin._backward_hooks
                or lin._backward_pre_hooks)


def test_backward_hooks_in_a_double_backward():
    def run(m):
        lin, log = linear(m, 2, 1), []
        lin.register_full_backward_hook(lambda mod, gi, go: log.append((gi, go)))
        x = inputs(m, 1, 2)
        (g,) = m.autograd.grad(lin(x).pow(2).sum(), x, create_graph=True)
        g.sum().backward()  # the module's nodes are reached again, now from the input side
        return log, x.grad, lin.weight.grad

    assert len(both(run)[0]) == 2
