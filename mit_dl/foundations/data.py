"""Lecture 1 lab data: Fashion-MNIST's training images split into training and validation, the test set, pipelines.

The images come from the shared offline-first loader `mit_dl.data.mnist`.
The validation images are drawn from the training split with the run's
seed, so the test set is never used to choose anything.
"""

import numpy as np

from mit_dl.data import mnist
from mit_dl.data.augment import augmented
from mit_dl.errors import ConfigError

DATASET = "fashion_mnist"


def load_data(config):
    """The training, validation and test images of a `FoundationsConfig`.

    Args:
        config: the run's config (``validation``, ``train_images``, ``seed``, ``data``).

    Returns:
        ``{"train": (x, y), "validation": (x, y), "test": (x, y)}`` of uint8 images and int labels, and the
        source's name.

    Raises:
        ConfigError: ``validation`` and ``train_images`` ask for more images than the training split has.
        DatasetNotFound: Fashion-MNIST is nowhere to be found.
    """
    images, labels, source = mnist.load_arrays(DATASET, "train", config.data)
    available = len(images) - config.validation
    if available < 1 or (config.train_images or 0) > available:
        raise ConfigError(
            "train_images",
            f"and validation ({config.train_images} + {config.validation}) ask for more than the {len(images)} "
            "training images; ask for fewer",
        )
    validation, rest = mnist.split_arrays(images, labels, config.validation, seed=config.seed)
    train = (rest[0][: config.train_images], rest[1][: config.train_images]) if config.train_images else rest
    test_images, test_labels, _ = mnist.load_arrays(DATASET, "test", config.data)
    return {"train": train, "validation": validation, "test": (test_images, test_labels)}, source


def pipelines(config, splits):
    """The training batches (shuffled with the seed, augmented when asked) and the evaluation batches.

    Args:
        config: the run's config.
        splits: `load_data`'s dictionary.

    Returns:
        ``{"train": ..., "validation": ..., "test": ...}`` `tf.data.Dataset` s of ``(images, labels)``.
    """
    train = mnist.to_dataset(*splits["train"], config.batch_size, shuffle=True, seed=config.seed)
    if config.augment:
        train = augmented(train, config.seed, shift=2)
    return {
        "train": train,
        "validation": mnist.to_dataset(*splits["validation"], 512),
        "test": mnist.to_dataset(*splits["test"], 512),
    }


def class_counts(labels):
    """How many images of each class a split has (a subset of 1,000 is not exactly balanced).

    Args:
        labels: int labels.

    Returns:
        A list of 10 counts.
    """
    return np.bincount(np.asarray(labels), minlength=10).tolist()
