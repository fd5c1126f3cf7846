"""The vision lab's figures: masks, boxes and attribution maps over their images."""

import numpy as np
from matplotlib import colormaps
from matplotlib.patches import Patch, Rectangle

from mit_dl import plots


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
    fig, axes = plots.figure(3, count, figsize=(1.8 * count, 5.8), squeeze=False)
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
    return plots.save(fig, path)


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
    fig, axes = plots.figure(1, count, figsize=(2.2 * count, 2.6), squeeze=False)
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
    return plots.save(fig, path)


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
    fig, axes = plots.figure(
        count, 1 + len(names), figsize=(1.6 * (1 + len(names)) + 0.8, 1.6 * count + 0.4), squeeze=False
    )
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
    return plots.save(fig, path)
