"""Lab 2 part 1 checkers: each accepts the reference answer and rejects typical mistakes with a helpful message."""

import keras
import pytest
from support import failed, todo

from mit_dl.labs import images as checks


def fc_model(flatten=True, hidden_activation="relu", output_activation=None, hidden=128):
    def build():
        layers = [keras.Input((28, 28, 1))] + ([keras.layers.Flatten()] if flatten else [])
        return keras.Sequential(
            layers
            + [
                keras.layers.Dense(hidden, activation=hidden_activation),
                keras.layers.Dense(10, activation=output_activation),
            ]
        )

    return build


def test_dense_classifier():
    assert checks.check_dense_classifier(fc_model())
    failed(checks.check_dense_classifier(fc_model(flatten=False)), "Flatten")
    failed(checks.check_dense_classifier(fc_model(output_activation="softmax")), "probabilities")
    failed(checks.check_dense_classifier(fc_model(hidden_activation=None)), "activation='relu'")
    failed(checks.check_dense_classifier(fc_model(hidden=64)), "weights have shapes")


def cnn_model(pool=True, conv_activation="relu", output_activation=None):
    def build():
        pooling = [keras.layers.MaxPooling2D(2)] if pool else []
        return keras.Sequential(
            [
                keras.Input((28, 28, 1)),
                keras.layers.Conv2D(24, 3, activation=conv_activation),
                *pooling,
                keras.layers.Conv2D(36, 3, activation=conv_activation),
                *pooling,
                keras.layers.Flatten(),
                keras.layers.Dense(128, activation="relu"),
                keras.layers.Dense(10, activation=output_activation),
            ]
        )

    return build


def test_cnn():
    assert checks.check_cnn(cnn_model())
    failed(checks.check_cnn(cnn_model(pool=False)), "pooling")
    failed(checks.check_cnn(cnn_model(output_activation="softmax")), "probabilities")
    failed(checks.check_cnn(cnn_model(conv_activation=None)), "activation")


@pytest.mark.parametrize("check", [checks.check_dense_classifier, checks.check_cnn])
def test_unfinished_exercises_are_reported_not_raised(check):
    failed(check(todo), "is not implemented yet")
