"""Lecture 1 lab: train one classifier with the lab's own optimizer, initialisation and normalisation; test; export.

``train`` writes a run directory: ``checkpoints/``, ``logs/``, ``training_curves.png``,
``metrics.json``, ``settings.json`` and (unless ``export=False``) the SavedModel
``saved_model/`` with ``classify(images uint8) -> {probabilities, class_ids}``, which loads
without mit_dl (the lab's optimizer and layers are not needed to serve it).

Examples (a notebook)::

    from mit_dl.foundations import FoundationsConfig, train
    metrics = train.train(FoundationsConfig(optimizer="momentum", norm="batch"), "runs/momentum-bn")
"""

import keras

from mit_dl import evaluation, plots
from mit_dl.data import mnist
from mit_dl.export import export_savedmodel, image_classifier_endpoint
from mit_dl.foundations import data
from mit_dl.foundations.config import FoundationsConfig
from mit_dl.foundations.model import build_classifier, build_optimizer
from mit_dl.images import predict_probabilities
from mit_dl.training import Run, Trainer
from mit_dl.training.callbacks import EarlyStopping


def train(config=None, out_dir="runs/foundations", export=True, log=print):
    """Train the classifier of ``config``, test it, plot its curves and export it.

    Calling again with the same ``out_dir`` resumes the run.

    Args:
        config: a `FoundationsConfig` (default: the quick MLP with Adam).
        out_dir: the run directory.
        export: also write the ``saved_model/`` export.
        log: where progress lines go.

    Returns:
        The metrics written to ``metrics.json``.
    """
    config = config or FoundationsConfig()
    splits, source = data.load_data(config)  # a missing dataset fails before the run starts
    log(
        f"data: Fashion-MNIST from {source}: {len(splits['train'][0])} train / {len(splits['validation'][0])} "
        f"validation / {len(splits['test'][0])} test images"
    )
    run = Run.start(out_dir, config, lab="foundations", log=log)
    with run.scope():
        model, history, stopper = _fit(config, splits, run, log)
    report = evaluation.classification_report(
        splits["test"][1], predict_probabilities(model, splits["test"][0]), mnist.CLASS_NAMES[data.DATASET]
    )
    plots.training_curves(history, run.path / "training_curves.png", title=_title(config))
    if export:
        _export(model, report, run)
    log(f"test accuracy {100 * report['accuracy']:.2f}% after {len(history.get('loss', []))} epochs")
    return run.write_metrics(
        {
            "source": source,
            "train_images": len(splits["train"][0]),
            "history": history,
            "best_epoch": None if stopper is None or stopper.best_epoch is None else stopper.best_epoch + 1,
            "validation_accuracy": _last(history, "validation_accuracy"),
            "test": report,
        }
    )


def _fit(config, splits, run, log):
    """Build, train with early stopping when asked; ``(model, history, early stopper or None)``."""
    model = build_classifier(config)
    stopper = EarlyStopping("validation_loss", patience=config.patience) if config.patience else None
    trainer = Trainer(
        model,
        build_optimizer(config),
        keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
        strategy=run.strategy,
        checkpoint_dir=run.checkpoints,
        log_dir=run.logs,
        verbose="auto" if log is print else False,
    )
    pipelines = data.pipelines(config, splits)
    history = trainer.fit(
        pipelines["train"],
        epochs=config.epochs,
        validation_data=pipelines["validation"],
        validation_name="validation",
        callbacks=[stopper] if stopper else (),
    )
    return model, history, stopper


def _last(history, name):
    values = history.get(name) or [None]
    return values[-1]


def _title(config):
    """``"mlp 2x128 relu, adam 0.001, init he, norm none"`` and the regularisers in use."""
    network = "CNN" if config.model == "cnn" else f"MLP {config.depth}x{config.width} {config.activation}"
    parts = [network, f"{config.optimizer} {config.rate():g}", f"init {config.init}", f"norm {config.norm}"]
    extras = {"l2": config.l2, "decay": config.decay(), "dropout": config.dropout}
    parts += [f"{name} {value:g}" for name, value in extras.items() if value]
    return ", ".join(parts + (["augmented"] if config.augment else []))


def _export(model, report, run):
    """Write ``saved_model/`` with ``classify(images uint8)`` and the run's metadata."""
    export_savedmodel(
        model,
        run.path / "saved_model",
        endpoints={"classify": image_classifier_endpoint(model, 28, 28, 1)},
        metadata=run.export_metadata(
            {
                "kind": "foundations classifier",
                "dataset": data.DATASET,
                "class_names": mnist.CLASS_NAMES[data.DATASET],
                "test_accuracy": report["accuracy"],
            }
        ),
    )
