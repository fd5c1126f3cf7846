"""Lecture 5 lab: train a wrapped model, measure its uncertainty, plot and export it.

``train`` writes a run directory: ``checkpoints/``, ``logs/``,
``settings.json``, ``metrics.json``, the figures, and the SavedModel
``saved_model/``:

- regression: ``predict(x float32 [N, 1]) -> {prediction, epistemic, aleatoric}`` (variances in
  the targets' units, where the method defines them) and ``regression.png``;
- fashion_mnist: ``predict(images uint8 [N, 28, 28(, 1)]) -> {probabilities, entropy, ...}`` with
  the ``T`` passes or ``N`` members inside the signature, ``reliability.png`` (before and after
  temperature scaling) and ``ood_scores.png`` (Fashion-MNIST test vs MNIST test).

Example (a notebook)::

    from mit_dl.uncertainty import train
    from mit_dl.uncertainty.config import UncertaintyConfig
    metrics = train.train(UncertaintyConfig.from_preset("quick", method="mve", task="regression"), "runs/mve")
"""

import numpy as np
import tensorflow as tf

from mit_dl import evaluation
from mit_dl.data import mnist
from mit_dl.export import Endpoint, export_savedmodel, image_endpoint
from mit_dl.training import Run, Trainer
from mit_dl.uncertainty import data, figures
from mit_dl.uncertainty.config import UncertaintyConfig
from mit_dl.uncertainty.evaluate import (
    GRID,
    X_SCALE,
    checked_points,
    compiled_predictor,
    image_line,
    predict_images,
    regression_line,
    regression_predictor,
    regression_report,
    served_outputs,
    without_figure_data,
    write_image_figures,
)
from mit_dl.uncertainty.model import build_model
from mit_dl.uncertainty.scores import image_report


def train(config=None, out_dir="runs/uncertainty", export=True, log=print):
    """Train the config's wrapped model, measure, plot and export it (calling again resumes).

    Args:
        config: an `UncertaintyConfig` (default: MC dropout on Fashion-MNIST, the quick preset).
        out_dir: the run directory.
        export: also write ``saved_model/``.
        log: where progress lines go.

    Returns:
        The metrics written to ``metrics.json``.
    """
    config = config or UncertaintyConfig.from_preset("quick")
    if config.task == "regression":
        return _train_regression(config, out_dir, export, log)
    return _train_images(config, out_dir, export, log)


# ----------------------------------------------------------------------------------------------- regression
def _train_regression(config, out_dir, export, log):
    points = data.load_data(config)
    scale = float(points.y.std())  # targets are learned in units of their spread
    batches = data.regression_batches(points.x / X_SCALE, points.y / scale, config.batch_size_value, config.seed)
    log(f"data: {len(points.x)} points of y = x^3 + noise, x in [-4, 4] without the gap {data.GAP}")
    run = Run.start(out_dir, config, lab="uncertainty", derived={"target_scale": scale}, log=log)
    with run.scope():
        model = build_model(config, len(points.x), config.steps)
        trainer = Trainer(model, strategy=run.strategy, checkpoint_dir=run.checkpoints, log_dir=run.logs)
        history = trainer.fit(batches, steps=config.steps, steps_per_epoch=min(500, config.steps))
    predict = regression_predictor(model, scale)
    grid = np.linspace(*GRID, 481, dtype=np.float32)
    out = {k: v.numpy()[:, 0] for k, v in predict(grid[:, None]).items()}
    report = regression_report(grid, out)
    bands = {"prediction": out["prediction"]}
    bands.update({kind: np.sqrt(out[kind]) for kind in ("aleatoric", "epistemic") if kind in out})
    figures.uncertainty_bands(
        (points.x[:, 0], points.y[:, 0]),
        grid,
        bands,
        run.path / "regression.png",
        title=f"{config.method}: prediction ± 2σ",
        truth=grid**3,
        shaded=data.GAP,
        truth_std=data.noise_std(grid),
    )
    if export:
        endpoint = Endpoint(checked_points(predict), [tf.TensorSpec([None, 1], tf.float32, name="x")])
        export_savedmodel(
            model,
            run.path / "saved_model",
            endpoints={"predict": endpoint},
            metadata=run.export_metadata({"kind": "uncertainty regression", "method": config.method, **report}),
        )
    log(regression_line(config.method, report))
    return run.write_metrics({"history": history, "regression": report})


# ------------------------------------------------------------------------------------------- classification
def _train_images(config, out_dir, export, log):
    splits = data.load_data(config)
    train_x, train_y = (part[: config.image_count] for part in splits.train)
    log(
        f"data: {splits.source}: {len(train_x)} train / {len(splits.validation[0])} validation / "
        f"{len(splits.test[0])} test Fashion-MNIST, {len(splits.ood[0])} MNIST digits out of distribution"
    )
    run = Run.start(out_dir, config, lab="uncertainty", log=log)
    batch_size = config.batch_size_value
    steps = config.epochs * -(-len(train_x) // batch_size)
    with run.scope():
        model = build_model(config, len(train_x), steps)
        trainer = Trainer(model, strategy=run.strategy, checkpoint_dir=run.checkpoints, log_dir=run.logs)
        batches = mnist.to_dataset(train_x, train_y, batch_size, shuffle=True, seed=config.seed)
        history = trainer.fit(batches, epochs=config.epochs)
    serve, trackables = served_outputs(model, train_x)
    predict = compiled_predictor(serve)
    parts = {"validation": splits.validation, "test": splits.test, "ood": splits.ood}
    outputs = {name: predict_images(predict, images) for name, (images, _) in parts.items()}
    temperature = evaluation.fit_temperature(splits.validation[1], outputs["validation"]["probabilities"])
    report = image_report(outputs["test"], splits.test, outputs["ood"], splits.ood[0], temperature, config.resamples)
    report["method"] = config.method
    write_image_figures(report, run.path, f"{config.method} on Fashion-MNIST")
    if export:
        export_savedmodel(
            model,
            run.path / "saved_model",
            endpoints={"predict": image_endpoint(serve, 28, 28, 1, "predict")},
            extra_trackables=trackables,
            metadata=run.export_metadata(
                {
                    "kind": "uncertainty classifier",
                    "method": config.method,
                    "dataset": "fashion_mnist",
                    "class_names": mnist.CLASS_NAMES["fashion_mnist"],
                    "temperature": temperature,
                    "test_accuracy": report["calibration"]["accuracy"],
                }
            ),
        )
    log(image_line(report))
    return run.write_metrics({"source": splits.source, "history": history, **without_figure_data(report)})
