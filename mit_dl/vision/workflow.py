"""The vision lab end to end: train a segmenter or a detector on composed scenes, evaluate, plot and export it.

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

    from mit_dl.vision import VisionConfig, workflow
    metrics = workflow.train(VisionConfig(model="fcn", steps=300), "runs/fcn-try")
"""

import numpy as np
import tensorflow as tf

from mit_dl import plots
from mit_dl.data import mnist
from mit_dl.errors import ExportError
from mit_dl.export import export_savedmodel, image_endpoint, load_savedmodel
from mit_dl.images.model import optimizer
from mit_dl.training import Run, Trainer
from mit_dl.vision import data, metrics
from mit_dl.vision.config import VisionConfig
from mit_dl.vision.model import CenterDetector, detections_of, predict_masks, segmenter, unpadded
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
    train_scenes, test_scenes, sources = data.config_scenes(config)  # missing images fail before the run starts
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
    log(f"test scenes: {_summary(report)}")
    return run.write_metrics({"sources": sources, "history": history, "test": report})


def _fit_segmenter(config, run, train_scenes, test_scenes):
    model = segmenter(config)
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
    model = CenterDetector(width=config.width)
    settings = {"optimizer": "Adam", "learning_rate": config.learning_rate, "schedule": "cosine"}
    model.compile(optimizer=optimizer(settings, config.steps))
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
    plots.segmentation_grid(
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
    plots.detection_grid(
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


def _summary(report):
    if "miou" in report:
        return (
            f"mIoU {report['miou']:.3f} (objects only {report['miou_objects']:.3f}; background everywhere "
            f"{report['constant_miou']:.3f}), pixel accuracy {100 * report['pixel_accuracy']:.1f}%; objects found "
            f"(IoU of any object against the background) {report['object_iou']:.3f}, their pixels given the right "
            f"class {100 * report['object_class_accuracy']:.1f}%"
        )
    return (
        f"mAP@0.5 {report['map_50']:.3f}, mAP@[0.5:0.95] {report['map']:.3f} "
        f"({report['detections']} detections of {report['objects']} objects)"
    )


def evaluate_export(model_dir, dataset=None, scenes=1000, seed=0, data_dir=None):
    """An exported segmenter's mIoU or detector's mAP on test scenes, through its signature.

    Args:
        model_dir: the export's folder (``<run>/saved_model``).
        dataset: whose test scenes (default: the one its metadata names).
        scenes: how many test scenes.
        seed: the scenes' seed (the run's seed gives the scenes it was tested on).
        data_dir: a folder searched first for the source images.

    Returns:
        ``{"dataset", "source", "task", **the task's report}``.

    Raises:
        ExportError: the folder is neither a scene-segmenter nor a scene-detector export.
    """
    served, metadata = load_savedmodel(model_dir)
    task = "segmentation" if hasattr(served, "segment") else "detection" if hasattr(served, "detect") else None
    if task is None:
        raise ExportError(
            f"{model_dir} is not a scene-segmenter or scene-detector export (it has neither a `segment` nor a "
            "`detect` signature); pass the saved_model folder a vision run exported (<run>/saved_model)."
        )
    dataset = dataset or metadata.get("dataset", "mnist")
    names = mnist.CLASS_NAMES[dataset]
    test, source = data.load_scenes(dataset, "test", scenes, seed, data_dir)
    batches = [test.images[i : i + 64] for i in range(0, len(test), 64)]
    if task == "segmentation":
        predicted = np.concatenate([served.segment(batch)["masks"].numpy() for batch in batches])
        report = metrics.segmentation_report(test.masks, predicted, names)
    else:
        found = [scene for batch in batches for scene in unpadded(served.detect(batch))]
        report = metrics.detection_report(found, [test.objects(i) for i in range(len(test))], names)
    return {"dataset": dataset, "source": source, "task": task, "summary": _summary(report), **report}
