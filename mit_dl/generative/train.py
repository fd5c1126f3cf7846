"""Lecture 4 lab: train a VAE or a GAN, draw its figures, score its samples, export it.

``train`` writes a run directory: ``checkpoints/`` (networks, optimizers,
RNG and data position), ``logs/`` (TensorBoard scalars and sample grids),
``samples.png``, ``interpolation.png``, ``training_curves.png``, for VAEs
``reconstructions.png`` and ``traversals.png``, for image datasets
``quality.png`` (FD of the samples beside the reference sets),
``metrics.json``, ``settings.json`` and the SavedModel ``generator/``
(``generate(count, seed)``, ``generate_class(labels, seed)`` for conditional
models, ``encode`` and ``decode`` for VAEs).

Example (a notebook)::

    from mit_dl.generative import GenerativeConfig, train
    metrics = train.train(GenerativeConfig.from_preset("quick", model="dcgan"), "runs/dcgan-try")
"""

import pathlib

import numpy as np

from mit_dl import plots
from mit_dl.export import export_savedmodel
from mit_dl.generative import data as data_lib
from mit_dl.generative import figures
from mit_dl.generative.config import GenerativeConfig
from mit_dl.generative.endpoints import decode_endpoint, encode_endpoint, generate_class_endpoint, generate_endpoint
from mit_dl.generative.evaluate import latent_usage, score
from mit_dl.generative.model import build_model, trainer_arguments
from mit_dl.generative.sampling import Sampler
from mit_dl.training import Run, Trainer
from mit_dl.training.callbacks import ImageSummaries


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
