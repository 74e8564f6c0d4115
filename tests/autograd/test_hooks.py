"""Gradient hooks on tensors and graph nodes, each scenario run on Axonal and on PyTorch 2.13: the
order of the hook calls, the gradients they see and the gradients that result when they replace
them, and handle removal."""
import numpy as np
import pytest

import axonal
torch = pytest.importorskip("torch")  # the oracle; CI's fresh-clone venv has none


def _np(t):
    if t is None:
        return None
    return np.asarray(t.detach().numpy())


def _plain(v):
    """Tensors -> nested lists, recursively, so that the two libraries' results compare with ==."""
    if isinstance(v, (axonal.Tensor, torch.Tensor)):
        return np.round(_np(v).astype(np.float64), 6).tolist()
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    return v


def both(scenario):
    """Run scenario(m) with m = axonal, then torch; the results must be equal."""
    ours, theirs = _plain(scenario(axonal)), _plain(scenario(torch))
    assert ours == theirs
    return ours


def leaf(m, values=(1.0, 2.0, 3.0)):
    return m.tensor(list(values), dtype=m.float64, requires_grad=True)


# -- Tensor.register_hook -------------------------------------------------------------------------

def test_leaf_hook_replaces_the_gradient_before_accumulation():
    def run(m):
        x, log = leaf(m), []
        x.register_hook(lambda g: log.append(("hook", g.clone(), x.grad)) or g * 10)
        (x * x).sum().backward()
        return log, x.grad

    log, grad = both(run)
    assert log[0][2] is None and grad == [20.0, 40.0, 60.0]  # .grad was still empty in the hook


def test_leaf_used_twice_runs_its_hook_once_on_the_sum():
    def run(m):
        x, calls = leaf(m), []
        x.register_hook(lambda g: calls.append(g.clone()))
        (x * 3 + x * x).sum().backward()
        return calls, x.grad

    calls, _ = both(run)
    assert len(calls) == 1


def test_hooks_run_in_registration_order_and_chain_their_results():
    def run(m):
        x, log = leaf(m), []
        y = x * 2
        y.register_hook(lambda g: log.append(("a", g.clone())) or g + 1)
        y.register_hook(lambda g: log.append(("b", g.clone())))  # None: keeps the gradient
        y.register_hook(lambda g: log.append(("c", g.clone())) or g * 3)
        y.sum().backward()
        return log, x.grad

    log, grad = both(run)
    assert [e[0] for e in log] == ["a", "b", "c"] and grad == [12.0] * 3


def test_hooks_along_a_chain_run_from_the_output_back():
    def run(m):
        x, log = leaf(m), []
        x.register_hook(lambda g: log.append("x"))
        a = x.exp()
        a.register_hook(lambda g: log.append("a"))
        b = a.sin()
        b.register_hook(lambda g: log.append("b"))
        c = (b * a).sum()
        c.register_hook(lambda g: log.append("c"))  # the root's own hook runs too
        c.backward()
        return log, x.grad

    log, _ = both(run)
    assert log == ["c", "b", "a", "x"]


def test_handle_remove_and_context_manager():
    def run(m):
        x, calls = leaf(m), []
        h = x.register_hook(lambda g: calls.append("h") or g * 2)
        (x * 1).sum().backward()
        h.remove()
        h.remove()  # twice is harmless
        (x * 1).sum().backward()
        with x.register_hook(lambda g: calls.append("ctx")):
            (x * 1).sum().backward()
        (x * 1).sum().backward()
        return calls, x.grad

    calls, grad = both(run)
    assert calls == ["h", "ctx"] and grad == [5.0] * 3


def test_retain_grad_sees_the_hooked_gradient():
    def run(m):
        x = leaf(m)
        y = x * 2
        y.retain_grad()
        y.register_hook(lambda g: g * 5)  # registered after retain_grad: still seen by .grad
        y.sum().backward()
        return y.grad, x.grad

    assert both(run) == [[5.0] * 3, [10.0] * 3]


def test_hook_on_one_output_of_a_multi_output_op():
    def run(m):
        x, calls = leaf(m, (1.0, 2.0, 3.0, 4.0)), []
        a, b = x.split(2)
        a.register_hook(lambda g: calls.append("a") or g * 7)
        b.register_hook(lambda g: calls.append(("b", g)))  # b gets no gradient: called with None
        (a * a).sum().backward()
        return calls, x.grad

    assert both(run) == [["a", ["b", None]], [14.0, 28.0, 0.0, 0.0]]


def test_hooks_apply_to_autograd_grad():
    def run(m):
        x = leaf(m)
        x.register_hook(lambda g: g * 2)
        y = x * x
        y.register_hook(lambda g: g + 1)
        (gx,) = m.autograd.grad(y.sum(), x)
        (gy,) = m.autograd.grad((y * 3).sum(), y)
        return gx, gy, x.grad

    assert both(run) == [[8.0, 16.0, 24.0], [4.0] * 3, None]


def test_hooks_with_create_graph_are_differentiated_through():
    def run(m):
        x = leaf(m)
        y = x ** 3
        y.register_hook(lambda g: g * y)  # the replacement depends on y: part of the graph
        (gx,) = m.autograd.grad(y.sum(), x, create_graph=True)
        (gxx,) = m.autograd.grad(gx.sum(), x)
        return gx, gxx

    both(run)


