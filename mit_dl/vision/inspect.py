"""The vision lab: look inside a trained classifier: attribution maps, adversarial attacks, learned features.



Example (a notebook)::

    from mit_dl.vision import inspect
    inspect.explain("runs/cnn-try", "runs/cnn-try/explain")
"""

import pathlib

import numpy as np

from mit_dl import plots
from mit_dl.data import mnist
from mit_dl.errors import ConfigError
from mit_dl.export import export_savedmodel
from mit_dl.images import ImagesConfig
from mit_dl.training.runs import write_json
from mit_dl.vision import adversarial, attribution, data, features, figures
from mit_dl.vision.config import ATTACK_EPSILONS, VisionConfig
from mit_dl.vision.endpoints import image_explainer_endpoint
from mit_dl.vision.evaluate import trained_model


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
