"""Scoring generated images in a classifier's features, against reference sets that say what a number means.

No Inception weights can be downloaded here, so the features are the
penultimate layer (Dense 128) of the images lab's CNN trained on the same
dataset's training images (`feature_classifier`: trained once per machine,
kept in the user's cache with its held-out accuracy).

`quality_report` gives, for a set of samples against as many held-out real
images: the Fréchet distance (FD) and kernel distance (KID ± its standard
error) in those features, the class coverage of the samples (each class's
share, KL to uniform), the 1-nearest-neighbour two-sample accuracy (0.5:
indistinguishable) and, for conditional models, how often the classifier
finds the requested class. `reference_reports` scores what a number means:

- ``real train``: real training images (the floor: only sampling noise);
- ``blurred``: those images through a 3x3 box filter (what VAEs do);
- ``noisy``: those images plus Gaussian noise of standard deviation 0.3;
- ``one class``: real images of one class only (mode collapse).

The references are drawn from the *training* images, so each differs from
the floor only by its corruption (blurring the test images themselves would
pair every held-out image with its own blurred copy).
"""

import json
import pathlib
import time

import keras
import numpy as np
import tensorflow as tf

from mit_dl.data import locations
from mit_dl.generative import metrics
from mit_dl.training.runs import write_json

CLASSIFIER_VERSION = 1
CLASSIFIER_EPOCHS = {"fashion_mnist": 4, "mnist": 10, "sprites": 2}
COLLAPSE_SHARE = 0.02  # a class under 2% of the samples (uniform: 1 / classes) flags mode collapse
REFERENCES = ("real train", "blurred", "noisy", "one class")


class FeatureSpace:
    """A trained classifier's features and predictions, computed in compiled batches.

    Args:
        classifier: a Keras classifier whose second-to-last layer gives the features.
        batch_size: images per compiled call.
    """

    def __init__(self, classifier, batch_size=1000):
        self.classifier = classifier
        self.batch_size = batch_size
        inputs = keras.Input(classifier.input_shape[1:])
        x = inputs
        for layer in classifier.layers[:-1]:
            x = layer(x)
        features = x
        logits = classifier.layers[-1](features)
        self._both = keras.Model(inputs, [features, logits])
        self._embed = tf.function(lambda images: self._outputs(images), reduce_retracing=True)

    def _outputs(self, images):
        features, logits = self._both(tf.cast(images, tf.float32) / 255.0, training=False)
        return features, tf.argmax(logits, axis=-1, output_type=tf.int32)

    def embed(self, images, compiled=True):
        """Features and predicted classes of uint8 images.

        Args:
            images: uint8 ``[N, H, W, C]``.
            compiled: run each batch through the compiled function (``False``: eagerly).

        Returns:
            ``(features float64 [N, 128], predicted int [N])``.
        """
        fn = self._embed if compiled else self._outputs
        features, predicted = [], []
        for start in range(0, len(images), self.batch_size):
            f, p = fn(tf.constant(images[start : start + self.batch_size]))
            features.append(f.numpy())
            predicted.append(p.numpy())
        return np.concatenate(features).astype(np.float64), np.concatenate(predicted)


