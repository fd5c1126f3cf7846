"""The modern CNNs lab's part of ``mit-dl demo``: ResNet-8 against its plain twin on Fashion-MNIST, and the counts."""

from mit_dl.architectures import counting, train
from mit_dl.architectures.config import MODELS, ArchitecturesConfig
from mit_dl.architectures.model import build_network
from mit_dl.data.mnist import DatasetNotFound


def run(out_dir, steps, seed, log, earlier):
    """Train a narrow ResNet-8 and its plain twin for a few steps each, then count every network.

    Args:
        out_dir: the part's folder.
        steps: the demo's steps per model (at most 60 here: one epoch of batches of 64).
        seed: the networks' seed.
        log: where progress lines go.
        earlier: the figures of the parts run before (unused).

    Returns:
        Each network's test accuracy and every network's multiply-adds, or ``{"skipped": why}``.
    """
    images = 64 * max(2, min(steps, 60))
    base = ArchitecturesConfig(width=8, train_images=images, test_images=1000, batch_size=64, epochs=1, seed=seed)
    found = {}
    for model in ("plain8", "resnet8"):
        try:
            metrics = train.train(base.replace(model=model), out_dir / model, export=False, log=lambda line: None)
        except DatasetNotFound as error:
            log(f"modern CNNs skipped: {error}")
            return {"skipped": str(error)}
        accuracy = found[f"{model}_test_accuracy"] = metrics["test"]["accuracy"]
        log(f"modern CNNs: {model} on {images} Fashion-MNIST images, test accuracy {100 * accuracy:.1f}%")
    found["multiply_adds"] = {name: counting.multiply_adds(build_network(name, (28, 28, 1))) for name in MODELS}
    return found
