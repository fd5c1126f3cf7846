"""End-to-end lab runs: data -> model -> Trainer -> evaluation, plots, export.

Each module composes the shared pieces for one lab; `mit_dl.cli` and the
notebooks call these functions.
"""
