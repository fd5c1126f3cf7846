"""Figures written as PNG files.

Figures are built with matplotlib's object API (``Figure``, no pyplot), so
nothing needs a display and the global backend is left alone: in Jupyter,
``plt.plot`` keeps drawing inline after these functions ran, and
``IPython.display.Image(path)`` shows the files they write.
"""

import pathlib

import numpy as np


def _figure(rows=1, columns=1, figsize=None, squeeze=True):
    """``(figure, axes)`` like ``pyplot.subplots``, without touching pyplot's state."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize)
    return fig, fig.subplots(rows, columns, squeeze=squeeze)


def _save(fig, path):
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    return path


def prediction_grid(images, probabilities, labels, class_names, path, columns=6):
    """Test images with the predicted class and probability; mistakes in red."""
    n = len(images)
    rows = max(1, -(-n // columns))
    fig, axes = _figure(rows, columns, figsize=(2.0 * columns, 2.3 * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, image, p, label in zip(axes.flat, images, probabilities, labels):
        guess = int(np.argmax(p))
        ax.imshow(np.squeeze(image), cmap="gray")
        colour = "tab:blue" if guess == int(label) else "tab:red"
        ax.set_title(f"{class_names[guess]} {100 * p[guess]:.0f}%\n(true: {class_names[int(label)]})",
                     color=colour, fontsize=8)
    return _save(fig, path)


def confusion_matrix(matrix, class_names, path, title="Confusion matrix"):
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
        ax.text(j, i, str(value), ha="center", va="center", fontsize=6,
                color="white" if value > threshold else "black")
    return _save(fig, path)


def training_curves(history, path, title="Training"):
    """One panel per metric family: ``loss``/``val_loss``, ``accuracy``/``val_accuracy``, ..."""
    families = sorted({k.removeprefix("val_") for k in history})
    fig, axes = _figure(1, len(families), figsize=(4.5 * len(families), 3.5), squeeze=False)
    for ax, family in zip(axes[0], families):
        for key in (family, f"val_{family}"):
            if key in history:
                values = history[key]
                ax.plot(range(1, len(values) + 1), values, marker="o", label=key)
        ax.set_xlabel("epoch")
        ax.set_title(family)
        ax.legend()
    fig.suptitle(title)
    return _save(fig, path)


def image_grid(images, titles, path, columns=8, title=None):
    """uint8 RGB (or grey) images in rows of ``columns``, each with its title."""
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

    ``reports``: ``{model name: mit_dl.evaluation.group_report(...)}`` over the same groups.
    """
    groups = list(next(iter(reports.values()))["groups"])
    height = 0.8 / len(reports)
    fig, ax = _figure(figsize=(8, 0.32 * len(groups) * max(1, len(reports) / 1.5) + 1.2))
    for k, (name, report) in enumerate(reports.items()):
        accuracy = np.array([report["groups"][g]["accuracy"] for g in groups])
        interval = np.array([report["groups"][g]["accuracy_95ci"] for g in groups])
        errors = np.clip(np.stack([accuracy - interval[:, 0], interval[:, 1] - accuracy]), 0, None)
        ax.barh(np.arange(len(groups)) + k * height, 100 * accuracy, height, xerr=100 * errors, capsize=2,
                label=f"{name} (overall {100 * report['accuracy']:.1f}%)")
    ax.set_yticks(np.arange(len(groups)) + height * (len(reports) - 1) / 2, groups, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.set_xlabel("accuracy (%)")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=2)
    return _save(fig, path)
