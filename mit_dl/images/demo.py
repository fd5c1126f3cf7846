"""The images lab's part of ``mit-dl demo``: the course CNN for one epoch on Fashion-MNIST, when it is reachable."""

from mit_dl.data.mnist import DatasetNotFound
from mit_dl.images import data, train
from mit_dl.images.config import ImagesConfig


def run(out_dir, steps, seed, log, earlier):
    """Train the lab's CNN for one epoch on Fashion-MNIST, or say how to provide the files.

    Args:
        out_dir: the part's folder.
        steps: the demo's steps per model (unused: one epoch).
        seed: the model's seed.
        log: where progress lines go.
        earlier: the figures of the parts run before (unused).

    Returns:
        The test accuracy and the run directory, or ``{"skipped": why}``.
    """
    config = ImagesConfig(epochs=1, seed=seed)
    try:
        data.load_data(config)
    except DatasetNotFound as error:
        log(f"image classification skipped: {error}")
        return {"skipped": str(error)}
    log("image classification: the lab's CNN, 1 epoch on Fashion-MNIST")
    trained = train.train(config, out_dir, log=log)
    return {"test_accuracy": trained["test"]["accuracy"], "run_directory": str(out_dir)}
