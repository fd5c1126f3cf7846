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

import pathlib

import numpy as np
import tensorflow as tf

from mit_dl import plots, registry
from mit_dl.data import mnist
from mit_dl.errors import ConfigError, ExportError
from mit_dl.export import export_savedmodel, image_endpoint, load_savedmodel
from mit_dl.images import ImagesConfig
from mit_dl.training import Run, Trainer
from mit_dl.training.runs import read_settings, write_json
from mit_dl.vision import adversarial, attribution, data, features, figures, metrics
from mit_dl.vision.config import ATTACK_EPSILONS, VisionConfig
from mit_dl.vision.endpoints import image_explainer_endpoint
from mit_dl.vision.model import build_model, detections_of, predict_masks, unpadded
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


# What the CNN looks at: explain, attack and the features of a trained run.


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


def examples(config, count, with_masks=False):
    """Test images of a run with the class to explain in each, and the class names.

    An images run: its test images (with ``split_test``, the held-out ones), each with its true class.
    A segmentation run: its test scenes, each with the class of its topmost object (``1 + digit``).

    Args:
        config: the run's `ImagesConfig` or `VisionConfig`.
        count: how many.
        with_masks: also return the scenes' true masks (``None`` for an images run).

    Returns:
        ``(uint8 images [N, H, W], int32 classes [N], names of the model's classes)``, and the masks
        when ``with_masks``.
    """
    names = list(mnist.CLASS_NAMES[config.dataset])
    if isinstance(config, VisionConfig):
        scenes, _ = data.load_scenes(config.dataset, "test", count, config.seed, config.data)
        top = np.array([scenes.objects(i)[1][-1] for i in range(len(scenes))], np.int32)
        found = (scenes.images, 1 + top, ["background", *names])
        return (*found, scenes.masks) if with_masks else found
    images, labels, _ = mnist.load_arrays(config.dataset, "test", config.data)
    if config.split_test:
        _, (images, labels) = mnist.split_arrays(images, labels, config.split_test, seed=config.seed)
    found = (images[:count], labels[:count].astype(np.int32), names)
    return (*found, None) if with_masks else found


def explain(run_dir, methods=("saliency",), images=8, out_dir=None, layer=None, export_dir=None):
    """Attribution maps of a trained run's test images, their checks, one figure and (optionally) an export.

    Args:
        run_dir: an images run or a vision segmentation run.
        methods: a method of `attribution.METHODS`, or several (one column of the figure each).
        images: how many test images.
        out_dir: where ``explain-<methods>.png`` and ``.json`` go (default: the run directory).
        layer: Grad-CAM's layer name (default: the last convolution).
        export_dir: also write a SavedModel with ``explain(images uint8, classes) -> maps`` of the one
            method given there.

    Returns:
        ``{"classes", "predicted", "methods": {method: {"sanity", ...}}, "figure"}``; integrated gradients
        add ``completeness_gap`` (per image, relative).

    Raises:
        ConfigError: an unknown method, a layer without Grad-CAM, or an export of several methods or of
            Grad-CAM / occlusion.
    """
    methods = [methods] if isinstance(methods, str) else list(methods)
    for method in methods:
        if method not in attribution.METHODS:
            raise ConfigError("method", f"must be one of {', '.join(attribution.METHODS)}, received {method!r}")
    if layer is not None and "gradcam" not in methods:
        raise ConfigError("layer", f"is Grad-CAM's option; methods {', '.join(methods)} take none")
    if export_dir and len(methods) != 1:
        raise ConfigError("methods", f"must be one method for an export, received {', '.join(methods)}")
    model, config = trained_model(run_dir)
    pictures, classes, names, masks = examples(config, images, with_masks=True)
    report = {
        "classes": [names[c] for c in classes],
        "predicted": [names[c] for c in _predicted(model, pictures, classes, masks)],
        "methods": {},
    }
    maps = {}
    for method in methods:
        options = {"layer": layer} if method == "gradcam" else {}
        maps[method] = attribution.attribution_map(model, pictures, classes, method, **options)
        checks = {
            "sanity": attribution.sanity_check(model, pictures, classes, method, trained_maps=maps[method], **options)
        }
        if method == "ig":
            signed = attribution.integrated_gradients(model, pictures, classes)
            checks["completeness_gap"] = attribution.completeness_gap(model, pictures, classes, signed).tolist()
        report["methods"][method] = checks
    out_dir = pathlib.Path(out_dir or run_dir)
    stem = f"explain-{'-'.join(methods)}"
    rows = [f"{t} / {p}" for t, p in zip(report["classes"], report["predicted"])]
    title = f"what the {config.model} looks at (rows: true / predicted class)"
    report["figure"] = str(figures.attribution_grid(pictures, maps, out_dir / f"{stem}.png", rows, title))
    if export_dir:
        report["export"] = str(_export_explainer(model, config, methods[0], export_dir, names))
    write_json(out_dir / f"{stem}.json", report)
    return report


