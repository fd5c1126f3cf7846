"""The lecture-4 losses against NumPy references, and the gradient penalty against finite differences."""

import numpy as np
import pytest
import tensorflow as tf

from mit_dl.generative import losses


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def test_vae_loss_is_the_pixel_sum_of_bce_plus_beta_times_kl():
    rng = np.random.default_rng(0)
    x = rng.uniform(size=(3, 4, 4, 1)).astype("float32")
    logits = rng.normal(size=(3, 4, 4, 1)).astype("float32")
    mean, log_variance = rng.normal(size=(3, 5)).astype("float32"), rng.normal(size=(3, 5)).astype("float32")
    p = _sigmoid(logits.astype(np.float64))
    bce = -(x * np.log(p) + (1 - x) * np.log(1 - p)).reshape(3, -1).sum(1)
    kl = 0.5 * (np.exp(log_variance) + mean**2 - 1 - log_variance).sum(1)
    for beta in (1.0, 4.0):
        total, reconstruction, kl_term = (np.asarray(v) for v in losses.vae_loss(x, logits, mean, log_variance, beta))
        np.testing.assert_allclose(reconstruction, bce, rtol=1e-5)
        np.testing.assert_allclose(kl_term, kl, rtol=1e-5)
        np.testing.assert_allclose(total, bce + beta * kl, rtol=1e-5)


def test_gan_losses_match_their_log_forms_and_stay_finite_for_large_logits():
    real = np.array([[2.0], [-1.0], [0.3]], np.float32)
    fake = np.array([[-3.0], [0.5], [1.2]], np.float32)
    d = np.asarray(losses.discriminator_loss(real, fake))
    np.testing.assert_allclose(d, -np.log(_sigmoid(real[:, 0])) - np.log(1 - _sigmoid(fake[:, 0])), rtol=1e-5)
    saturating = np.asarray(losses.generator_loss(fake, "minimax"))
    np.testing.assert_allclose(saturating, np.log(1 - _sigmoid(fake[:, 0])), rtol=1e-5)
    non_saturating = np.asarray(losses.generator_loss(fake, "non-saturating"))
    np.testing.assert_allclose(non_saturating, -np.log(_sigmoid(fake[:, 0])), rtol=1e-5)
    huge = np.array([[80.0], [-80.0]], np.float32)
    assert np.all(np.isfinite(np.asarray(losses.discriminator_loss(huge, huge))))
    with pytest.raises(ValueError, match="non-saturating"):
        losses.generator_loss(fake, "saturating")


def test_the_non_saturating_loss_keeps_a_gradient_where_the_minimax_loss_vanishes():
    # A discriminator that confidently rejects the fakes (D(G(z)) ~ 0.0025): the lecture's reason.
    logits = tf.constant([[-6.0]])
    grads = {}
    for kind in ("minimax", "non-saturating"):
        with tf.GradientTape() as tape:
            tape.watch(logits)
            loss = losses.generator_loss(logits, kind)
        grads[kind] = abs(float(tape.gradient(loss, logits)[0, 0]))
    assert grads["minimax"] < 0.01 < 0.9 < grads["non-saturating"]


def test_wasserstein_losses():
    real, fake = np.array([[1.0], [3.0]], np.float32), np.array([[0.5], [-1.0]], np.float32)
    np.testing.assert_allclose(np.asarray(losses.critic_loss(real, fake)), [-0.5, -4.0])
    np.testing.assert_allclose(np.asarray(losses.wasserstein_generator_loss(fake)), [-0.5, 1.0])


def _critic_numpy(x, w):
    return np.tanh((w * x).reshape(len(x), -1).sum(1)) + (x**2).reshape(len(x), -1).sum(1)


def test_gradient_penalty_matches_finite_differences_of_the_critic():
    rng = np.random.default_rng(1)
    w = rng.normal(size=(1, 3, 3, 1))
    real, fake = rng.normal(size=(2, 3, 3, 1)), rng.normal(size=(2, 3, 3, 1))
    epsilon = np.array([0.25, 0.8]).reshape(2, 1, 1, 1)
    wt = tf.constant(w, tf.float32)

    def critic(x, training=True):
        return (tf.tanh(tf.reduce_sum(wt * x, axis=[1, 2, 3])) + tf.reduce_sum(x**2, axis=[1, 2, 3]))[:, None]

    penalty = np.asarray(losses.gradient_penalty(critic, real, fake, epsilon))
    mixed = epsilon * real + (1 - epsilon) * fake
    expected = []
    for i in range(2):
        grad = np.zeros(9)
        for j in range(9):
            step = np.zeros(9)
            step[j] = 1e-5
            up = mixed[i : i + 1] + step.reshape(1, 3, 3, 1)
            down = mixed[i : i + 1] - step.reshape(1, 3, 3, 1)
            grad[j] = (_critic_numpy(up, w)[0] - _critic_numpy(down, w)[0]) / 2e-5
        expected.append((np.linalg.norm(grad) - 1) ** 2)
    np.testing.assert_allclose(penalty, expected, rtol=1e-4)


def test_interpolation_weights_are_uniform_on_the_segment():
    e = np.asarray(losses.interpolation_weights(20000, seed=3)).ravel()
    assert e.shape == (20000,) and e.min() >= 0.0 and e.max() <= 1.0
    assert abs(e.mean() - 0.5) < 0.01 and abs(e.var() - 1 / 12) < 0.005  # a normal draw fails both ranges
