"""Lazy attributes for package `__init__` files: heavy modules load on first use."""

import importlib


def lazy_getattr(package, names, namespace):
    """A module `__getattr__` that imports `names[attr]` on first access.

    Args:
        package: str. The package's name, for error messages.
        names: dict. Public name -> module that defines it.
        namespace: dict. The package's `globals()`, where resolved names are cached.
    """
    def __getattr__(name):
        module = names.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value
        return value

    return __getattr__
