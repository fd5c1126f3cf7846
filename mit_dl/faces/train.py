"""Lab 2 part 2: train the standard face CNN or the DB-VAE, measure per-group accuracy, export.

The DB-VAE's face draws follow its latent-density sampling probabilities,
recomputed from the current encoder after a warm-up and then every
``resample_every`` steps (the course computed them once, from an untrained
encoder). Both detectors train with ``training=True`` (BatchNorm updates).

``train`` writes a run directory: ``checkpoints/``, ``group_accuracy.png``, ``training_curves.png``
(and for the DB-VAE ``reconstructions.png``, ``sampling_extremes.png``,
``latent_traversal.png``), ``metrics.json``, ``settings.json``, the
SavedModel ``detector/`` with ``detect(images uint8)`` and, for the DB-VAE,
``decoder/`` with ``decode(z)``.

Example (a notebook)::

    from mit_dl.faces import FacesConfig, train
    metrics = train.train(FacesConfig.from_preset("quick", model="cnn"), "runs/faces-try")
"""

import keras

from mit_dl import plots
from mit_dl.export import export_savedmodel
from mit_dl.faces import bias, data, debias, figures
from mit_dl.faces.config import FacesConfig
from mit_dl.faces.endpoints import decoder_endpoint, face_detector_endpoint
from mit_dl.faces.model import build_model
from mit_dl.training import Run, Trainer


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
