"""mit_dl: the Keras 3 / TensorFlow companion package for MIT 6.S191.

Importing ``mit_dl`` is cheap: TensorFlow and Keras are only imported when a
submodule that needs them is first touched, e.g. ``mit_dl.layers``.

Examples:
    >>> import mit_dl
    >>> mit_dl.__version__  # doctest: +SKIP
    '0.1.0'
    >>> from mit_dl.layers import MyDenseLayer  # loads Keras now
"""

import importlib

__version__ = "0.1.0"


from mit_dl.registry import LAB_PACKAGES

_SUBMODULES = (
    "layers",
    "training",
    "data",
    "evaluation",
    "export",
    "plots",
    *LAB_PACKAGES,
    "labs",
    "registry",
    "config",
    "errors",
    "environment",
    "cli",
)

__all__ = ["__version__", *_SUBMODULES]


def __getattr__(name):
    # PEP 562 lazy submodules: `mit_dl.layers` imports Keras on first use only.
    if name in _SUBMODULES:
        module = importlib.import_module(f"{__name__}.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module 'mit_dl' has no attribute {name!r}")


def __dir__():
    return sorted(__all__)
