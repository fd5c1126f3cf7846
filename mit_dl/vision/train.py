"""The vision lab: train a segmenter or a detector on composed scenes, evaluate, plot and export it.

``train`` writes a run directory: ``checkpoints/``, ``logs/``,
``training_curves.png``, ``metrics.json``, ``settings.json``, a figure of
test scenes (``segmentation.png``: true and predicted masks;
``detection.png``: true and predicted boxes) and the SavedModel
``saved_model/`` with

- ``segment(images uint8 [N, 128, 128]) -> {"masks": uint8 [N, 128, 128]}``
  (0 the background, ``1 + k`` class ``k``), or
- ``detect(images uint8 [N, 128, 128]) -> {"boxes": [N, 100, 4], "classes",
  "scores", "count": [N]}`` (boxes ``(y_min, x_min, y_max, x_max)`` in
  pixels, best first, padded past ``count``; NMS inside).

Example (a notebook)::

    from mit_dl.vision import VisionConfig, train
    metrics = train.train(VisionConfig(model="fcn", steps=300), "runs/fcn-try")
"""

import tensorflow as tf

from mit_dl import plots
from mit_dl.data import mnist
from mit_dl.export import export_savedmodel, image_endpoint
from mit_dl.training import Run, Trainer
from mit_dl.vision import data, figures, metrics
from mit_dl.vision.config import VisionConfig
from mit_dl.vision.evaluate import summary
from mit_dl.vision.model import build_model, detections_of, predict_masks
from mit_dl.vision.scenes import CANVAS_SIZE

SHOWN_SCENES = 6

KINDS = {"segmentation": "scene segmenter", "detection": "scene detector"}


def train(config=None, out_dir="runs/vision", export=True, log=print):
    """Train the segmenter or detector of ``config`` on its scenes, evaluate, plot and export it.

    Calling again with the same ``out_dir`` resumes the run.

    Args:
        config: a `VisionConfig` (default: the ``quick`` U-Net on MNIST scenes).
        out_dir: the run directory.
        export: also write the ``saved_model/`` export.
        log: where progress lines go.

    Returns:
        The metrics written to ``metrics.json``.
    """
    config = config or VisionConfig()
    train_scenes, test_scenes, sources = data.load_data(config)  # missing images fail before the run starts
    log(f"scenes: {len(train_scenes)} for training from {sources['train']}; {len(test_scenes)} for testing")
    run = Run.start(out_dir, config, lab="vision", log=log)
    names = mnist.CLASS_NAMES[config.dataset]
    fit, evaluate = (
        (_fit_segmenter, _evaluate_segmenter) if config.task == "segmentation" else (_fit_detector, _evaluate_detector)
    )
    with run.scope():
        model, history = fit(config, run, train_scenes, test_scenes)
    report, endpoint = evaluate(model, run, test_scenes, history, names)
    if export:
        export_savedmodel(
            model,
            run.path / "saved_model",
            endpoints={endpoint.__name__: image_endpoint(endpoint, CANVAS_SIZE, CANVAS_SIZE, 1, endpoint.__name__)},
            metadata=run.export_metadata(
                {"kind": KINDS[config.task], "dataset": config.dataset, "class_names": names, "test": _headline(report)}
            ),
        )
    log(f"test scenes: {summary(report)}")
    return run.write_metrics({"sources": sources, "history": history, "test": report})


def _fit_segmenter(config, run, train_scenes, test_scenes):
    model = build_model(config)
    trainer = Trainer(
        model, metrics=["accuracy"], strategy=run.strategy, checkpoint_dir=run.checkpoints, log_dir=run.logs
    )
    history = trainer.fit(
        data.segmentation_dataset(train_scenes, config.batch_size, shuffle=True, seed=config.seed),
        steps=config.steps,
        steps_per_epoch=min(config.eval_every, config.steps),
        validation_data=data.segmentation_dataset(test_scenes, 64),
        validation_name="test",
    )
    return model, history


def _fit_detector(config, run, train_scenes, test_scenes):
    model = build_model(config)
    trainer = Trainer(model, strategy=run.strategy, checkpoint_dir=run.checkpoints, log_dir=run.logs)
    history = trainer.fit(
        data.detection_dataset(train_scenes, config.batch_size, shuffle=True, seed=config.seed),
        steps=config.steps,
        steps_per_epoch=min(config.eval_every, config.steps),
    )
    return model, history


def _evaluate_segmenter(model, run, scenes, history, names):
    predicted = predict_masks(model, scenes.images)
    report = metrics.segmentation_report(scenes.masks, predicted, names)
    shown = slice(0, min(SHOWN_SCENES, len(scenes)))
    figures.segmentation_grid(
        scenes.images[shown],
        scenes.masks[shown],
        predicted[shown],
        run.path / "segmentation.png",
        names,
        title=f"{run.config.model} on {run.config.dataset} scenes: test mIoU {report['miou']:.3f}",
    )
    _curves(run, history)

    def segment(images):
        return {"masks": tf.cast(tf.argmax(model(images, training=False), axis=-1), tf.uint8)}

    return report, segment


def _evaluate_detector(model, run, scenes, history, names):
    found = detections_of(model, scenes.images)
    report = metrics.detection_report(found, [scenes.objects(i) for i in range(len(scenes))], names)
    shown = range(min(SHOWN_SCENES, len(scenes)))
    figures.detection_grid(
        scenes.images[: len(shown)],
        found[: len(shown)],
        [scenes.objects(i) for i in shown],
        run.path / "detection.png",
        names,
        title=f"detector on {run.config.dataset} scenes: test mAP@0.5 {report['map_50']:.3f}",
    )
    _curves(run, history)

    def detect(images):
        return model.detect(images)

    return report, detect


def _curves(run, history):
    config = run.config
    plots.training_curves(history, run.path / "training_curves.png", title=f"{config.model} on {config.dataset} scenes")


def _headline(report):
    keys = ("miou", "miou_objects", "map_50", "map")
    return {key: report[key] for key in keys if key in report}
