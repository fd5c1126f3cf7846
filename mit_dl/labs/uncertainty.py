"""Checkers for the lecture 5 lab (uncertainty): Gaussian NLL, MC dropout, mutual information, ECE.

Each runs the learner's function on fixed inputs, compares it with the
formula (and `mit_dl.uncertainty` / `mit_dl.evaluation`) and names the
typical mistake when it differs: sigma or the variance used where the log
variance belongs, dropout off at prediction time, the two entropy terms
swapped, calibration bins averaged without their sizes.
"""

import keras
import numpy as np
import tensorflow as tf

from mit_dl import evaluation
from mit_dl.labs.grading import Mistake, call_learner, checker, explain_mismatch, values

__all__ = [
    "check_gaussian_nll",
    "check_mc_dropout_prediction",
    "check_mutual_information",
    "check_expected_calibration_error",
]

_Y = np.array([0.5, -1.0, 2.0, 0.0], np.float32)
_MU = np.array([0.0, -0.5, 3.0, 0.2], np.float32)
_S = np.array([0.5, 1.0, 0.25, 2.0], np.float32)  # log sigma^2 (positive: the mistakes read it as sigma too)
_LOG_2PI = np.log(2.0 * np.pi)


@checker
def check_gaussian_nll(gaussian_nll):
    """gaussian_nll(y, mu, log_variance): 1/2 [log sigma^2 + (y - mu)^2 / sigma^2 + log 2 pi] per example.

    Args:
        gaussian_nll: the learner's function, called on four fixed examples.

    Returns:
        A `CheckResult`: passed, or what was expected, what was received and the likely mistake.
    """
    received = values(
        call_learner(
            "gaussian_nll(y, mu, log_variance)",
            gaussian_nll,
            tf.constant(_Y),
            tf.constant(_MU),
            tf.constant(_S),
        ),
        "gaussian_nll(...)",
    )
    y, mu, s = (a.astype(np.float64) for a in (_Y, _MU, _S))
    squared = (y - mu) ** 2
    expected = 0.5 * (s + squared * np.exp(-s) + _LOG_2PI)
    if received.shape == ():
        raise Mistake(
            "expected one negative log-likelihood per example (shape (4,)); received one number. Return the "
            "per-example values: the training step averages them over the global batch."
        )
    explain_mismatch(
        received.reshape(-1),
        expected,
        "the Gaussian negative log-likelihood of four examples",
        [
            (
                0.5 * (2 * np.log(s) + squared / s**2 + _LOG_2PI),
                "sigma is used where log sigma^2 belongs: the network predicts s = log sigma^2, so "
                "sigma^2 = exp(s) and log sigma^2 = s.",
            ),
            (
                0.5 * (np.log(s) + squared / s + _LOG_2PI),
                "the log-variance is used as the variance sigma^2: sigma^2 = exp(s) and log sigma^2 = s.",
            ),
            (
                0.5 * (2 * s + squared * np.exp(-2 * s) + _LOG_2PI),
                "the input is treated as log sigma (sigma = exp(s)) where it is log sigma^2: use exp(-s), "
                "not exp(-2 s).",
            ),
            (0.5 * (s + squared * np.exp(s) + _LOG_2PI), "the sign in the exponent: divide by sigma^2, exp(-s)."),
            (0.5 * (s + squared * np.exp(-s)), "the constant 1/2 log 2 pi is missing (it makes it a true NLL)."),
            (s + squared * np.exp(-s) + _LOG_2PI, "the factor 1/2 is missing."),
            (
                0.5 * (squared * np.exp(-s) + _LOG_2PI),
                "the log sigma^2 term is missing: without it the "
                "network lowers the loss by predicting an infinite variance.",
            ),
            (0.5 * (squared + _LOG_2PI), "the predicted variance is not used: this is the squared error."),
        ],
    )


