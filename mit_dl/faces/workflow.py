"""Lab 2 part 2 end to end: train the standard face CNN or the DB-VAE, measure per-group accuracy, export.

The DB-VAE's face draws follow its latent-density sampling probabilities,
recomputed from the current encoder after a warm-up and then every
``resample_every`` steps (the course computed them once, from an untrained
encoder). Both detectors train with ``training=True`` (BatchNorm updates).

``train`` writes a run directory: ``checkpoints/``, ``group_accuracy.png``, ``training_curves.png``
(and for the DB-VAE ``reconstructions.png``, ``sampling_extremes.png``,
``latent_traversal.png``), ``metrics.json``, ``settings.json``, the
SavedModel ``detector/`` with ``detect(images uint8)`` and, for the DB-VAE,
``decoder/`` with ``decode(z)``. ``compare`` trains both detectors on the
same data for several seeds and writes the comparison table.

Example (a notebook)::

    from mit_dl.faces import FacesConfig, workflow
    metrics = workflow.train(FacesConfig.from_preset("quick", model="cnn"), "runs/faces-try")
"""

import dataclasses
import pathlib

import keras
import numpy as np

from mit_dl import evaluation, plots
from mit_dl.config import distinct_seeds
from mit_dl.errors import ConfigError, ExportError
from mit_dl.export import export_savedmodel, load_savedmodel
from mit_dl.faces import bias, data, debias, figures, sources
from mit_dl.faces.config import FacesConfig
from mit_dl.faces.endpoints import decoder_endpoint, face_detector_endpoint
from mit_dl.faces.model import build_model
from mit_dl.training import Run, Trainer
from mit_dl.training.runs import finished_metrics, write_json


def train(config=None, out_dir="runs/faces", export=True, log=print):
    """Train the detector of ``config``; write plots, metrics and exports.

    Calling again with the same ``out_dir`` resumes the run.

    Args:
        config: a `FacesConfig` (default the ``full`` preset).
        out_dir: the run directory.
        export: also write ``detector/`` (and the DB-VAE's ``decoder/``).
        log: where progress lines go.

    Returns:
        The metrics written to ``metrics.json`` (its ``"test"`` entry is the per-group report).
    """
    config = config or FacesConfig.from_preset("full")
    train_data, test_data, source = data.load_data(config)
    log(
        f"data: {source}; {int(train_data.labels.sum())} faces + {int((1 - train_data.labels).sum())} non-faces "
        f"for training, {len(test_data)} test images"
    )
    run = Run.start(out_dir, config, lab="faces", log=log)
    with run.scope():
        model, history, resampling = train_detector(config, train_data, run=run, log=log)
    report = bias.evaluate(model, test_data)
    plots.training_curves(
        history,
        run.path / "training_curves.png",
        title=f"{config.model} on {source}: training losses",
        steps_per_epoch=min(config.steps, config.steps_per_epoch),
    )
    figures.group_accuracy(
        {config.model: report}, run.path / "group_accuracy.png", title=f"{config.model} on {source}: per-group accuracy"
    )
    results = {"source": source, "augment": config.real_data, "cosine_decay": config.decays, "test": report}
    if config.model in ("dbvae", "reweighted") and train_data.attributes:
        results["resampling_recall"] = bias.resampling_recall(resampling["probabilities"], train_data)
    if config.model == "dbvae":
        results["resampled_at_steps"] = resampling["resampled_at_steps"]
        results["latent"] = figures.dbvae_figures(model, train_data, test_data, resampling["probabilities"], run.path)
        if config.steps < FacesConfig.from_preset("full").steps:
            log(
                f"the DB-VAE's reconstructions and latent traversal after {config.steps} steps are mostly blurs: "
                f"they need the full preset ({FacesConfig.from_preset('full').steps} steps)"
            )
    if export:
        _export(model, run, {"source": source, "test_accuracy": report["accuracy"]})
    log(
        f"test accuracy {100 * report['accuracy']:.1f}%, worst face group {report['worst_face_group']} "
        f"{100 * report['worst_face_group_accuracy']:.1f}%"
    )
    return run.write_metrics({**results, "history": history})


