"""Lazy public names for a package: ``from mit_dl.faces import latent_rarity`` imports TensorFlow only then.

A lab's ``__init__.py`` lists its public API as ``{name: submodule}``; the
configs stay eager (the command line reads them without TensorFlow), the
rest is imported on first use (PEP 562).
"""

import importlib


def exports(package, names, namespace):
    """``(__getattr__, __dir__)`` for ``package`` that import each of ``names`` from its submodule when first used.

    Args:
        package: the package's ``__name__``.
        names: ``{public name: submodule}`` (a submodule's own name maps to itself: ``{"train": "train"}``).
        namespace: the package's ``globals()`` (its eager names, which ``dir()`` lists too).

    Returns:
        The module-level ``__getattr__`` and ``__dir__`` functions.
    """

    def __getattr__(name):
        if name not in names:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module = importlib.import_module(f"{package}.{names[name]}")
        return module if names[name] == name else getattr(module, name)

    def __dir__():
        return sorted([*namespace, *names])

    return __getattr__, __dir__