def _classifier_key(dataset, data):
    fingerprint = int(data.train_images[:: max(1, len(data.train_images) // 64)].astype(np.int64).sum())
    return f"{dataset}-n{len(data.train_images)}-{fingerprint}-v{CLASSIFIER_VERSION}"


def feature_classifier(dataset, data, cache=None, log=print):
    """The images lab's CNN trained on ``data``'s training images, from the cache or trained now.

    Trained with the shared `Trainer` (Adam 1e-3, batch 64, seed 0, epochs per
    dataset in `CLASSIFIER_EPOCHS`); its accuracy on ``data``'s held-out
    images is recorded beside it.

    Args:
        dataset: the dataset's name (part of the cache key).
        data: a `GenerativeData` (the full training set, not a ``train_count`` cut).
        cache: the cache folder (default `mit_dl.data.locations.cache_dir` ``("generative")``).
        log: where progress lines go.

    Returns:
        ``(classifier, info)``: the Keras model (logits) and ``{"accuracy", "epochs", "train_images", "path"}``.
    """
    from mit_dl.networks.cnn import cnn_classifier
    from mit_dl.training import Trainer

    folder = pathlib.Path(cache or locations.cache_dir("generative")) / _classifier_key(dataset, data)
    model_path, info_path = folder / "classifier.keras", folder / "classifier.json"
    if model_path.is_file() and info_path.is_file():
        return keras.saving.load_model(model_path), {**json.loads(info_path.read_text()), "path": str(folder)}
    epochs = CLASSIFIER_EPOCHS[dataset]
    log(f"training the feature classifier for {dataset} ({epochs} epochs; kept in {folder})")
    started = time.perf_counter()
    keras.utils.set_random_seed(0)
    classifier = cnn_classifier(data.image_shape, data.num_classes)
    batches = (
        tf.data.Dataset.from_tensor_slices((data.train_images, data.train_labels))
        .shuffle(len(data.train_images), seed=0)
        .batch(64)
        .map(lambda x, y: (tf.cast(x, tf.float32) / 255.0, y))
    )
    trainer = Trainer(
        classifier,
        keras.optimizers.Adam(1e-3),
        keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        verbose="progress",
    )
    trainer.fit(batches, epochs=epochs)
    _, predicted = FeatureSpace(classifier).embed(data.test_images)
    info = {
        "accuracy": float(np.mean(predicted == data.test_labels)),
        "epochs": epochs,
        "train_images": len(data.train_images),
        "seconds": round(time.perf_counter() - started, 1),
    }
    folder.mkdir(parents=True, exist_ok=True)
    staging = folder / ".classifier.partial.keras"
    classifier.save(staging)
    staging.replace(model_path)
    write_json(info_path, info)
    log(f"feature classifier: {100 * info['accuracy']:.1f}% on the held-out images")
    return classifier, {**info, "path": str(folder)}


def box_blur(images):
    """uint8 images through a 3x3 box filter (edges repeated).

    Args:
        images: uint8 ``[N, H, W, C]``.

    Returns:
        uint8 images of the same shape.
    """
    x = np.pad(images.astype(np.float32), ((0, 0), (1, 1), (1, 1), (0, 0)), mode="edge")
    height, width = images.shape[1:3]
    total = sum(x[:, i : i + height, j : j + width] for i in range(3) for j in range(3))
    return np.clip(np.round(total / 9.0), 0, 255).astype(np.uint8)


def with_noise(images, sigma=0.3, seed=0):
    """uint8 images plus Gaussian noise of standard deviation ``sigma`` on the [0, 1] scale, clipped.

    Args:
        images: uint8 ``[N, H, W, C]``.
        sigma: the noise's standard deviation in [0, 1] units.
        seed: the noise's seed.

    Returns:
        uint8 images of the same shape.
    """
    noise = np.random.default_rng(seed).normal(0.0, sigma * 255.0, images.shape)
    return np.clip(np.round(images + noise), 0, 255).astype(np.uint8)


def reference_sets(data, count, seed=0):
    """The reference image sets of the module docstring, ``count`` images each (at most the training set).

    Args:
        data: a `GenerativeData`.
        count: images per set.
        seed: which training images are drawn.

    Returns:
        ``{name: uint8 images}`` for the names in `REFERENCES`.
    """
    rng = np.random.default_rng(seed)
    drawn = data.train_images[rng.choice(len(data.train_images), min(count, len(data.train_images)), replace=False)]
    largest = np.bincount(data.train_labels).argmax()
    one_class = data.train_images[data.train_labels == largest]
    one_class = one_class[rng.choice(len(one_class), min(count, len(drawn)), replace=len(one_class) < count)]
    return {
        "real train": drawn,
        "blurred": box_blur(drawn),
        "noisy": with_noise(drawn, 0.3, seed),
        "one class": one_class,
    }


def quality_report(space, samples, real, num_classes, requested=None, real_features=None, seed=0):
    """How close ``samples`` are to ``real`` held-out images (see the module docstring).

    Args:
        space: a `FeatureSpace`.
        samples: uint8 generated (or reference) images.
        real: uint8 held-out real images; the first ``len(samples)`` are compared.
        num_classes: the dataset's classes.
        requested: for a conditional model, the class each sample was drawn for.
        real_features: ``space.embed(real)[0]``, when already computed.
        seed: the KID subsets' seed.

    Returns:
        ``{"fd", "kid", "kid_standard_error", "one_nn_accuracy", "coverage", "count"}`` and
        ``"class_accuracy"`` when ``requested`` is given.
    """
    count = min(len(samples), len(real))
    features, predicted = space.embed(samples[:count])
    reference = real_features[:count] if real_features is not None else space.embed(real[:count])[0]
    kid, kid_error = metrics.kernel_distance(features, reference, seed=seed)
    report = {
        "count": int(count),
        "fd": metrics.frechet_distance(features, reference),
        "kid": kid,
        "kid_standard_error": kid_error,
        "one_nn_accuracy": metrics.nearest_neighbour_accuracy(features, reference),
        "coverage": metrics.class_coverage(predicted, num_classes),
    }
    if requested is not None:
        report["class_accuracy"] = float(np.mean(predicted == np.asarray(requested)[:count]))
    return report


def reference_reports(space, data, count, real_features=None):
    """`quality_report` of every reference set against the held-out images.

    Args:
        space: a `FeatureSpace`.
        data: a `GenerativeData`.
        count: images per set.
        real_features: the held-out images' features, when already computed.

    Returns:
        ``{reference name: report}``.
    """
    return {
        name: quality_report(space, images, data.test_images, data.num_classes, real_features=real_features)
        for name, images in reference_sets(data, count).items()
    }


def mode_collapse(report, class_names, threshold=COLLAPSE_SHARE):
    """A sentence when some class gets under ``threshold`` of the samples, else ``None``.

    Args:
        report: a `quality_report`.
        class_names: one name per class.
        threshold: the smallest share that does not count as collapse.

    Returns:
        ``"mode collapse: ..."`` naming the missing classes and their shares, or ``None``.
    """
    shares = report["coverage"]["shares"]
    missing = [f"{class_names[i]} {100 * s:.1f}%" for i, s in enumerate(shares) if s < threshold]
    if not missing:
        return None
    return f"mode collapse: the classifier finds under {100 * threshold:.0f}% of the samples in " + ", ".join(missing)