def _dropout_model():
    keras.utils.set_random_seed(5)
    inputs = keras.Input((4,))
    hidden = keras.layers.Dense(32, activation="relu")(inputs)
    hidden = keras.layers.Dropout(0.5)(hidden)
    model = keras.Model(inputs, keras.layers.Dense(3)(hidden))
    for weight in model.trainable_weights:
        weight.assign(weight * 3.0)  # large logits: the passes disagree clearly
    return model


@checker
def check_mc_dropout_prediction(mc_dropout_predict):
    """mc_dropout_predict(model, x, T): the mean of T softmax predictions with dropout on.

    Args:
        mc_dropout_predict: the learner's function ``(model, x, T) -> [N, classes]``.

    Returns:
        A `CheckResult`: passed, or what was expected, what was received and the likely mistake.
    """
    model = _dropout_model()
    x = tf.constant(np.random.default_rng(0).normal(size=(6, 4)), tf.float32)
    call = lambda t: values(  # noqa: E731
        call_learner(f"mc_dropout_predict(model, x, T={t})", mc_dropout_predict, model, x, t),
        "mc_dropout_predict(...)",
    )
    one, other = call(1), call(1)
    if one.shape != (6, 3):
        raise Mistake(f"expected the mean probabilities [N, classes] = (6, 3); received shape {one.shape}.")
    off = tf.nn.softmax(model(x, training=False)).numpy()
    if np.allclose(one, other):
        hint = (
            "dropout is off at prediction time: call model(x, training=True) so each pass drops its own units; "
            "with dropout off every pass is the same and there is no spread to measure."
        )
        if np.allclose(one, off, atol=1e-5):
            raise Mistake(f"two single passes gave the same prediction, the deterministic one. Likely mistake: {hint}")
        raise Mistake(f"two single passes gave the same prediction. Likely mistake: {hint}")
    if not np.allclose(one.sum(axis=1), 1.0, atol=1e-4):
        raise Mistake("the rows do not sum to 1: average probabilities (softmax of each pass's logits), not logits.")
    many = call(200)
    # The reference: 20,000 dropout passes in one call (each row of the repeated batch draws its own mask).
    repeated = tf.tile(x, [20_000, 1])
    draws = tf.reshape(tf.nn.softmax(model(repeated, training=True)), [20_000, 6, 3]).numpy()
    expected = draws.mean(0)
    if np.abs(many - off).max() < np.abs(many - expected).max() / 3:
        raise Mistake(
            "the mean of 200 passes is close to the prediction with dropout off: this happens when the logits "
            "are averaged before the softmax (the last layer is linear, so the mean of the logits is the "
            "deterministic logits). Average the probabilities: mean over passes of softmax(logits)."
        )
    spread = draws.std(0) / np.sqrt(200)
    if not np.all(np.abs(many - expected) < 6 * spread + 2e-3):
        raise Mistake(
            f"the mean of 200 passes, {np.round(many[0], 3)} for the first input, is not the average of "
            f"dropout predictions, {np.round(expected[0], 3)}: average T passes of softmax(model(x, "
            "training=True))."
        )


_P = np.array(
    [
        [[0.9, 0.05, 0.05], [0.4, 0.3, 0.3], [0.1, 0.8, 0.1]],
        [[0.1, 0.8, 0.1], [0.3, 0.4, 0.3], [0.2, 0.7, 0.1]],
        [[0.5, 0.25, 0.25], [0.3, 0.3, 0.4], [0.05, 0.9, 0.05]],
    ]
)  # [members, inputs, classes]


def _entropy(p, log=np.log):
    return -(p * log(p)).sum(-1)


