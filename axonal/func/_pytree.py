"""Minimal pytrees for `axonal.func`: nested tuples, lists, dicts and namedtuples of leaves.

`tree_flatten(x)` gives (leaves, spec) and `tree_unflatten(leaves, spec)` rebuilds the structure, as
`torch.utils._pytree` does for the containers torch.func accepts (dicts keep insertion order).
"""


class _Spec:
    __slots__ = ("children", "kind", "meta", "n")

    def __init__(self, kind, meta, children):
        self.kind, self.meta, self.children = kind, meta, children
        self.n = 1 if kind == "leaf" else sum(c.n for c in children)

    def __eq__(self, other):
        return (isinstance(other, _Spec) and self.kind == other.kind and self.meta == other.meta
                and self.children == other.children)

    def __repr__(self):
        if self.kind == "leaf":
            return "*"
        return f"{self.kind}({self.meta!r}, {self.children!r})"


_LEAF = _Spec("leaf", None, [])


def tree_flatten(x):
    leaves = []

    def walk(node):
        if isinstance(node, tuple) and hasattr(node, "_fields"):
            return _Spec("namedtuple", type(node), [walk(v) for v in node])
        if isinstance(node, (tuple, list)):
            return _Spec(type(node).__name__, None, [walk(v) for v in node])
        if isinstance(node, dict):
            return _Spec("dict", tuple(node), [walk(v) for v in node.values()])
        leaves.append(node)
        return _LEAF

    return leaves, walk(x)


def tree_unflatten(leaves, spec):
    it = iter(leaves)

    def build(s):
        if s.kind == "leaf":
            return next(it)
        kids = [build(c) for c in s.children]
        if s.kind == "namedtuple":
            return s.meta(*kids)
        if s.kind == "tuple":
            return tuple(kids)
        if s.kind == "list":
            return kids
        return dict(zip(s.meta, kids))

    return build(spec)
