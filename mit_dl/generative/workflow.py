"""Lecture 4 lab end to end: train a VAE or a GAN, draw its figures, score its samples, export it.

``train`` writes a run directory: ``checkpoints/`` (networks, optimizers,
RNG and data position), ``logs/`` (TensorBoard scalars and sample grids),
``samples.png``, ``interpolation.png``, ``training_curves.png``, for VAEs
``reconstructions.png`` and ``traversals.png``, for image datasets
``quality.png`` (FD of the samples beside the reference sets),
``metrics.json``, ``settings.json`` and the SavedModel ``generator/``
(``generate(count, seed)``, ``generate_class(labels, seed)`` for conditional
models, ``encode`` and ``decode`` for VAEs).

Example (a notebook)::

    from mit_dl.generative import GenerativeConfig, workflow
    metrics = workflow.train(GenerativeConfig.from_preset("quick", model="dcgan"), "runs/dcgan-try")
"""

import json
import pathlib

import numpy as np

from mit_dl import plots
from mit_dl.errors import ConfigError, ExportError
from mit_dl.export import export_savedmodel, load_savedmodel
from mit_dl.generative import data as data_lib
from mit_dl.generative import figures, metrics, quality
from mit_dl.generative.config import GenerativeConfig
from mit_dl.generative.endpoints import decode_endpoint, encode_endpoint, generate_class_endpoint, generate_endpoint
from mit_dl.generative.model import build_model, trainer_arguments
from mit_dl.generative.sampling import ExportSampler, Sampler
from mit_dl.training import Run, Trainer
from mit_dl.training.callbacks import ImageSummaries
from mit_dl.training.runs import write_json


def train(config=None, out_dir="runs/generative", export=True, log=print):
    """Train the model of ``config``; write figures, scores and the export.

    Calling again with the same ``out_dir`` resumes the run.

    Args:
        config: a `GenerativeConfig` (default: the quick VAE on Fashion-MNIST).
        out_dir: the run directory.
        export: also write the ``generator/`` SavedModel.
        log: where progress lines go.

    Returns:
        The metrics written to ``metrics.json``.
    """
    config = config or GenerativeConfig.from_preset("quick")
    data = data_lib.load_data(config)
    log(f"data: {config.dataset} from {data.source}: {len(data.train_images)} training images")
    run = Run.start(out_dir, config, lab="generative", log=log)
    with run.scope():
        model = build_model(config, data.image_shape, data.num_classes)
        history = fit(model, config, data, run)
    results = {"source": data.source, "steps": config.total_steps, "history": history}
    results.update(draw_figures(model, config, data, history, run.path))
    results.update(score(Sampler(model), config, data, model=model, log=log))
    if "quality" in results:
        plots.metric_bars(
            {f"samples ({config.model})": results["quality"]["fd"]}
            | {name: report["fd"] for name, report in results["references"].items()},
            run.path / "quality.png",
            title=f"{config.model} on {config.dataset}: Fréchet distance to held-out images (lower is closer)",
            xlabel="FD in the feature classifier's features",
            log_scale=True,
        )
    if export:
        export_model(model, run, data, _headline(results))
    log(summary_line(config.model, results))
    return run.write_metrics(results)


def fit(model, config, data, run=None):
    """Train ``model`` on ``data`` for ``config.total_steps`` with the shared `Trainer`.

    Args:
        model: the compiled model (`build_model`).
        config: the run's config.
        data: its `GenerativeData`.
        run: the `Run` (checkpoints, logs, strategy), or ``None`` (nothing saved).

    Returns:
        The history ``{loss name: [value per epoch]}``.
    """
    callbacks = []
    if run is not None:
        fixed = figures.noise(32, model.latent_dim, figures.FIGURE_SEED)
        labels = (np.arange(32) % data.num_classes).astype(np.int32) if model.conditional else None
        callbacks.append(ImageSummaries(lambda: model.generate_from(fixed, labels), run.logs))
    trainer = Trainer(
        model,
        **trainer_arguments(model),
        strategy=run.strategy if run else None,
        checkpoint_dir=run.checkpoints if run else None,
        log_dir=run.logs if run else None,
    )
    return trainer.fit(
        data_lib.training_batches(config, data),
        steps=config.total_steps,
        steps_per_epoch=min(config.steps_per_epoch, config.total_steps),
        callbacks=callbacks,
    )


