"""Lab 2 part 2 data: a config's training and test images, and the batches each detector trains on.

``data="synthetic"`` is the benchmark of `mit_dl.faces.synthetic` (hidden
attribute groups known for every image); ``"lfw"`` (scikit-image's 100 real
faces and 100 non-faces) and the course's ``train_face.h5`` are real data
without attributes, split into training and held-out images with the seed.

Both detectors see one pipeline: RGB uint8 -> [0, 1], half faces and half
non-faces per batch (`mit_dl.faces.debias.resampled_batches`). The standard
CNN draws faces uniformly; the DB-VAE's face draws follow its latent-density
sampling probabilities, a variable that its resampling callback rewrites.
"""

import numpy as np
import tensorflow as tf

from mit_dl.errors import DataError
from mit_dl.faces import debias, sources, synthetic
from mit_dl.faces.synthetic import FaceData


def load_data(config):
    """The training and test `FaceData` of a `FacesConfig`; real data carries no attributes.

    Args:
        config: the run's `FacesConfig`.

    Returns:
        ``(train, test, description)``.
    """
    if config.data == "synthetic":
        # The oracle trains on a balanced split of the same size (every group equally often).
        balanced = config.model == "oracle"
        train = synthetic.synthetic_faces(config.train_count, "train", seed=config.seed, balanced=balanced)
        test = synthetic.synthetic_faces(config.test_count, "test", seed=config.seed)
        return train, test, f"synthetic benchmark, seed {config.seed}"
    if config.data == "lfw":
        images, labels = sources.lfw_subset()
        description = "scikit-image lfw_subset"
    else:
        images, labels = sources.course_h5(config.data)
        description = f"course h5 {config.data}"
    train, test = held_out_split(images, labels, config.held_out_fraction, config.seed)
    return train, test, f"{description}: {len(train)} train / {len(test)} held out (seed {config.seed})"


def held_out_split(images, labels, fraction, seed):
    """Stratified split: ``fraction`` of each label held out.

    Args:
        images: uint8 ``[N, 64, 64, 3]``.
        labels: 1 for faces, 0 for non-faces.
        fraction: share of each label held out.
        seed: the split's seed.

    Returns:
        ``(train, test)`` as `FaceData`.

    Raises:
        DataError: too few images to hold some out of both labels.
    """
    rng = np.random.default_rng(seed)
    test_rows = []
    for label in (0, 1):
        rows = rng.permutation(np.flatnonzero(labels == label))
        test_rows.append(rows[: int(round(fraction * len(rows)))])
    test_mask = np.zeros(len(labels), bool)
    test_mask[np.concatenate(test_rows)] = True
    if test_mask.all() or not test_mask.any() or len(np.unique(labels[~test_mask])) < 2:
        raise DataError(f"{len(labels)} images are too few to hold some out; give faces and non-faces.")
    return (FaceData(images[~test_mask], labels[~test_mask], {}), FaceData(images[test_mask], labels[test_mask], {}))


def faces_and_non_faces(train):
    """The training faces and non-faces of a `FaceData` split.

    Args:
        train: the training `FaceData`.

    Returns:
        ``(faces, non_faces)`` uint8 arrays.

    Raises:
        DataError: one of the two is missing.
    """
    faces, non_faces = train.images[train.labels == 1], train.images[train.labels == 0]
    if len(faces) == 0 or len(non_faces) == 0:
        raise DataError("the training data needs both faces (label 1) and non-faces (label 0).")
    return faces, non_faces


def training_batches(config, train):
    """Endless seeded training batches and the face-sampling variable they read.

    The probabilities start uniform, except for the ``reweighted`` model,
    which draws every face group equally often (`group_balanced_probabilities`)
    and keeps that. Small real sets (``config.real_data``)
    get random flips, shifts, brightness and contrast (`augmented`): the 140
    training images of ``lfw_subset`` are otherwise memorised.

    Args:
        config: the run's `FacesConfig`.
        train: the training `FaceData`.

    Returns:
        ``(batches, probabilities)``.
    """
    faces, non_faces = faces_and_non_faces(train)
    if config.model == "reweighted":
        start = group_balanced_probabilities(train)
    else:
        start = np.full(len(faces), 1.0 / len(faces), np.float32)
    probabilities = tf.Variable(start, trainable=False, name="face_sampling_probabilities")
    batches = debias.resampled_batches(faces, non_faces, probabilities, config.batch_size, config.seed)
    if config.real_data:
        batches = augmented(batches, config.seed)
    return batches, probabilities


def group_balanced_probabilities(train):
    """Label-aware reweighting: each training face's draw probability so that every face group is drawn equally.

    A face in a group of ``n_g`` faces, among ``G`` groups present, gets
    ``1 / (G * n_g)``: the lecture's "sample reweighting" when the groups are
    known, the baseline the DB-VAE (which needs no labels) is measured against.

    Args:
        train: the training `FaceData`, with attributes.

    Returns:
        float32 ``[faces]`` summing to 1, in the order of `faces_and_non_faces`.

    Raises:
        DataError: the data has no group labels (real data).
    """
    if not train.attributes:
        raise DataError("reweighting by group needs the group labels of the synthetic benchmark; real data has none.")
    groups = train.group_names()[train.labels == 1]
    names, index, counts = np.unique(groups, return_inverse=True, return_counts=True)
    return (1.0 / (len(names) * counts[index])).astype(np.float32)


def augmented(batches, seed, shift=6):
    """Seeded random flips, shifts, brightness and contrast on [0, 1] batches.

    Args:
        batches: a dataset of ``(images, labels)``.
        seed: the jitter's seed.
        shift: the largest shift in pixels.

    Returns:
        The jittered dataset.
    """

    def jitter(batch, key):
        (images, labels), seeds = batch, tf.random.experimental.stateless_split(tf.stack([key, seed]), 4)
        size = tf.shape(images)[1]
        images = tf.image.stateless_random_flip_left_right(images, seeds[0])
        padded = tf.pad(images, [[0, 0], [shift, shift], [shift, shift], [0, 0]], mode="REFLECT")
        images = tf.image.stateless_random_crop(padded, tf.stack([tf.shape(images)[0], size, size, 3]), seeds[1])
        images = tf.image.stateless_random_brightness(images, 0.15, seeds[2])
        images = tf.image.stateless_random_contrast(images, 0.7, 1.3, seeds[3])
        return tf.clip_by_value(images, 0.0, 1.0), labels

    return tf.data.Dataset.zip(batches, tf.data.Dataset.random(seed=seed + 1)).map(jitter)


def as_detector_labels(batches):
    """The CNN's batches: labels as float32 ``[B, 1]`` for its one logit.

    Args:
        batches: a dataset of ``(images, labels)``.

    Returns:
        The mapped dataset.
    """
    return batches.map(lambda x, y: (x, tf.cast(y[:, None], tf.float32)))
