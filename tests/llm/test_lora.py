"""LoRA: the base at the start, Keras' own enable_lora with the same weights, merge, only A and B train, adapters."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from mit_dl.layers import LoRADense, MultiHeadSelfAttention
from mit_dl.llm.config import GPTConfig
from mit_dl.llm.finetune import load_adapter, save_adapter
from mit_dl.llm.model import build_gpt, enable_lora, token_loss

X = np.random.default_rng(0).normal(size=(3, 6)).astype("float32")


def _dense():
    dense = keras.layers.Dense(5)
    dense.build((None, 6))
    return dense


def test_lora_dense_starts_as_the_base_and_equals_keras_enable_lora():
    dense = _dense()
    layer = LoRADense.from_dense(dense, rank=2, alpha=4)
    np.testing.assert_array_equal(layer(X), dense(X))
    rng = np.random.default_rng(1)
    layer.lora_a.assign(rng.normal(size=(6, 2)))
    layer.lora_b.assign(rng.normal(size=(2, 5)))
    dense.enable_lora(2, lora_alpha=4)
    dense.lora_kernel_a.assign(layer.lora_a)
    dense.lora_kernel_b.assign(layer.lora_b)
    np.testing.assert_allclose(layer(X), dense(X), atol=1e-5)
    assert not np.allclose(layer(X), X @ layer.kernel.numpy() + layer.bias.numpy())  # the update counts


def test_merge_equals_the_unmerged_layer_and_unmerge_restores_the_kernel():
    layer = LoRADense(5, rank=3)
    layer(X)
    layer.lora_b.assign(np.random.default_rng(2).normal(size=(3, 5)))
    before, kernel = layer(X).numpy(), layer.kernel.numpy()
    layer.merge()
    np.testing.assert_allclose(layer(X), before, atol=1e-5)
    assert not np.allclose(layer.kernel.numpy(), kernel)
    layer.unmerge()
    np.testing.assert_allclose(layer.kernel.numpy(), kernel, atol=1e-6)


def test_only_a_and_b_train():
    layer = LoRADense(5, rank=2)
    layer(X)
    kernel, bias = layer.kernel.numpy(), layer.bias.numpy()
    optimizer = keras.optimizers.SGD(0.5)
    for _ in range(3):
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(layer(X) ** 2)
        optimizer.apply_gradients(zip(tape.gradient(loss, layer.trainable_weights), layer.trainable_weights))
    assert [w.name for w in layer.trainable_weights] == ["lora_a", "lora_b"]
    np.testing.assert_array_equal(layer.kernel.numpy(), kernel)
    np.testing.assert_array_equal(layer.bias.numpy(), bias)
    assert np.abs(layer.lora_b.numpy()).max() > 0


@pytest.mark.parametrize("rank", [0, -1, 2.5, True])
def test_a_rank_that_is_not_a_positive_integer_is_refused(rank):
    with pytest.raises(ValueError, match="LoRA's rank must be a positive integer"):
        LoRADense(4, rank=rank)
    attention = MultiHeadSelfAttention(8, 2)
    attention(np.zeros((1, 3, 8), "float32"))
    with pytest.raises(ValueError, match="LoRA's rank must be a positive integer"):
        attention.enable_lora(rank)


def test_attention_lora_starts_unchanged_and_merges_exactly():
    attention = MultiHeadSelfAttention(8, 2)
    x = np.random.default_rng(3).normal(size=(2, 4, 8)).astype("float32")
    base = attention(x, use_causal_mask=True).numpy()
    attention.enable_lora(2, alpha=4, projections=("query", "value"))
    np.testing.assert_array_equal(attention(x, use_causal_mask=True), base)
    assert sorted(w.name for w in attention.trainable_weights) == sorted(
        ["query_lora_a", "query_lora_b", "value_lora_a", "value_lora_b"]
    )
    for _a, b in attention.lora.values():
        b.assign(np.random.default_rng(4).normal(size=b.shape))
    adapted = attention(x, use_causal_mask=True).numpy()
    assert not np.allclose(adapted, base)
    attention.merge_lora()
    np.testing.assert_allclose(attention(x, use_causal_mask=True), adapted, atol=1e-5)
    with pytest.raises(ValueError, match="already enabled"):
        attention.enable_lora(2)


def _gpt(**changes):
    config = GPTConfig.from_preset(
        "quick", vocab_size=300, context=16, d_model=32, num_heads=2, num_layers=2, ff_dim=64
    )
    model = build_gpt(config.replace(**changes), 300)
    model(np.zeros((1, 4), "int32"))
    return model


def test_gpt_lora_trains_a_small_share_and_adapters_load_only_on_their_base(tmp_path):
    model = _gpt()
    trained, total = enable_lora(model, 8, 16)
    assert trained == 2 * 4 * 2 * 32 * 8 and trained / total < 0.2  # tiny model: the adapters weigh more
    for v in model.trainable_weights:
        v.assign(np.random.default_rng(5).normal(size=v.shape) * 0.1)
    tokens = np.arange(16, dtype="int32")[None]
    expected = model(tokens).numpy()
    path = save_adapter(model, tmp_path / "adapter.npz")
    assert path.stat().st_size < 0.25 * sum(v.numpy().nbytes for v in model.weights)
    other = _gpt(d_model=48, ff_dim=96)
    enable_lora(other, 8, 16)
    with pytest.raises(Exception, match="trained on a base model of other shapes"):
        load_adapter(other, path)
    copy = _gpt()
    copy.set_weights([v.numpy() for v in model.weights if "_lora_" not in v.path])
    enable_lora(copy, 8, 16)
    load_adapter(copy, path)
    np.testing.assert_allclose(copy(tokens), expected, atol=1e-5)


def test_only_the_adapters_move_when_a_gpt_trains_with_lora():
    model = _gpt()
    enable_lora(model, 4, 8)
    frozen = {v.path: v.numpy() for v in model.weights if "_lora_" not in v.path}
    optimizer = keras.optimizers.Adam(0.01)
    tokens = np.random.default_rng(6).integers(0, 300, (4, 16)).astype("int32")
    for _ in range(3):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(token_loss(tokens[:, 1:], model(tokens[:, :-1])))
        optimizer.apply_gradients(zip(tape.gradient(loss, model.trainable_weights), model.trainable_weights))
    assert all(np.array_equal(v.numpy(), frozen[v.path]) for v in model.weights if v.path in frozen)
    assert any(np.abs(v.numpy()).max() > 0 for v in model.weights if v.path.endswith("_lora_b"))
