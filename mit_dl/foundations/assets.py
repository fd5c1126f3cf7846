"""The foundations lab's figures for the docs site (``python -m docs.build_assets --only foundations``)."""

import json

from mit_dl.foundations.config import FoundationsConfig
from mit_dl.foundations.experiments import EXPERIMENTS

SEEDS = (0, 1, 2)
PATHS = ("quadratic.png", "rosenbrock.png")
# What an experiment's documented run changes in the quick preset: the optimizers compete on the course CNN.
BASES = {"optimizers": {"model": "cnn"}}
# The figures each experiment's docs section shows.
FIGURES = {
    "optimizers": ("quadratic.png", "rosenbrock.png", "lr_range.png", "accuracy.png"),  # the saddle: in the text
    "init": ("activation_variance-tanh-50.png", "gradient_variance-relu-50.png", "accuracy.png"),
    "norm": ("accuracy.png", "batch_size.png"),
    "regularise": ("curves.png", "accuracy.png"),
    "gradients": ("per_layer.png", "per_time_step.png"),
}


def build(work, site):
    """Every experiment in its quick form on seeds 0-2; their figures and tables.

    With ``--resume`` finished runs are read back.

    Args:
        work: the scratch folder of the runs.
        site: the docs' asset writer (``docs/build_assets.py``'s `Site`).

    Returns:
        The manifest entry: the command, the files and every experiment's table.
    """
    files, tables = [], {}
    for name, experiment in EXPERIMENTS.items():
        folder = work / name
        folder.mkdir(parents=True, exist_ok=True)
        experiment(FoundationsConfig.from_preset("quick", **BASES.get(name, {})), SEEDS, folder, log=print)
        tables[name] = (folder / "table.md").read_text()
        # Palette images weigh a third; the optimizers' paths keep 64 colours (32 merge their hues).
        files += [
            site.copy(folder / figure, f"{name}-{figure}", colours=64 if figure in PATHS else 32)
            for figure in FIGURES[name]
        ]
        site_metrics = json.loads((folder / "metrics.json").read_text())
        tables[f"{name}_metrics"] = {k: v for k, v in site_metrics.items() if k in ("best_rates", "penalty_vs_decay")}
    return {
        "command": "mit-dl foundations optimizers --model cnn; mit-dl foundations init|norm|regularise|gradients "
        "(quick preset, seeds 0 1 2)",
        "files": files,
        "tables": tables,
    }
