"""Run under `mpiexec -n P`: every collective on every dtype and shape, checked against NumPy.

    mpiexec -n 3 python tests/distributed/dist_scripts/collectives_check.py OUT.json

Each rank builds every rank's input itself (they are seeded by rank), so the expected result of each
collective is computed locally with NumPy and compared with what the collective wrote. Failures are
gathered to rank 0, which writes {"checks": n, "failures": [...]} to OUT.json; tests/distributed/test_distributed.py
asserts on that file. Non-contiguous inputs and outputs are views of a larger array: the check reads
the larger array, so a result that never reached the caller's memory is caught.
"""
import json
import sys
import zlib

import numpy as np

import axonal
import axonal.distributed as dist
from axonal.distributed import ReduceOp

DTYPES = ["float32", "float64", "float16", "int8", "uint8", "int16", "int32", "int64", "bool"]
SHAPES = [(), (0,), (7,), (3, 4), (2, 0, 3), (5, 6, "T"), (4, 6, "step")]  # T/step: views
failures, checks = [], [0]


def values(dtype, shape, rank, salt=""):
    """Rank `rank`'s input: small numbers, so sums and products stay exact in every dtype."""
    rng = np.random.default_rng(zlib.crc32(f"{dtype}{shape}{rank}{salt}".encode()))
    if dtype == "bool":
        return np.asarray(rng.random(shape) < 0.5)
    lo = 0 if dtype == "uint8" else -3
    return np.asarray(rng.integers(lo, 4, shape), dtype=dtype)


def as_tensor(arr, layout):
    """(Tensor, function giving the tensor's current values from the memory the caller owns)."""
    if layout == "T":  # a transposed view: not contiguous
        base = np.ascontiguousarray(arr.T)
        return axonal.Tensor._make(base.T, False, None, 0), lambda: base.T.copy()
    if layout == "step":  # every other column of a wider array
        base = np.zeros(arr.shape[:-1] + (arr.shape[-1] * 2,), arr.dtype)
        base[..., ::2] = arr
        return axonal.Tensor._make(base[..., ::2], False, None, 0), lambda: base[..., ::2].copy()
    t = axonal.Tensor._make(arr.copy(), False, None, 0)
    return t, lambda: t._data.copy()


def check(name, got, want, exact=True):
    checks[0] += 1
    got, want = np.asarray(got), np.asarray(want)
    ok = got.shape == want.shape and got.dtype == want.dtype and (
        np.array_equal(got, want) if exact else np.allclose(got, want, rtol=1e-3, atol=1e-3))
    if not ok:
        failures.append(f"rank {dist.get_rank()}: {name}: got {got.dtype}{got.shape} {got.ravel()[:6]}, "
                        f"want {want.dtype}{want.shape} {want.ravel()[:6]}")


