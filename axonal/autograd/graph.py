"""`axonal.autograd.graph` (PyTorch's `torch.autograd.graph`): the graph's node type, as seen by
user code.

`Node` is abstract: the nodes themselves are the instances of the node classes of `Function`
subclasses (`type(y.grad_fn).__name__ == "MulBackward0"`) and the `AccumulateGrad` nodes that stand
for leaves in `next_functions`; `isinstance(y.grad_fn, Node)` holds for both. `GradientEdge` /
`get_gradient_edge` name the edge (node, output index) that produces a tensor's gradient.
"""
import abc
from typing import NamedTuple

from .._hooks import AccumulateGrad, RemovableHandle, accumulate_grad
from .function import Function

__all__ = ["GradientEdge", "Node", "RemovableHandle", "get_gradient_edge"]


class Node(abc.ABC):
    """A node of the backward graph: `name()`, `next_functions`, `metadata`, `register_hook`
    (after the node's backward), `register_prehook` (before it)."""

    @abc.abstractmethod
    def name(self):
        """The node's name, e.g. "MulBackward0"."""

    @property
    @abc.abstractmethod
    def next_functions(self):
        """((node or None, output index), ...): where this node sends its gradients."""

    @property
    @abc.abstractmethod
    def metadata(self):
        """A dict kept with the node."""

    @abc.abstractmethod
    def register_hook(self, fn):
        """`fn(grad_inputs, grad_outputs)` after the node's backward."""

    @abc.abstractmethod
    def register_prehook(self, fn):
        """`fn(grad_outputs)` before the node's backward."""

    @classmethod
    def __subclasshook__(cls, C):
        if cls is Node and (issubclass(C, AccumulateGrad) or (
                issubclass(C, Function) and C.__dict__.get("_is_node", False))):
            return True
        return NotImplemented


class GradientEdge(NamedTuple):
    """The (node, output index) pair through which a tensor's gradient flows."""

    node: object
    output_nr: int


def get_gradient_edge(tensor):
    """The edge that computes `tensor`'s gradient: its grad_fn and output index, or, for a leaf
    that requires grad, its AccumulateGrad node."""
    if not tensor.requires_grad:
        raise RuntimeError("It is not possible to get the gradient edge for a Tensor that does "
                           "not require gradients")
    if tensor._ctx is None:
        return GradientEdge(accumulate_grad(tensor), 0)
    return GradientEdge(tensor._ctx, tensor._idx)