def train_detector(config, train_data, run=None, loss_fn=None, probabilities_fn=None, log=print):
    """Train the config's detector on a `FaceData` split.

    Without a ``run`` nothing is checkpointed and the seed is set here.

    Args:
        config: the `FacesConfig`.
        train_data: the training `FaceData`.
        run: the `mit_dl.training.Run` (checkpoints, strategy), or ``None``.
        loss_fn: replaces the DB-VAE's loss (see `DBVAE`); the lab notebook passes the learner's own.
        probabilities_fn: replaces the sampling probabilities (see `debias.ResampleEvery`).
        log: where progress lines go.

    Returns:
        ``(model, history, resampling)``; ``resampling`` holds the final face
        sampling probabilities and the steps at which they were recomputed
        (none for the CNN-based models, whose draws stay as they started).
    """
    if run is None:  # a run seeds when it starts; without one, seed here
        keras.utils.set_random_seed(config.seed)
    batches, probabilities = data.training_batches(config, train_data)
    model = build_model(config)
    # The batches read the probabilities variable, so the iterator cannot be
    # checkpointed; a resumed run skips the consumed batches instead.
    common = {
        "checkpoint_dir": run.checkpoints if run else None,
        "strategy": run.strategy if run else None,
        "verbose": False,
        "checkpoint_data": False,
    }
    steps_per_epoch = min(config.steps, config.steps_per_epoch)
    if config.model != "dbvae":  # the CNN; reweighted and oracle differ in their data and draws, not the network
        history = Trainer(model, **common).fit(
            data.as_detector_labels(batches), steps=config.steps, steps_per_epoch=steps_per_epoch
        )
        return model, history, {"probabilities": probabilities.numpy(), "resampled_at_steps": []}
    model.loss_fn = loss_fn
    faces, _ = data.faces_and_non_faces(train_data)
    resample = debias.ResampleEvery(
        model,
        faces,
        probabilities,
        every_steps=config.resample_every,
        warmup_steps=min(config.warmup_steps, config.steps),
        combine=config.combine,
        probabilities_fn=probabilities_fn,
        log=log,
    )
    trainer = Trainer(model, extra_checkpoint_objects={"face_sampling_probabilities": probabilities}, **common)
    history = trainer.fit(batches, steps=config.steps, steps_per_epoch=steps_per_epoch, callbacks=[resample])
    return model, history, {"probabilities": probabilities.numpy(), "resampled_at_steps": resample.updates}


def _export(model, run, results):
    """The detector (and the DB-VAE's decoder) as SavedModels with uint8-in signatures."""
    metadata = run.export_metadata({"kind": "face detector", **results})
    export_savedmodel(
        model, run.path / "detector", endpoints={"detect": face_detector_endpoint(model)}, metadata=metadata
    )
    if run.config.model == "dbvae":
        export_savedmodel(
            model.decoder,
            run.path / "decoder",
            endpoints={"decode": decoder_endpoint(model.decoder, model.latent_dim)},
            metadata={**metadata, "kind": "face decoder", "latent_dim": model.latent_dim},
        )


