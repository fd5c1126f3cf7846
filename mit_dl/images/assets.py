"""The images lab's figures for the docs site (``python -m docs.build_assets --only images``)."""

from mit_dl.images import train
from mit_dl.images.config import ImagesConfig


def build(work, site):
    """One epoch of the lab's CNN on real Fashion-MNIST with the cosine recipe: the run's three figures.

    Args:
        work: the scratch folder of the runs.
        site: the docs' asset writer (``docs/build_assets.py``'s `Site`).

    Returns:
        The manifest entry: the command, the files, the test accuracy.
    """
    run_dir = work / "images-cnn"
    metrics = train.train(ImagesConfig(dataset="fashion_mnist", model="cnn", recipe="cosine", epochs=1), run_dir)
    return {
        "command": "mit-dl images train --dataset fashion_mnist --model cnn --recipe cosine --epochs 1",
        "files": [
            site.copy(run_dir / name) for name in ("predictions.png", "confusion_matrix.png", "training_curves.png")
        ],
        "test_accuracy": metrics["test"]["accuracy"],
    }