def test_leaf_hook_then_post_accumulate_hook():
    def run(m):
        x, log = leaf(m), []
        x.register_post_accumulate_grad_hook(lambda t: log.append(("post", t.grad.clone())))
        x.register_hook(lambda g: log.append(("pre", g.clone())) or g * 2)
        (x * 3).sum().backward()
        (x * 3).sum().backward()
        return log

    assert [e[0] for e in both(run)] == ["pre", "post", "pre", "post"]


def test_register_hook_errors():
    for m in (axonal, torch):
        with pytest.raises(RuntimeError, match="doesn't require gradient"):
            m.ones(2).register_hook(lambda g: g)
        with pytest.raises(RuntimeError):
            (leaf(m) * 2).register_post_accumulate_grad_hook(lambda t: None)


# -- hooks on graph nodes -------------------------------------------------------------------------

def test_node_prehook_and_hook_see_and_replace_gradients():
    def run(m):
        x, w, log = leaf(m), leaf(m, (0.5, -1.0, 2.0)), []
        y = x * w
        node = y.grad_fn

        def pre(grad_outputs):
            log.append(("pre", list(grad_outputs)))
            return (grad_outputs[0] * 2,)

        def post(grad_inputs, grad_outputs):
            log.append(("post", list(grad_inputs), list(grad_outputs)))
            return (grad_inputs[0] + 1, grad_inputs[1])

        node.register_prehook(pre)
        handle = node.register_hook(post)
        y.sum().backward(retain_graph=True)
        handle.remove()
        y.sum().backward()
        return log, x.grad, w.grad

    log, _xg, _wg = both(run)
    assert [e[0] for e in log] == ["pre", "post", "pre"]


def test_tensor_hook_runs_before_the_node_prehook():
    def run(m):
        x, log = leaf(m), []
        y = x.exp()
        z = y * 2
        z.grad_fn.register_prehook(lambda go: log.append("node pre"))
        z.register_hook(lambda g: log.append("tensor"))
        y.grad_fn.register_hook(lambda gi, go: log.append("exp post"))
        z.sum().backward()
        return log

    assert both(run) == ["tensor", "node pre", "exp post"]


def test_no_hooks_left_behind_after_removal():
    x = leaf(axonal)
    before = axonal._hooks.leaf_hooks.count
    handles = [x.register_hook(lambda g: g), x.register_post_accumulate_grad_hook(print)]
    assert axonal._hooks.leaf_hooks.count == before + 2
    for h in handles:
        h.remove()
    assert axonal._hooks.leaf_hooks.count == before


def test_autograd_grad_runs_no_node_past_its_inputs():
    def run(m):
        x, calls = leaf(m), []
        x.register_hook(lambda g: calls.append("x"))
        y = x.exp()
        y.grad_fn.register_hook(lambda gi, go: calls.append("exp"))
        z = (y * 2).sum()
        (gy,) = m.autograd.grad(z, y)  # frees z's nodes, not y's: y's node did not run
        calls.append("|")
        y.sum().backward()
        return calls, gy, x.grad

    assert both(run)[0] == ["|", "exp", "x"]


def test_hooks_with_retain_graph_roots_and_backward_inputs():
    def run(m):
        log = []
        x = leaf(m, (1.0, 2.0))
        y = (x * x).sum()
        h = x.register_hook(lambda g: log.append(("x", g.clone())))
        y.backward(retain_graph=True)
        y.backward()  # the hook runs again on the retained graph
        h.remove()
        x.grad = None
        z = x * 3
        z.register_hook(lambda g: g * 0 + 1)  # replaces the seed given to backward
        z.backward(m.tensor([5.0, 5.0], dtype=m.float64))
        a, b = leaf(m, (1.0,)), leaf(m, (2.0,))
        a.register_hook(lambda g: log.append("a"))  # not an input: its node does not run
        b.register_hook(lambda g: log.append("b"))
        (a * b).sum().backward(inputs=[b])
        c = leaf(m, (1.0, 1.0))
        c.register_hook(lambda g: log.append(("c", g.clone())))
        c.backward(m.tensor([2.0, 3.0], dtype=m.float64))  # a leaf as the root
        return log, x.grad, a.grad, b.grad, c.grad

    log, xg, ag, _bg, _cg = both(run)
    assert xg == [3.0, 3.0] and ag is None and "a" not in log


def test_no_hook_machinery_runs_when_no_hook_is_registered(monkeypatch):
    def boom(*args, **kwargs):
        raise AssertionError("hook machinery called without hooks")

    for name in ("run_pre", "run_post", "run_tensor_hooks", "record_stack", "node_hooks"):
        monkeypatch.setattr(axonal._hooks, name, boom)
    monkeypatch.setattr(axonal.nn._module_hooks, "call_impl", boom)
    net = axonal.nn.Sequential(axonal.nn.Linear(3, 4), axonal.nn.ReLU(), axonal.nn.Linear(4, 1))
    net(axonal.randn(2, 3)).sum().backward()
    assert net[0].weight.grad is not None


def test_a_hook_that_changes_the_shape_is_an_error():
    def halve(g):
        return g[:2]

    for m in (axonal, torch):
        x = leaf(m)
        y = x * 2
        y.register_hook(halve)
        with pytest.raises(RuntimeError, match="hook 'halve' has changed the size of value"):
            y.sum().backward()
        x.register_hook(lambda g: g[:1])
        with pytest.raises(RuntimeError, match="hook '<lambda>' has changed the size of value"):
            (x * 2).sum().backward()
