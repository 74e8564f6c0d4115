"""The recipe registry: `@recipe("name")` registers a Recipe class under a CLI name.

Layer 9. Recipe modules live in this package; each registers itself when imported. `get_recipe` and
`list_recipes` import every public module of the package first (discovery), so adding a recipe is
adding one file, with no list to keep in sync:

    @recipe("lenet")
    class LeNet(Recipe):
        ...
"""
import difflib
import importlib
import os
import pkgutil

_REGISTRY = {}
_INFRA = {"registry", "base", "runner"}  # package modules that are not recipes
_discovered = False


class UnknownRecipeError(KeyError):
    """No recipe of that name is registered."""

    def __str__(self):  # KeyError's str() adds quotes around the message
        return self.args[0] if self.args else ""


def recipe(name):
    """Class decorator: register `cls` (a Recipe subclass) under `name` and set `cls.name`."""
    if not isinstance(name, str) or not name or name != name.strip() or " " in name:
        raise ValueError(f"recipe name must be a non-empty string without spaces, got {name!r}")

    def register(cls):
        if name in _REGISTRY and _REGISTRY[name] is not cls:
            raise ValueError(f"recipe {name!r} is already registered by "
                             f"{_REGISTRY[name].__module__}.{_REGISTRY[name].__qualname__}")
        cls.name = name
        _REGISTRY[name] = cls
        return cls
    return register


def _discover():
    global _discovered
    if _discovered:
        return
    # the folder of this file, not the package's __path__: importing the package from here would
    # make registry and recipes/__init__ import each other
    for mod in pkgutil.iter_modules([os.path.dirname(os.path.abspath(__file__))]):
        if not mod.name.startswith("_") and mod.name not in _INFRA:
            importlib.import_module(f"{__package__}.{mod.name}")
    _discovered = True


def get_recipe(name):
    """An instance of the recipe registered as `name`; UnknownRecipeError lists the known ones."""
    _discover()
    if name not in _REGISTRY:
        close = difflib.get_close_matches(str(name), list(_REGISTRY), n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise UnknownRecipeError(f"unknown recipe {name!r}{hint} (available: "
                                 f"{', '.join(sorted(_REGISTRY)) or 'none'}; see `axonal train --list`)")
    return _REGISTRY[name]()


def list_recipes():
    """[(name, one-line description)] sorted by name."""
    _discover()
    return [(n, _REGISTRY[n].description) for n in sorted(_REGISTRY)]
