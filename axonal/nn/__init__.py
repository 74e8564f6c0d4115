"""Neural network building blocks: Module, Parameter, containers, layers, functional, init."""
from .module import Buffer, Module, Parameter