def draw_figures(model, config, data, history, folder):
    """The run's PNG figures (see the module docstring).

    Args:
        model: the trained model.
        config: the run's config.
        data: its `GenerativeData`.
        history: the training history.
        folder: where the PNG files go.

    Returns:
        ``{"figures": [file names]}`` (and ``"kl_per_dimension"`` for VAEs).
    """
    folder = pathlib.Path(folder)
    name = f"{config.model} on {config.dataset}"
    paths = [
        figures.sample_grid(model, data.class_names, folder / "samples.png", f"{name}: samples"),
        figures.interpolation(model, folder / "interpolation.png", title=f"{name}: straight lines in noise space"),
        plots.training_curves(
            history,
            folder / "training_curves.png",
            title=f"{name}: training losses",
            steps_per_epoch=min(config.steps_per_epoch, config.total_steps),
        ),
    ]
    out = {}
    if config.is_vae:
        kl = latent_usage(model, data)
        paths.append(
            figures.reconstructions(
                model,
                data.test_images[:20],
                data.test_labels[:20],
                folder / "reconstructions.png",
                f"{name}: held-out images and reconstructions",
            )
        )
        paths.append(
            figures.traversals(
                model,
                data.test_images[0],
                data.test_labels[0],
                kl,
                folder / "traversals.png",
                title=f"{name}: latent traversals",
            )
        )
        out["kl_per_dimension"] = [float(v) for v in kl]
    return {"figures": [p.name for p in paths], **out}


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
    if out["mode_collapse"]:
        log(f"warning: {out['mode_collapse']}")
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


def _headline(results):
    keep = {key: results[key] for key in ("quality", "mode_collapse", "disentanglement") if key in results}
    if "quality" in keep:
        keep["quality"] = {k: v for k, v in keep["quality"].items() if k != "coverage"}
    return keep


def summary_line(model_name, results):
    """One line: the samples' FD beside the blurred reference's, coverage, and MIG when measured.

    Args:
        model_name: the model's name.
        results: the dict `score` returns.

    Returns:
        The line.
    """
    parts = [model_name]
    if "quality" in results:
        q, refs = results["quality"], results["references"]
        parts.append(
            f"FD {q['fd']:.2f} (real train {refs['real train']['fd']:.2f}, blurred {refs['blurred']['fd']:.2f})"
        )
        parts.append(f"KID {q['kid']:.4f}, 1-NN accuracy {q['one_nn_accuracy']:.3f}")
        shares = q["coverage"]["shares"]
        parts.append(f"class shares {100 * min(shares):.1f}-{100 * max(shares):.1f}%")
        if "class_accuracy" in q:
            parts.append(f"requested class found {100 * q['class_accuracy']:.2f}%")
    if "disentanglement" in results:
        parts.append(f"MIG {results['disentanglement']['mig']:.3f}")
    if results.get("mode_collapse"):
        parts.append(results["mode_collapse"])
    return "; ".join(parts)


def export_model(model, run, data, results):
    """Write ``<run>/generator/``: ``generate`` (+ ``generate_class``; ``encode`` and ``decode`` for VAEs).

    Args:
        model: the trained model.
        run: its `Run`.
        data: the `GenerativeData` (shape, classes).
        results: headline figures for ``metadata.json``.

    Returns:
        The export's path.
    """
    config = run.config
    classes = data.num_classes if model.conditional else None
    endpoints = {"generate": generate_endpoint(model.generate_from, model.latent_dim, classes)}
    if classes:
        endpoints["generate_class"] = generate_class_endpoint(model.generate_from, model.latent_dim, classes)
    if config.is_vae:
        endpoints["encode"] = encode_endpoint(model.encode, data.image_shape, classes)
        endpoints["decode"] = decode_endpoint(model.decode, model.latent_dim, classes)
    return export_savedmodel(
        model,
        run.path / "generator",
        endpoints=endpoints,
        metadata=run.export_metadata(
            {
                "kind": "generative model",
                "dataset": config.dataset,
                "image_shape": list(data.image_shape),
                "latent_dim": model.latent_dim,
                "num_classes": data.num_classes,
                "conditional": bool(classes),
                "class_names": data.class_names,
                **results,
            }
        ),
    )


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
