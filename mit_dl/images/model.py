"""Lab 2 part 1 classifiers: the dense network and the CNN of the MNIST lab, with loss and optimiser.

`classifier` builds the model an `ImagesConfig` names and compiles it with
the cross-entropy of the class logits and the config's optimiser recipe, so
the shared `Trainer` trains it as it is.
"""

import keras
import numpy as np
import tensorflow as tf

from mit_dl.data import mnist


def dense_classifier(input_shape=(28, 28, 1), classes=10):
    """Flatten -> Dense 128 relu -> Dense ``classes`` (logits): the lab's first model."""
    return keras.Sequential(
        [
            keras.Input(input_shape),
            keras.layers.Flatten(),
            keras.layers.Dense(128, activation="relu"),
            keras.layers.Dense(classes, dtype="float32"),  # float32 logits under mixed precision
        ],
        name="dense_classifier",
    )


def cnn_classifier(input_shape=(28, 28, 1), classes=10):
    """The lab's CNN: Conv 24 3x3 relu -> MaxPool 2 -> Conv 36 3x3 relu -> MaxPool 2
    -> Flatten -> Dense 128 relu -> Dense ``classes`` (logits)."""
    return keras.Sequential(
        [
            keras.Input(input_shape),
            keras.layers.Conv2D(24, 3, activation="relu"),
            keras.layers.MaxPooling2D(2),
            keras.layers.Conv2D(36, 3, activation="relu"),
            keras.layers.MaxPooling2D(2),
            keras.layers.Flatten(),
            keras.layers.Dense(128, activation="relu"),
            keras.layers.Dense(classes, dtype="float32"),  # float32 logits under mixed precision
        ],
        name="cnn_classifier",
    )


BUILDERS = {"dense": dense_classifier, "cnn": cnn_classifier}


def optimizer(settings, total_steps):
    """The optimiser of `ImagesConfig.optimizer_settings`; a cosine schedule decays to 0 over ``total_steps``."""
    learning_rate = settings["learning_rate"]
    if settings["schedule"] == "cosine":
        learning_rate = keras.optimizers.schedules.CosineDecay(learning_rate, decay_steps=total_steps)
    return getattr(keras.optimizers, settings["optimizer"])(learning_rate)


def classifier(config, total_steps):
    """The config's classifier, compiled with its loss and its recipe's optimiser."""
    model = BUILDERS[config.model]()
    model.compile(
        optimizer=optimizer(config.optimizer_settings(), total_steps),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    return model


def predict_probabilities(model, images, batch_size=512):
    """Class probabilities ``[N, 10]`` of uint8 images ``[N, 28, 28]``."""
    data = mnist.to_dataset(images, np.zeros(len(images), np.int32), batch_size)
    logits = np.concatenate([model(x, training=False).numpy() for x, _ in data])
    return tf.nn.softmax(logits).numpy()
