"""The uncertainty lab's figures: reliability diagrams, score histograms, the regression bands."""

import numpy as np
from matplotlib.figure import Figure

from mit_dl import plots


def reliability_diagrams(tables, path, title="Reliability"):
    """Reliability diagrams side by side: accuracy against confidence per bin, the diagonal, the bins' counts.

    Args:
        tables: ``{label: mit_dl.evaluation.calibration_bins(...)}`` (e.g. before and after temperature
            scaling); each label may carry its ECE.
        path: the PNG file to write.
        title: the figure's title.

    Returns:
        ``path`` as a `pathlib.Path`.
    """
    fig, axes = plots.figure(1, len(tables), figsize=(3.6 * len(tables), 3.8), squeeze=False)
    for ax, (label, table) in zip(axes[0], tables.items()):
        edges = np.asarray(table["edges"])
        centres, width = (edges[:-1] + edges[1:]) / 2, np.diff(edges)
        accuracy = np.nan_to_num(np.asarray(table["accuracy"], np.float64))
        ax.bar(centres, accuracy, width=width, edgecolor="black", linewidth=0.5, color="tab:blue", label="accuracy")
        confidence = np.asarray(table["confidence"], np.float64)
        gap = np.where(np.isnan(confidence), 0.0, confidence - accuracy)
        ax.bar(centres, gap, bottom=accuracy, width=width, color="tab:red", alpha=0.35, label="gap to confidence")
        ax.plot([0, 1], [0, 1], color="gray", linestyle="--", linewidth=1)
        share = ax.twinx()
        share.plot(centres, np.asarray(table["count"]) / max(1, int(np.sum(table["count"]))), "k.", markersize=3)
        share.set_ylim(0, 1)
        share.set_yticks([])
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_xlabel("confidence (top probability)")
        ax.set_title(label, fontsize=9)
    axes[0][0].set_ylabel("accuracy")
    axes[0][0].legend(fontsize=7, loc="upper left")
    fig.suptitle(title, fontsize=10, y=1.02)
    return plots.save(fig, path)


def score_histograms(scores, path, title="Scores", bins=50):
    """One panel per score: histograms of the in- and out-of-distribution inputs' scores, overlaid.

    Args:
        scores: ``{score name: (in_scores, out_scores)}``; a name may carry the score's AUROC.
        path: the PNG file to write.
        title: the figure's title.
        bins: histogram bins per panel.

    Returns:
        ``path`` as a `pathlib.Path`.
    """
    fig, axes = plots.figure(1, len(scores), figsize=(3.4 * len(scores), 3.0), squeeze=False)
    for ax, (name, (inside, outside)) in zip(axes[0], scores.items()):
        pooled = np.concatenate([inside, outside])
        edges = np.linspace(np.min(pooled), np.max(pooled) + 1e-12, bins + 1)
        ax.hist(inside, bins=edges, density=True, alpha=0.55, label="in distribution")
        ax.hist(outside, bins=edges, density=True, alpha=0.55, label="out of distribution")
        ax.set_title(name, fontsize=9)
        ax.set_yticks([])
    axes[0][0].legend(fontsize=7)
    fig.suptitle(title, fontsize=10, y=1.08)  # above the panels' two-line titles
    return plots.save(fig, path)


def uncertainty_bands(train, grid, bands, path, title="Uncertainty", truth=None, shaded=None, truth_std=None):
    """A 1-D regression: the data, the prediction and its ± 2σ bands; below, each σ against x.

    The lower panel makes the bands readable where the function is large:
    each kind's standard deviation on a logarithmic axis, with the true
    noise σ(x) dashed when given.

    Args:
        train: ``(x, y)`` training points.
        grid: ``[G]`` inputs the prediction is drawn on.
        bands: ``{"prediction": [G], kind: std [G], ...}`` (kinds such as ``"aleatoric"``, ``"epistemic"``).
        path: the PNG file to write.
        title: the figure's title.
        truth: optional ``[G]`` true function, dashed.
        shaded: optional ``(low, high)`` x interval to shade (a gap in the training inputs).
        truth_std: optional ``[G]`` true noise standard deviation, dashed in the lower panel.

    Returns:
        ``path`` as a `pathlib.Path`.
    """
    fig = Figure(figsize=(6.5, 5.6))
    top, bottom = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [2, 1.2]})
    top.scatter(train[0], train[1], s=3, color="gray", alpha=0.35, label="training data")
    mean = np.asarray(bands["prediction"])
    colours = {"aleatoric": "tab:orange", "epistemic": "tab:green"}
    for kind, std in bands.items():
        if kind == "prediction":
            continue
        std = np.asarray(std)
        colour = colours.get(kind, "tab:purple")
        top.fill_between(grid, mean - 2 * std, mean + 2 * std, color=colour, alpha=0.3, label=f"± 2σ {kind}")
        bottom.plot(grid, std, color=colour, label=f"σ {kind}")
    top.plot(grid, mean, color="tab:blue", label="prediction")
    if truth is not None:
        top.plot(grid, truth, color="black", linestyle="--", linewidth=1, label="true mean")
    if truth_std is not None:
        bottom.plot(grid, truth_std, color="black", linestyle="--", linewidth=1, label="true noise σ")
    if shaded is not None:
        top.axvspan(*shaded, color="gray", alpha=0.12, label="no training data")
        bottom.axvspan(*shaded, color="gray", alpha=0.12)
    bottom.set_yscale("log")
    bottom.set_xlabel("x")
    bottom.set_ylabel("σ")
    bottom.legend(fontsize=7, loc="upper center", ncol=3)
    top.set_ylabel("y")
    top.set_title(title, fontsize=10)
    top.legend(fontsize=7, loc="upper left")
    return plots.save(fig, path)
