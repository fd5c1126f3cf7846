"""MyRNNCell: h_t = tanh(W_hh h_{t-1} + W_xh x_t), y_t = W_hy h_t."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from support import rng

from mit_dl.layers import MyRNNCell


def _numpy_rnn(x, w_xh, w_hh, w_hy, h0):
    """The lecture loop, column-vector form: h = tanh(W_hh h + W_xh x), y = W_hy h."""
    outputs, h = [], h0
    for t in range(x.shape[1]):
        h = np.tanh(h @ w_hh.T + x[:, t] @ w_xh.T)
        outputs.append(h @ w_hy.T)
    return np.stack(outputs, 1), h


def _built_rnn(cell, x, **kwargs):
    rnn = keras.layers.RNN(cell, **kwargs)
    rnn(x)
    return rnn


def test_matches_numpy_lecture_loop():
    x = rng(0).normal(size=(3, 6, 4)).astype("float32")
    cell = MyRNNCell(5, output_dim=2)
    rnn = _built_rnn(cell, x, return_sequences=True, return_state=True)
    # Lecture (column) matrices; the layer stores their transposes.
    w_xh, w_hh, w_hy = (rng(i).normal(scale=0.5, size=s) for i, s in ((1, (5, 4)), (2, (5, 5)), (3, (2, 5))))
    cell.input_kernel.assign(w_xh.T)
    cell.recurrent_kernel.assign(w_hh.T)
    cell.output_kernel.assign(w_hy.T)
    h0 = rng(4).normal(size=(3, 5)).astype("float32")
    ys, h_last = rnn(x, initial_state=[h0])
    expected_ys, expected_h = _numpy_rnn(x, w_xh, w_hh, w_hy, h0)
    np.testing.assert_allclose(ys, expected_ys, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(h_last, expected_h, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("use_bias", [False, True])
@pytest.mark.parametrize("return_sequences", [False, True])
def test_matches_keras_simple_rnn(return_sequences, use_bias):
    x = rng(5).normal(size=(2, 7, 3)).astype("float32")
    ours = _built_rnn(MyRNNCell(6, use_bias=use_bias), x, return_sequences=return_sequences, return_state=True)
    twin = keras.layers.SimpleRNN(6, use_bias=use_bias, return_sequences=return_sequences, return_state=True)
    twin(x)
    twin.set_weights([rng(6 + i).normal(scale=0.4, size=w.shape) for i, w in enumerate(twin.get_weights())])
    ours.set_weights(twin.get_weights())  # kernel, recurrent kernel (, bias): same layout
    for got, want in zip(ours(x), twin(x)):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_output_projection_matches_simple_rnn_then_dense():
    x = rng(7).normal(size=(2, 5, 3)).astype("float32")
    cell = MyRNNCell(4, output_dim=2)
    ours = _built_rnn(cell, x, return_sequences=True)
    twin = keras.Sequential(
        [keras.layers.SimpleRNN(4, use_bias=False, return_sequences=True), keras.layers.Dense(2, use_bias=False)]
    )
    twin(x)
    ours.set_weights(twin.get_weights())  # W_xh^T, W_hh^T, W_hy^T
    np.testing.assert_allclose(ours(x), twin(x), rtol=1e-5, atol=1e-5)


def test_state_is_passed_not_stored():
    """The slide's `self.h` would leak state between calls; ours must not."""
    x = rng(8).normal(size=(2, 4, 3)).astype("float32")
    rnn = _built_rnn(MyRNNCell(5), x)
    first = rnn(x).numpy()
    rnn(rng(9).normal(size=(2, 4, 3)).astype("float32"))
    np.testing.assert_array_equal(rnn(x).numpy(), first)
    assert not hasattr(rnn.cell, "h")


def test_runs_inside_tf_function_with_a_python_loop_of_steps():
    cell = MyRNNCell(4)
    x = rng(10).normal(size=(2, 3, 2)).astype("float32")

    @tf.function
    def unroll(inputs):
        state = [tf.zeros((2, 4))]
        for t in range(3):
            _, state = cell(inputs[:, t], state)
        return state[0]

    eager_state = [tf.zeros((2, 4))]
    for t in range(3):
        _, eager_state = cell(x[:, t], eager_state)
    np.testing.assert_allclose(unroll(x), eager_state[0], rtol=1e-6)


@pytest.mark.parametrize("kwargs", [{"units": 0}, {"units": -1}, {"units": 4, "output_dim": 0}])
def test_rejects_bad_sizes(kwargs):
    with pytest.raises(ValueError, match="must be a positive integer"):
        MyRNNCell(**kwargs)


def test_rejects_wrong_rank_step_input():
    with pytest.raises(ValueError, match="rank 2"):
        MyRNNCell(4)(np.ones((2, 3, 5), "float32"), [np.zeros((2, 4), "float32")])


def test_rejects_feature_size_differing_from_built_size():
    rnn = _built_rnn(MyRNNCell(4), np.ones((2, 3, 5), "float32"))
    with pytest.raises(ValueError, match="feature size 6 differs from the size 5"):
        rnn(np.ones((2, 3, 6), "float32"))
