"""The vision lab end to end: train a segmentation network on composed scenes, evaluate, plot and export it.

``train`` writes a run directory: ``checkpoints/``, ``logs/``,
``segmentation.png`` (test scenes, true and predicted masks),
``training_curves.png``, ``metrics.json``, ``settings.json`` and the
SavedModel ``saved_model/`` with ``segment(images uint8 [N, 128, 128]) ->
{"masks": uint8 [N, 128, 128]}`` (0 the background, ``1 + k`` class ``k``).

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
from mit_dl.training import Run, Trainer
from mit_dl.vision import data, metrics
from mit_dl.vision.config import VisionConfig
from mit_dl.vision.model import predict_masks, segmenter
from mit_dl.vision.scenes import CANVAS_SIZE

SHOWN_SCENES = 6


def train(config=None, out_dir="runs/vision", export=True, log=print):
    """Train the segmentation network of ``config`` on its scenes, evaluate, plot and export it.

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
    with run.scope():
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
    names = mnist.CLASS_NAMES[config.dataset]
    predicted = predict_masks(model, test_scenes.images)
    report = metrics.segmentation_report(test_scenes.masks, predicted, names)
    _figures(run, test_scenes, predicted, history, report)
    if export:
        _export(model, run, names, report)
    log(
        f"test scenes: mIoU {report['miou']:.3f} (objects only {report['miou_objects']:.3f}; background everywhere "
        f"{report['constant_miou']:.3f}), pixel accuracy {100 * report['pixel_accuracy']:.1f}%"
    )
    return run.write_metrics({"sources": sources, "history": history, "test": report})


def _figures(run, scenes, predicted, history, report):
    config, shown = run.config, slice(0, min(SHOWN_SCENES, len(scenes)))
    plots.segmentation_grid(
        scenes.images[shown],
        scenes.masks[shown],
        predicted[shown],
        run.path / "segmentation.png",
        mnist.CLASS_NAMES[config.dataset],
        title=f"{config.model} on {config.dataset} scenes: test mIoU {report['miou']:.3f}",
    )
    plots.training_curves(history, run.path / "training_curves.png", title=f"{config.model} on {config.dataset} scenes")


def _export(model, run, names, report):
    def segment(images):
        logits = model(images, training=False)
        return {"masks": tf.cast(tf.argmax(logits, axis=-1), tf.uint8)}

    export_savedmodel(
        model,
        run.path / "saved_model",
        endpoints={"segment": image_endpoint(segment, CANVAS_SIZE, CANVAS_SIZE, 1, "segment")},
        metadata=run.export_metadata(
            {
                "kind": "scene segmenter",
                "dataset": run.config.dataset,
                "class_names": names,
                "test_miou": report["miou"],
            }
        ),
    )


def evaluate_export(model_dir, dataset=None, scenes=1000, seed=0, data_dir=None):
    """mIoU of an exported segmenter on test scenes, through its ``segment`` signature.

    Args:
        model_dir: the export's folder (``<run>/saved_model``).
        dataset: whose test scenes (default: the one its metadata names).
        scenes: how many test scenes.
        seed: the scenes' seed (the run's seed gives the scenes it was tested on).
        data_dir: a folder searched first for the source images.

    Returns:
        ``{"dataset", "source", **segmentation_report}``.

    Raises:
        ExportError: the folder is not a scene-segmenter export.
    """
    served, metadata = load_savedmodel(model_dir)
    if not hasattr(served, "segment"):
        raise ExportError(
            f"{model_dir} is not a scene-segmenter export (it has no `segment` signature); pass "
            "the saved_model folder a vision segmentation run exported (<run>/saved_model)."
        )
    dataset = dataset or metadata.get("dataset", "mnist")
    test, source = data.load_scenes(dataset, "test", scenes, seed, data_dir)
    predicted = [served.segment(test.images[i : i + 64])["masks"].numpy() for i in range(0, len(test), 64)]
    report = metrics.segmentation_report(test.masks, np.concatenate(predicted), mnist.CLASS_NAMES[dataset])
    return {"dataset": dataset, "source": source, **report}
