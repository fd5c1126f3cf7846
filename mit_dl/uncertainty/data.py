"""The lecture's regression toy: ``y = x^3`` with noise whose spread grows with ``x``, and a gap in the training inputs.

Lecture 5 draws one picture for both kinds of uncertainty: where the data
are noisy, a model should report a wide *aleatoric* band (noise it can
never remove), and where there are no data (outside the training range, or
in a gap inside it), a wide *epistemic* band (what it does not know). Here

    x ~ U[-4, 4] minus the gap (1, 2.5),   y = x^3 + sigma(x) e,   e ~ N(0, 1),
    sigma(x) = 1.5 + 1.5 (x + 4) / 8       (from 1.5 at x = -4 to 3 at x = 4),

so the true noise is known everywhere (`noise_std`) and a model's
aleatoric estimate can be scored against it on the training range, and its
epistemic estimate compared between the gap and the data.

The classification task's images (`image_splits`): real Fashion-MNIST,
its training images split into the images the model learns from and a
validation split for the temperature, its test set, and real MNIST's test
digits as the out-of-distribution inputs.
"""

from typing import NamedTuple

import numpy as np
import tensorflow as tf

from mit_dl.data import mnist
from mit_dl.errors import ConfigError, DataError

X_RANGE = (-4.0, 4.0)
GAP = (1.0, 2.5)


class Regression(NamedTuple):
    """Inputs and targets, ``[N, 1]`` float32 each."""

    x: np.ndarray
    y: np.ndarray


def noise_std(x):
    """The true noise standard deviation ``sigma(x)`` at ``x``.

    Args:
        x: inputs (any shape).

    Returns:
        ``sigma(x)``, shaped like ``x``.

    Examples:
        >>> noise_std(np.array([-4.0, 0.0, 4.0])).tolist()
        [1.5, 2.25, 3.0]
    """
    x = np.asarray(x, np.float64)
    return 1.5 + 1.5 * (x - X_RANGE[0]) / (X_RANGE[1] - X_RANGE[0])


def in_gap(x):
    """Whether each ``x`` lies in the gap the training inputs leave out.

    Args:
        x: inputs (any shape).

    Returns:
        Booleans shaped like ``x``.
    """
    x = np.asarray(x)
    return (x > GAP[0]) & (x < GAP[1])


def cubic_regression(count, seed=0, gap=True):
    """``count`` noisy samples of ``y = x^3`` on [-4, 4], the gap left out unless ``gap`` is False.

    Args:
        count: how many samples (at least 1).
        seed: seed of the inputs and the noise.
        gap: leave out the inputs in (1, 2.5) (training data) or not (a test grid's noise draw).

    Returns:
        A `Regression` of ``[count, 1]`` float32 arrays.

    Raises:
        ValueError: ``count`` is not a positive integer.

    Examples:
        >>> data = cubic_regression(1000, seed=0)
        >>> data.x.shape, bool(in_gap(data.x).any()), bool(np.abs(data.x).max() <= 4)
        ((1000, 1), False, True)
    """
    if isinstance(count, bool) or not isinstance(count, (int, np.integer)) or count < 1:
        raise ValueError(f"count must be a positive integer, received {count!r}")
    rng = np.random.default_rng(seed)
    kept = np.empty(0)
    while len(kept) < count:  # rejection: uniform on [-4, 4] minus the gap
        draw = rng.uniform(*X_RANGE, size=2 * count)
        kept = np.concatenate([kept, draw[~in_gap(draw)] if gap else draw])
    x = kept[:count]
    y = x**3 + noise_std(x) * rng.standard_normal(count)
    return Regression(x[:, None].astype(np.float32), y[:, None].astype(np.float32))


def regression_batches(x, y, batch_size, seed=0):
    """Shuffled, repeated training batches of a regression set; refuses targets that are not finite.

    Args:
        x: inputs ``[N, D]``.
        y: targets ``[N, outputs]``.
        batch_size: examples per batch.
        seed: the shuffle's seed.

    Returns:
        An endless `tf.data.Dataset` of ``(x, y)`` float32 batches.

    Raises:
        DataError: a NaN or infinite target or input (the message gives the first rows).
    """
    for name, values in (("inputs", x), ("targets", y)):
        values = np.asarray(values, np.float32)
        bad = np.flatnonzero(~np.isfinite(values.reshape(len(values), -1)).all(axis=1))
        if len(bad):
            raise DataError(
                f"the regression {name} hold NaN or infinite values at rows {bad[:5].tolist()} "
                f"({len(bad)} rows); drop or fill those rows before training."
            )
    data = tf.data.Dataset.from_tensor_slices((np.asarray(x, np.float32), np.asarray(y, np.float32)))
    return data.shuffle(len(x), seed=seed, reshuffle_each_iteration=True).repeat().batch(batch_size)


class ImageSplits(NamedTuple):
    """uint8 images ``[N, 28, 28]`` and labels of each part, and where they came from."""

    train: tuple
    validation: tuple
    test: tuple
    ood: tuple
    source: str


def image_splits(validation=5000, seed=0, data_dir=None):
    """Fashion-MNIST train (minus a validation split drawn with ``seed``) and test, MNIST test as OOD.

    Args:
        validation: training images held out (they fit the temperature).
        seed: the draw of the validation split.
        data_dir: a folder searched first for the IDX files.

    Returns:
        An `ImageSplits`; ``ood`` holds MNIST's test images and labels.

    Raises:
        ConfigError: ``validation`` leaves no training image.
        DatasetNotFound: a dataset is nowhere to be found (one message naming the ways to provide it).
    """
    images, labels, source = mnist.load_arrays("fashion_mnist", "train", data_dir)
    if not 0 < validation < len(images):
        raise ConfigError("validation", f"must be between 1 and {len(images) - 1}, received {validation}")
    train, held_out = mnist.split_arrays(images, labels, len(images) - validation, seed=seed)
    test_x, test_y, _ = mnist.load_arrays("fashion_mnist", "test", data_dir)
    ood_x, ood_y, ood_source = mnist.load_arrays("mnist", "test", data_dir)
    return ImageSplits(train, held_out, (test_x, test_y), (ood_x, ood_y), f"{source}; OOD: {ood_source}")


def load_data(config):
    """The data an `UncertaintyConfig`'s task trains on: the regression toy or the image splits.

    Args:
        config: the run's `UncertaintyConfig` (``task``, ``seed``, and ``train_count`` for the regression
            toy or ``validation`` and ``data`` for the images).

    Returns:
        A `Regression` (``task="regression"``: `cubic_regression` with the gap left out) or an
        `ImageSplits` (`image_splits`).

    Raises:
        DatasetNotFound: the image task's files are nowhere to be found.
    """
    if config.task == "regression":
        return cubic_regression(config.train_count, seed=config.seed)
    return image_splits(config.validation, config.seed, config.data)