@checker
def check_mutual_information(mutual_information):
    """mutual_information(probabilities [M, N, C]): H[mean of p] - mean of H[p], the epistemic part.

    Args:
        mutual_information: the learner's function of stacked member (or pass) probabilities.

    Returns:
        A `CheckResult`: passed, or what was expected, what was received and the likely mistake.
    """
    received = values(
        call_learner("mutual_information(probabilities)", mutual_information, tf.constant(_P, tf.float32)),
        "mutual_information(...)",
    ).reshape(-1)
    total, expected_entropy = _entropy(_P.mean(0)), _entropy(_P).mean(0)
    explain_mismatch(
        received,
        total - expected_entropy,
        "the mutual information of three inputs under three members",
        [
            (
                expected_entropy - total,
                "the two terms are swapped: the entropy of the mean prediction (total) minus the mean of the "
                "members' entropies (aleatoric); it is never negative.",
            ),
            (total, "this is the total (predictive) entropy; subtract the mean of the members' entropies."),
            (
                expected_entropy,
                "this is the expected entropy (the aleatoric part); the epistemic part is H[mean] - it.",
            ),
            (
                _entropy(_P.mean(0), np.log2) - _entropy(_P, np.log2).mean(0),
                "in bits (log2); the lab measures entropies in nats (natural log), as the losses do.",
            ),
            (
                _entropy(_P.mean(1)) - _entropy(_P).mean(1),
                "averaged over the inputs (axis 1) instead of the members (axis 0).",
            ),
            (_P.var(0).mean(-1), "this is the variance of the probabilities, another spread; use the entropies."),
        ],
    )


_LABELS = np.array([0, 1, 1, 2, 0, 2, 1, 0, 2, 1])
_PROBS = np.array(
    [
        [0.95, 0.03, 0.02],
        [0.10, 0.85, 0.05],
        [0.60, 0.30, 0.10],
        [0.20, 0.20, 0.60],
        [0.50, 0.45, 0.05],
        [0.34, 0.33, 0.33],
        [0.05, 0.92, 0.03],
        [0.40, 0.35, 0.25],
        [0.10, 0.10, 0.80],
        [0.30, 0.62, 0.08],
    ]
)


def _bins(bins):
    return evaluation.calibration_bins(_LABELS, _PROBS, bins)


@checker
def check_expected_calibration_error(expected_calibration_error):
    """expected_calibration_error(labels, probabilities, bins): sum over bins of (n_b / N) |acc_b - conf_b|.

    Args:
        expected_calibration_error: the learner's function, called with ``bins=5`` on ten fixed predictions.

    Returns:
        A `CheckResult`: passed, or what was expected, what was received and the likely mistake.
    """
    received = values(
        call_learner(
            "expected_calibration_error(labels, probabilities, bins=5)",
            expected_calibration_error,
            _LABELS.copy(),
            _PROBS.copy(),
            bins=5,
        ),
        "expected_calibration_error(...)",
    ).reshape(-1)
    table = _bins(5)
    filled = table["count"] > 0
    gaps = np.abs(table["accuracy"][filled] - table["confidence"][filled])
    confidence = _PROBS.max(1)
    correct = _PROBS.argmax(1) == _LABELS
    explain_mismatch(
        received,
        np.array([evaluation.expected_calibration_error(_LABELS, _PROBS, bins=5)]),
        "the ECE of ten predictions in 5 equal-width bins",
        [
            (
                np.array([gaps.mean()]),
                "the bins are averaged without their sizes: weight each bin's gap by its share of the "
                "predictions, n_b / N (a nearly empty bin must not count as much as a full one).",
            ),
            (np.array([gaps.sum() / 5]), "the gaps are divided by the number of bins, empty ones included."),
            (np.array([gaps.max()]), "this is the maximum calibration error (MCE), the worst bin."),
            (
                np.array([abs(correct.mean() - confidence.mean())]),
                "one bin holds everything: |accuracy - mean confidence| over all predictions hides "
                "over- and under-confidence that cancel.",
            ),
            (
                np.array([np.mean(np.abs(correct - confidence))]),
                "the gap is taken per prediction: accuracy and confidence are compared per bin.",
            ),
        ],
    )
