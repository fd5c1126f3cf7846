"""Lecture 5 lab end to end: train a wrapped model, measure its uncertainty, plot and export it.

``train`` writes a run directory: ``checkpoints/``, ``logs/``,
``settings.json``, ``metrics.json``, the figures, and the SavedModel
``saved_model/``:

- regression: ``predict(x float32 [N, 1]) -> {prediction, epistemic, aleatoric}`` (variances in
  the targets' units, where the method defines them) and ``regression.png``;
- fashion_mnist: ``predict(images uint8 [N, 28, 28(, 1)]) -> {probabilities, entropy, ...}`` with
  the ``T`` passes or ``N`` members inside the signature, ``reliability.png`` (before and after
  temperature scaling) and ``ood_scores.png`` (Fashion-MNIST test vs MNIST test).

``evaluate`` measures an export the same way from its signature alone.

Example (a notebook)::

    from mit_dl.uncertainty import workflow
    from mit_dl.uncertainty.config import UncertaintyConfig
    metrics = workflow.train(UncertaintyConfig.from_preset("quick", method="mve", task="regression"), "runs/mve")
"""

import pathlib

import keras
import numpy as np
import tensorflow as tf

from mit_dl import evaluation
from mit_dl.data import mnist
from mit_dl.errors import ConfigError, ExportError
from mit_dl.export import Endpoint, export_savedmodel, image_endpoint, load_savedmodel
from mit_dl.training import Run, Trainer
from mit_dl.training.runs import write_json
from mit_dl.uncertainty import data, figures
from mit_dl.uncertainty.config import UncertaintyConfig
from mit_dl.uncertainty.histogram import HistogramWrapper
from mit_dl.uncertainty.model import Deterministic, build_model
from mit_dl.uncertainty.scores import RESAMPLES, SCORES, image_report
from mit_dl.uncertainty.vae import VAEWrapper
from mit_dl.uncertainty.wrapper import UncertaintyWrapper

X_SCALE = 4.0  # regression inputs are divided by this (x in [-4, 4] -> [-1, 1])
GRID = (-6.0, 6.0)  # the regression figure's inputs: the training range and beyond
PREDICT_BATCH = 250  # images per compiled prediction (x T passes for dropout)


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
    points = data.cubic_regression(config.train_count, seed=config.seed)
    scale = float(points.y.std())  # targets are learned in units of their spread
    batches = data.regression_batches(points.x / X_SCALE, points.y / scale, config.batch_size_value, config.seed)
    log(f"data: {len(points.x)} points of y = x^3 + noise, x in [-4, 4] without the gap {data.GAP}")
    run = Run.start(out_dir, config, lab="uncertainty", derived={"target_scale": scale}, log=log)
    with run.scope():
        model = build_model(config, len(points.x), config.steps)
        trainer = Trainer(model, strategy=run.strategy, checkpoint_dir=run.checkpoints, log_dir=run.logs)
        history = trainer.fit(batches, steps=config.steps, steps_per_epoch=min(500, config.steps))
    predict = _regression_predictor(model, scale)
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
        endpoint = Endpoint(_checked_points(predict), [tf.TensorSpec([None, 1], tf.float32, name="x")])
        export_savedmodel(
            model,
            run.path / "saved_model",
            endpoints={"predict": endpoint},
            metadata=run.export_metadata({"kind": "uncertainty regression", "method": config.method, **report}),
        )
    log(_regression_line(config.method, report))
    return run.write_metrics({"history": history, "regression": report})


def _regression_predictor(model, scale):
    def predict(x):
        out = model(tf.cast(x, tf.float32) / X_SCALE, training=False)
        result = {"prediction": out["prediction"] * scale}
        for kind in ("aleatoric", "epistemic"):
            if kind in out:
                result[kind] = out[kind] * scale**2
        return result

    return predict


def _checked_points(predict):
    def checked(x):
        finite = tf.debugging.Assert(tf.reduce_all(tf.math.is_finite(x)), ["predict: x holds NaN or infinity"])
        with tf.control_dependencies([finite]):
            return predict(tf.identity(x))

    return checked


