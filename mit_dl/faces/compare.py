"""Lab 2 part 2: the standard CNN against the DB-VAE, trained on the same data for several seeds, in one table.

``compare`` trains each model once per seed (a finished run is reused) and writes
``comparison.json`` and ``comparison.md``: accuracy per face group with 95% intervals over seeds,
the worst group, the gap closed, and how often the resampler drew the rare faces.

Example (a notebook)::

    from mit_dl.faces import FacesConfig, compare
    table = compare.compare(FacesConfig.from_preset("quick"), ["cnn", "dbvae-max"], [0, 1, 2], "runs/faces-compare")
"""

import dataclasses
import pathlib

from mit_dl import evaluation
from mit_dl.config import distinct_seeds
from mit_dl.errors import ConfigError
from mit_dl.faces import figures
from mit_dl.faces.config import FacesConfig
from mit_dl.faces.train import train
from mit_dl.training.runs import finished_metrics, write_json

# The models `compare` trains on the same biased data (the oracle on its balanced twin): name -> config changes.
COMPARED = {
    "cnn": {"model": "cnn"},
    "dbvae-max": {"model": "dbvae", "combine": "max"},
    "dbvae-product": {"model": "dbvae", "combine": "product"},
    "reweighted": {"model": "reweighted"},
    "oracle": {"model": "oracle"},
}

TITLES = {
    "cnn": "standard CNN",
    "dbvae-max": "DB-VAE (max)",
    "dbvae-product": "DB-VAE (product)",
    "reweighted": "reweighted (labels)",
    "oracle": "oracle (balanced data)",
}


def compare(config=None, seeds=(0, 1, 2, 3, 4), models=tuple(COMPARED), out_dir="runs/faces-compare", log=print):
    """Train every compared model on the same data for each seed; write the table with 95% intervals and the plot.

    A run that finished earlier with the same values is read back, not
    trained or evaluated again (`mit_dl.training.runs.finished_metrics`); an
    interrupted one resumes.

    Args:
        config: a `FacesConfig` (its ``model``, ``combine`` and ``seed`` are set per run).
        seeds: distinct non-negative seeds.
        models: names from `COMPARED`; the share of the oracle gap needs ``cnn`` and ``oracle``.
        out_dir: where the runs (``seed-S/<model>``), ``comparison.md`` / ``.json``
            and ``group_accuracy.png`` go.
        log: where progress lines go.

    Returns:
        The summary written to ``comparison.json`` (`summarise_comparison`).

    Raises:
        ConfigError: no seeds, repeated or negative seeds, or an unknown model.
    """
    config = config or FacesConfig.from_preset("full")
    seeds = distinct_seeds(seeds)
    unknown = [name for name in models if name not in COMPARED]
    if unknown or not models:
        raise ConfigError("models", f"must be some of {', '.join(COMPARED)}, received {list(models)}")
    out = pathlib.Path(out_dir)
    runs = {}
    for seed in seeds:
        for name in models:
            run_config = dataclasses.replace(config, seed=seed, **COMPARED[name])
            run_dir = out / f"seed-{seed}" / name
            metrics = finished_metrics(run_dir, run_config)
            if metrics is None:
                log(f"seed {seed}: training {name}")
                metrics = train(run_config, run_dir, log=log)
            else:
                log(f"seed {seed}: {name} finished earlier; its metrics read back from {run_dir}")
            runs[(seed, name)] = {**metrics["test"], "resampling_recall": metrics.get("resampling_recall")}
    summary = {
        "data": config.data,
        "preset": config.preset,
        "steps": config.steps,
        "precision": config.precision,
        **summarise_comparison(runs, seeds, models),
    }
    write_json(out / "comparison.json", summary)
    (out / "comparison.md").write_text(comparison_table(summary))
    figures.group_accuracy(
        {TITLES[name]: runs[(seeds[0], name)] for name in models},
        out / "group_accuracy.png",
        title=f"Per-group test accuracy, seed {seeds[0]}",
    )
    log(comparison_table(summary))
    return summary


def gap_closed(worst, cnn_worst, oracle_worst):
    """Share of the oracle gap a model closes: ``(worst - cnn_worst) / (oracle_worst - cnn_worst)``.

    1 means the model's worst face group is as good as the oracle's, 0 no
    better than the standard CNN's, below 0 worse.

    Args:
        worst: the model's worst-face-group accuracy.
        cnn_worst: the standard CNN's, on the same data.
        oracle_worst: the oracle's.

    Returns:
        The share, or ``None`` when the oracle is no better than the CNN (there is no gap to close).

    Examples:
        >>> gap_closed(0.70, 0.40, 0.96)
        0.5357142857142857
    """
    if oracle_worst - cnn_worst <= 0:
        return None
    return (worst - cnn_worst) / (oracle_worst - cnn_worst)


def _stats(values, bounds=None):
    """Per-seed values, their mean and 95% interval (all None where a seed has no value)."""
    if any(v is None for v in values):
        return {"values": values, "mean": None, "low": None, "high": None}
    mean, low, high = evaluation.seed_interval(values, bounds=bounds)
    return {"values": [float(v) for v in values], "mean": mean, "low": low, "high": high}


def _shares(values):
    """`_stats` of accuracies and shares: their intervals stay within 0-100%."""
    return _stats(values, bounds=(0.0, 1.0))


