"""Figures written as PNG files.

Figures are built with matplotlib's object API (``Figure``, no pyplot), so
nothing needs a display and the global backend is left alone: in Jupyter,
``plt.plot`` keeps drawing inline after these functions ran, and
``IPython.display.Image(path)`` shows the files they write.
"""

import pathlib

import numpy as np
from matplotlib.figure import Figure


def figure(rows=1, columns=1, figsize=None, squeeze=True):
    """``(figure, axes)`` like ``pyplot.subplots``, without touching pyplot's state.

    Args:
        rows: rows of axes.
        columns: columns of axes.
        figsize: ``(width, height)`` in inches.
        squeeze: as ``pyplot.subplots``: a single axes (or a 1-D array) instead of a 2-D array.

    Returns:
        ``(figure, axes)``.
    """
    fig = Figure(figsize=figsize)
    return fig, fig.subplots(rows, columns, squeeze=squeeze)


def save(fig, path):
    """Write ``fig`` as a PNG file (its folder made as needed).

    Args:
        fig: a matplotlib ``Figure``.
        path: the PNG file.

    Returns:
        ``path`` as a `pathlib.Path`.
    """
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    return path


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
    fig, ax = figure(figsize=(7, 6))
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
    return save(fig, path)


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
    fig, axes = figure(1, len(metrics), figsize=(4.5 * len(metrics), 3.5), squeeze=False)
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
    return save(fig, path)


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
    fig, axes = figure(rows, columns, figsize=(1.6 * columns, 1.9 * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, image, caption in zip(axes.flat, images, titles):
        ax.imshow(np.squeeze(image), cmap="gray" if np.ndim(np.squeeze(image)) == 2 else None)
        ax.set_title(caption, fontsize=7)
    if title:
        fig.suptitle(title, fontsize=10)
    return save(fig, path)


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
    fig, ax = figure(figsize=(0.55 * columns + (1.4 if row_titles else 0.2), 0.55 * rows + 0.6))
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
    return save(fig, path)


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
    fig, ax = figure(figsize=(7, 0.4 * len(names) + 1.0))
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
    return save(fig, path)


def curves(series, path, title, xlabel, ylabel, reference=None):
    """Lines (or marked points) of several series on one axis, e.g. a return curve beside evaluations.

    Args:
        series: ``{label: (xs, ys)}``; a series of at most 30 points is drawn with markers; when every
            series has one point, the points are labelled and the title says the run was too short.
        path: the PNG file to write.
        title: the figure's title.
        xlabel: the x axis' name and unit.
        ylabel: the y axis' name and unit.
        reference: optional ``(value, label)`` drawn as a dashed horizontal line (a target).

    Returns:
        ``path`` as a `pathlib.Path`.
    """
    fig, ax = figure(figsize=(7, 3.8))
    single = all(len(xs) <= 1 for xs, _ in series.values())
    for label, (xs, ys) in series.items():
        ax.plot(xs, ys, marker="o" if len(xs) <= 30 else None, markersize=4, label=label)
        if single:  # a lone point reads as a number, not as a dot
            for x, y in zip(xs, ys):
                ax.annotate(f"{y:.3g}", (x, y), textcoords="offset points", xytext=(6, 4), fontsize=8)
    if reference is not None:
        ax.axhline(reference[0], color="gray", linestyle="--", linewidth=1, label=reference[1])
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if single:
        title += "\n(one point per curve: a longer run draws the curves)"
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return save(fig, path)


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