def regression_report(grid, out):
    """The regression toy's figures of merit on a grid of inputs.

    Args:
        grid: ``[G]`` inputs.
        out: ``{"prediction": [G], "aleatoric": [G] (optional), "epistemic": [G] (optional)}``,
            variances in the targets' units.

    Returns:
        ``{"rmse_to_truth"}`` on the training range, plus ``"sigma_relative_rms_error"`` (the aleatoric
        σ against the true σ(x), on the training range without the gap) and ``"epistemic_gap_ratio"``
        / ``"epistemic_outside_ratio"`` (mean epistemic σ on the gap / beyond [-4, 4], over the mean
        on the training range) when defined.
    """
    on_range = (grid >= data.X_RANGE[0]) & (grid <= data.X_RANGE[1])
    training = on_range & ~data.in_gap(grid)
    report = {"rmse_to_truth": float(np.sqrt(np.mean((out["prediction"][training] - grid[training] ** 3) ** 2)))}
    if "aleatoric" in out:
        sigma, true = np.sqrt(out["aleatoric"][training]), data.noise_std(grid[training])
        report["sigma_relative_rms_error"] = float(np.sqrt(np.mean(((sigma - true) / true) ** 2)))
    if "epistemic" in out:
        std = np.sqrt(out["epistemic"])
        base = float(std[training].mean())
        report["epistemic_std_training"] = base
        report["epistemic_gap_ratio"] = float(std[data.in_gap(grid)].mean() / base)
        width = data.GAP[1] - data.GAP[0]  # the training inputs as far either side of the gap as it is wide
        beside = training & (grid >= data.GAP[0] - width) & (grid <= data.GAP[1] + width)
        report["epistemic_gap_vs_neighbours"] = float(std[data.in_gap(grid)].mean() / std[beside].mean())
        report["epistemic_outside_ratio"] = float(std[~on_range].mean() / base)
    return report


def _regression_line(method, report):
    parts = [f"{method}: RMSE to x^3 {report['rmse_to_truth']:.2f}"]
    if "sigma_relative_rms_error" in report:
        parts.append(f"aleatoric σ off by {100 * report['sigma_relative_rms_error']:.1f}% (RMS)")
    if "epistemic_gap_ratio" in report:
        parts.append(
            f"epistemic σ {report['epistemic_gap_ratio']:.2f}x wider on the gap "
            f"({report['epistemic_gap_vs_neighbours']:.2f}x its neighbours), "
            f"{report['epistemic_outside_ratio']:.1f}x beyond the data"
        )
    return "; ".join(parts)


# ------------------------------------------------------------------------------------------- classification
def _train_images(config, out_dir, export, log):
    splits = data.image_splits(config.validation, config.seed, config.data)
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
    log(_image_line(report))
    return run.write_metrics({"source": splits.source, "history": history, **_without_figure_data(report)})


def served_outputs(model, train_images):
    """What a run predicts and exports: the wrapper's outputs, and a `HistogramWrapper`'s rarity score.

    The VAE method adds ``latent_rarity``, the DB-VAE's density histograms
    of the VAE's latent means; the deterministic CNN ``feature_rarity``, the
    same histograms of its own Dense-128 features. Both are fitted on the
    training images and used as out-of-distribution scores.

    Args:
        model: the trained wrapper.
        train_images: its uint8 training images (the histograms' data).

    Returns:
        ``(serve, trackables)``: ``serve(float images [B, 28, 28, 1]) -> {name: tensor}`` and the
        extra objects an export must track.
    """
    if isinstance(model, VAEWrapper):
        histograms, name = HistogramWrapper(model.model, features=model.latent_means), "latent_rarity"
    elif isinstance(model, Deterministic):
        histograms, name = HistogramWrapper(model.model), "feature_rarity"  # the CNN's Dense-128 features
    else:
        return (lambda x: dict(model(x, training=False))), []
    histograms.adapt(train_images[i : i + 1000][..., None] / np.float32(255) for i in range(0, len(train_images), 1000))
    return (lambda x: {**model(x, training=False), name: histograms.bias_score(x)}), [histograms]


def compiled_predictor(serve):
    """A compiled prediction of uint8 images.

    Args:
        serve: a wrapper, or `served_outputs`' function of float images.

    Returns:
        ``predict(uint8 [B, 28, 28]) -> {name: tensor}``, in inference mode, compiled once.
    """
    if isinstance(serve, UncertaintyWrapper):
        model = serve
        serve = lambda x: dict(model(x, training=False))  # noqa: E731

    @tf.function(reduce_retracing=True)
    def predict(images):
        return serve(tf.cast(images, tf.float32)[..., None] / 255.0)

    return predict


