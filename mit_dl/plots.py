"""Figures written as PNG files.

Figures are built with matplotlib's object API (``Figure``, no pyplot), so
nothing needs a display and the global backend is left alone: in Jupyter,
``plt.plot`` keeps drawing inline after these functions ran, and
``IPython.display.Image(path)`` shows the files they write.
"""

import pathlib

import numpy as np
from matplotlib import colormaps
from matplotlib.figure import Figure
from matplotlib.patches import Patch, Rectangle


def _figure(rows=1, columns=1, figsize=None, squeeze=True):
    """``(figure, axes)`` like ``pyplot.subplots``, without touching pyplot's state."""
    fig = Figure(figsize=figsize)
    return fig, fig.subplots(rows, columns, squeeze=squeeze)


def _save(fig, path):
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    return path


def prediction_grid(images, probabilities, labels, class_names, path, columns=6):
    """Test images with the predicted class and probability; mistakes in red.

    Args:
        images: ``[N, 28, 28]`` (or with a channel axis) images.
        probabilities: ``[N, classes]`` predicted probabilities.
        labels: ``[N]`` true class ids.
        class_names: one name per class.
        path: the PNG file to write.
        columns: images per row.

    Returns:
        ``path`` as a `pathlib.Path`.
    """
    n = len(images)
    rows = max(1, -(-n // columns))
    fig, axes = _figure(rows, columns, figsize=(2.0 * columns, 2.3 * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, image, p, label in zip(axes.flat, images, probabilities, labels):
        guess = int(np.argmax(p))
        ax.imshow(np.squeeze(image), cmap="gray")
        colour = "tab:blue" if guess == int(label) else "tab:red"
        ax.set_title(
            f"{class_names[guess]} {100 * p[guess]:.0f}%\n(true: {class_names[int(label)]})", color=colour, fontsize=8
        )
    return _save(fig, path)


def confusion_matrix(matrix, class_names, path, title="Confusion matrix"):
    """The confusion matrix as a heat map with the counts written in.

    Args:
        matrix: ``C[i, j]``, examples of class ``i`` predicted as ``j``.
        class_names: one name per class.
        path: the PNG file to write.
        title: the figure's title.

    Returns:
        ``path`` as a `pathlib.Path`.
    """
    matrix = np.asarray(matrix)
    fig, ax = _figure(figsize=(7, 6))
    im = ax.imshow(matrix, cmap="Blues")
    fig.colorbar(im, ax=ax)
    ax.set_xticks(range(len(class_names)), class_names, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(len(class_names)), class_names, fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    threshold = matrix.max() / 2 if matrix.size else 0
    for (i, j), value in np.ndenumerate(matrix):
        ax.text(j, i, str(value), ha="center", va="center", fontsize=6, color="white" if value > threshold else "black")
    return _save(fig, path)


EVALUATED_SPLITS = ("val", "validation", "test")


def _split_and_metric(key):
    """``"test_accuracy"`` -> ``("test", "accuracy")``; ``"loss"`` -> ``("training", "loss")``."""
    for split in EVALUATED_SPLITS:
        if key.startswith(f"{split}_"):
            return split, key[len(split) + 1 :]
    return "training", key


def training_curves(history, path, title="Training", steps_per_epoch=None):
    """One panel per metric: its training values and those of the evaluated split, named as the keys name it.

    History keys ``val_*``, ``validation_*`` and ``test_*`` are drawn as that
    split (a run evaluated on its test set says ``test``). Runs of one or
    two epochs show their values as labelled points on an axis from 0, so a
    single epoch reads as numbers rather than dots on a narrow range.

    Args:
        history: ``{key: [value per epoch]}``, as `Trainer.fit` returns it.
        path: the PNG file to write.
        title: the figure's title.
        steps_per_epoch: when given, the x axis counts training steps
            (epoch k ends at step ``k * steps_per_epoch``) instead of epochs.

    Returns:
        ``path`` as a `pathlib.Path`.
    """
    metrics = sorted({_split_and_metric(k)[1] for k in history})
    fig, axes = _figure(1, len(metrics), figsize=(4.5 * len(metrics), 3.5), squeeze=False)
    for ax, metric in zip(axes[0], metrics):
        keys = sorted((k for k in history if _split_and_metric(k)[1] == metric), key=lambda k: k != metric)
        epochs = max(len(history[k]) for k in keys)
        for key in keys:
            values = history[key]
            xs = [epoch * (steps_per_epoch or 1) for epoch in range(1, len(values) + 1)]
            ax.plot(xs, values, marker="o", label=f"{_split_and_metric(key)[0]} {metric}")
            if epochs <= 2:
                for x, value in zip(xs, values):
                    ax.annotate(f"{value:.3g}", (x, value), textcoords="offset points", xytext=(6, 4), fontsize=8)
        if epochs <= 2:
            top = max(max(history[k]) for k in keys)
            ax.set_ylim(0, 1.05 if metric == "accuracy" and top <= 1 else 1.2 * top)
            unit = steps_per_epoch or 1
            ax.set_xlim(0.5 * unit, (epochs + 0.5) * unit)
        if epochs <= 10:
            ax.set_xticks([epoch * (steps_per_epoch or 1) for epoch in range(1, epochs + 1)])
        ax.set_xlabel("step" if steps_per_epoch else "epoch")
        ax.set_title(metric)
        ax.legend()
    fig.suptitle(title)
    return _save(fig, path)


def image_grid(images, titles, path, columns=8, title=None):
    """uint8 RGB (or grey) images in rows of ``columns``, each with its title.

    Args:
        images: the images.
        titles: one caption per image.
        path: the PNG file to write.
        columns: images per row.
        title: the figure's title, if any.

    Returns:
        ``path`` as a `pathlib.Path`.
    """
    rows = max(1, -(-len(images) // columns))
    fig, axes = _figure(rows, columns, figsize=(1.6 * columns, 1.9 * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, image, caption in zip(axes.flat, images, titles):
        ax.imshow(np.squeeze(image), cmap="gray" if np.ndim(np.squeeze(image)) == 2 else None)
        ax.set_title(caption, fontsize=7)
    if title:
        fig.suptitle(title, fontsize=10)
    return _save(fig, path)


def group_accuracy(reports, path, title="Per-group accuracy"):
    """Horizontal bars of per-group accuracy with 95% intervals, one colour per model.

    Args:
        reports: ``{model name: mit_dl.evaluation.group_report(...)}`` over the same groups.
        path: the PNG file to write.
        title: the figure's title.

    Returns:
        ``path`` as a `pathlib.Path`.
    """
    groups = list(next(iter(reports.values()))["groups"])
    height = 0.8 / len(reports)
    fig, ax = _figure(figsize=(8, 0.32 * len(groups) * max(1, len(reports) / 1.5) + 1.2))
    for k, (name, report) in enumerate(reports.items()):
        accuracy = np.array([report["groups"][g]["accuracy"] for g in groups])
        interval = np.array([report["groups"][g]["accuracy_95ci"] for g in groups])
        errors = np.clip(np.stack([accuracy - interval[:, 0], interval[:, 1] - accuracy]), 0, None)
        ax.barh(
            np.arange(len(groups)) + k * height,
            100 * accuracy,
            height,
            xerr=100 * errors,
            capsize=2,
            label=f"{name} (overall {100 * report['accuracy']:.1f}%)",
        )
    ax.set_yticks(np.arange(len(groups)) + height * (len(reports) - 1) / 2, groups, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.set_xlabel("accuracy (%)")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=2)
    return _save(fig, path)


def tile(images, columns):
    """Images side by side in rows of ``columns``, one pixel of grey between them.

    Args:
        images: ``[N, H, W]`` or ``[N, H, W, C]`` images (uint8, or floats in [0, 1]).
        columns: images per row.

    Returns:
        One ``[rows * (H + 1) - 1, columns * (W + 1) - 1, C]`` array of the input's dtype.
    """
    images = np.asarray(images)
    if images.ndim == 3:
        images = images[..., None]
    count, height, width, channels = images.shape
    rows = max(1, -(-count // columns))
    fill = 128 if images.dtype == np.uint8 else 0.5
    canvas = np.full((rows * (height + 1) - 1, columns * (width + 1) - 1, channels), fill, images.dtype)
    for index, image in enumerate(images):
        row, column = divmod(index, columns)
        canvas[
            row * (height + 1) : row * (height + 1) + height, column * (width + 1) : column * (width + 1) + width
        ] = image
    return canvas


def image_mosaic(images, path, columns=10, row_titles=None, column_titles=None, title=None):
    """Images tiled in one picture (no gaps for captions): sample grids, interpolations, traversals.

    Args:
        images: ``[N, H, W(, C)]`` images, row after row.
        path: the PNG file to write.
        columns: images per row.
        row_titles: a label left of each row (e.g. the class or the latent dimension).
        column_titles: a label above each column.
        title: the figure's title.

    Returns:
        ``path`` as a `pathlib.Path`.
    """
    canvas = tile(images, columns)
    height, width = np.asarray(images).shape[1:3]
    rows = -(-len(images) // columns)
    fig, ax = _figure(figsize=(0.55 * columns + (1.4 if row_titles else 0.2), 0.55 * rows + 0.6))
    ax.imshow(
        np.squeeze(canvas, -1) if canvas.shape[-1] == 1 else canvas,
        cmap="gray",
        vmin=0,
        vmax=255 if canvas.dtype == np.uint8 else 1,
    )
    ax.set_xticks([c * (width + 1) + width / 2 for c in range(columns)] if column_titles else [])
    if column_titles:
        ax.set_xticklabels(column_titles, fontsize=6)
        ax.xaxis.tick_top()
    ax.set_yticks([r * (height + 1) + height / 2 for r in range(rows)] if row_titles else [])
    if row_titles:
        ax.set_yticklabels(row_titles, fontsize=7)
    for side in ax.spines.values():
        side.set_visible(False)
    ax.tick_params(length=0)
    if title:
        ax.set_title(title, fontsize=9)
    return _save(fig, path)


def metric_bars(values, path, title, xlabel, log_scale=False):
    """Horizontal bars of one metric for named sets (a model's samples beside the reference sets).

    Args:
        values: ``{name: value}``, drawn top to bottom in order.
        path: the PNG file to write.
        title: the figure's title.
        xlabel: the metric's name and unit.
        log_scale: a logarithmic axis (for distances spanning decades).

    Returns:
        ``path`` as a `pathlib.Path`.
    """
    names = list(values)
    fig, ax = _figure(figsize=(7, 0.4 * len(names) + 1.0))
    bars = ax.barh(np.arange(len(names)), [values[n] for n in names], color="tab:blue")
    for bar, name in zip(bars, names):
        bar.set_color("tab:orange" if name.startswith("samples") else "tab:blue")
        ax.text(bar.get_width(), bar.get_y() + bar.get_height() / 2, f" {values[name]:.3g}", va="center", fontsize=7)
    ax.set_yticks(np.arange(len(names)), names, fontsize=8)
    ax.invert_yaxis()
    if log_scale:
        ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    ax.set_title(title, fontsize=10)
    return _save(fig, path)


def curves(series, path, title, xlabel, ylabel, reference=None):
    """Lines (or marked points) of several series on one axis, e.g. a return curve beside evaluations.

    Args:
        series: ``{label: (xs, ys)}``; a series of at most 30 points is drawn with markers.
        path: the PNG file to write.
        title: the figure's title.
        xlabel: the x axis' name and unit.
        ylabel: the y axis' name and unit.
        reference: optional ``(value, label)`` drawn as a dashed horizontal line (a target).

    Returns:
        ``path`` as a `pathlib.Path`.
    """
    fig, ax = _figure(figsize=(7, 3.8))
    for label, (xs, ys) in series.items():
        ax.plot(xs, ys, marker="o" if len(xs) <= 30 else None, markersize=4, label=label)
    if reference is not None:
        ax.axhline(reference[0], color="gray", linestyle="--", linewidth=1, label=reference[1])
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _save(fig, path)


def save_gif(frames, path, fps=30, width=None):
    """Write ``frames`` (``[H, W, 3]`` uint8 arrays, e.g. gymnasium's ``rgb_array`` renders) as an animated GIF.

    Args:
        frames: the frames, in order (at least one).
        path: the GIF file to write.
        fps: frames per second.
        width: shrink the frames to this width in pixels (keeping their aspect), or None.

    Returns:
        ``path`` as a `pathlib.Path`.
    """
    from PIL import Image

    if not len(frames):
        raise ValueError("save_gif needs at least one frame")
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    images = [Image.fromarray(np.asarray(frame, np.uint8)) for frame in frames]
    if width is not None and images[0].width > width:
        height = round(images[0].height * width / images[0].width)
        images = [image.resize((width, height), Image.Resampling.BILINEAR) for image in images]
    images[0].save(path, save_all=True, append_images=images[1:], duration=int(1000 / fps), loop=0)
    return path


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
    fig, axes = _figure(1, len(tables), figsize=(3.6 * len(tables), 3.8), squeeze=False)
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
    return _save(fig, path)


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
    fig, axes = _figure(1, len(scores), figsize=(3.4 * len(scores), 3.0), squeeze=False)
    for ax, (name, (inside, outside)) in zip(axes[0], scores.items()):
        pooled = np.concatenate([inside, outside])
        edges = np.linspace(np.min(pooled), np.max(pooled) + 1e-12, bins + 1)
        ax.hist(inside, bins=edges, density=True, alpha=0.55, label="in distribution")
        ax.hist(outside, bins=edges, density=True, alpha=0.55, label="out of distribution")
        ax.set_title(name, fontsize=9)
        ax.set_yticks([])
    axes[0][0].legend(fontsize=7)
    fig.suptitle(title, fontsize=10, y=1.08)  # above the panels' two-line titles
    return _save(fig, path)


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
    return _save(fig, path)


def segmentation_grid(images, true_masks, predicted_masks, path, class_names, title=None):
    """Scenes above their true and predicted class masks, one colour per class, background black.

    Args:
        images: ``[N, H, W]`` grayscale images (uint8).
        true_masks: ``[N, H, W]`` class per pixel, 0 the background, ``k`` the class ``class_names[k - 1]``.
        predicted_masks: ``[N, H, W]``, the same coding.
        path: the PNG file to write.
        class_names: the names of classes 1, 2, ... (the legend).
        title: the figure's title.

    Returns:
        ``path`` as a `pathlib.Path`.
    """
    palette = np.vstack([[0, 0, 0], colormaps["tab10"](np.arange(len(class_names)))[:, :3]])
    count = len(images)
    fig, axes = _figure(3, count, figsize=(1.8 * count, 5.8), squeeze=False)
    rows = (
        ("scene", lambda i: (images[i], {"cmap": "gray", "vmin": 0, "vmax": 255})),
        ("truth", lambda i: (palette[true_masks[i]], {})),
        ("prediction", lambda i: (palette[predicted_masks[i]], {})),
    )
    for row, (name, picture) in enumerate(rows):
        for column in range(count):
            shown, style = picture(column)
            axes[row, column].imshow(shown, interpolation="nearest", **style)
            axes[row, column].set_xticks([])
            axes[row, column].set_yticks([])
        axes[row, 0].set_ylabel(name, fontsize=9)
    handles = [Patch(color=palette[k + 1], label=label) for k, label in enumerate(class_names)]
    fig.legend(handles=handles, loc="lower center", ncol=min(10, len(handles)), fontsize=7, frameon=False)
    if title:
        fig.suptitle(title, fontsize=10)
    return _save(fig, path)


def detection_grid(images, detections, truths, path, class_names, title=None, min_score=0.3):
    """Scenes with their true boxes (dashed white) and the detections (coloured by class, with their scores).

    Args:
        images: ``[N, H, W]`` grayscale images (uint8).
        detections: per image, ``(boxes [D, 4], scores [D], classes [D])``, boxes ``(y_min, x_min, y_max, x_max)``.
        truths: per image, ``(boxes [T, 4], classes [T])``.
        path: the PNG file to write.
        class_names: the names of the classes.
        title: the figure's title.
        min_score: detections below this score are not drawn.

    Returns:
        ``path`` as a `pathlib.Path`.
    """
    palette = colormaps["tab10"](np.arange(len(class_names)))[:, :3]
    count = len(images)
    fig, axes = _figure(1, count, figsize=(2.2 * count, 2.6), squeeze=False)
    for ax, image, (boxes, scores, classes), (true_boxes, _) in zip(axes[0], images, detections, truths, strict=True):
        ax.imshow(image, cmap="gray", vmin=0, vmax=255, interpolation="nearest")
        for y0, x0, y1, x1 in true_boxes:
            ax.add_patch(Rectangle((x0 - 0.5, y0 - 0.5), x1 - x0, y1 - y0, fill=False, ec="white", ls="--", lw=0.8))
        for (y0, x0, y1, x1), score, label in zip(boxes, scores, classes, strict=True):
            if score < min_score:
                continue
            colour = palette[int(label)]
            ax.add_patch(Rectangle((x0 - 0.5, y0 - 0.5), x1 - x0, y1 - y0, fill=False, ec=colour, lw=1.2))
            ax.text(x0, y0 - 1, f"{class_names[int(label)]} {score:.2f}", color=colour, fontsize=5, va="bottom")
        ax.set_xticks([])
        ax.set_yticks([])
    if title:
        fig.suptitle(title, fontsize=9)
    return _save(fig, path)


def attribution_grid(images, maps, path, row_titles=None, title=None):
    """Images beside their attribution maps, one column per method, each map scaled to its own maximum.

    Args:
        images: ``[N, H, W]`` grayscale images (uint8).
        maps: ``{method name: [N, H, W] maps}`` (non-negative; signed maps are shown by magnitude).
        path: the PNG file to write.
        row_titles: a label left of each row (e.g. "true: Sneaker / model: Sneaker").
        title: the figure's title.

    Returns:
        ``path`` as a `pathlib.Path`.
    """
    count, names = len(images), list(maps)
    fig, axes = _figure(count, 1 + len(names), figsize=(1.6 * (1 + len(names)) + 0.8, 1.6 * count + 0.4), squeeze=False)
    for row in range(count):
        axes[row, 0].imshow(images[row], cmap="gray", vmin=0, vmax=255, interpolation="nearest")
        for column, name in enumerate(names, start=1):
            shown = np.abs(np.asarray(maps[name][row], np.float32))
            axes[row, column].imshow(images[row], cmap="gray", vmin=0, vmax=255, interpolation="nearest")
            axes[row, column].imshow(shown / max(float(shown.max()), 1e-12), cmap="inferno", vmin=0, vmax=1, alpha=0.75)
        for ax in axes[row]:
            ax.set_xticks([])
            ax.set_yticks([])
        if row_titles:
            axes[row, 0].set_ylabel(row_titles[row], fontsize=7)
    for column, name in enumerate(["image", *names]):
        axes[0, column].set_title(name, fontsize=9)
    if title:
        fig.suptitle(title, fontsize=10)
    return _save(fig, path)
