"""Train one of the lab's networks: test it, count it, plot its curves, export ``classify``.

``train`` writes a run directory: ``checkpoints/``, ``logs/``,
``training_curves.png``, ``confusion_matrix.png``, ``metrics.json`` (with the
network's parameters, multiply-adds and training time), ``settings.json`` and
the SavedModel ``saved_model/`` with
``classify(images uint8) -> {probabilities, class_ids}``, which loads
without mit_dl.

Example (a notebook)::

    from mit_dl.architectures import ArchitecturesConfig, train
    metrics = train.train(ArchitecturesConfig.from_preset("quick", model="resnet20"), "runs/resnet20")
"""

import time

import numpy as np
import tensorflow as tf

from mit_dl import evaluation, plots
from mit_dl.architectures import counting, data
from mit_dl.architectures.config import ArchitecturesConfig
from mit_dl.architectures.model import build_model
from mit_dl.export import export_savedmodel, image_classifier_endpoint
from mit_dl.training import Run, Trainer


def train(config=None, out_dir="runs/architectures", export=True, log=print):
    """Train the network of ``config``, test, count, plot and export it.

    Calling again with the same ``out_dir`` resumes the run.

    Args:
        config: an `ArchitecturesConfig` (default: the quick ResNet-20 on Fashion-MNIST).
        out_dir: the run directory.
        export: also write the ``saved_model/`` export.
        log: where progress lines go.

    Returns:
        The metrics written to ``metrics.json``.
    """
    config = config or ArchitecturesConfig.from_preset("quick")
    splits, source = data.load_data(config)  # a missing dataset fails before the run starts
    log(
        f"data: {config.dataset} from {source}: {len(splits['train'][0])} train / {len(splits['test'][0])} "
        f"{config.evaluated_on} images"
    )
    run = Run.start(out_dir, config, lab="architectures", log=log)
    started = time.perf_counter()
    with run.scope():
        model, history = _fit(config, splits, run)
    seconds = time.perf_counter() - started
    names = data.CLASS_NAMES[config.dataset]
    report = evaluation.classification_report(splits["test"][1], probabilities(model, splits["test"][0]), names)
    _plot(config, report, history, names, run)
    if export:
        _export(model, config, report, run)
    log(f"{config.evaluated_on} accuracy {100 * report['accuracy']:.2f}% ({config.model}, {seconds:.0f} s)")
    return run.write_metrics(
        {
            "source": source,
            "evaluated_on": config.evaluated_on,
            "train_images": len(splits["train"][0]),
            "parameters": counting.parameter_counts(model),
            "multiply_adds": counting.multiply_adds(model),
            "train_seconds": seconds,
            "history": history,
            "test": report,
        }
    )


def _fit(config, splits, run):
    """Build the network and train it; ``(model, history)``."""
    steps_per_epoch = -(-len(splits["train"][0]) // config.batch_size)
    model = build_model(config, splits["train"][0].shape[1:], steps_per_epoch)
    trainer = Trainer(
        model,
        loss=model.loss,
        metrics=["accuracy"],
        jit_compile=config.jit_compile,
        strategy=run.strategy,
        checkpoint_dir=run.checkpoints,
        log_dir=run.logs,
    )
    train_data, test_data = data.pipelines(config, splits)
    history = trainer.fit(
        train_data, epochs=config.epochs, validation_data=test_data, validation_name=config.evaluated_on
    )
    return model, history


def probabilities(model, images, batch_size=512):
    """Class probabilities of uint8 images.

    Args:
        model: a classifier returning logits.
        images: uint8 ``[N, H, W, C]``.
        batch_size: images per forward pass.

    Returns:
        ``[N, classes]`` probabilities.
    """
    batches = data.to_dataset(images, np.zeros(len(images), np.int32), batch_size)
    logits = np.concatenate([model(x, training=False).numpy() for x, _ in batches])
    return tf.nn.softmax(logits).numpy()


def _plot(config, report, history, names, run):
    """The run's training curves and confusion matrix."""
    title = f"{config.model} on {config.dataset}"
    plots.training_curves(history, run.path / "training_curves.png", title=title)
    plots.confusion_matrix(
        report["confusion_matrix"],
        names,
        run.path / "confusion_matrix.png",
        title=f"{title}: accuracy {100 * report['accuracy']:.2f}%",
    )


def _export(model, config, report, run):
    """Write ``saved_model/`` with ``classify(images uint8)`` and the run's metadata."""
    height, width, channels = data.SHAPES[config.dataset]
    export_savedmodel(
        model,
        run.path / "saved_model",
        endpoints={"classify": image_classifier_endpoint(model, height, width, channels)},
        metadata=run.export_metadata(
            {
                "kind": "architectures classifier",
                "network": config.model,
                "dataset": config.dataset,
                "class_names": data.CLASS_NAMES[config.dataset],
                f"{config.evaluated_on}_accuracy": report["accuracy"],
            }
        ),
    )
