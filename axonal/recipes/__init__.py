"""Recipes: named, reproducible training jobs (`axonal train NAME`).

Layer 9. Each recipe is a module in this package with a `@recipe("name")` Recipe subclass; they are
found by importing the package's modules, so a new recipe (lenet, resnet, char-lstm, ...) is one new
file. `train()` and `evaluate()` run them from Python exactly as the CLI does:

    from axonal.recipes import train
    metrics = train("mnist-mlp", epochs=1, limit_train=2000, out="runs/mnist-mlp-quick")
"""
from .base import Recipe
from .registry import UnknownRecipeError, get_recipe, list_recipes, recipe
from .runner import evaluate, train

__all__ = ["Recipe", "UnknownRecipeError", "evaluate", "get_recipe", "list_recipes", "recipe",
           "train"]
