"""MyDenseLayer: y = g(xW + b) against NumPy and keras.layers.Dense."""

import keras
import numpy as np
import pytest
from support import rng

from mit_dl.layers import MyDenseLayer


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def test_matches_numpy_lecture_equation():
    x = rng(0).normal(size=(4, 5)).astype("float32")
    layer = MyDenseLayer(3)
    layer.build(x.shape)
    w = rng(1).normal(size=(5, 3)).astype("float32")
    b = rng(2).normal(size=(3,)).astype("float32")
    layer.set_weights([w, b])
    np.testing.assert_allclose(layer(x), _sigmoid(x @ w + b), rtol=1e-5, atol=1e-6)


def test_default_activation_is_the_slides_sigmoid():
    assert MyDenseLayer(2).get_config()["activation"] == "sigmoid"


@pytest.mark.parametrize("activation", ["sigmoid", "relu", None])
@pytest.mark.parametrize("use_bias", [True, False])
def test_matches_keras_dense_with_same_weights(activation, use_bias):
    x = rng(3).normal(size=(2, 7, 5)).astype("float32")  # rank 3: along the last axis
    ours = MyDenseLayer(6, activation=activation, use_bias=use_bias)
    twin = keras.layers.Dense(6, activation=activation, use_bias=use_bias)
    ours.build(x.shape)
    twin.build(x.shape)
    twin.set_weights([rng(4).normal(size=w.shape) for w in twin.get_weights()])
    ours.set_weights(twin.get_weights())
    np.testing.assert_allclose(ours(x), twin(x), rtol=1e-6, atol=1e-6)


def test_weight_gradient_is_the_textbook_formula():
    # d/dW sum(sigmoid(xW + b)) = x^T [y (1 - y)]
    x = rng(5).normal(size=(4, 3)).astype("float64")
    layer = MyDenseLayer(2, dtype="float64")
    layer.build(x.shape)
    import tensorflow as tf

    with tf.GradientTape() as tape:
        y = layer(x)
        total = tf.reduce_sum(y)
    grad_w, grad_b = tape.gradient(total, [layer.kernel, layer.bias])
    y = y.numpy()
    np.testing.assert_allclose(grad_w, x.T @ (y * (1 - y)), rtol=1e-10)
    np.testing.assert_allclose(grad_b, (y * (1 - y)).sum(0), rtol=1e-10)


@pytest.mark.parametrize("units", [0, -3, 2.5, "4", True])
def test_rejects_non_positive_or_non_integer_units(units):
    with pytest.raises(ValueError, match="`units` must be a positive integer"):
        MyDenseLayer(units)


def test_rejects_rank_one_input():
    with pytest.raises(ValueError, match="rank 2 or"):
        MyDenseLayer(3)(np.ones((5,), "float32"))


def test_rejects_feature_size_differing_from_built_size():
    layer = MyDenseLayer(3)
    layer(np.ones((2, 4), "float32"))
    with pytest.raises(ValueError, match="feature size 5 differs from the size 4"):
        layer(np.ones((2, 5), "float32"))
