"""Lecture 4 lab: score a generator's samples (FD, MIG, latent usage) and draw from its export.



Example (a notebook)::

    from mit_dl.generative import evaluate
    metrics = evaluate.evaluate_export("runs/dcgan-try/generator")
"""

import json
import pathlib

import numpy as np

from mit_dl import plots
from mit_dl.errors import ConfigError, ExportError
from mit_dl.export import load_savedmodel
from mit_dl.generative import data as data_lib
from mit_dl.generative import metrics, quality
from mit_dl.generative.config import GenerativeConfig
from mit_dl.generative.sampling import ExportSampler
from mit_dl.training.runs import write_json


def encode_all(model, images, labels=None, batch=1000):
    """Latent means and log-variances of uint8 images, in batches.

    Args:
        model: a `VAE`.
        images: uint8 ``[N, H, W, C]``.
        labels: class ids (conditional VAE).
        batch: images per call.

    Returns:
        ``(mean [N, D], log_variance [N, D])`` as NumPy arrays.
    """
    means, log_variances = [], []
    for start in range(0, len(images), batch):
        x = images[start : start + batch].astype(np.float32) / 255.0
        y = labels[start : start + batch] if model.conditional else None
        mean, log_variance = model.encode(x, y)
        means.append(mean.numpy())
        log_variances.append(log_variance.numpy())
    return np.concatenate(means), np.concatenate(log_variances)


def latent_usage(model, data, count=2000):
    """Mean KL of each latent dimension on held-out images: how much information it carries.

    Args:
        model: a `VAE`.
        data: a `GenerativeData`.
        count: held-out images used.

    Returns:
        ``[D]`` nats.
    """
    mean, log_variance = encode_all(model, data.test_images[:count], data.test_labels[:count])
    return (0.5 * (np.exp(log_variance) + mean**2 - 1.0 - log_variance)).mean(0)


def score(sampler, config, data, model=None, log=print):
    """Sample quality against the references, mode collapse, and (VAEs on sprites) disentanglement.

    Args:
        sampler: a `Sampler` or `ExportSampler`.
        config: a `GenerativeConfig` (``model``, ``dataset``, ``evaluation_count``, ``seed``).
        data: the `GenerativeData` (its full training set trains the feature classifier).
        model: the trained model in this process (VAEs: its encoder gives the MIG), or ``None``.
        log: where progress lines go.

    Returns:
        ``{"classifier", "quality", "references", "mode_collapse"}`` and ``"disentanglement"`` for VAEs on sprites.
    """
    classifier, info = quality.feature_classifier(config.dataset, data, log=log)
    space = quality.FeatureSpace(classifier)
    count = min(config.evaluation_count, len(data.test_images))
    real = data.test_images[:count]
    real_features, _ = space.embed(real)
    requested = (np.arange(count) % data.num_classes).astype(np.int32) if config.conditional else None
    samples, _ = sampler.images(count, seed=config.seed, labels=requested)
    report = quality.quality_report(space, samples, real, data.num_classes, requested, real_features)
    out = {
        "classifier": info,
        "quality": report,
        "references": cached_references(space, data, count, info, real_features),
        "mode_collapse": quality.mode_collapse(report, data.class_names),
    }
    if model is not None and config.is_vae and data.test_factors is not None:
        mean, _ = encode_all(model, data.test_images, data.test_labels)
        out["disentanglement"] = metrics.mutual_information_gap(data.test_factors, mean)
    return out


def cached_references(space, data, count, info, real_features):
    """`quality.reference_reports`, kept beside the feature classifier (they depend on it and the data only).

    Args:
        space: the `FeatureSpace`.
        data: the `GenerativeData`.
        count: images per set.
        info: the classifier's info (its ``path`` is the cache folder).
        real_features: the held-out images' features.

    Returns:
        ``{reference name: report}``.
    """
    path = pathlib.Path(info["path"]) / f"references-{count}.json"
    if path.is_file():
        return json.loads(path.read_text())
    references = quality.reference_reports(space, data, count, real_features)
    write_json(path, references)
    return references


def _load_generator(model_dir):
    served, metadata = load_savedmodel(model_dir)
    if not hasattr(served, "generate") or metadata.get("kind") != "generative model":
        raise ExportError(
            f"{model_dir} is not a generative-model export (no `generate` signature); pass the "
            "generator folder a generative run exported (<run>/generator)."
        )
    return served, metadata


def sample(model_dir, count=64, label=None, seed=0, out_dir=None):
    """Draw images from an export; write ``samples.png`` and ``samples.npz`` (images, labels).

    Args:
        model_dir: the export (``<run>/generator``).
        count: images to draw.
        label: a class to draw (conditional models), or ``None``.
        seed: the draw's seed.
        out_dir: where the files go (default ``<run>/samples-s<seed>``).

    Returns:
        ``{"images": uint8 array, "labels": array or None, "folder": path}``.

    Raises:
        ConfigError: ``count`` is not positive, or ``label`` is not a class of a conditional model.
    """
    if isinstance(count, bool) or not isinstance(count, int) or count <= 0:
        raise ConfigError("count", f"must be a positive number of images, received {count!r}")
    served, metadata = _load_generator(model_dir)
    labels = None
    if label is not None:
        if not metadata.get("conditional"):
            raise ConfigError("label", f"needs a conditional model (cvae, cgan); {model_dir} is not one")
        classes = metadata["num_classes"]
        if not 0 <= label < classes:
            raise ConfigError("label", f"must be a class id 0-{classes - 1} of {metadata['dataset']}, received {label}")
        labels = np.full(count, label, np.int32)
    images, labels = ExportSampler(served).images(count, seed=seed, labels=labels)
    folder = pathlib.Path(out_dir or pathlib.Path(model_dir).parent / f"samples-s{seed}")
    folder.mkdir(parents=True, exist_ok=True)
    names = metadata.get("class_names") or []
    shown = min(count, 100)
    plots.image_mosaic(
        images[:shown],
        folder / "samples.png",
        columns=min(10, shown),
        title=f"{metadata.get('config', {}).get('model', 'model')}: {shown} samples (seed {seed})"
        + (f", class {names[label]}" if label is not None and names else ""),
    )
    np.savez_compressed(folder / "samples.npz", images=images, labels=labels if labels is not None else np.array([]))
    return {"images": images, "labels": labels, "folder": folder}


def evaluate_export(model_dir, count=None, data_dir=None, out=None, log=print):
    """Score an export's samples against the held-out images and the references; write ``evaluation.json``.

    Args:
        model_dir: the export (``<run>/generator``).
        count: samples scored (default: the run's ``evaluation_count``).
        data_dir: a folder searched first for MNIST / Fashion-MNIST.
        out: the JSON file (default ``<model_dir>/../evaluation.json``).
        log: where progress lines go.

    Returns:
        The dict written (as `score` returns it, plus ``model`` and ``dataset``).
    """
    served, metadata = _load_generator(model_dir)
    recorded = metadata.get("config", {})
    config = GenerativeConfig(
        model=recorded.get("model", "vae"),
        dataset=metadata["dataset"],
        seed=recorded.get("seed", 0),
        evaluation_count=count or recorded.get("evaluation_count", 5000),
        sprites_count=recorded.get("sprites_count", 20000),
        data=data_dir,
    )
    data = data_lib.load_data(config)
    report = score(ExportSampler(served), config, data, log=log)
    report = {"model": config.model, "dataset": config.dataset, "export": str(model_dir), **report}
    write_json(pathlib.Path(out or pathlib.Path(model_dir).parent / "evaluation.json"), report)
    return report