def expected_reduce(inputs, op, dtype):
    stack = np.stack(inputs)
    p = len(inputs)
    if dtype == "bool":
        return {"SUM": stack.any(0), "PRODUCT": stack.all(0), "MAX": stack.any(0),
                "MIN": stack.all(0), "BAND": stack.all(0), "BOR": stack.any(0),
                "BXOR": np.bitwise_xor.reduce(stack, 0)}[op]
    wide = stack.astype(np.float64 if dtype.startswith("float") else np.int64)
    out = {"SUM": wide.sum(0), "PRODUCT": wide.prod(0), "MAX": wide.max(0), "MIN": wide.min(0)}
    if op in out:
        return out[op].astype(dtype)
    if op == "AVG":
        s = wide.sum(0)
        return (s / p).astype(dtype) if dtype.startswith("float") else \
            (np.sign(s) * (np.abs(s) // p)).astype(dtype)
    fn = {"BAND": np.bitwise_and, "BOR": np.bitwise_or, "BXOR": np.bitwise_xor}[op]
    return fn.reduce(stack, 0).astype(dtype)


def ops_for(dtype):
    if dtype == "bool":
        return ["SUM", "PRODUCT", "MAX", "MIN", "BAND", "BOR", "BXOR"]
    if dtype.startswith("float"):
        return ["SUM", "AVG", "PRODUCT", "MAX", "MIN"]
    return ["SUM", "AVG", "PRODUCT", "MAX", "MIN", "BAND", "BOR", "BXOR"]


def run_all(p, r):
    for dtype in DTYPES:
        for spec in SHAPES:
            layout = spec[-1] if spec and isinstance(spec[-1], str) else None
            shape = tuple(s for s in spec if not isinstance(s, str))
            tag = f"{dtype}{list(shape)}{layout or ''}"
            inputs = [values(dtype, shape, q) for q in range(p)]
            for k, op in enumerate(ops_for(dtype)):
                t, read = as_tensor(inputs[r], layout)
                if k % 2:  # half of them asynchronously
                    dist.all_reduce(t, getattr(ReduceOp, op), async_op=True).wait()
                else:
                    dist.all_reduce(t, op=getattr(ReduceOp, op))
                check(f"all_reduce {op} {tag}", read(), expected_reduce(inputs, op, dtype))
            src = p - 1
            t, read = as_tensor(inputs[r], layout)
            dist.broadcast(t, src=src)
            check(f"broadcast {tag}", read(), inputs[src])
            outs = [as_tensor(np.zeros(shape, dtype), layout) for _ in range(p)]
            t, _ = as_tensor(inputs[r], layout)
            dist.all_gather([o for o, _ in outs], t, async_op=True).wait()
            for q, (_, read_q) in enumerate(outs):
                check(f"all_gather[{q}] {tag}", read_q(), inputs[q])
            if layout is None and shape:
                cat = axonal.Tensor._make(np.zeros((p * shape[0],) + shape[1:], dtype), False, None, 0)
                dist.all_gather_into_tensor(cat, axonal.Tensor._make(inputs[r].copy(), False, None, 0))
                check(f"all_gather_into_tensor {tag}", cat._data, np.concatenate(inputs))
                stk = axonal.Tensor._make(np.zeros((p,) + shape, dtype), False, None, 0)
                dist.all_gather_into_tensor(stk, axonal.Tensor._make(inputs[r].copy(), False, None, 0))
                check(f"all_gather_into_tensor stacked {tag}", stk._data, np.stack(inputs))
            for op in ("SUM", "MAX") + (("AVG",) if dtype != "bool" else ()):
                lists = [[values(dtype, shape, q, salt=f"rs{j}") for j in range(p)] for q in range(p)]
                out, read = as_tensor(np.zeros(shape, dtype), layout)
                dist.reduce_scatter(out, [as_tensor(a, layout)[0] for a in lists[r]],
                                    op=getattr(ReduceOp, op))
                want = expected_reduce([lists[q][r] for q in range(p)], op, dtype)
                check(f"reduce_scatter {op} {tag}", read(), want)
                if layout is None:
                    flat_in = axonal.Tensor._make(np.concatenate([a.reshape(-1) for a in lists[r]]),
                                                  False, None, 0)
                    out2 = axonal.Tensor._make(np.zeros(shape, dtype), False, None, 0)
                    dist.reduce_scatter_tensor(out2, flat_in, op=getattr(ReduceOp, op))
                    check(f"reduce_scatter_tensor {op} {tag}", out2._data, want)


def run_misc(p, r):
    # float32 sums of non-integers: compared with a tolerance (the summation order is MPI's)
    rng = np.random.default_rng(r)
    x = rng.standard_normal((64, 33)).astype(np.float32)
    allx = [np.random.default_rng(q).standard_normal((64, 33)).astype(np.float32) for q in range(p)]
    t = axonal.from_numpy(x.copy())
    dist.all_reduce(t, ReduceOp.AVG)
    check("all_reduce AVG float32 normal", t._data, np.mean(allx, 0).astype(np.float32), exact=False)
    big = axonal.Tensor._make(np.full(3 * 2**20, r + 1, np.float32), False, None, 0)  # 12 MB
    dist.all_reduce(big)
    check("all_reduce 12 MB", big._data[::4096], np.full(768, p * (p + 1) / 2, np.float32))
    objs = [None] * p
    dist.all_gather_object(objs, {"rank": r, "name": f"r{r}"})
    check("all_gather_object", [o["rank"] for o in objs], list(range(p)))
    lst = [r, "x"] if r == 0 else [None, None]
    dist.broadcast_object_list(lst, src=0)
    check("broadcast_object_list", lst[0], 0)
    means = dist.average_logs({"loss": 2.0 * (r + 1), "only0": 5.0} if r == 0 else  # sums
                              {"loss": 2.0 * (r + 1)}, {"loss": r + 1, "only0": 2} if r == 0 else
                              {"loss": r + 1})
    check("average_logs loss", means["loss"],  # sums of value * count over counts
          sum(2.0 * (q + 1) for q in range(p)) / sum(q + 1 for q in range(p)))
    check("average_logs only0", means["only0"], 2.5)
    dist.barrier()
    check("same tensor object after all_reduce", t._data.flags.c_contiguous, True)
    for bad in (lambda: dist.all_gather([axonal.zeros(2)], axonal.zeros(2)),
                lambda: dist.all_reduce(np.zeros(3)),
                lambda: dist.broadcast(axonal.zeros(2), src=p),
                lambda: dist.all_reduce(axonal.zeros(2), op="nope"),
                lambda: dist.all_reduce(axonal.zeros(2), op=ReduceOp.BAND)):
        checks[0] += 1
        try:
            bad()
            failures.append(f"rank {r}: a bad call did not raise")
        except (ValueError, TypeError):
            pass


def main(out_path):
    dist.init_process_group("mpi", timeout=60)
    p, r = dist.get_world_size(), dist.get_rank()
    run_all(p, r)
    run_misc(p, r)
    everyone = [None] * p
    dist.all_gather_object(everyone, (checks[0], failures))
    if r == 0:
        with open(out_path, "w") as f:
            json.dump({"world_size": p, "checks": sum(c for c, _ in everyone),
                       "failures": [x for _, fs in everyone for x in fs]}, f)
    dist.destroy_process_group()


if __name__ == "__main__":
    main(sys.argv[1])
