"""MNIST and Fashion-MNIST as tf.data pipelines, resolved offline-first (Lab 2, part 1).

Where the arrays come from, in order (docs/design.md, section 5):
1. ``data_dir`` / ``--data`` or ``$MIT_DL_DATA``: the four IDX files
   (``train-images-idx3-ubyte.gz`` ...), directly in the folder or in a
   ``mnist/`` / ``fashion-mnist/`` sub-folder, or Keras' ``mnist.npz``;
2. Keras' cache ``~/.keras/datasets`` (``mnist.npz``, ``fashion-mnist/``);
3. Debian's ``/usr/share/datasets/<name>/`` (package ``dataset-fashion-mnist``);
4. tensorflow-datasets (downloads for users who are online).

Images stay uint8 until batching, then become float32 in [0, 1] with shape
``(28, 28, 1)``.
"""

import pathlib

import numpy as np
import tensorflow as tf

from mit_dl.data import locations
from mit_dl.data.idx import read_idx
from mit_dl.errors import ConfigError, DataError, DataNotFound

DATASETS = {
    "mnist": {"folders": ("mnist",), "npz": "mnist.npz", "tfds": "mnist"},
    "fashion_mnist": {"folders": ("fashion-mnist", "fashion_mnist"), "npz": None, "tfds": "fashion_mnist"},
}
SPLITS = {"train": "train", "test": "t10k"}
CLASS_NAMES = {
    "mnist": [str(d) for d in range(10)],
    "fashion_mnist": [
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    ],
}


class DatasetNotFound(DataNotFound):
    """No local copy of a dataset and no way to download it."""


def _check(name, split):
    if name not in DATASETS:
        raise ConfigError("dataset", f"must be one of {', '.join(DATASETS)}, received {name!r}")
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; choose 'train' or 'test'.")


def _idx_pair(folder, split):
    prefix = SPLITS[split]
    for suffix in (".gz", ""):
        images = folder / f"{prefix}-images-idx3-ubyte{suffix}"
        labels = folder / f"{prefix}-labels-idx1-ubyte{suffix}"
        if images.is_file() and labels.is_file():
            return images, labels
    return None


def _from_folder(name, split, root):
    """Arrays from IDX files or an npz in ``root`` (or its dataset sub-folder), else None."""
    for folder in (root, *(root / sub for sub in DATASETS[name]["folders"])):
        pair = _idx_pair(folder, split)
        if pair:
            images, labels = read_idx(pair[0]), read_idx(pair[1])
            return _validated(images, labels, pair[0])
        npz = DATASETS[name]["npz"]
        if npz and (folder / npz).is_file():
            with np.load(folder / npz, allow_pickle=False) as data:
                return _validated(data[f"x_{split}"], data[f"y_{split}"], folder / npz)
    return None


def _validated(images, labels, source):
    if images.ndim != 3 or images.shape[1:] != (28, 28) or images.dtype != np.uint8:
        raise DataError(f"{source}: expected uint8 images of shape (N, 28, 28), found {images.dtype} {images.shape}.")
    if labels.shape != (images.shape[0],):
        raise DataError(f"{source}: {labels.shape[0]} labels for {images.shape[0]} images; the files do not match.")
    if labels.size and labels.max() > 9:
        raise DataError(f"{source}: labels must be 0-9, found {int(labels.max())}.")
    return images, labels.astype(np.int32), str(source)


def _from_tfds(name, split):
    import tensorflow_datasets as tfds

    data = tfds.load(DATASETS[name]["tfds"], split=split, as_supervised=True).batch(4096)
    batches = list(tfds.as_numpy(data))
    images = np.concatenate([x for x, _ in batches]).reshape(-1, 28, 28).astype(np.uint8)
    labels = np.concatenate([y for _, y in batches])
    return _validated(images, labels, f"tfds:{name}")


def load_arrays(name, split="train", data_dir=None, download=True):
    """MNIST or Fashion-MNIST images and labels from the first source that has them.

    Args:
        name: ``"mnist"`` or ``"fashion_mnist"``.
        split: ``"train"`` or ``"test"``.
        data_dir: a folder searched first.
        download: allow a tensorflow-datasets download when no local copy is found.

    Returns:
        ``(images uint8 [N, 28, 28], labels int32 [N], source)``, ``source`` naming where they came from.

    Raises:
        DatasetNotFound: no source has them; the message names every way to provide them.
    """
    _check(name, split)
    # A folder the user names is the only local one searched: a wrong --data must not be replaced by
    # $MIT_DL_DATA (or another copy) without a word.
    searched = [pathlib.Path(data_dir).expanduser()] if data_dir else locations.local_search_paths()
    for root in searched:
        found = _from_folder(name, split, pathlib.Path(root))
        if found:
            return found
    if not download:
        reason = "downloads are off"
    elif not locations.downloads_possible():
        reason = f"no internet connection (or ${locations.OFFLINE_VARIABLE} is set)"
    else:
        try:
            return _from_tfds(name, split)
        except Exception as error:  # tfds raises many kinds of errors when a download fails
            reason = f"the tensorflow-datasets download failed ({type(error).__name__}: {error})"
    if data_dir:
        raise DatasetNotFound(
            f"{name} ({split}) is not in {data_dir}, the folder given as --data, and {reason}; put its IDX "
            f"files there (or in a {name} sub-folder), or leave --data out to search the usual places."
        )
    debian = " install Debian's dataset-fashion-mnist," if name == "fashion_mnist" else ""
    raise DatasetNotFound(
        f"{name} ({split}) not found locally and {reason}; put the IDX files in a folder and set "
        f"${locations.ENV_VARIABLE} to it (or pass --data DIR to a command),{debian} or go online once "
        f"(tensorflow-datasets keeps a copy). Searched: {', '.join(str(p) for p in searched)}."
    )


def to_dataset(images, labels, batch_size=64, shuffle=False, seed=0):
    """A tf.data pipeline of ``(float32 [B, 28, 28, 1] in [0, 1], int32 [B])`` batches.

    Args:
        images: uint8 ``[N, 28, 28]``.
        labels: ``[N]`` class ids.
        batch_size: images per batch.
        shuffle: reshuffle each pass.
        seed: the shuffle's seed.

    Returns:
        The `tf.data.Dataset`.

    Raises:
        DataError: there are no images.
    """
    if len(images) == 0:
        raise DataError("no images to make a dataset from; check the data source.")
    data = tf.data.Dataset.from_tensor_slices((images, labels))
    if shuffle:
        data = data.shuffle(min(len(images), 60_000), seed=seed, reshuffle_each_iteration=True)
    data = data.batch(batch_size)
    # uint8 through the shuffle buffer; scaled once per batch.
    data = data.map(lambda x, y: (tf.cast(x, tf.float32)[..., None] / 255.0, y), num_parallel_calls=tf.data.AUTOTUNE)
    return data.prefetch(tf.data.AUTOTUNE)


def split_arrays(images, labels, first, seed=0):
    """Shuffle with ``seed`` and cut after ``first`` examples: two disjoint parts.

    Args:
        images: ``[N, ...]``.
        labels: ``[N]``.
        first: how many examples the first part gets.
        seed: the shuffle's seed.

    Returns:
        ``((images, labels), (images, labels))``.
    """
    order = np.random.default_rng(seed).permutation(len(images))
    head, tail = order[:first], order[first:]
    return (images[head], labels[head]), (images[tail], labels[tail])
