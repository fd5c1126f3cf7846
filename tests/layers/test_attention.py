"""SelfAttention and scaled_dot_product_attention: softmax(QK^T/sqrt(d_k)) V."""

import keras
import numpy as np
import pytest
from support import rng

from mit_dl.layers import SelfAttention, scaled_dot_product_attention


def _numpy_attention(q, k, v, mask=None):
    scores = q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1])
    if mask is not None:
        scores = np.where(mask, scores, -1e9)
    weights = np.exp(scores - scores.max(-1, keepdims=True))
    weights /= weights.sum(-1, keepdims=True)
    return weights @ v, weights


def test_function_matches_numpy_with_and_without_mask():
    q, k = rng(0).normal(size=(2, 4, 8)), rng(1).normal(size=(2, 6, 8))
    v = rng(2).normal(size=(2, 6, 3))
    mask = rng(3).random((2, 4, 6)) > 0.3
    for m in (None, mask):
        out, w = scaled_dot_product_attention(q, k, v, m)
        want_out, want_w = _numpy_attention(q, k, v, m)
        np.testing.assert_allclose(out, want_out, rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(w, want_w, rtol=1e-6, atol=1e-6)


def test_fully_masked_row_gives_uniform_weights_not_nan():
    q = k = v = rng(4).normal(size=(1, 3, 4)).astype("float32")
    mask = np.array([[[True, True, True], [False, False, False], [True, False, False]]])
    out, w = scaled_dot_product_attention(q, k, v, mask)
    assert np.all(np.isfinite(out))
    np.testing.assert_allclose(w[0, 1], np.full(3, 1 / 3), rtol=1e-6)
    np.testing.assert_allclose(w[0, 2], [1, 0, 0], atol=1e-7)


def _layer_and_inputs(**kwargs):
    x = rng(5).normal(size=(2, 5, 8)).astype("float32")
    layer = SelfAttention(4, **kwargs)
    layer(x)
    return layer, x


def test_layer_matches_numpy_lecture_equations():
    layer, x = _layer_and_inputs(value_dim=3)
    out, w = layer(x, use_causal_mask=True, return_attention_scores=True)
    q = x @ layer.query_kernel.numpy()
    k = x @ layer.key_kernel.numpy()
    v = x @ layer.value_kernel.numpy()
    causal = np.tril(np.ones((5, 5), bool))[None]
    want_out, want_w = _numpy_attention(q, k, v, causal)
    np.testing.assert_allclose(out, want_out, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(w, want_w, rtol=1e-5, atol=1e-6)
    assert np.all(np.triu(w.numpy()[0], 1) == 0)


def _keras_twin(layer, x):
    """A one-head MultiHeadAttention holding the same W_Q, W_K, W_V and an identity W^O."""
    twin = keras.layers.MultiHeadAttention(
        num_heads=1,
        key_dim=layer.key_dim,
        value_dim=layer.value_dim,
        use_bias=layer.use_bias,
        output_shape=layer.value_dim,
    )
    twin(x, x)
    for name in ("query", "key", "value"):
        dense = getattr(twin, f"_{name}_dense")
        dense.kernel.assign(getattr(layer, f"{name}_kernel").numpy()[:, None, :])
        if layer.use_bias:
            dense.bias.assign(getattr(layer, f"{name}_bias").numpy()[None, :] + 0.1)
            getattr(layer, f"{name}_bias").assign(dense.bias.numpy()[0])
    twin._output_dense.kernel.assign(np.eye(layer.value_dim, dtype="float32")[None])
    if layer.use_bias:
        twin._output_dense.bias.assign(np.zeros(layer.value_dim, "float32"))
    return twin


@pytest.mark.parametrize("use_bias", [False, True])
def test_layer_matches_keras_multi_head_attention_with_one_head(use_bias):
    layer, x = _layer_and_inputs(value_dim=6, use_bias=use_bias)
    twin = _keras_twin(layer, x)
    padding = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], bool)
    for kwargs, twin_kwargs in (
        ({}, {}),
        ({"use_causal_mask": True}, {"use_causal_mask": True}),
        ({"mask": padding}, {"attention_mask": np.repeat(padding[:, None, :], 5, 1)}),
    ):
        out, w = layer(x, return_attention_scores=True, **kwargs)
        want, want_w = twin(x, x, return_attention_scores=True, **twin_kwargs)
        np.testing.assert_allclose(out, want, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(w, want_w[:, 0], rtol=1e-5, atol=1e-6)


def test_padding_positions_receive_no_attention():
    layer, x = _layer_and_inputs()
    padding = np.array([[1, 1, 0, 0, 0], [1, 1, 1, 1, 0]], bool)
    _, w = layer(x, mask=padding, return_attention_scores=True)
    assert np.all(w.numpy()[0, :, 2:] < 1e-7) and np.all(w.numpy()[1, :, 4] < 1e-7)
    # Changing the padded tokens must not change the real positions' outputs.
    x2 = x.copy()
    x2[0, 2:] = 100.0
    np.testing.assert_allclose(layer(x2, mask=padding)[0, :2], layer(x, mask=padding)[0, :2], rtol=1e-5)


def test_keras_propagated_mask_from_embedding_is_used():
    tokens = np.array([[3, 5, 2, 0, 0]])
    embed = keras.layers.Embedding(10, 8, mask_zero=True)
    layer = SelfAttention(4)
    masked = layer(embed(tokens), return_attention_scores=True)[1]
    explicit = layer(embed(tokens), mask=tokens != 0, return_attention_scores=True)[1]
    np.testing.assert_allclose(masked, explicit)
    assert np.all(masked.numpy()[0, :, 3:] < 1e-7)


def test_dropout_only_in_training():
    layer, x = _layer_and_inputs(dropout=0.5, seed=1)
    np.testing.assert_allclose(layer(x), layer(x, training=False))
    assert not np.allclose(layer(x, training=True), layer(x))


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"key_dim": 0}, "`key_dim` must be a positive integer"),
        ({"key_dim": 4, "value_dim": -2}, "`value_dim` must be a positive integer"),
        ({"key_dim": 4, "dropout": 1.5}, "`dropout` must be a float in"),
    ],
)
def test_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        SelfAttention(**kwargs)


def test_rejects_wrong_rank_input():
    with pytest.raises(ValueError, match="rank 3"):
        SelfAttention(4)(np.ones((2, 8), "float32"))


def test_rejects_feature_size_differing_from_built_size():
    layer, _ = _layer_and_inputs()
    with pytest.raises(ValueError, match="feature size 9 differs from the size 8"):
        layer(np.ones((2, 5, 9), "float32"))


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"mask": np.ones((2, 4), bool)}, "padding mask has shape"),
        ({"mask": np.ones((2, 5, 5), bool)}, "padding mask .* rank 2"),
        ({"attention_mask": np.ones((2, 5, 4), bool)}, "attention mask has shape"),
        ({"attention_mask": np.ones((5, 5), bool)}, "attention mask .* rank 3"),
    ],
)
def test_rejects_masks_of_the_wrong_shape(kwargs, match):
    layer, x = _layer_and_inputs()
    with pytest.raises(ValueError, match=match):
        layer(x, **kwargs)
