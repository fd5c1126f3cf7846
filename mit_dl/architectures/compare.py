"""The lab's experiments: networks trained with one recipe on each seed, one table and one figure each.

Each experiment writes into its folder ``metrics.json`` (every run's numbers and the summaries),
``table.md`` and its figure; each trained network is its own run directory (``<network>-s<seed>/``),
so running the command again reuses finished runs and resumes the others.

- `degradation`: plain and residual networks of 8, 20 and 56 layers (He et al. 2016, figure 1): the
  plain network's training loss rises with depth, the ResNet's does not.
- `side_by_side`: every architecture's parameters, multiply-adds, training time and test accuracy.
"""

import json
import pathlib

import numpy as np

from mit_dl import evaluation
from mit_dl.architectures import figures, train
from mit_dl.architectures.config import SIDE_BY_SIDE, ArchitecturesConfig
from mit_dl.training.runs import train_variants, write_json

DEPTHS = (8, 20, 56)


def _quiet_train(config, path):
    return train.train(config, path, export=False, log=lambda line: None)


def final_losses(runs):
    """Each run's training loss over its last epoch and its test error at the end.

    Args:
        runs: the metrics of one network's seeds.

    Returns:
        ``{"training_loss": [...], "test_error": [...]}``, one value per seed.
    """
    return {
        "training_loss": [r["history"]["loss"][-1] for r in runs],
        "test_error": [1 - r["test"]["accuracy"] for r in runs],
    }


def degradation_verdict(results):
    """The experiment's two claims, checked on every seed.

    Args:
        results: ``{network: [metrics per seed]}`` with ``plain20``, ``plain56``, ``resnet20``, ``resnet56``.

    Returns:
        ``{"plain56_above_plain20": [bool per seed], "resnet56_at_most_resnet20": [bool per seed]}``,
        comparing the final training losses.
    """
    loss = {name: final_losses(runs)["training_loss"] for name, runs in results.items()}
    return {
        "plain56_above_plain20": [bool(a > b) for a, b in zip(loss["plain56"], loss["plain20"])],
        "resnet56_at_most_resnet20": [bool(a <= b) for a, b in zip(loss["resnet56"], loss["resnet20"])],
    }


def degradation(base=None, seeds=(0, 1, 2), out="runs/architectures-degradation", log=print):
    """Plain and residual networks of 8, 20, 56 layers, one recipe, each seed: curves, table, verdict.

    Args:
        base: the `ArchitecturesConfig` every network trains with (default: the ``degradation`` preset:
            8 channels first, 4,000 images, 3 epochs; ``full``: the paper's widths on every image).
        seeds: the seeds.
        out: the experiment's folder.
        log: where progress lines go.

    Returns:
        The experiment's metrics (also in ``metrics.json``).
    """
    base = base or ArchitecturesConfig.from_preset("degradation")
    variants = {f"{kind}{depth}": {"model": f"{kind}{depth}"} for kind in ("plain", "resnet") for depth in DEPTHS}
    results = train_variants(_quiet_train, base, variants, seeds, out, log)
    summary = {name: _interval_summary(final_losses(runs)) for name, runs in results.items()}
    verdict = degradation_verdict(results)
    figures.degradation_curves(results, pathlib.Path(out) / "degradation.png")
    table = _degradation_table(summary, results, seeds)
    log(table)
    return _write(out, {"seeds": list(seeds), "summary": summary, "verdict": verdict}, results, table)


def side_by_side(base=None, seeds=(0,), models=SIDE_BY_SIDE, out="runs/architectures-compare", log=print):
    """Every network with its own recipe on the same data: parameters, multiply-adds, time, test accuracy.

    Args:
        base: the `ArchitecturesConfig` every network trains with (default: the ``quick`` preset).
        seeds: the seeds.
        models: the networks.
        out: the experiment's folder.
        log: where progress lines go.

    Returns:
        The experiment's metrics (also in ``metrics.json``).
    """
    base = base or ArchitecturesConfig.from_preset("quick")
    results = train_variants(_quiet_train, base, {name: {"model": name} for name in models}, seeds, out, log)
    rows = {}
    for name, runs in results.items():
        rows[name] = {
            "parameters": runs[0]["parameters"]["total"],
            "multiply_adds": runs[0]["multiply_adds"],
            "seconds": float(np.mean([r["train_seconds"] for r in runs])),
            "test_accuracy": evaluation.seed_interval([r["test"]["accuracy"] for r in runs], bounds=(0, 1)),
        }
    table = _side_by_side_table(rows, base, seeds)
    log(table)
    return _write(out, {"seeds": list(seeds), "rows": rows}, results, table)


def _interval_summary(values):
    bounds = {"training_loss": (0.0, float("inf")), "test_error": (0.0, 1.0)}
    return {key: evaluation.seed_interval(series, bounds=bounds[key]) for key, series in values.items()}


def _cell(interval, scale=1.0, digits=3):
    mean, low, high = (scale * v for v in interval)
    return f"{mean:.{digits}f}" + ("" if low != low else f" [{low:.{digits}f}, {high:.{digits}f}]")


def _degradation_table(summary, results, seeds):
    lines = [
        f"Final training loss and test error (%) on seeds {', '.join(map(str, seeds))}: mean [95% interval].",
        "",
        "| network | layers | training loss | test error (%) |",
        "|---|---|---|---|",
    ]
    for name, row in summary.items():
        depth = ArchitecturesConfig(model=name).depth
        lines.append(f"| {name} | {depth} | {_cell(row['training_loss'])} | {_cell(row['test_error'], 100, 1)} |")
    return "\n".join(lines) + "\n"


def _side_by_side_table(rows, base, seeds):
    lines = [
        f"{base.preset} preset on {base.dataset}, seeds {', '.join(map(str, seeds))}; time: the whole run on this "
        "machine.",
        "",
        "| network | parameters | multiply-adds | training time (s) | test accuracy (%) |",
        "|---|---|---|---|---|",
    ]
    for name, row in rows.items():
        lines.append(
            f"| {name} | {row['parameters']:,} | {row['multiply_adds'] / 1e6:.1f} M | {row['seconds']:.0f} | "
            f"{_cell(row['test_accuracy'], 100, 2)} |"
        )
    return "\n".join(lines) + "\n"


def _write(out, summary, results, table):
    out = pathlib.Path(out)
    metrics = {**summary, "runs": {name: [_brief(r) for r in runs] for name, runs in results.items()}}
    write_json(out / "metrics.json", json.loads(json.dumps(metrics)))
    (out / "table.md").write_text(table)
    return metrics


def _brief(run):
    keys = ("parameters", "multiply_adds", "train_seconds", "history")
    return {**{key: run[key] for key in keys}, "test_accuracy": run["test"]["accuracy"]}
