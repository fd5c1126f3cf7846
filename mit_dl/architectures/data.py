"""Modern CNNs lab data: Fashion-MNIST offline, CIFAR-10 through tensorflow-datasets, as uint8 arrays and pipelines.

Every split is uint8 ``[N, H, W, C]`` (Fashion-MNIST gains its channel
axis); the pipelines scale to [0, 1] per batch. ``validation`` training
images are held out with the run's seed when asked, so a recipe is chosen
without the test set.
"""

import numpy as np
import tensorflow as tf

from mit_dl.data import locations, mnist
from mit_dl.data.augment import augmented
from mit_dl.errors import ConfigError

SHAPES = {"fashion_mnist": (28, 28, 1), "cifar10": (32, 32, 3)}
CLASS_NAMES = {
    "fashion_mnist": mnist.CLASS_NAMES["fashion_mnist"],
    "cifar10": ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"],
}


def load_split(dataset, split, data_dir=None):
    """One split of a dataset as uint8 ``[N, H, W, C]`` images and int32 labels.

    Args:
        dataset: ``"fashion_mnist"`` or ``"cifar10"``.
        split: ``"train"`` or ``"test"``.
        data_dir: a folder of IDX files searched first (Fashion-MNIST).

    Returns:
        ``(images, labels, source)``.

    Raises:
        DatasetNotFound: the data is nowhere to be found (CIFAR-10 offline without a tensorflow-datasets copy).
    """
    if dataset != "cifar10":
        images, labels, source = mnist.load_arrays(dataset, split, data_dir)
        return images[..., None], labels, source
    return _cifar10(split)


def _cifar10(split):
    import tensorflow_datasets as tfds

    try:
        data = tfds.load("cifar10", split=split, as_supervised=True, download=locations.downloads_possible())
    except Exception as error:  # tfds raises many kinds of errors when the data is missing
        raise mnist.DatasetNotFound(
            f"CIFAR-10 ({split}) is not in tensorflow-datasets' folder and cannot be downloaded "
            f"({type(error).__name__}); go online once (tensorflow-datasets keeps a copy) or use "
            "--dataset fashion_mnist, which works offline."
        ) from error
    batches = list(tfds.as_numpy(data.batch(4096)))
    images = np.concatenate([x for x, _ in batches]).astype(np.uint8)
    labels = np.concatenate([y for _, y in batches]).astype(np.int32)
    return images, labels, "tfds:cifar10"


def load_data(config):
    """The training and evaluated images of an `ArchitecturesConfig`.

    Args:
        config: the run's config.

    Returns:
        ``({"train": (x, y), "test": (x, y)}, source)``; ``test`` holds the validation images when
        ``config.validation`` is set.

    Raises:
        ConfigError: ``validation`` or ``train_images`` leaves no training image.
    """
    images, labels, source = load_split(config.dataset, "train", config.data)
    if config.validation:
        if not 0 < config.validation < len(images):
            raise ConfigError("validation", f"must be between 1 and {len(images) - 1}, received {config.validation}")
        train, test = mnist.split_arrays(images, labels, len(images) - config.validation, seed=config.seed)
    else:
        order = np.random.default_rng(config.seed).permutation(len(images))
        train = images[order], labels[order]
        test = load_split(config.dataset, "test", config.data)[:2]
    if config.train_images:
        if config.train_images > len(train[0]):
            raise ConfigError(
                "train_images",
                f"must be at most {len(train[0])} (the training images left), received {config.train_images}",
            )
        train = train[0][: config.train_images], train[1][: config.train_images]
    if config.test_images:
        test = test[0][: config.test_images], test[1][: config.test_images]
    return {"train": train, "test": test}, source


def to_dataset(images, labels, batch_size, shuffle=False, seed=0):
    """Batches of ``(float32 [B, H, W, C] in [0, 1], int32 [B])`` from uint8 arrays.

    Args:
        images: uint8 ``[N, H, W, C]``.
        labels: ``[N]``.
        batch_size: images per batch.
        shuffle: reshuffle each pass (with ``seed``).
        seed: the shuffle's seed.

    Returns:
        The `tf.data.Dataset`.
    """
    data = tf.data.Dataset.from_tensor_slices((images, labels))
    if shuffle:
        data = data.shuffle(min(len(images), 60_000), seed=seed, reshuffle_each_iteration=True)
    data = data.batch(batch_size).map(lambda x, y: (tf.cast(x, tf.float32) / 255.0, y))
    return data.prefetch(tf.data.AUTOTUNE)


def pipelines(config, splits):
    """The shuffled (and, when asked, augmented) training batches and the evaluation batches.

    Args:
        config: the run's config.
        splits: `load_data`'s dictionary.

    Returns:
        ``(train, test)`` datasets.
    """
    train = to_dataset(*splits["train"], config.batch_size, shuffle=True, seed=config.seed)
    if config.augment:
        train = augmented(train, config.seed, shift=4)
    return train, to_dataset(*splits["test"], 512)
