"""Sampling: z = mu + exp(0.5 logvar) eps, and the analytic KL to N(0, I)."""

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp
from support import rng

from mit_dl.layers import Sampling, kl_divergence_to_standard_normal


def test_samples_have_the_requested_mean_and_variance():
    n = 200_000
    mean = np.tile(np.array([[1.0, -2.0, 0.0]], "float32"), (n, 1))
    variance = np.array([0.25, 4.0, 1.0], "float32")
    log_var = np.tile(np.log(variance)[None], (n, 1))
    z = Sampling(seed=0)([mean, log_var]).numpy()
    # Standard errors: sqrt(var/n) for the mean (<= 0.0045), ~var*sqrt(2/n) for the variance.
    np.testing.assert_allclose(z.mean(0), [1.0, -2.0, 0.0], atol=0.02)
    np.testing.assert_allclose(z.var(0), variance, rtol=0.02)
    # Independent coordinates.
    assert abs(np.corrcoef(z.T)[0, 1]) < 0.01


def test_gradients_reach_mean_and_log_variance():
    mean = tf.Variable(rng(0).normal(size=(4, 3)))
    log_var = tf.Variable(rng(1).normal(size=(4, 3)))
    layer = Sampling(seed=1, dtype="float64")
    with tf.GradientTape() as tape:
        z = layer([mean, log_var])
        total = tf.reduce_sum(z)
    d_mean, d_log_var = tape.gradient(total, [mean, log_var])
    np.testing.assert_allclose(d_mean, np.ones((4, 3)))
    # dz/dlogvar = 0.5 * sigma * eps = 0.5 * (z - mu)
    np.testing.assert_allclose(d_log_var, 0.5 * (z.numpy() - mean.numpy()), rtol=1e-12)


def test_fixed_seed_reproduces_samples_and_batch_is_dynamic():
    zeros = np.zeros((5, 2), "float32")
    a = Sampling(seed=42)([zeros, zeros]).numpy()
    b = Sampling(seed=42)([zeros, zeros]).numpy()
    c = Sampling(seed=43)([zeros, zeros]).numpy()
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)
    layer = Sampling(seed=7)
    compiled = tf.function(lambda m, v: layer([m, v]), input_signature=[tf.TensorSpec((None, 2))] * 2)
    assert compiled(zeros, zeros).shape == (5, 2)
    assert compiled(zeros[:3], zeros[:3]).shape == (3, 2)
    # Successive calls draw fresh noise.
    assert not np.allclose(compiled(zeros, zeros), compiled(zeros, zeros))


def test_kl_matches_tensorflow_probability():
    mean = rng(2).normal(size=(6, 5))
    log_var = rng(3).normal(size=(6, 5))
    ours = kl_divergence_to_standard_normal(mean, log_var).numpy()
    q = tfp.distributions.MultivariateNormalDiag(mean, tf.exp(0.5 * log_var))
    p = tfp.distributions.MultivariateNormalDiag(tf.zeros(5, tf.float64), tf.ones(5, tf.float64))
    np.testing.assert_allclose(ours, tfp.distributions.kl_divergence(q, p).numpy(), rtol=1e-10)
    assert ours.shape == (6,)
    np.testing.assert_allclose(kl_divergence_to_standard_normal(np.zeros((2, 3)), np.zeros((2, 3))), 0.0)


def test_kl_is_stable_under_half_precision_inputs():
    mean = tf.cast(rng(4).normal(size=(3, 4)), tf.float16)
    log_var = tf.cast(rng(5).normal(size=(3, 4)), tf.float16)
    kl = kl_divergence_to_standard_normal(mean, log_var)
    assert kl.dtype == tf.float32
    np.testing.assert_allclose(
        kl, kl_divergence_to_standard_normal(tf.cast(mean, tf.float64), tf.cast(log_var, tf.float64)), rtol=1e-5
    )


def test_rejects_mismatched_or_missing_inputs():
    with pytest.raises(ValueError, match="must be equal"):
        Sampling()([np.zeros((2, 3), "float32"), np.zeros((2, 4), "float32")])
    with pytest.raises(ValueError, match="expected a pair"):
        Sampling()([np.zeros((2, 3), "float32")])
    with pytest.raises(ValueError, match="rank 2 or"):
        Sampling()([np.zeros((3,), "float32"), np.zeros((3,), "float32")])