def predict_images(predict, images, batch_size=PREDICT_BATCH):
    """Every output of ``predict`` on uint8 images, in batches, as NumPy arrays.

    Args:
        predict: ``uint8 [B, 28, 28] -> {name: [B, ...]}`` (`compiled_predictor`, or an export's
            ``predict`` signature).
        images: uint8 ``[N, 28, 28]``.
        batch_size: images per call.

    Returns:
        ``{name: [N, ...]}``.
    """
    parts = [predict(images[i : i + batch_size]) for i in range(0, len(images), batch_size)]
    return {name: np.concatenate([np.asarray(part[name]) for part in parts]) for name in parts[0]}


def _without_figure_data(report):
    return {k: v for k, v in report.items() if k != "scores"}


def write_image_figures(report, folder, title):
    """Write ``reliability.png`` (before and after temperature scaling) and ``ood_scores.png``.

    Args:
        report: an `image_report`.
        folder: where the figures go.
        title: the figures' title.
    """
    calibration, scaled = report["calibration"], report["temperature_scaled"]["calibration"]
    figures.reliability_diagrams(
        {
            f"as trained: ECE {100 * calibration['ece']:.2f}%": calibration["bins"],
            f"temperature {report['temperature']:.2f}: ECE {100 * scaled['ece']:.2f}%": scaled["bins"],
        },
        folder / "reliability.png",
        title=f"{title}: reliability on the test set",
    )
    figures.score_histograms(
        {f"{SCORES[name]}\nAUROC {report['ood'][name]['auroc']:.3f}": pair for name, pair in report["scores"].items()},
        folder / "ood_scores.png",
        title=f"{title}: Fashion-MNIST test vs MNIST test",
    )


def _image_line(report):
    c = report["calibration"]
    best = max(report["ood"], key=lambda name: report["ood"][name]["auroc"])
    return (
        f"{report['method']}: test accuracy {100 * c['accuracy']:.2f}%, NLL {c['nll']:.3f}, "
        f"ECE {100 * c['ece']:.2f}% ({100 * report['temperature_scaled']['calibration']['ece']:.2f}% at "
        f"T = {report['temperature']:.2f}); best OOD score {best}: AUROC {report['ood'][best]['auroc']:.3f}"
    )


def evaluate(model_dir, ood="mnist", out=None, data_dir=None, resamples=RESAMPLES):
    """Measure an exported classifier through its ``predict`` signature: metrics JSON and figures.

    Args:
        model_dir: the export (``<run>/saved_model``).
        ood: the out-of-distribution test set (``"mnist"``).
        out: the folder for ``evaluation.json``, ``reliability.png`` and ``ood_scores.png``
            (default: the export's parent, the run directory).
        data_dir: a folder searched first for the IDX files.
        resamples: bootstrap resamples of the intervals.

    Returns:
        The report written to ``evaluation.json``.

    Raises:
        ExportError: the folder is not an uncertainty classifier export.
        ConfigError: an unknown ``ood`` set.
    """
    if ood != "mnist":
        raise ConfigError("ood", f"must be mnist (the out-of-distribution set offline), received {ood!r}")
    served, metadata = load_savedmodel(model_dir)
    if metadata.get("kind") != "uncertainty classifier" or not hasattr(served, "predict"):
        raise ExportError(
            f"{model_dir} is not an uncertainty classifier export (no `predict` signature of images); pass the "
            "saved_model folder of a `mit-dl uncertainty train --task fashion_mnist` run."
        )
    test = mnist.load_arrays("fashion_mnist", "test", data_dir)[:2]
    ood_images = mnist.load_arrays(ood, "test", data_dir)[0]
    test_outputs, ood_outputs = predict_images(served.predict, test[0]), predict_images(served.predict, ood_images)
    report = image_report(test_outputs, test, ood_outputs, ood_images, metadata["temperature"], resamples)
    report["method"] = metadata.get("method")
    folder = pathlib.Path(out) if out else pathlib.Path(model_dir).parent
    folder.mkdir(parents=True, exist_ok=True)
    write_image_figures(report, folder, f"{report['method']} export")
    result = {"model": str(model_dir), "ood_set": ood, "folder": str(folder), **_without_figure_data(report)}
    write_json(folder / "evaluation.json", result)
    return result


