"""The images lab's figures: test images with the classifier's probabilities."""

import numpy as np

from mit_dl import plots


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
    fig, axes = plots.figure(rows, columns, figsize=(2.0 * columns, 2.3 * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, image, p, label in zip(axes.flat, images, probabilities, labels):
        guess = int(np.argmax(p))
        ax.imshow(np.squeeze(image), cmap="gray")
        colour = "tab:blue" if guess == int(label) else "tab:red"
        ax.set_title(
            f"{class_names[guess]} {100 * p[guess]:.0f}%\n(true: {class_names[int(label)]})", color=colour, fontsize=8
        )
    return plots.save(fig, path)
