"""Forward AD over the whole op registry (tests/op_specs.py): for every differentiable op and its
first cases (broadcasting, 0-d, empty, non-contiguous views ...), the tangents of its floating
outputs under `forward_ad` equal PyTorch's forward AD for the same random directions, in float64.
An op without a jvp rule must say so (NotImplementedError naming the op), never give a wrong
tangent."""
import warnings

import numpy as np
import pytest
from op_specs import SPECS, In, as_list, ax_inputs, convert_static

import axonal as ax
import axonal.autograd.forward_ad as fwAD

torch = pytest.importorskip("torch")
tfwAD = torch.autograd.forward_ad

CASES_PER_OP = 6
DIFF_SPECS = [s for s in SPECS if s.differentiable]


def _th_inputs(case):
    args = [torch.from_numpy(np.array(a.realize(np.float64), order="C")) if isinstance(a, In)
            else a for a in case.args]
    kwargs = {k: convert_static(v, lambda a: torch.from_numpy(np.array(a, order="C")))
              for k, v in case.kwargs.items()}
    return args, kwargs


def _tangents(fw, make, call, args, kwargs, diff, vs):
    with fw.dual_level():
        args = list(args)
        for i in diff:
            args[i] = fw.make_dual(args[i], make(vs[i]))
        outs = [o for o in as_list(call(*args, **kwargs)) if o.dtype.is_floating_point]
        res = []
        for o in outs:
            t = fw.unpack_dual(o).tangent
            res.append(np.zeros(tuple(o.shape)) if t is None else np.array(t.detach().numpy()))
        return res


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("spec", DIFF_SPECS, ids=[s.name for s in DIFF_SPECS])
def test_tangents_match_torch(spec):
    rng = np.random.default_rng(5)
    checked = 0
    for case in spec.get_cases()[:CASES_PER_OP]:
        diff = spec.diff_args(case)
        if not case.torch or not diff:
            continue
        vs = {i: rng.standard_normal(np.shape(case.args[i].realize(np.float64))) for i in diff}
        t_args, t_kw = _th_inputs(case)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            theirs = _tangents(tfwAD, torch.from_numpy, spec.th, t_args, t_kw, diff, vs)
        a_args, _, a_kw = ax_inputs(spec, case, np.float64, requires_grad=False)
        try:
            mine = _tangents(fwAD, ax.tensor, spec.ax, a_args, a_kw, diff, vs)
        except NotImplementedError as e:
            assert "has no jvp rule" in str(e)
            continue
        assert len(mine) == len(theirs), case.label
        for m, t in zip(mine, theirs):
            np.testing.assert_allclose(m, t, rtol=1e-7, atol=1e-9, equal_nan=True,
                                       err_msg=f"{spec.name} [{case.label}]")
        checked += 1
    assert checked or not any(c.torch and spec.diff_args(c)
                              for c in spec.get_cases()[:CASES_PER_OP])
