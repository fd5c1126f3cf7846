"""Graders for the learner notebooks in ``labs/`` (Lab 1: `lab1`, Lab 2: `lab2`, lectures 3-6: `vision`, ...).

    from mit_dl.labs import lab1
    lab1.check_dense_layer(OurDenseLayer)      # -> [PASSED] ... or [NOT YET] ... with the likely mistake

``mit-dl labs check NOTEBOOK.ipynb`` runs a notebook and reports every checker
(`mit_dl.labs.runner`); `mit_dl.labs.notebooks` builds the exercise and
solution notebooks from their sources.
"""

from mit_dl.labs.grading import CheckResult, quick_mode

__all__ = ["CheckResult", "quick_mode"]
