"""Lab 2 part 2 checkers: each accepts the reference answer and rejects typical mistakes with a helpful message."""

import numpy as np
import pytest
import tensorflow as tf
from support import failed, todo

from mit_dl.faces.debias import course_sampling_probabilities
from mit_dl.labs import faces as checks


def vae_loss(variance_is_exp=True, half=0.5, l1=True, std_instead_of_variance=False):
    def loss(x, x_recon, mu, logvar, kl_weight=0.005):
        if std_instead_of_variance:
            variance = tf.exp(0.5 * logvar)
        else:
            variance = tf.exp(logvar) if variance_is_exp else logvar
        log_variance = logvar if variance_is_exp else tf.math.log(logvar)
        kl = half * tf.reduce_sum(variance + mu**2 - 1 - log_variance, axis=1)
        error = tf.abs(x - x_recon) if l1 else tf.square(x - x_recon)
        return kl_weight * kl + tf.reduce_mean(error, axis=(1, 2, 3))

    return loss


def test_vae_loss():
    assert checks.check_vae_loss(vae_loss())
    failed(checks.check_vae_loss(vae_loss(variance_is_exp=False)), "log-variance", "exp(logvar)")
    failed(checks.check_vae_loss(vae_loss(std_instead_of_variance=True)), "standard deviation")
    failed(checks.check_vae_loss(vae_loss(half=1.0)), "1/2")
    failed(checks.check_vae_loss(vae_loss(l1=False)), "absolute error")
    failed(
        checks.check_vae_loss(
            lambda x, r, mu, logvar, kl_weight: tf.reduce_mean(vae_loss()(x, r, mu, logvar, kl_weight))
        ),
        "one loss per image",
    )


def test_reparameterize():
    assert checks.check_reparameterize(lambda mu, logvar, eps: mu + tf.exp(0.5 * logvar) * eps)
    failed(checks.check_reparameterize(lambda mu, logvar, eps: mu + tf.exp(logvar) * eps), "variance", "exp(0.5")
    failed(checks.check_reparameterize(lambda mu, logvar, eps: mu + logvar * eps), "log-variance")
    failed(checks.check_reparameterize(lambda mu, logvar, eps: mu * eps + tf.exp(0.5 * logvar)), "swapped")


def dbvae_loss(indicator=True, classification=True):
    def loss(x, x_recon, y, y_logit, mu, logvar):
        y = tf.reshape(tf.cast(y, tf.float32), [-1])
        ce = tf.nn.sigmoid_cross_entropy_with_logits(labels=y, logits=tf.reshape(y_logit, [-1]))
        vae = vae_loss()(x, x_recon, mu, logvar)
        return (ce if classification else 0.0) + (y if indicator else 1.0) * vae

    return loss


def test_dbvae_loss():
    assert checks.check_dbvae_loss(dbvae_loss())
    failed(checks.check_dbvae_loss(dbvae_loss(indicator=False)), "non-face", "indicator")
    failed(checks.check_dbvae_loss(dbvae_loss(classification=False)), "classification loss is missing")


def test_sampling_probabilities():
    def density_weighted(mu, bins, smoothing):  # the mistake: weight by the density, not its inverse
        result = np.zeros(len(mu))
        for column in np.asarray(mu, np.float64).T:
            density, edges = np.histogram(column, bins=bins, density=True)
            edges[0], edges[-1] = -np.inf, np.inf
            smoothed = (density + smoothing) / np.sum(density + smoothing)
            weight = smoothed[np.digitize(column, edges) - 1]
            result = np.maximum(result, weight / weight.sum())
        return result / result.sum()

    assert checks.check_sampling_probabilities(
        lambda mu, bins, smoothing: course_sampling_probabilities(mu, bins, smoothing)
    )
    unnormalised = lambda mu, bins, smoothing: 3 * course_sampling_probabilities(mu, bins, smoothing)  # noqa: E731
    failed(checks.check_sampling_probabilities(unnormalised), "divide by their sum")
    failed(checks.check_sampling_probabilities(lambda mu, bins, smoothing: np.ones(len(mu)) / len(mu)), "expected")
    failed(checks.check_sampling_probabilities(lambda mu, bins, smoothing: np.ones(7)), "One probability per face")
    failed(checks.check_sampling_probabilities(density_weighted), "dense regions", "1 / (density + smoothing)")


@pytest.mark.parametrize(
    "check",
    [checks.check_vae_loss, checks.check_reparameterize, checks.check_dbvae_loss, checks.check_sampling_probabilities],
)
def test_unfinished_exercises_are_reported_not_raised(check):
    failed(check(todo), "is not implemented yet")
