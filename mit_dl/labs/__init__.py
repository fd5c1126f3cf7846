"""Graders for the learner notebooks in ``labs/``: one module per lab, named after the lab's package
(`foundations`, `music`, `images`, `faces`, `vision`, `architectures`, `llm`, `generative`, `uncertainty`, `rl`).

    from mit_dl.labs import music as checks
    checks.check_dense_layer(OurDenseLayer)      # -> [PASSED] ... or [NOT YET] ... with the likely mistake

``mit-dl labs check NOTEBOOK.ipynb`` runs a notebook and reports every checker
(`mit_dl.labs.runner`); `mit_dl.labs.notebooks` builds the exercise and
solution notebooks from their sources.
"""

from mit_dl.labs.grading import CheckResult, quick_mode

__all__ = ["CheckResult", "quick_mode"]

# The graders' names before they were named after the labs: a notebook saved then says what to change.
_RENAMED = {"lab1": "music", "lab2": "images (part 1) or faces (part 2)"}


def __getattr__(name):
    if name in _RENAMED:
        raise ImportError(
            f"mit_dl.labs.{name} is now mit_dl.labs.{_RENAMED[name]}: change the notebook's import to "
            f"`from mit_dl.labs import {_RENAMED[name].split()[0]} as checks` and its {name}.check_... calls to "
            "checks.check_..., or take the current notebook from labs/"
        )
    raise AttributeError(f"module 'mit_dl.labs' has no attribute {name!r}")
