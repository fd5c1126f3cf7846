"""Lecture 5 lab: measure a model's or an export's uncertainty (bands, calibration, out-of-distribution scores).

``evaluate`` measures an export the same way as ``train`` measured the model, from its signature alone.

Example (a notebook)::

    from mit_dl.uncertainty import evaluate
    metrics = evaluate.evaluate("runs/mve/saved_model")
"""

import pathlib

import numpy as np
import tensorflow as tf

from mit_dl.data import mnist
from mit_dl.errors import ConfigError, ExportError
from mit_dl.export import load_savedmodel
from mit_dl.training.runs import write_json
from mit_dl.uncertainty import data, figures
from mit_dl.uncertainty.histogram import HistogramWrapper
from mit_dl.uncertainty.model import Deterministic
from mit_dl.uncertainty.scores import RESAMPLES, SCORES, image_report
from mit_dl.uncertainty.vae import VAEWrapper
from mit_dl.uncertainty.wrapper import UncertaintyWrapper

X_SCALE = 4.0  # regression inputs are divided by this (x in [-4, 4] -> [-1, 1])

GRID = (-6.0, 6.0)  # the regression figure's inputs: the training range and beyond

PREDICT_BATCH = 250  # images per compiled prediction (x T passes for dropout)


def regression_predictor(model, scale):
    """``predict(x)`` in the targets' units: the model sees ``x / X_SCALE``; outputs are scaled back.

    Args:
        model: a trained regression wrapper.
        scale: the targets' scale (predictions times it, variances times its square).

    Returns:
        ``predict(x) -> {"prediction", "aleatoric"?, "epistemic"?}``.
    """

    def predict(x):
        out = model(tf.cast(x, tf.float32) / X_SCALE, training=False)
        result = {"prediction": out["prediction"] * scale}
        for kind in ("aleatoric", "epistemic"):
            if kind in out:
                result[kind] = out[kind] * scale**2
        return result

    return predict


def checked_points(predict):
    """``predict`` refusing inputs that hold NaN or infinity (an assertion inside the compiled graph).

    Args:
        predict: ``predict(x) -> outputs``.

    Returns:
        The checked ``predict``.
    """

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


def regression_line(method, report):
    """One line of a regression report: the error to the truth, the aleatoric and epistemic bands.

    Args:
        method: the wrapper's name.
        report: a `regression_report`.

    Returns:
        The line.
    """
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


def without_figure_data(report):
    """The report without the per-image scores that only the figures need.

    Args:
        report: an `image_report`.

    Returns:
        A shallow copy without ``scores``.
    """
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


def image_line(report):
    """One line of an image report: accuracy, NLL, ECE before and after temperature scaling, the best OOD score.

    Args:
        report: an `image_report`.

    Returns:
        The line.
    """
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
    result = {"model": str(model_dir), "ood_set": ood, "folder": str(folder), **without_figure_data(report)}
    write_json(folder / "evaluation.json", result)
    return result
