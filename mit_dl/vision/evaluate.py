"""The vision lab: measure an exported segmenter or detector on test scenes; rebuild a run's trained model.



Example (a notebook)::

    from mit_dl.vision import evaluate
    metrics = evaluate.evaluate_export("runs/fcn-try/saved_model")
"""

import pathlib

import numpy as np

from mit_dl import registry
from mit_dl.data import mnist
from mit_dl.errors import ExportError
from mit_dl.export import load_savedmodel
from mit_dl.training import Trainer
from mit_dl.training.runs import read_settings
from mit_dl.vision import data, metrics
from mit_dl.vision.model import unpadded


def summary(report):
    """One line of a segmentation (mIoU, pixel accuracy) or detection (mAP) report.

    Args:
        report: a segmenter's or a detector's test report.

    Returns:
        The line.
    """
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
    return {"dataset": dataset, "source": source, "task": task, "summary": summary(report), **report}


def trained_model(run_dir):
    """The trained model of an images run (a classifier) or a vision segmentation run, from its checkpoint.

    Args:
        run_dir: the run directory its train command wrote.

    Returns:
        ``(model, config)``: the Keras model (float images in [0, 1] -> logits) and the run's config.

    Raises:
        ExportError: the folder is not such a run (another lab's, or a detector's).
        FileNotFoundError: the run holds no checkpoint yet.
    """
    lab_name, values = read_settings(run_dir)
    lab = next((lab for lab in registry.labs() if lab.name == lab_name), None)
    if lab is None or lab.rebuild is None:
        raise ExportError(
            f"{run_dir} is a {lab_name} run; pass an images run directory (a classifier) or a vision segmentation run."
        )
    model, config = registry.resolve(lab.rebuild)(run_dir, values)
    Trainer(model, checkpoint_dir=pathlib.Path(run_dir) / "checkpoints", verbose=False).restore()
    return model, config
