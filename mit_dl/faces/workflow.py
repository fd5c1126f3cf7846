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
    metrics = workflow.train(FacesConfig.quick(model="cnn"), "runs/faces-try")
"""

import dataclasses
import pathlib

import keras
import numpy as np

from mit_dl import evaluation, plots
from mit_dl.errors import ConfigError, ExportError
from mit_dl.export import decoder_endpoint, export_savedmodel, face_detector_endpoint, load_savedmodel
from mit_dl.faces import bias, data, debias, figures, sources
from mit_dl.faces.config import MODELS, FacesConfig
from mit_dl.faces.model import face_detector
from mit_dl.training import Run, Trainer
from mit_dl.training.runs import write_json


def train(config=None, out_dir="runs/faces", export=True, log=print):
    """Train the detector of ``config``; write plots, metrics and exports.

    Calling again with the same ``out_dir`` resumes the run.

    Args:
        config: a `FacesConfig` (default `FacesConfig.full`).
        out_dir: the run directory.
        export: also write ``detector/`` (and the DB-VAE's ``decoder/``).
        log: where progress lines go.

    Returns:
        The metrics written to ``metrics.json`` (its ``"test"`` entry is the per-group report).
    """
    config = config or FacesConfig.full()
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
    plots.group_accuracy(
        {config.model: report}, run.path / "group_accuracy.png", title=f"{config.model} on {source}: per-group accuracy"
    )
    results = {"source": source, "augment": config.real_data, "cosine_decay": config.real_data, "test": report}
    if config.model == "dbvae":
        results["resampled_at_steps"] = resampling["resampled_at_steps"]
        results["latent"] = figures.dbvae_figures(model, train_data, test_data, resampling["probabilities"], run.path)
        if config.steps < FacesConfig.full().steps:
            log(
                f"the DB-VAE's reconstructions and latent traversal after {config.steps} steps are mostly blurs: "
                f"they need the full preset ({FacesConfig.full().steps} steps)"
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
        (empty for the CNN, whose draws stay uniform).
    """
    if run is None:  # a run seeds when it starts; without one, seed here
        keras.utils.set_random_seed(config.seed)
    batches, probabilities = data.training_batches(config, train_data)
    model = face_detector(config)
    # The batches read the probabilities variable, so the iterator cannot be
    # checkpointed; a resumed run skips the consumed batches instead.
    common = {
        "checkpoint_dir": run.checkpoints if run else None,
        "strategy": run.strategy if run else None,
        "verbose": False,
        "checkpoint_data": False,
    }
    steps_per_epoch = min(config.steps, config.steps_per_epoch)
    if config.model == "cnn":
        history = Trainer(model, **common).fit(
            data.as_detector_labels(batches), steps=config.steps, steps_per_epoch=steps_per_epoch
        )
        return model, history, {}
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


def compare(config=None, seeds=(0, 1, 2), out_dir="runs/faces-compare", log=print):
    """Train the CNN and the DB-VAE of ``config`` on the same data for each seed; write the table and the plot.

    Args:
        config: a `FacesConfig` (its ``model`` is replaced by each in turn).
        seeds: the seeds.
        out_dir: where the runs (``seed-S/cnn``, ``seed-S/dbvae``), ``comparison.md`` / ``.json``
            and ``group_accuracy.png`` go.
        log: where progress lines go.

    Returns:
        The summary written to ``comparison.json``.

    Raises:
        ConfigError: no seeds.
    """
    config = config or FacesConfig.full()
    if not seeds:
        raise ConfigError("seeds", "needs at least one seed")
    out = pathlib.Path(out_dir)
    runs = {}
    for seed in seeds:
        for model_name in MODELS:
            log(f"seed {seed}: training {model_name}")
            run_config = dataclasses.replace(config, model=model_name, seed=seed)
            runs[(seed, model_name)] = train(run_config, out / f"seed-{seed}" / model_name, log=log)["test"]
    rows = [_row(seed, runs[(seed, "cnn")], runs[(seed, "dbvae")]) for seed in seeds]
    mean = {key: float(np.mean([row[key] for row in rows])) for key in rows[0] if key != "seed"}
    summary = {
        "data": config.data,
        "preset": config.preset,
        "steps": config.steps,
        "combine": config.combine,
        "precision": config.precision,
        "seeds": list(seeds),
        "per_seed": rows,
        "mean": mean,
        "mean_group_accuracy": {m: _mean_groups([runs[(s, m)] for s in seeds]) for m in MODELS},
    }
    write_json(out / "comparison.json", summary)
    (out / "comparison.md").write_text(comparison_table(summary))
    plots.group_accuracy(
        {"standard CNN": runs[(seeds[0], "cnn")], "DB-VAE": runs[(seeds[0], "dbvae")]},
        out / "group_accuracy.png",
        title=f"Per-group test accuracy, seed {seeds[0]}",
    )
    log(comparison_table(summary))
    return summary


def _row(seed, cnn, dbvae):
    return {
        "seed": seed,
        "cnn_accuracy": cnn["accuracy"],
        "dbvae_accuracy": dbvae["accuracy"],
        "cnn_worst_face": cnn["worst_face_group_accuracy"],
        "dbvae_worst_face": dbvae["worst_face_group_accuracy"],
        "worst_face_gain": dbvae["worst_face_group_accuracy"] - cnn["worst_face_group_accuracy"],
        "accuracy_change": dbvae["accuracy"] - cnn["accuracy"],
    }


def _mean_groups(reports):
    return {name: float(np.mean([r["groups"][name]["accuracy"] for r in reports])) for name in reports[0]["groups"]}


def comparison_table(summary):
    """Markdown table: overall and worst-face-group accuracy per seed and their mean.

    Args:
        summary: `compare`'s summary.

    Returns:
        The table's text.
    """
    lines = [
        "| seed | CNN overall | DB-VAE overall | change | CNN worst face group | DB-VAE worst face group | gain |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in summary["per_seed"] + [{"seed": "mean", **summary["mean"]}]:
        lines.append(
            f"| {row['seed']} | {100 * row['cnn_accuracy']:.1f}% | {100 * row['dbvae_accuracy']:.1f}% | "
            f"{100 * row['accuracy_change']:+.1f} | {100 * row['cnn_worst_face']:.1f}% | "
            f"{100 * row['dbvae_worst_face']:.1f}% | {100 * row['worst_face_gain']:+.1f} |"
        )
    return "\n".join(lines) + "\n"
