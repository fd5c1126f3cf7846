"""Lab 2 part 1: train, evaluate, plot and export a digit / clothing classifier.

``train`` writes a run directory: ``checkpoints/``, ``logs/``,
``predictions.png``, ``confusion_matrix.png``, ``training_curves.png``,
``metrics.json``, ``settings.json`` and the SavedModel ``saved_model/``
with ``classify(images uint8) -> {probabilities, class_ids}``.

Example (a notebook)::

    from mit_dl.images import ImagesConfig, train
    metrics = train.train(ImagesConfig(model="dense", epochs=1), "runs/dense-try")
"""

import numpy as np

from mit_dl import evaluation, plots
from mit_dl.data import mnist
from mit_dl.export import export_savedmodel, image_classifier_endpoint
from mit_dl.images import data, figures
from mit_dl.images.config import ImagesConfig
from mit_dl.images.model import build_model, predict_probabilities
from mit_dl.training import Run, Trainer
from mit_dl.training.adversarial import pgd_training_step


def train(config=None, out_dir="runs/images", export=True, log=print):
    """Train the classifier of ``config``, evaluate, plot and export it.

    Calling again with the same ``out_dir`` resumes the run. With
    ``validation=k`` the reported figures are those of the ``k`` held-out
    training images, named ``validation``; otherwise the test set's.

    Args:
        config: an `ImagesConfig` (default: the course's CNN on Fashion-MNIST).
        out_dir: the run directory.
        export: also write the ``saved_model/`` export.
        log: where progress lines go.

    Returns:
        The metrics written to ``metrics.json``.
    """
    config = config or ImagesConfig()
    train_split, test_split, source = data.load_data(config)  # a missing dataset fails before the run starts
    log(
        f"data: {config.dataset} from {source}: {len(train_split[0])} train / {len(test_split[0])} "
        f"{config.evaluated_on} images"
    )
    run = Run.start(out_dir, config, lab="images", log=log)
    with run.scope():
        model = build_model(config, total_steps=config.epochs * -(-len(train_split[0]) // config.batch_size))
        trainer = Trainer(
            model,
            loss=model.loss,
            metrics=["accuracy"],
            train_step=_adversarial_step(model, config),
            strategy=run.strategy,
            checkpoint_dir=run.checkpoints,
            log_dir=run.logs,
        )
        train_data, test_data = data.pipelines(config, train_split, test_split)
        history = trainer.fit(
            train_data, epochs=config.epochs, validation_data=test_data, validation_name=config.evaluated_on
        )
    report = _evaluate_and_plot(model, test_split, history, run)
    if export:
        _export(model, config, report, run)
    low, high = report["accuracy_95ci"]
    log(f"{config.evaluated_on} accuracy {100 * report['accuracy']:.2f}% (95% CI {100 * low:.2f}-{100 * high:.2f})")
    return run.write_metrics(
        {
            "source": source,
            "evaluated_on": config.evaluated_on,
            "recipe_settings": config.optimizer_settings(),
            "history": history,
            "test": report,
        }
    )


def _export(model, config, report, run):
    """Write ``saved_model/`` with ``classify(images uint8)`` and the run's metadata."""
    export_savedmodel(
        model,
        run.path / "saved_model",
        endpoints={"classify": image_classifier_endpoint(model, 28, 28, 1)},
        metadata=run.export_metadata(
            {
                "kind": "image classifier",
                "dataset": config.dataset,
                "class_names": mnist.CLASS_NAMES[config.dataset],
                f"{config.evaluated_on}_accuracy": report["accuracy"],
            }
        ),
    )


def _adversarial_step(model, config):
    """None (the Trainer's default step), or the PGD adversarial-training step ``adversarial_epsilon`` asks for."""
    if not config.adversarial_epsilon:
        return None
    model.optimizer.build(model.trainable_variables)  # a custom step's optimizer is built before a restore
    return pgd_training_step(model, config.adversarial_epsilon, config.adversarial_steps, config.seed)


def _evaluate_and_plot(model, test_split, history, run):
    """The classification report of the evaluated split, and the run's three figures."""
    config, (test_x, test_y) = run.config, test_split
    names = mnist.CLASS_NAMES[config.dataset]
    probabilities = predict_probabilities(model, test_x)
    report = evaluation.classification_report(test_y, probabilities, names)
    wrong = np.flatnonzero(probabilities.argmax(1) != test_y)[:6]
    shown = np.concatenate([np.arange(min(18, len(test_x))), wrong])  # first images, then mistakes
    figures.prediction_grid(test_x[shown], probabilities[shown], test_y[shown], names, run.path / "predictions.png")
    plots.confusion_matrix(
        report["confusion_matrix"],
        names,
        run.path / "confusion_matrix.png",
        title=f"{config.model} on {config.dataset}: accuracy {100 * report['accuracy']:.2f}%",
    )
    plots.training_curves(history, run.path / "training_curves.png", title=f"{config.model} on {config.dataset}")
    return report
