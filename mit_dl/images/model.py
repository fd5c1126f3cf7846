"""Lab 2 part 1 classifiers: the dense network and the CNN of the MNIST lab, with loss and optimiser.

`build_model` builds the model an `ImagesConfig` names and compiles it with
the cross-entropy of the class logits and the config's optimiser recipe, so
the shared `Trainer` trains it as it is.
"""

import keras
import numpy as np
import tensorflow as tf

from mit_dl.data import mnist
from mit_dl.networks.cnn import cnn_classifier
from mit_dl.training.optimizers import build_optimizer


def dense_classifier(input_shape=(28, 28, 1), classes=10):
    """The lab's first model: Flatten -> Dense 128 relu -> Dense ``classes`` (logits).

    Args:
        input_shape: shape of one image.
        classes: number of classes.

    Returns:
        A `keras.Sequential` (logits in float32 under mixed precision).
    """
    return keras.Sequential(
        [
            keras.Input(input_shape),
            keras.layers.Flatten(),
            keras.layers.Dense(128, activation="relu"),
            keras.layers.Dense(classes, dtype="float32"),  # float32 logits under mixed precision
        ],
        name="dense_classifier",
    )


BUILDERS = {"dense": dense_classifier, "cnn": cnn_classifier}


def build_model(config, total_steps):
    """The config's classifier, compiled with its loss and its recipe's optimiser.

    Args:
        config: the run's `ImagesConfig`.
        total_steps: the run's steps (for the cosine schedule).

    Returns:
        The compiled model, ready for `Trainer(model)`.
    """
    model = BUILDERS[config.model]()
    model.compile(
        optimizer=build_optimizer(config.optimizer_settings(), total_steps),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    return model


def predict_probabilities(model, images, batch_size=512):
    """Class probabilities of uint8 images.

    Args:
        model: a classifier returning logits.
        images: uint8 ``[N, 28, 28]``.
        batch_size: images per forward pass.

    Returns:
        ``[N, classes]`` probabilities.
    """
    data = mnist.to_dataset(images, np.zeros(len(images), np.int32), batch_size)
    logits = np.concatenate([model(x, training=False).numpy() for x, _ in data])
    return tf.nn.softmax(logits).numpy()


def from_run(run_dir, values):
    """The classifier of an images run, built from its recorded config (the registry's ``rebuild``).

    Args:
        run_dir: the run directory (its checkpoint is restored by the caller).
        values: the config values its ``settings.json`` records.

    Returns:
        ``(model, config)``: the uncompiled-weight classifier (float images in [0, 1] -> logits) and the
        `ImagesConfig`.
    """
    from mit_dl.images.config import ImagesConfig

    config = ImagesConfig(**values)
    return build_model(config, total_steps=1), config
