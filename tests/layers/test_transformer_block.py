"""TransformerBlock: NumPy reference, the Keras-built twin, causality, the key/value cache, bad arguments."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from support import rng

from mit_dl.layers import TiedEmbedding, TransformerBlock


def _block(d_model=8, heads=2, ff_dim=16, **kwargs):
    block = TransformerBlock(d_model, heads, ff_dim, **kwargs)
    x = rng(0).normal(size=(2, 6, d_model)).astype("float32")
    block(x)
    block.set_weights([rng(i + 1).normal(scale=0.4, size=w.shape) for i, w in enumerate(block.get_weights())])
    return block, x


def _layer_norm(x, gamma, beta, eps=1e-5):
    mean = x.mean(-1, keepdims=True)
    var = x.var(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * gamma + beta


def _gelu(x):
    from math import erf

    return 0.5 * x * (1 + np.vectorize(erf)(x / np.sqrt(2)))


def test_matches_a_numpy_pre_norm_block():
    block, x = _block()
    weights = {w.path.split("/", 1)[1]: np.asarray(w) for w in block.weights}
    g1, b1 = weights["attention_norm/gamma"], weights["attention_norm/beta"]
    h = _layer_norm(x, g1, b1)
    wq, bq, wk, bk, wv, bv, wo, bo = (
        weights[f"attention/{n}"]
        for n in (
            "query_kernel",
            "query_bias",
            "key_kernel",
            "key_bias",
            "value_kernel",
            "value_bias",
            "output_kernel",
            "output_bias",
        )
    )
    causal = np.tril(np.ones((6, 6), bool))
    heads = []
    for head in range(2):
        cols = slice(4 * head, 4 * head + 4)
        q, k, v = (h @ w[:, cols] + b[cols] for w, b in ((wq, bq), (wk, bk), (wv, bv)))
        s = np.where(causal, q @ np.swapaxes(k, -1, -2) / 2.0, -np.inf)
        a = np.exp(s - s.max(-1, keepdims=True))
        heads.append((a / a.sum(-1, keepdims=True)) @ v)
    mid = x + np.concatenate(heads, -1) @ wo + bo
    f = _layer_norm(mid, weights["feed_forward_norm/gamma"], weights["feed_forward_norm/beta"])
    f = _gelu(f @ weights["feed_forward_in/kernel"] + weights["feed_forward_in/bias"])
    want = mid + f @ weights["feed_forward_out/kernel"] + weights["feed_forward_out/bias"]
    np.testing.assert_allclose(block(x), want, rtol=1e-4, atol=1e-4)


def test_matches_a_block_built_from_keras_layers():
    block, x = _block(heads=4)
    norm1 = keras.layers.LayerNormalization(epsilon=1e-5)
    mha = keras.layers.MultiHeadAttention(4, key_dim=2)
    norm2 = keras.layers.LayerNormalization(epsilon=1e-5)
    ff_in = keras.layers.Dense(16, activation="gelu")
    ff_out = keras.layers.Dense(8)

    def twin(x):
        h = norm1(x)
        mid = x + mha(h, h, use_causal_mask=True)
        return mid + ff_out(ff_in(norm2(mid)))

    twin(x)
    ours = block.get_weights()
    # Ours: norm (2), attention q/k/v/o kernels and biases (8), norm (2), two dense layers (4).
    norm1.set_weights(ours[0:2])
    mha.set_weights([w.reshape(t.shape) for w, t in zip(ours[2:10], mha.get_weights())])
    norm2.set_weights(ours[10:12])
    ff_in.set_weights(ours[12:14])
    ff_out.set_weights(ours[14:16])
    np.testing.assert_allclose(block(x), twin(x), rtol=1e-5, atol=1e-5)


def test_outputs_before_a_position_do_not_change_when_later_inputs_change():
    block, x = _block()
    changed = x.copy()
    changed[:, 4:] = rng(9).normal(size=changed[:, 4:].shape)
    before, after = block(x).numpy(), block(changed).numpy()
    np.testing.assert_allclose(before[:, :4], after[:, :4], rtol=1e-6, atol=1e-6)
    assert not np.allclose(before[:, 4:], after[:, 4:])


def test_prefill_then_decode_steps_equal_the_whole_sequence():
    block, x = _block()
    whole = block(x).numpy()
    out, keys, values = block.prefill(x[:, :3])
    np.testing.assert_allclose(out, whole[:, :3], rtol=1e-5, atol=1e-5)
    assert keys.shape == values.shape == (2, 2, 3, 4)
    capacity = 8  # longer than the sequence: slots not yet written must not be attended to
    key_cache = np.full((2, 2, capacity, 4), 7.0, "float32")
    value_cache = key_cache.copy()
    key_cache[:, :, :3], value_cache[:, :, :3] = keys, values
    for t in range(3, 6):
        step, key_cache, value_cache = block.decode_step(x[:, t : t + 1], key_cache, value_cache, tf.constant(t))
        np.testing.assert_allclose(step[:, 0], whole[:, t], rtol=1e-5, atol=1e-5)


def test_dropout_acts_only_while_training():
    block, x = _block(dropout=0.5, attention_dropout=0.2, seed=1)
    np.testing.assert_allclose(block(x), block(x, training=False))
    assert not np.allclose(block(x, training=True), block(x))


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"d_model": 10, "num_heads": 3}, r"`d_model` \(10\) must be divisible by `num_heads` \(3\)"),
        ({"d_model": 8, "num_heads": 0}, "`num_heads` must be a positive integer"),
        ({"d_model": 8, "num_heads": 2, "ff_dim": 0}, "`ff_dim` must be a positive integer"),
        ({"d_model": 8, "num_heads": 2, "dropout": 1.0}, r"`dropout` must be a float in \[0, 1\)"),
    ],
)
def test_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        TransformerBlock(**kwargs)


def test_rejects_inputs_whose_width_is_not_d_model():
    with pytest.raises(ValueError, match="feature size 6 differs from the size 8"):
        TransformerBlock(8, 2)(np.ones((1, 4, 6), "float32"))


def test_tied_embedding_scores_features_with_the_transposed_table(tmp_path):
    tokens = keras.Input((None,), dtype="int32")
    layer = TiedEmbedding(10, 4, name="embedding")
    model = keras.Model(tokens, layer(layer(tokens) * 2.0, reverse=True))
    ids = np.array([[1, 2, 3]], "int32")
    table = layer.embeddings.numpy()
    np.testing.assert_allclose(model(ids), (table[ids] * 2.0) @ table.T, rtol=1e-5, atol=1e-6)
    assert len(model.trainable_weights) == 1  # one matrix serves both sides
    path = tmp_path / "tied.keras"
    model.save(path)
    np.testing.assert_allclose(keras.models.load_model(path)(ids), model(ids), rtol=1e-6)