def summarise_comparison(runs, seeds, models):
    """Per model: every measure's per-seed values, mean and 95% interval over the seeds.

    Measures: overall accuracy, every group's accuracy, the worst face group,
    the best-minus-worst face gap, the worst face group's gain over the
    standard CNN of the same seed, the seeds with a gain, and the share of the
    oracle gap closed (per seed, and from the means as the issue's formula).

    Args:
        runs: ``{(seed, model): test report}`` (`bias.summarise` reports).
        seeds: the seeds.
        models: the model names.

    Returns:
        ``{"seeds", "models", "per_model": {model: {measure: {"values", "mean", "low", "high"}}}, ...}``.
    """
    per_model = {}
    groups = sorted(runs[(seeds[0], models[0])]["groups"])
    for name in models:
        reports = [runs[(seed, name)] for seed in seeds]
        measures = {
            "accuracy": _shares([r["accuracy"] for r in reports]),
            "worst_face": _shares([r["worst_face_group_accuracy"] for r in reports]),
            "face_gap": _shares([r["face_gap"] for r in reports]),
        }
        if "cnn" in models:
            cnn = [runs[(seed, "cnn")] for seed in seeds]
            gains = [r["worst_face_group_accuracy"] - c["worst_face_group_accuracy"] for r, c in zip(reports, cnn)]
            measures["worst_face_gain"] = _stats(gains)
            measures["accuracy_change"] = _stats([r["accuracy"] - c["accuracy"] for r, c in zip(reports, cnn)])
            measures["seeds_with_gain"] = sum(g > 0 for g in gains)
            if "oracle" in models:
                oracle = [runs[(seed, "oracle")] for seed in seeds]
                worst = [[r["worst_face_group_accuracy"] for r in rs] for rs in (reports, cnn, oracle)]
                measures["gap_closed"] = _stats([gap_closed(*w) for w in zip(*worst)])
        recalls = [r.get("resampling_recall") for r in reports]
        if all(recalls):
            measures["rare_share_top"] = _shares([r["any rare"]["top"] for r in recalls])
            measures["rare_share_data"] = _shares([r["any rare"]["data"] for r in recalls])
            if all("effective_faces" in r for r in recalls):  # runs written before it was recorded have none
                measures["effective_faces"] = _stats([r["effective_faces"] for r in recalls])
                measures["faces"] = recalls[0]["faces"]
        measures["groups"] = {g: _shares([r["groups"][g]["accuracy"] for r in reports]) for g in groups}
        per_model[name] = measures
    summary = {"seeds": list(seeds), "models": list(models), "per_model": per_model}
    if "cnn" in models and "oracle" in models:
        means = {name: per_model[name]["worst_face"]["mean"] for name in models}
        summary["gap_closed_from_means"] = {
            name: gap_closed(means[name], means["cnn"], means["oracle"]) for name in models
        }
    return summary


def comparison_table(summary):
    """Markdown table: one column per model, rows for every measure as ``mean [95% interval]``.

    Args:
        summary: `compare`'s summary.

    Returns:
        The table's text.
    """
    models, per_model = summary["models"], summary["per_model"]

    def cell(measure, scale=100.0, signed=False):
        if measure is None or measure["mean"] is None:
            return "-"
        sign = "+" if signed else ""
        text = f"{scale * measure['mean']:{sign}.1f}"
        if measure["low"] == measure["low"]:  # not nan: more than one seed
            text += f" [{scale * measure['low']:{sign}.1f}, {scale * measure['high']:{sign}.1f}]"
        return text

    def row(label, pick, **options):
        return f"| {label} | " + " | ".join(cell(pick(per_model[m]), **options) for m in models) + " |"

    lines = [
        (
            f"Mean over seeds {', '.join(map(str, summary['seeds']))} [95% interval]; accuracies in %."
            if len(summary["seeds"]) > 1
            else f"Seed {summary['seeds'][0]} (one seed: no interval); accuracies in %."
        ),
        "",
        "| measure | " + " | ".join(TITLES[m] for m in models) + " |",
        "|---|" + "---|" * len(models),
        row("overall accuracy", lambda m: m["accuracy"]),
        row("worst face group", lambda m: m["worst_face"]),
        row("best - worst face group", lambda m: m["face_gap"]),
    ]
    if "cnn" in models:
        lines.append(row("worst face group vs CNN", lambda m: m["worst_face_gain"], signed=True))
        lines.append(row("overall vs CNN", lambda m: m["accuracy_change"], signed=True))
        lines.append(
            "| seeds with a worst-group gain | "
            + " | ".join(f"{per_model[m]['seeds_with_gain']}/{len(summary['seeds'])}" for m in models)
            + " |"
        )
    if "gap_closed_from_means" in summary:
        lines.append(row("share of oracle gap closed, per seed", lambda m: m["gap_closed"]))
        lines.append(
            "| share of oracle gap closed, from the means | "
            + " | ".join(_percent(summary["gap_closed_from_means"][m]) for m in models)
            + " |"
        )
    if any("rare_share_top" in per_model[m] for m in models):
        lines.append(row("rare faces among the 10% most drawn", lambda m: m.get("rare_share_top")))
        lines.append(row("rare faces among all training faces", lambda m: m.get("rare_share_data")))
    if any("effective_faces" in per_model[m] for m in models):
        faces = next(per_model[m]["faces"] for m in models if "effective_faces" in per_model[m])
        lines.append(row(f"faces effectively drawn from (of {faces:,})", lambda m: m.get("effective_faces"), scale=1.0))
    for group in per_model[models[0]]["groups"]:
        lines.append(row(group, lambda m, g=group: m["groups"][g]))
    return "\n".join(lines) + "\n"


def _percent(share):
    return "-" if share is None else f"{100 * share:.1f}"
