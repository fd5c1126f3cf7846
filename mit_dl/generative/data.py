"""Lecture 4 lab data: real Fashion-MNIST and MNIST, or the sprites, as arrays and training pipelines.

- ``fashion_mnist``: the 60,000 training and 10,000 test images.
- ``mnist``: only its 10,000 test images are available offline, split
  8,000 / 2,000 with a fixed seed, as the images lab does with
  ``split_test=8000``.
- ``sprites``: `mit_dl.generative.sprites` with the benchmark's seed 0 (the
  model's seed changes the weights, never the data), the shape as the class
  of conditional models, and the factors of the test sprites kept to measure
  disentanglement.

The split seed is fixed (`SPLIT_SEED`) so that every run, whatever its own
seed, is scored on the same held-out images with the same feature classifier.
"""

import dataclasses
from typing import Optional

import numpy as np
import tensorflow as tf

from mit_dl.data import mnist
from mit_dl.generative import sprites as sprites_lib

SPLIT_SEED = 0
MNIST_TRAIN = 8000


@dataclasses.dataclass
class GenerativeData:
    """Training and held-out images of one dataset.

    Attributes:
        train_images: uint8 ``[N, H, W, 1]``.
        train_labels: int32 ``[N]`` class ids (the shape, for sprites).
        test_images: uint8 ``[M, H, W, 1]``, never trained on.
        test_labels: int32 ``[M]``.
        class_names: one name per class.
        source: where the images came from.
        test_factors: int ``[M, 5]`` factor codes of the test sprites (``None`` otherwise).
    """

    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray
    class_names: list
    source: str
    test_factors: Optional[np.ndarray] = None

    @property
    def image_shape(self):
        """``(H, W, 1)``."""
        return tuple(self.train_images.shape[1:])

    @property
    def num_classes(self):
        """The number of classes."""
        return len(self.class_names)


def load_data(config):
    """The images a `GenerativeConfig` names (see the module docstring).

    Args:
        config: the run's config (``dataset``, ``data``, ``train_count``, ``sprites_count``).

    Returns:
        A `GenerativeData`.

    Raises:
        DatasetNotFound: MNIST or Fashion-MNIST is nowhere to be found.
    """
    if config.dataset == "sprites":
        train = sprites_lib.sprites(config.sprites_count, "train", seed=SPLIT_SEED)
        test = sprites_lib.sprites(max(2, config.sprites_count // 4), "test", seed=SPLIT_SEED)
        data = GenerativeData(
            train.images,
            train.factors[:, 0].astype(np.int32),
            test.images,
            test.factors[:, 0].astype(np.int32),
            list(sprites_lib.SHAPES),
            f"sprites generated with seed {SPLIT_SEED}",
            test.factors,
        )
    elif config.dataset == "mnist":
        images, labels, source = mnist.load_arrays("mnist", "test", config.data)
        (train_x, train_y), (test_x, test_y) = mnist.split_arrays(images, labels, MNIST_TRAIN, seed=SPLIT_SEED)
        data = GenerativeData(
            train_x[..., None],
            train_y.astype(np.int32),
            test_x[..., None],
            test_y.astype(np.int32),
            list(mnist.CLASS_NAMES["mnist"]),
            f"{source}, test split {MNIST_TRAIN}/{len(images) - MNIST_TRAIN}",
        )
    else:
        train_x, train_y, source = mnist.load_arrays("fashion_mnist", "train", config.data)
        test_x, test_y, _ = mnist.load_arrays("fashion_mnist", "test", config.data)
        data = GenerativeData(
            train_x[..., None],
            train_y.astype(np.int32),
            test_x[..., None],
            test_y.astype(np.int32),
            list(mnist.CLASS_NAMES["fashion_mnist"]),
            source,
        )
    if config.train_count:
        data.train_images = data.train_images[: config.train_count]
        data.train_labels = data.train_labels[: config.train_count]
    return data


def training_batches(config, data):
    """Shuffled batches ``(float32 images in [0, 1], int32 labels)`` of ``batch_size * batches_per_step`` images.

    WGAN-GP's steps take ``n_critic`` real batches at once (one per critic
    update); every other model's steps take one. Incomplete batches are
    dropped, so every step sees the same number of images.

    Args:
        config: the run's `GenerativeConfig`.
        data: its `GenerativeData`.

    Returns:
        An endless `tf.data.Dataset` (a pass over the images reshuffles with the seed).
    """
    size = config.batch_size * config.batches_per_step
    if len(data.train_images) < size:
        raise ValueError(
            f"a step needs {size} training images but there are {len(data.train_images)}; "
            "lower batch_size or raise train_count."
        )
    pipeline = tf.data.Dataset.from_tensor_slices((data.train_images, data.train_labels))
    pipeline = pipeline.shuffle(len(data.train_images), seed=config.seed, reshuffle_each_iteration=True).repeat()
    pipeline = pipeline.batch(size, drop_remainder=True)
    pipeline = pipeline.map(lambda x, y: (tf.cast(x, tf.float32) / 255.0, y), num_parallel_calls=tf.data.AUTOTUNE)
    return pipeline.prefetch(tf.data.AUTOTUNE)
