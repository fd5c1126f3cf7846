"""Lab 2 part 1 classifiers: the dense network and the CNN of the MNIST lab."""

import keras


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
