"""PositionalEncoding (sinusoidal) and PositionEmbedding (learned)."""

import keras
import numpy as np
import pytest
from support import rng

from mit_dl.layers import PositionalEncoding, PositionEmbedding, sinusoidal_encoding


def _numpy_sinusoids(length, d):
    table = np.zeros((length, d))
    for pos in range(length):
        for i in range(0, d, 2):
            table[pos, i] = np.sin(pos / 10000 ** (i / d))
            if i + 1 < d:
                table[pos, i + 1] = np.cos(pos / 10000 ** (i / d))
    return table


@pytest.mark.parametrize("d", [8, 7, 64])
def test_encoding_matches_the_paper_formula(d):
    x = rng(0).normal(size=(2, 11, d)).astype("float32")
    np.testing.assert_allclose(PositionalEncoding()(x), x + _numpy_sinusoids(11, d), rtol=1e-5, atol=2e-5)


def test_encoding_has_no_maximum_length():
    table = sinusoidal_encoding(5000, 16).numpy()
    np.testing.assert_allclose(table[4999], _numpy_sinusoids(5000, 16)[4999], atol=5e-3)
    assert PositionalEncoding()(np.zeros((1, 5000, 16), "float32")).shape == (1, 5000, 16)


def test_encoding_relative_positions_are_a_rotation():
    # Property from the paper: PE(pos + k) is a linear function (rotation) of PE(pos).
    table = sinusoidal_encoding(40, 8).numpy()
    k, i = 3, 2
    omega = 1 / 10000 ** (i / 8)
    rot = np.array([[np.cos(k * omega), -np.sin(k * omega)], [np.sin(k * omega), np.cos(k * omega)]])
    np.testing.assert_allclose(table[:-k, i : i + 2] @ rot, table[k:, i : i + 2], atol=1e-5)


def test_encoding_errors():
    with pytest.raises(ValueError, match="`base` must be a number > 1"):
        PositionalEncoding(base=0)
    with pytest.raises(ValueError, match="rank 3"):
        PositionalEncoding()(np.zeros((2, 8), "float32"))
    layer = PositionalEncoding()
    layer(np.zeros((1, 3, 8), "float32"))
    with pytest.raises(ValueError, match="feature size 6 differs from the size 8"):
        layer(np.zeros((1, 3, 6), "float32"))


def test_embedding_matches_numpy_and_keras_embedding_twin():
    x = rng(1).normal(size=(2, 7, 4)).astype("float32")
    ours = PositionEmbedding(10)
    ours(x)
    table = rng(2).normal(size=(10, 4)).astype("float32")
    ours.set_weights([table])
    np.testing.assert_allclose(ours(x), x + table[:7], rtol=1e-6)
    twin = keras.layers.Embedding(10, 4)
    twin.build((None,))
    twin.set_weights([table])
    np.testing.assert_allclose(ours(x), x + twin(np.arange(7))[None], rtol=1e-6)


def test_embedding_learns_a_position_dependent_signal():
    # A target that depends only on the position is fitted by the table alone.
    keras.utils.set_random_seed(0)
    layer = PositionEmbedding(6)
    model = keras.Sequential([keras.Input((6, 3)), layer])
    target = np.tile(np.arange(6, dtype="float32")[None, :, None], (8, 1, 3))
    model.compile(keras.optimizers.SGD(0.5), "mse")  # a convex problem: plain gradient descent converges
    history = model.fit(np.zeros((8, 6, 3), "float32"), target, epochs=60, verbose=0)
    assert history.history["loss"][-1] < 0.01 * history.history["loss"][0]


def test_embedding_errors():
    with pytest.raises(ValueError, match="`sequence_length` must be a positive integer"):
        PositionEmbedding(0)
    with pytest.raises(ValueError, match="input has 12 positions but embeddings were learned for at most 10"):
        PositionEmbedding(10)(np.zeros((1, 12, 4), "float32"))
    layer = PositionEmbedding(10)
    layer(np.zeros((1, 5, 4), "float32"))
    with pytest.raises(ValueError, match="feature size 3 differs from the size 4"):
        layer(np.zeros((1, 5, 3), "float32"))
    with pytest.raises(ValueError, match="rank 3"):
        layer(np.zeros((5, 4), "float32"))
