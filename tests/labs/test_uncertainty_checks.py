"""Lecture 5 lab checkers: each accepts the reference answer and rejects typical mistakes with the right explanation."""

import numpy as np
import tensorflow as tf
from support import failed, todo

from mit_dl import evaluation
from mit_dl.labs import uncertainty as checks
from mit_dl.uncertainty.losses import gaussian_nll
from mit_dl.uncertainty.summaries import classification_summary

LOG_2PI = float(np.log(2 * np.pi))


def test_gaussian_nll():
    assert checks.check_gaussian_nll(gaussian_nll)
    assert checks.check_gaussian_nll(lambda y, mu, s: 0.5 * (s + (y - mu) ** 2 / tf.exp(s) + LOG_2PI))
    failed(
        checks.check_gaussian_nll(lambda y, mu, s: tf.math.log(s) + (y - mu) ** 2 / (2 * s**2) + 0.5 * LOG_2PI),
        "sigma is used where log sigma^2 belongs",
    )
    failed(
        checks.check_gaussian_nll(lambda y, mu, s: 0.5 * (tf.math.log(s) + (y - mu) ** 2 / s + LOG_2PI)),
        "used as the variance",
    )
    failed(checks.check_gaussian_nll(lambda y, mu, s: 0.5 * (s + (y - mu) ** 2 * tf.exp(s) + LOG_2PI)), "sign")
    failed(
        checks.check_gaussian_nll(lambda y, mu, s: 0.5 * ((y - mu) ** 2 * tf.exp(-s) + LOG_2PI)), "infinite variance"
    )
    failed(checks.check_gaussian_nll(lambda y, mu, s: tf.reduce_mean(gaussian_nll(y, mu, s))), "one number")
    failed(checks.check_gaussian_nll(todo), "not implemented yet")


def _mc(model, x, samples):
    return tf.reduce_mean(tf.stack([tf.nn.softmax(model(x, training=True)) for _ in range(samples)]), 0)


def test_mc_dropout_prediction():
    assert checks.check_mc_dropout_prediction(_mc)
    off = lambda model, x, t: tf.reduce_mean(  # noqa: E731
        tf.stack([tf.nn.softmax(model(x, training=False)) for _ in range(t)]), 0
    )
    failed(checks.check_mc_dropout_prediction(off), "dropout is off at prediction time", "training=True")
    logits_mean = lambda model, x, t: tf.nn.softmax(  # noqa: E731
        tf.reduce_mean(tf.stack([model(x, training=True) for _ in range(t)]), 0)
    )
    failed(checks.check_mc_dropout_prediction(logits_mean), "logits are averaged before the softmax")
    raw = lambda model, x, t: tf.reduce_mean(tf.stack([model(x, training=True) for _ in range(t)]), 0)  # noqa: E731
    failed(checks.check_mc_dropout_prediction(raw), "do not sum to 1")
    failed(checks.check_mc_dropout_prediction(lambda model, x, t: _mc(model, x, 1)), "is not the average")
    failed(checks.check_mc_dropout_prediction(todo), "not implemented yet")


def _entropy(p):
    return -tf.reduce_sum(p * tf.math.log(p), -1)


def test_mutual_information():
    assert checks.check_mutual_information(lambda p: classification_summary(p)["epistemic"])
    assert checks.check_mutual_information(lambda p: _entropy(tf.reduce_mean(p, 0)) - tf.reduce_mean(_entropy(p), 0))
    swapped = lambda p: tf.reduce_mean(_entropy(p), 0) - _entropy(tf.reduce_mean(p, 0))  # noqa: E731
    failed(checks.check_mutual_information(swapped), "the two terms are swapped")
    failed(checks.check_mutual_information(lambda p: _entropy(tf.reduce_mean(p, 0))), "total (predictive) entropy")
    failed(checks.check_mutual_information(lambda p: tf.reduce_mean(_entropy(p), 0)), "aleatoric part")
    failed(checks.check_mutual_information(todo), "not implemented yet")


def test_expected_calibration_error():
    assert checks.check_expected_calibration_error(evaluation.expected_calibration_error)

    def unweighted(labels, probabilities, bins=15):
        table = evaluation.calibration_bins(labels, probabilities, bins)
        filled = table["count"] > 0
        return np.abs(table["accuracy"][filled] - table["confidence"][filled]).mean()

    def worst(labels, probabilities, bins=15):
        table = evaluation.calibration_bins(labels, probabilities, bins)
        filled = table["count"] > 0
        return np.abs(table["accuracy"][filled] - table["confidence"][filled]).max()

    failed(checks.check_expected_calibration_error(unweighted), "averaged without their sizes", "n_b / N")
    failed(checks.check_expected_calibration_error(worst), "maximum calibration error")
    failed(checks.check_expected_calibration_error(todo), "not implemented yet")
