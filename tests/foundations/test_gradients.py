"""Vanishing gradients through sigmoid layers and RNN steps, the LSTM's path, and clipping like TensorFlow's."""

import numpy as np
import pytest
import tensorflow as tf

from mit_dl.errors import ConfigError
from mit_dl.foundations import gradients


def test_through_20_sigmoid_layers_the_first_layers_gradient_has_vanished_but_not_with_relu():
    sigmoid = gradients.per_layer(depth=20, activation="sigmoid")
    relu = gradients.per_layer(depth=20, activation="relu")
    assert sigmoid[0] < 1e-6 * sigmoid[-1]  # each sigmoid layer multiplies by at most 1/4
    assert relu[0] > 1e-2 * relu[-1]


def test_an_rnn_forgets_early_inputs_faster_than_an_lstm():
    rnn = gradients.per_time_step("rnn", steps=40)
    lstm = gradients.per_time_step("lstm", steps=40)
    assert rnn[0] / rnn[-1] < lstm[0] / lstm[-1]
    assert rnn[0] < 1e-3 * rnn[-1]


def test_clipping_by_the_global_norm_equals_tensorflows():
    rng = np.random.default_rng(0)
    grads = [rng.normal(size=(3, 4)) * 10, rng.normal(size=5)]
    ours, norm = gradients.clip_by_global_norm(grads, 2.0)
    theirs, their_norm = tf.clip_by_global_norm([tf.constant(g) for g in grads], 2.0)
    assert norm == pytest.approx(float(their_norm), rel=1e-12)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b.numpy(), rtol=1e-12)
    small, _ = gradients.clip_by_global_norm([np.ones(2) * 0.1], 2.0)
    np.testing.assert_array_equal(small[0], np.ones(2) * 0.1)  # under the threshold: untouched
    with pytest.raises(ConfigError, match="threshold must be a positive number, received 0"):
        gradients.clip_by_global_norm(grads, 0)
