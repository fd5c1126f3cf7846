"""Batch, layer and group normalisation against their Keras twins, and through Keras' own layer harness."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from keras.src.testing import TestCase

from mit_dl.errors import ConfigError
from mit_dl.foundations import normalization as norm

PAIRS = {
    "batch": (
        lambda d: norm.BatchNorm(momentum=0.9, dtype=d),
        lambda d: keras.layers.BatchNormalization(momentum=0.9, dtype=d),
    ),
    "layer": (lambda d: norm.LayerNorm(dtype=d), lambda d: keras.layers.LayerNormalization(dtype=d)),
    "group": (
        lambda d: norm.GroupNorm(groups=2, dtype=d),
        lambda d: keras.layers.GroupNormalization(groups=2, dtype=d),
    ),
    "instance": (
        lambda d: norm.GroupNorm(groups=4, dtype=d),
        lambda d: keras.layers.GroupNormalization(groups=4, dtype=d),
    ),
}


def _images(seed=0, batch=6):
    return np.random.default_rng(seed).normal(2.0, 3.0, size=(batch, 5, 5, 4))


def _with_same_weights(ours, twin, x):
    ours(x), twin(x)
    rng = np.random.default_rng(9)
    gamma, beta = rng.normal(size=4), rng.normal(size=4)
    for layer in (ours, twin):
        layer.gamma.assign(gamma.astype(layer.gamma.dtype))
        layer.beta.assign(beta.astype(layer.beta.dtype))


@pytest.mark.parametrize("kind", list(PAIRS))
def test_forward_pass_and_gradients_equal_the_keras_twin(kind):
    make_ours, make_twin = PAIRS[kind]
    ours, twin = make_ours("float64"), make_twin("float64")
    x = tf.Variable(_images())
    _with_same_weights(ours, twin, x)
    for training in (True, False):
        grads = []
        for layer in (ours, twin):
            with tf.GradientTape() as tape:
                y = layer(x, training=training)
                loss = tf.reduce_sum(y * tf.cos(y))
            grads.append(tape.gradient(loss, [x, layer.gamma, layer.beta]))
            if layer is ours:
                expected_y = y
        np.testing.assert_allclose(expected_y.numpy(), y.numpy(), rtol=1e-9, atol=1e-9)
        for a, b in zip(*grads):
            np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-8, atol=1e-9)


def test_batch_norm_moving_statistics_follow_keras_and_inference_ignores_the_batch():
    ours, twin = PAIRS["batch"][0]("float64"), PAIRS["batch"][1]("float64")
    for seed in range(5):
        x = _images(seed)
        ours(x, training=True), twin(x, training=True)
    np.testing.assert_allclose(ours.moving_mean.numpy(), twin.moving_mean.numpy(), rtol=1e-12)
    np.testing.assert_allclose(ours.moving_variance.numpy(), twin.moving_variance.numpy(), rtol=1e-12)
    x = _images(7)
    alone = ours(x[:1], training=False).numpy()
    together = ours(x, training=False).numpy()[:1]
    np.testing.assert_allclose(alone, together, rtol=1e-12)  # inference: no dependence on the batch
    assert not np.allclose(ours(x[:2], training=True).numpy()[:1], ours(x, training=True).numpy()[:1])


@pytest.mark.parametrize(
    "cls, kwargs, shape",
    [
        (norm.BatchNorm, {"momentum": 0.9}, (3, 4, 4, 6)),
        (norm.LayerNorm, {}, (3, 5, 6)),
        (norm.GroupNorm, {"groups": 3}, (3, 4, 4, 6)),
    ],
)
def test_keras_layer_harness(cls, kwargs, shape):
    case = TestCase()
    case.run_layer_test(
        cls,
        init_kwargs=kwargs,
        input_shape=shape,
        expected_output_shape=shape,
        expected_num_trainable_weights=2,
        expected_num_non_trainable_weights=2 if cls is norm.BatchNorm else 0,
        supports_masking=True,
        run_training_check=True,
    )


def test_they_serialise_with_a_model(tmp_path):
    inputs = keras.Input((4, 4, 4))
    x = norm.BatchNorm()(inputs)
    x = norm.GroupNorm(groups=2)(x)
    outputs = norm.LayerNorm()(x)
    model = keras.Model(inputs, outputs)
    path = tmp_path / "m.keras"
    model.save(path)
    objects = {"BatchNorm": norm.BatchNorm, "GroupNorm": norm.GroupNorm, "LayerNorm": norm.LayerNorm}
    again = keras.saving.load_model(path)  # registered: no custom_objects needed
    assert objects
    x = _images()[:, :4, :4, :].astype("float32")
    np.testing.assert_allclose(again(x).numpy(), model(x).numpy(), rtol=1e-6)
    assert again.layers[2].groups == 2


def test_a_group_count_that_does_not_divide_the_channels_is_one_sentence():
    with pytest.raises(ConfigError, match="groups is 3, which does not divide the 4 channels; choose a divisor of 4"):
        norm.GroupNorm(groups=3)(np.zeros((1, 2, 2, 4), "float32"))
    with pytest.raises(ConfigError, match=r"momentum must be in \[0, 1\), received 1.5"):
        norm.BatchNorm(momentum=1.5)
