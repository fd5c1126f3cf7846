"""The course CNN of MIT's Lab 2: the images lab trains it, the uncertainty and generative labs build on it."""

import keras


def cnn_classifier(input_shape=(28, 28, 1), classes=10):
    """The lab's CNN: Conv 24 3x3 relu, MaxPool 2, Conv 36 3x3 relu, MaxPool 2, Flatten, Dense 128 relu, logits.

    Args:
        input_shape: shape of one image.
        classes: number of classes.

    Returns:
        A `keras.Sequential` (logits in float32 under mixed precision).
    """
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
