"""The shared sampler: top-k / top-p filtering, stopping at the end token, the cache equals recomputing, seeds."""

import numpy as np
import tensorflow as tf

from mit_dl.llm.config import GPTConfig
from mit_dl.llm.model import build_gpt
from mit_dl.networks.decoder import RecomputeSampler, TransformerSampler, filter_logits

CONFIG = GPTConfig.from_preset("quick", vocab_size=300, context=24, d_model=32, num_heads=2, num_layers=2, ff_dim=64)


def _model():
    model = build_gpt(CONFIG, 300)
    model(tf.zeros((1, 1), tf.int32))
    return model


def test_top_k_and_top_p_keep_the_likeliest_tokens():
    logits = tf.math.log([[0.4, 0.3, 0.2, 0.1], [0.1, 0.2, 0.3, 0.4]])
    kept = np.isfinite(filter_logits(logits, top_k=tf.constant(3)).numpy())
    assert kept.tolist() == [[True, True, True, False], [False, True, True, True]]
    kept = np.isfinite(filter_logits(logits, top_p=tf.constant(0.65)).numpy())
    assert kept.tolist() == [[True, True, False, False], [False, False, True, True]]
    kept = np.isfinite(filter_logits(logits, top_k=tf.constant(1), top_p=tf.constant(0.99)).numpy())
    assert kept.sum(axis=1).tolist() == [1, 1]
    assert np.isfinite(filter_logits(logits).numpy()).all()  # both off: every token stays


def test_cached_logits_equal_recomputing_the_window():
    model = _model()
    cached, recompute = TransformerSampler(model), RecomputeSampler(model)
    ids = tf.constant(np.random.default_rng(0).integers(3, 300, (2, 9)).astype("int32"))
    logits, state = cached.prime(ids[:, :5])
    for t in range(5, 9):
        np.testing.assert_allclose(logits, model(ids[:, :t])[:, -1], atol=1e-4)
        logits, state = cached._step(ids[:, t], state)
    seeds = tf.constant([4, 5], tf.int64)
    args = (ids[:, :3], tf.constant(60), tf.constant(1.0), seeds, tf.constant(0), tf.constant(1.0), tf.constant(-1))
    drawn = cached.generate_tokens(*args).numpy()
    assert drawn.shape == (2, 60)  # past the context of 24: the window slides
    np.testing.assert_array_equal(drawn, recompute.generate_tokens(*args).numpy())
    # Each step compiled by XLA (and top-p's filter): the same draws, slides included.
    compiled = TransformerSampler(model, jit_compile=True)
    nucleus = (*args[:5], tf.constant(0.9), args[6])
    np.testing.assert_array_equal(drawn, compiled.generate_tokens(*args).numpy())
    np.testing.assert_array_equal(cached.generate_tokens(*nucleus).numpy(), compiled.generate_tokens(*nucleus).numpy())


def test_a_seed_reproduces_a_sample_and_the_end_token_stops_it():
    sampler = TransformerSampler(_model())
    prompt = tf.constant([[0, 10, 11]], tf.int32)

    def draw(seed, stop=-1, top_p=1.0):
        return sampler.generate_tokens(
            prompt,
            tf.constant(30),
            tf.constant(1.0),
            tf.constant([seed], tf.int64),
            tf.constant(0),
            tf.constant(top_p),
            tf.constant(stop),
        ).numpy()[0]

    first = draw(7)
    np.testing.assert_array_equal(first, draw(7))
    assert not np.array_equal(first, draw(8))
    stop = int(first[4])
    stopped = draw(7, stop)
    assert stopped.tolist() == first[: list(first).index(stop) + 1].tolist()
    assert draw(7, top_p=1e-6).tolist() == draw(8, top_p=1e-6).tolist()  # p -> 0: greedy
