"""The vision lab's data: scenes built from disjoint halves of real MNIST or Fashion-MNIST images.

Source images come from the shared offline-first loader `mit_dl.data.mnist`.
Training and test scenes never share a source image:

- ``mnist``: only MNIST's 10,000 test digits can be had offline, so they are
  cut once, with a fixed seed, into 8,000 for training scenes and 2,000 for
  test scenes (the images lab's ``split_test=8000`` cut);
- ``fashion_mnist``: training scenes from its 60,000 training images, test
  scenes from its 10,000 test images.
"""

import tensorflow as tf

from mit_dl.data import mnist
from mit_dl.vision import detector
from mit_dl.vision import scenes as scene_maker

DATASETS = ("mnist", "fashion_mnist")
SPLITS = ("train", "test")
MNIST_TRAIN_SOURCES = 8000
# The seed of the MNIST cut: fixed, so that no scene seed can move a digit from one side to the other.
SOURCE_SPLIT_SEED = 0


def scene_sources(dataset, split, data_dir=None):
    """The real images a split's scenes are built from.

    Args:
        dataset: ``"mnist"`` or ``"fashion_mnist"``.
        split: ``"train"`` or ``"test"``.
        data_dir: a folder searched first for the IDX files (else ``$MIT_DL_DATA``, the caches, a download).

    Returns:
        ``(images uint8 [M, 28, 28], labels int32 [M], source)``, ``source`` saying which images these are.

    Raises:
        ValueError: an unknown dataset or split.
        DatasetNotFound: the images are nowhere to be found.
    """
    if dataset not in DATASETS or split not in SPLITS:
        raise ValueError(f"unknown dataset or split {dataset!r}/{split!r}; choose from {DATASETS} and {SPLITS}.")
    if dataset == "fashion_mnist":
        images, labels, source = mnist.load_arrays(dataset, split, data_dir)
        return images, labels, f"{source} ({split})"
    images, labels, source = mnist.load_arrays("mnist", "test", data_dir)
    train, test = mnist.split_arrays(images, labels, MNIST_TRAIN_SOURCES, seed=SOURCE_SPLIT_SEED)
    part, (start, end) = (
        (train, (0, MNIST_TRAIN_SOURCES)) if split == "train" else (test, (MNIST_TRAIN_SOURCES, len(images)))
    )
    return (*part, f"{source} test digits, shuffled with seed {SOURCE_SPLIT_SEED}, [{start}:{end}]")


def load_scenes(dataset, split, count, seed=0, data_dir=None, max_objects=scene_maker.MAX_OBJECTS):
    """``count`` scenes of one split, deterministic from ``seed``.

    Args:
        dataset: ``"mnist"`` or ``"fashion_mnist"``.
        split: ``"train"`` or ``"test"``.
        count: how many scenes.
        seed: the scenes' seed (test scenes use their own seed stream: the same number gives other scenes).
        data_dir: a folder searched first for the IDX files.
        max_objects: at most this many objects per scene.

    Returns:
        ``(Scenes, source)``.

    Raises:
        DatasetNotFound: the source images are nowhere to be found.
    """
    images, labels, source = scene_sources(dataset, split, data_dir)
    stream = SPLITS.index(split)
    return scene_maker.make_scenes(
        images, labels, count, seed=seed * len(SPLITS) + stream, max_objects=max_objects
    ), source


def load_data(config):
    """The training and test scenes of a `VisionConfig`.

    Args:
        config: the run's `VisionConfig`.

    Returns:
        ``(train Scenes, test Scenes, {"train": source, "test": source})``.

    Raises:
        DatasetNotFound: the source images are nowhere to be found.
    """
    train, train_source = load_scenes(
        config.dataset, "train", config.train_scenes, config.seed, config.data, config.max_objects
    )
    test, test_source = load_scenes(
        config.dataset, "test", config.test_scenes, config.seed, config.data, config.max_objects
    )
    return train, test, {"train": train_source, "test": test_source}


def segmentation_dataset(scenes, batch_size, shuffle=False, seed=0):
    """Batches of ``(images float32 [B, 128, 128, 1] in [0, 1], masks int32 [B, 128, 128])``.

    Args:
        scenes: the `Scenes`.
        batch_size: scenes per batch.
        shuffle: reshuffle every pass (seeded).
        seed: the shuffle's seed.

    Returns:
        A `tf.data.Dataset`.
    """
    data = tf.data.Dataset.from_tensor_slices((scenes.images, scenes.masks))
    if shuffle:
        data = data.shuffle(len(scenes), seed=seed, reshuffle_each_iteration=True)
    data = data.batch(batch_size)
    # uint8 through the shuffle buffer; scaled once per batch.
    data = data.map(lambda x, y: (tf.cast(x, tf.float32)[..., None] / 255.0, tf.cast(y, tf.int32)))
    return data.prefetch(tf.data.AUTOTUNE)


def detection_dataset(scenes, batch_size, shuffle=False, seed=0):
    """Batches of ``(images float32 [B, S, S, 1] in [0, 1], detector targets)``, the targets made per scene.

    Args:
        scenes: the `Scenes`.
        batch_size: scenes per batch.
        shuffle: reshuffle every pass (seeded).
        seed: the shuffle's seed.

    Returns:
        A `tf.data.Dataset`; targets as `mit_dl.vision.detector.center_targets` makes them.
    """
    side = scenes.images.shape[1]
    data = tf.data.Dataset.from_tensor_slices((scenes.images, scenes.boxes, scenes.classes, scenes.counts))
    if shuffle:
        data = data.shuffle(len(scenes), seed=seed, reshuffle_each_iteration=True)

    def prepared(images, boxes, classes, count):
        targets = detector.scene_targets(boxes, classes, count, image_size=side)
        return tf.cast(images, tf.float32)[..., None] / 255.0, targets

    return data.map(prepared, num_parallel_calls=tf.data.AUTOTUNE).batch(batch_size).prefetch(tf.data.AUTOTUNE)