def _predicted(model, images, classes, masks=None):
    """A classifier's class of each image; a segmenter's, the class it gives most pixels of the explained object."""
    outputs = model(attribution.as_images(images), training=False).numpy()
    if outputs.ndim == 2:
        return outputs.argmax(-1)
    given = outputs.argmax(-1)
    return np.array(
        [np.bincount(g[m == c], minlength=outputs.shape[-1]).argmax() for g, m, c in zip(given, masks, classes)]
    )


def _export_explainer(model, config, method, export_dir, names):
    height, width, channels = model.inputs[0].shape[1:]
    endpoint = image_explainer_endpoint(attribution.map_function(model, method), height, width, channels, len(names))
    return export_savedmodel(
        model,
        export_dir,
        endpoints={"explain": endpoint},
        metadata={"kind": "explainer", "method": method, "dataset": config.dataset, "class_names": names},
    )


def attack(run_dirs, method="fgsm", epsilons=ATTACK_EPSILONS, images=1000, out_dir=None, steps=10):
    """Accuracy-vs-epsilon curves of trained classifiers on real test images, in one table and one figure.

    Args:
        run_dirs: images run directories (e.g. a standard CNN and a PGD-trained one).
        method: ``"fgsm"`` or ``"pgd"``.
        epsilons: radii in pixel units of 0-255.
        images: test images attacked (the first of the test split).
        out_dir: where ``attack-<method>.png`` and ``.json`` go (default: the first run directory).
        steps: PGD's steps.

    Returns:
        ``{"method", "images", "runs": {run: accuracy_curve}}``.

    Raises:
        ConfigError: an unknown method, a negative epsilon, or a segmentation run (attacks need a classifier).
    """
    options = {"steps": steps} if method == "pgd" else {}
    curves = {}
    for run_dir in run_dirs:
        model, config = trained_model(run_dir)
        if not isinstance(config, ImagesConfig):
            raise ConfigError("model", f"must be an images run for an attack; {run_dir} is a segmentation run")
        pictures, labels, _ = examples(config, images)
        curves[str(run_dir)] = adversarial.accuracy_curve(model, pictures, labels, epsilons, method, **options)
    out_dir = pathlib.Path(out_dir or run_dirs[0])
    series = {pathlib.Path(run).name: (c["epsilon"], c["accuracy"]) for run, c in curves.items()}
    figure = plots.curves(
        series,
        out_dir / f"attack-{method}.png",
        f"{method.upper()} on {len(pictures)} test images",
        "epsilon (pixel units of 0-255; 25.5 = 0.1)",
        "accuracy",
    )
    report = {"method": method, "images": len(pictures), "runs": curves, "figure": str(figure)}
    write_json(out_dir / f"attack-{method}.json", report)
    return report


def feature_figures(run_dir, out_dir=None, image=0):
    """The first layer's filters and every convolution's activations for one test image, as two PNG files.

    Args:
        run_dir: an images run or a vision segmentation run.
        out_dir: where ``filters.png`` and ``activations.png`` go (default: the run directory).
        image: which test image.

    Returns:
        ``{"filters": path, "activations": path}``.
    """
    model, config = trained_model(run_dir)
    pictures, _, _ = examples(config, image + 1)
    out_dir = pathlib.Path(out_dir or run_dir)
    filters = plots.image_mosaic(
        features.first_filters(model),
        out_dir / "filters.png",
        columns=12,
        title=f"first-layer filters of the {config.model}",
    )
    maps = features.activations(model, pictures[image])
    shown = 12
    rows = [m[:shown] for m in maps.values()]
    size = max(m.shape[1] for m in rows)
    tiles = [_padded(m, size) for row in rows for m in _filled(row, shown)]
    activations = plots.image_mosaic(
        np.stack(tiles),
        out_dir / "activations.png",
        columns=shown,
        row_titles=list(maps),
        title="activations, input to output (first 12 channels of each convolution)",
    )
    return {"filters": str(filters), "activations": str(activations)}


def _filled(maps, count):
    blank = np.zeros_like(maps[0])
    return list(maps) + [blank] * (count - len(maps))


def _padded(picture, size):
    """A map scaled up (nearest) to ``size`` pixels, so the rows of a mosaic share one tile size."""
    factor = max(1, size // picture.shape[0])
    grown = np.kron(picture, np.ones((factor, factor), picture.dtype))
    out = np.zeros((size, size), np.float32)
    out[: grown.shape[0], : grown.shape[1]] = grown[:size, :size]
    return out