# ------------------------------------------------------------------------------------------------------ bias
def bias(config=None, out_dir="runs/uncertainty-bias", log=print):
    """Do the VAE's and the histograms' scores find the faces benchmark's under-represented training faces?

    Trains a `VAEWrapper` around the faces lab's CNN (two logits: non-face,
    face) on the synthetic benchmark's training images, then scores every
    training *face* by the VAE's reconstruction error (raw and corrected for
    the pixels' entropy), by a `HistogramWrapper` on the VAE's latent means
    (the DB-VAE's rarity) and by one on the detector's Dense-512 features,
    and reports the AUROC of "rare group vs common group" for each score: dark
    skin and hats are 5% of the training faces each.

    Args:
        config: a `BiasConfig`.
        out_dir: the run directory (``bias.json``, ``bias_scores.png``).
        log: where progress lines go.

    Returns:
        The metrics written to ``metrics.json``.
    """
    from mit_dl.faces import synthetic
    from mit_dl.uncertainty.config import BiasConfig

    config = config or BiasConfig()
    train = synthetic.synthetic_faces(config.count, "train", seed=config.seed)
    log(f"data: {len(train)} synthetic training images ({int(train.labels.sum())} faces), seed {config.seed}")
    run = Run.start(out_dir, config, lab="uncertainty", log=log)
    model, history = _train_face_vae(config, train, run)
    scores = _face_scores(model, train.images[train.labels == 1], config.bins)
    attributes = {name: values[train.labels == 1] for name, values in train.attributes.items()}
    dark = attributes["skin"] == synthetic.SKIN.index("dark")
    hat = attributes["accessory"] == synthetic.ACCESSORY.index("hat")
    report = _rare_group_report(scores, {"dark skin or hat": dark | hat, "dark skin": dark, "hat": hat})
    rare = dark | hat
    figures.score_histograms(
        {
            f"{SCORES[name]}\nAUROC {report['auroc'][name]['dark skin or hat']:.3f}": (values[~rare], values[rare])
            for name, values in scores.items()
        },
        run.path / "bias_scores.png",
        title="training faces: common groups (blue) vs dark skin or hat (orange)",
    )
    for name, row in report["auroc"].items():
        log(f"{SCORES[name]}: AUROC rare vs common " + ", ".join(f"{g} {v:.3f}" for g, v in row.items()))
    return run.write_metrics({"history": history, "bias": report})


def _train_face_vae(config, train, run):
    """The faces CNN wrapped with a VAE on its inputs, trained on the benchmark's training images."""
    from mit_dl.faces import face_classifier

    with run.scope():
        model = VAEWrapper(face_classifier(outputs=2), latent_dim=config.latent_dim, seed=config.seed)
        model.compile(keras.optimizers.Adam(config.learning_rate))
        images = tf.data.Dataset.from_tensor_slices((train.images, train.labels.astype(np.int32)))
        batches = (
            images.shuffle(len(train), seed=config.seed)
            .repeat()
            .batch(config.batch_size)
            .map(lambda x, y: (tf.cast(x, tf.float32) / 255.0, y))
        )
        trainer = Trainer(model, strategy=run.strategy, checkpoint_dir=run.checkpoints, log_dir=run.logs)
        history = trainer.fit(batches, steps=config.steps, steps_per_epoch=min(500, config.steps))
    return model, history


def _face_scores(model, faces, bins):
    """Every face's reconstruction error and divergence (one reconstruction each), latent and feature rarity."""
    scaled = [faces[i : i + 500].astype(np.float32) / 255.0 for i in range(0, len(faces), 500)]
    latent = HistogramWrapper(model.model, features=model.latent_means, bins=bins)
    features = HistogramWrapper(model.model, bins=bins)  # the detector's own Dense-512 features
    for histograms in (latent, features):
        histograms.adapt(iter(scaled))
    errors, divergences = zip(*[(e.numpy(), d.numpy()) for e, d in map(model.reconstruction_scores, scaled)])
    return {
        "reconstruction_error": np.concatenate(errors),
        "reconstruction_divergence": np.concatenate(divergences),
        "latent_rarity": np.concatenate([latent.bias_score(x).numpy() for x in scaled]),
        "feature_rarity": np.concatenate([features.bias_score(x).numpy() for x in scaled]),
    }


def _rare_group_report(scores, groups):
    """The AUROC of each score for each rare group against the faces in none of them."""
    common = ~np.any(list(groups.values()), axis=0)
    return {
        "faces": len(common),
        "rare_share": {name: float(mask.mean()) for name, mask in groups.items()},
        "auroc": {
            score: {name: evaluation.ood_auroc(values[common], values[mask]) for name, mask in groups.items()}
            for score, values in scores.items()
        },
    }
