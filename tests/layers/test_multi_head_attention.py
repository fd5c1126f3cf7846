"""MultiHeadSelfAttention: Concat(head_1..head_h) W^O vs keras.layers.MultiHeadAttention."""

import keras
import numpy as np
import pytest
from support import rng

from mit_dl.layers import MultiHeadSelfAttention


def _pair(d_model, heads, use_bias=True):
    x = rng(0).normal(size=(2, 6, d_model)).astype("float32")
    ours = MultiHeadSelfAttention(d_model, heads, use_bias=use_bias)
    ours(x)
    twin = keras.layers.MultiHeadAttention(heads, key_dim=d_model // heads, use_bias=use_bias)
    twin(x, x)
    twin.set_weights([rng(i + 1).normal(scale=0.3, size=w.shape) for i, w in enumerate(twin.get_weights())])
    # Keras keeps (in, heads, d_k) / (heads, d_k, out); ours the concatenated 2-D matrices.
    ours.set_weights([w.reshape(o.shape) for w, o in zip(twin.get_weights(), ours.get_weights())])
    return ours, twin, x


@pytest.mark.parametrize("heads", [1, 2, 4])
@pytest.mark.parametrize("use_bias", [True, False])
def test_matches_keras_multi_head_attention(heads, use_bias):
    ours, twin, x = _pair(8, heads, use_bias)
    out, w = ours(x, return_attention_scores=True)
    want, want_w = twin(x, x, return_attention_scores=True)
    np.testing.assert_allclose(out, want, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(w, want_w, rtol=1e-5, atol=1e-6)


def test_matches_keras_with_causal_and_padding_masks():
    ours, twin, x = _pair(8, 2)
    padding = np.array([[1] * 6, [1, 1, 1, 1, 0, 0]], bool)
    out = ours(x, mask=padding, use_causal_mask=True)
    causal = np.tril(np.ones((6, 6), bool))
    want = twin(x, x, attention_mask=padding[:, None, :] & causal[None])
    np.testing.assert_allclose(out, want, rtol=1e-5, atol=1e-5)


def test_matches_numpy_concat_of_heads():
    ours, _, x = _pair(8, 2)
    wq, bq, wk, bk, wv, bv, wo, bo = (w for w in ours.get_weights())
    heads = []
    for h in range(2):
        cols = slice(4 * h, 4 * h + 4)
        q, k, v = (x @ w[:, cols] + b[cols] for w, b in ((wq, bq), (wk, bk), (wv, bv)))
        s = q @ np.swapaxes(k, -1, -2) / 2.0
        a = np.exp(s - s.max(-1, keepdims=True))
        heads.append((a / a.sum(-1, keepdims=True)) @ v)
    want = np.concatenate(heads, -1) @ wo + bo
    np.testing.assert_allclose(ours(x), want, rtol=1e-5, atol=1e-5)


def test_heads_attend_differently():
    ours, _, x = _pair(8, 4)
    _, w = ours(x, return_attention_scores=True)
    assert w.shape == (2, 4, 6, 6)
    assert not np.allclose(w[:, 0], w[:, 1])


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"d_model": 8, "num_heads": 0}, "`num_heads` must be a positive integer"),
        ({"d_model": -8, "num_heads": 2}, "`d_model` must be a positive integer"),
        ({"d_model": 10, "num_heads": 3}, r"`d_model` \(10\) must be divisible by `num_heads` \(3\)"),
    ],
)
def test_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        MultiHeadSelfAttention(**kwargs)


def test_rejects_wrong_rank_and_feature_size_and_mask():
    ours, _, x = _pair(8, 2)
    with pytest.raises(ValueError, match="rank 3"):
        ours(np.ones((6, 8), "float32"))
    with pytest.raises(ValueError, match="feature size 7 differs"):
        ours(np.ones((2, 6, 7), "float32"))
    with pytest.raises(ValueError, match="padding mask has shape"):
        ours(x, mask=np.ones((2, 5), bool))