def evaluate_export(model_dir, test_faces=None):
    """Per-group accuracy of an exported detector, through its ``detect`` signature.

    Args:
        model_dir: the export's folder (``<run>/detector``).
        test_faces: a folder of faces in one sub-folder per group (every image a
            face, each sub-folder a group); otherwise the held-out data the
            detector was trained against is rebuilt from its metadata.

    Returns:
        The per-group report.

    Raises:
        ExportError: the folder is not a face-detector export.
    """
    served, metadata = load_savedmodel(model_dir)
    if not hasattr(served, "detect"):
        raise ExportError(
            f"{model_dir} is not a face-detector export (it has no `detect` signature); pass the "
            "detector folder a faces run exported (<run>/detector)."
        )
    if test_faces:
        images, groups = sources.image_folder(test_faces)
        labels = np.ones(len(images), np.int32)
        groups = np.array([f"face/{g}" for g in groups])
        source = f"faces in {test_faces}"
    else:
        _, test, source = data.load_data(_config_of_export(model_dir, metadata))
        images, labels, groups = test.images, test.labels, test.group_names()
    p = np.concatenate([served.detect(images[i : i + 500])["probability"].numpy() for i in range(0, len(images), 500)])
    return {"source": source, **bias.summarise(evaluation.group_report(labels, p, groups))}


def _config_of_export(model_dir, metadata):
    """The `FacesConfig` an export was trained with (exports before run records kept preset and seed only)."""
    if "config" in metadata:
        known = {f.name for f in dataclasses.fields(FacesConfig)}
        return FacesConfig(**{k: v for k, v in metadata["config"].items() if k in known})
    if "data" not in metadata:
        raise ConfigError("test_faces", f"is needed: {model_dir} has no metadata.json naming its data")
    return FacesConfig.from_preset(metadata.get("preset", "quick"), data=metadata["data"], seed=metadata.get("seed", 0))


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

    Example:
        >>> gap_closed(0.70, 0.40, 0.96)
        0.5357142857142857
    """
    if oracle_worst - cnn_worst <= 0:
        return None
    return (worst - cnn_worst) / (oracle_worst - cnn_worst)


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

    def stats(values, bounds=None):
        if any(v is None for v in values):
            return {"values": values, "mean": None, "low": None, "high": None}
        mean, low, high = evaluation.seed_interval(values, bounds=bounds)
        return {"values": [float(v) for v in values], "mean": mean, "low": low, "high": high}

    def shares(values):  # accuracies and shares: their intervals stay within 0-100%
        return stats(values, bounds=(0.0, 1.0))

    per_model = {}
    groups = sorted(runs[(seeds[0], models[0])]["groups"])
    for name in models:
        reports = [runs[(seed, name)] for seed in seeds]
        measures = {
            "accuracy": shares([r["accuracy"] for r in reports]),
            "worst_face": shares([r["worst_face_group_accuracy"] for r in reports]),
            "face_gap": shares([r["face_gap"] for r in reports]),
        }
        if "cnn" in models:
            cnn = [runs[(seed, "cnn")] for seed in seeds]
            gains = [r["worst_face_group_accuracy"] - c["worst_face_group_accuracy"] for r, c in zip(reports, cnn)]
            measures["worst_face_gain"] = stats(gains)
            measures["accuracy_change"] = stats([r["accuracy"] - c["accuracy"] for r, c in zip(reports, cnn)])
            measures["seeds_with_gain"] = sum(g > 0 for g in gains)
            if "oracle" in models:
                oracle = [runs[(seed, "oracle")] for seed in seeds]
                worst = [[r["worst_face_group_accuracy"] for r in rs] for rs in (reports, cnn, oracle)]
                measures["gap_closed"] = stats([gap_closed(*w) for w in zip(*worst)])
        recalls = [r.get("resampling_recall") for r in reports]
        if all(recalls):
            measures["rare_share_top"] = shares([r["any rare"]["top"] for r in recalls])
            measures["rare_share_data"] = shares([r["any rare"]["data"] for r in recalls])
            if all("effective_faces" in r for r in recalls):  # runs written before it was recorded have none
                measures["effective_faces"] = stats([r["effective_faces"] for r in recalls])
                measures["faces"] = recalls[0]["faces"]
        measures["groups"] = {g: shares([r["groups"][g]["accuracy"] for r in reports]) for g in groups}
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
        f"Mean over seeds {', '.join(map(str, summary['seeds']))} [95% interval]; accuracies in %.",
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
