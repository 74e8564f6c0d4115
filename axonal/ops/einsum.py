"""einsum: numpy.einsum (cupy.einsum) forward; the backward is einsums of the gradient.

For out = einsum("A,B,...->O", x_1, x_2, ...), the output is linear in each operand, so the
gradient of operand i is the same contraction with operand i replaced by the output gradient and
its subscripts moved to the output: grad_i = einsum("O,<others>->A_i", g, <other operands>).
Three adjustments keep that a valid einsum: letters only operand i has (summed over inside it alone)
do not reach the gradient, which is constant along them, so it is computed without them and then
expanded; a `...` that broadcast within operand i is summed back to its shape; and a `...` that
operand i lacks is summed over. A letter
repeated within one operand (a diagonal, "ii->") has no such gradient and raises in backward.
Because the backward calls `einsum` itself, it can be differentiated again.
"""
from .._errors import ShapeError
from ..autograd.function import Function
from ..backend import xp_of
from .shape import expand, reshape, sum_to

_LETTERS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")


def _parse(equation, n):
    """'ij,jk' -> (['ij', 'jk'], 'ik'), with the implicit output (letters used once, sorted, after
    any '...') made explicit. Ellipses stay as '...'."""
    eq = equation.replace(" ", "")
    lhs, arrow, out = eq.partition("->")
    ins = lhs.split(",")
    if len(ins) != n:
        raise ShapeError(f"einsum: the equation {equation!r} names {len(ins)} operands, "
                         f"{n} were given")
    for s in ins + [out]:
        if set(s.replace("...", "")) - _LETTERS:
            raise ValueError(f"einsum: invalid subscript in {equation!r} (letters and '...' only)")
    if not arrow:
        letters = "".join(s.replace("...", "") for s in ins)
        out = ("..." if any("..." in s for s in ins) else "") + \
            "".join(sorted(c for c in set(letters) if letters.count(c) == 1))
    return ins, out


class Einsum(Function):
    @staticmethod
    def forward(ctx, ins, out, *xs):
        ctx.save_for_backward(*xs)
        ctx.save(ins=ins, out=out)
        return xp_of(xs[0]._data).einsum(",".join(ins) + "->" + out, *(x._data for x in xs),
                                        optimize=len(xs) > 2)

    @staticmethod
    def backward(ctx, g):
        xs = ctx.saved_tensors
        grads = []
        for i, x in enumerate(xs):
            if not ctx.needs_input_grad[i + 2]:
                grads.append(None)
                continue
            grads.append(_operand_grad(ctx.ins, ctx.out, xs, i, g))
        return (None, None, *grads)


def _operand_grad(ins, out, xs, i, g):
    target = ins[i]
    plain = target.replace("...", "")
    if len(set(plain)) != len(plain):
        raise NotImplementedError(f"einsum: the gradient for an operand with a repeated subscript "
                                  f"({target!r}) is not implemented")
    others = [s for k, s in enumerate(ins) if k != i]
    seen = set(out.replace("...", "")).union(*(set(s.replace("...", "")) for s in others))
    kept = "".join(c for c in target if c == "." or c in seen)
    lead = "..." not in target and any("..." in s for s in others + [out])
    gi = einsum(",".join([out] + others) + "->" + "..." * lead + kept, g,
                *(x for k, x in enumerate(xs) if k != i))
    if lead:  # dims that an ellipsis covers elsewhere and operand i lacks: summed over
        gi = sum_to(gi, gi.shape[gi.ndim - len(kept):])
    if kept != target:  # letters summed only inside operand i: the gradient is constant along them
        shape, pos = [], 0
        dims = _dims(target, xs[i].ndim)
        for c in dims:
            if c in seen or c == ".":
                shape.append(gi.shape[pos])
                pos += 1
            else:
                shape.append(1)
        gi = expand(reshape(gi, tuple(shape)), tuple(
            xs[i].shape[k] if dims[k] not in seen and dims[k] != "." else shape[k]
            for k in range(len(dims))))
    return sum_to(gi, xs[i].shape) if tuple(gi.shape) != tuple(xs[i].shape) else gi


def _dims(subs, ndim):
    """One entry per dim of an operand: its letter, or '.' for each dim an ellipsis covers."""
    if "..." not in subs:
        return list(subs)
    head, tail = subs.split("...")
    return list(head) + ["."] * (ndim - len(head) - len(tail)) + list(tail)


def einsum(equation, *operands):
    """PyTorch's einsum: `einsum("ij,jk->ik", a, b)`, or with the operands in one list."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    if not operands:
        raise ShapeError("einsum: at least one operand is required")
    ins, out = _parse(equation, len(operands))
    for s, x in zip(ins, operands):
        if "..." not in s and len(s) != x.ndim:
            raise ShapeError(f"einsum: subscripts {s!r} name {len(s)} dims, the operand has "
                             f"{x.ndim} (shape {tuple(x.shape)})")
    return Einsum.apply(ins, out, *operands)
