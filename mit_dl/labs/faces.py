"""Checkers for Lab 2 part 2 (`labs/faces/`): the VAE loss, the reparameterised sample, the DB-VAE loss
and its sampling probabilities.
"""

import numpy as np

from mit_dl.faces.debias import sampling_probabilities as reference_probabilities
from mit_dl.labs.grading import Mistake, call_learner, checker, expect_shape, explain_mismatch, values

__all__ = ["check_vae_loss", "check_reparameterize", "check_dbvae_loss", "check_sampling_probabilities"]


_MU = np.array([[0.5, -1.0, 0.0], [2.0, 0.25, -0.5]], np.float32)
_LOGVAR = np.array([[0.4, 1.5, 0.2], [0.1, 0.9, 2.0]], np.float32)  # positive: every wrong formula stays finite
_EPSILON = np.array([[1.0, -0.5, 2.0], [-1.5, 0.0, 0.75]], np.float32)
_X = np.linspace(0.0, 1.0, 2 * 4 * 4 * 3, dtype=np.float32).reshape(2, 4, 4, 3)
_X_RECON = np.clip(_X[::-1] * 0.8 + 0.1, 0, 1)
_KL_WEIGHT = 0.5


def _kl(mu, logvar, variance=None):
    variance = np.exp(logvar) if variance is None else variance
    return 0.5 * np.sum(variance + mu**2 - 1.0 - logvar, axis=1)


def _vae_loss_parts(x, x_recon, mu, logvar):
    x, x_recon, mu, logvar = (np.asarray(a, np.float64) for a in (x, x_recon, mu, logvar))
    return _kl(mu, logvar), np.mean(np.abs(x - x_recon), axis=(1, 2, 3))


@checker
def check_vae_loss(vae_loss):
    """vae_loss(x, x_recon, mu, logvar, kl_weight) = kl_weight * KL + mean |x - x_recon|, one value per image.

    Args:
        vae_loss: the learner's `vae_loss` (function or class), called on fixed inputs.

    Returns:
        A `CheckResult`: passed, or what was expected, what was received and the likely mistake.
    """
    received = values(
        call_learner(
            "vae_loss(x, x_recon, mu, logvar, kl_weight=0.5)", vae_loss, _X, _X_RECON, _MU, _LOGVAR, _KL_WEIGHT
        ),
        "vae_loss(...)",
    )
    mu, logvar = _MU.astype(np.float64), _LOGVAR.astype(np.float64)
    kl, reconstruction = _vae_loss_parts(_X, _X_RECON, _MU, _LOGVAR)
    if received.shape != kl.shape:
        raise Mistake(
            f"expected one loss per image, shape {kl.shape}, received shape {received.shape}: "
            "sum the KL over latent dimensions (axis=1) and average the error over pixels "
            "(axis=(1, 2, 3)), not over the batch."
        )
    squared = np.mean((_X.astype(np.float64) - _X_RECON) ** 2, axis=(1, 2, 3))
    explain_mismatch(
        received,
        _KL_WEIGHT * kl + reconstruction,
        "the VAE loss of two fixed images",
        [
            (
                _KL_WEIGHT * _kl(mu, np.log(logvar), variance=logvar) + reconstruction,
                "logvar was used as the variance: logvar is the log-variance, so the variance is exp(logvar).",
            ),
            (
                _KL_WEIGHT * _kl(mu, logvar, variance=np.exp(0.5 * logvar)) + reconstruction,
                "exp(0.5 * logvar) is the standard deviation; the KL needs the variance exp(logvar).",
            ),
            (_KL_WEIGHT * 2 * kl + reconstruction, "the KL divergence has a factor 1/2."),
            (kl + reconstruction, "the KL term must be multiplied by kl_weight."),
            (
                _KL_WEIGHT * kl + squared,
                "the reconstruction loss is the mean absolute error (L1), not the squared error.",
            ),
        ],
    )


@checker
def check_reparameterize(reparameterize):
    """reparameterize(mu, logvar, epsilon) = mu + exp(0.5 * logvar) * epsilon.

    Args:
        reparameterize: the learner's `reparameterize` (function or class), called on fixed inputs.

    Returns:
        A `CheckResult`: passed, or what was expected, what was received and the likely mistake.
    """
    received = values(
        call_learner("reparameterize(mu, logvar, epsilon)", reparameterize, _MU, _LOGVAR, _EPSILON),
        "reparameterize(...)",
    )
    mu, logvar, eps = (a.astype(np.float64) for a in (_MU, _LOGVAR, _EPSILON))
    explain_mismatch(
        received,
        mu + np.exp(0.5 * logvar) * eps,
        "z for fixed mu, logvar and epsilon",
        [
            (
                mu + np.exp(logvar) * eps,
                "exp(logvar) is the variance; scale epsilon by the standard deviation exp(0.5 * logvar).",
            ),
            (mu + logvar * eps, "logvar is a log-variance: the standard deviation is exp(0.5 * logvar)."),
            (mu + np.sqrt(logvar) * eps, "logvar is a log-variance, not the variance: use exp(0.5 * logvar)."),
            (mu * eps + np.exp(0.5 * logvar), "mu and the standard deviation are swapped: z = mu + sigma * epsilon."),
        ],
    )


@checker
def check_dbvae_loss(dbvae_loss):
    """dbvae_loss(x, x_recon, y, y_logit, mu, logvar) = cross-entropy + 1[face] * VAE loss, one value per image.

    Args:
        dbvae_loss: the learner's `dbvae_loss` (function or class), called on fixed inputs.

    Returns:
        A `CheckResult`: passed, or what was expected, what was received and the likely mistake.
    """
    y = np.array([1.0, 0.0], np.float32)
    logits = np.array([[0.8], [0.3]], np.float32)
    received = values(
        call_learner(
            "dbvae_loss(x, x_recon, y, y_logit, mu, logvar)", dbvae_loss, _X, _X_RECON, y, logits, _MU, _LOGVAR
        ),
        "dbvae_loss(...)",
    )
    kl, reconstruction = _vae_loss_parts(_X, _X_RECON, _MU, _LOGVAR)
    vae = 0.005 * kl + reconstruction
    z = logits[:, 0].astype(np.float64)
    classification = np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))
    if received.shape != y.shape:
        raise Mistake(f"expected one loss per image, shape {y.shape}, received shape {received.shape}.")
    explain_mismatch(
        received,
        classification + y * vae,
        "the DB-VAE loss of a face and a non-face (kl_weight 0.005)",
        [
            (
                classification + vae,
                "the VAE loss was applied to the non-face too: multiply it by the face "
                "indicator (y == 1), so that only faces shape the latent space.",
            ),
            (y * vae, "the classification loss is missing."),
            (
                vae + y * classification,
                "the indicator multiplies the wrong term: every image gets the classification "
                "loss, only faces the VAE loss.",
            ),
            (
                classification + y * (0.005 * kl + np.mean((_X.astype(np.float64) - _X_RECON) ** 2, axis=(1, 2, 3))),
                "the reconstruction error is the mean absolute error (L1).",
            ),
        ],
    )


@checker
def check_sampling_probabilities(sampling_probabilities):
    """sampling_probabilities(mu, bins, smoothing): per-dimension 1/(histogram density + smoothing),
    max over dimensions, normalised.

    Args:
        sampling_probabilities: the learner's `sampling_probabilities` (function or class), called on fixed inputs.

    Returns:
        A `CheckResult`: passed, or what was expected, what was received and the likely mistake.
    """
    rng = np.random.default_rng(0)
    mu = np.concatenate([rng.normal(0, 1, (90, 3)), rng.normal(4, 0.5, (10, 3))]).astype(np.float32)
    received = values(
        call_learner("sampling_probabilities(mu, bins=10, smoothing=0.001)", sampling_probabilities, mu, 10, 0.001),
        "sampling_probabilities(...)",
    )
    expect_shape(received, (100,), "the probabilities of 100 faces", " One probability per face.")
    if received.sum() > 0 and not np.isclose(received.sum(), 1.0, atol=1e-4):
        if np.allclose(
            received / received.sum(), reference_probabilities(mu, 10, 0.001, combine="max"), rtol=1e-3, atol=1e-6
        ):
            raise Mistake(f"the probabilities sum to {received.sum():.4g}: divide by their sum at the end.")
    expected = np.asarray(reference_probabilities(mu, 10, 0.001, combine="max"), np.float64)
    product = np.asarray(reference_probabilities(mu, 10, 0.001, combine="product"), np.float64)
    if np.allclose(received, product, rtol=1e-3, atol=1e-6):
        return  # the paper's rule: also right
    density_weighted = _density_weighted(mu)
    explain_mismatch(
        received,
        expected,
        "the probabilities of 100 fixed latent means (10 rare faces)",
        [
            (
                density_weighted,
                "faces in dense regions got the largest weights: weight = 1 / (density + smoothing), "
                "so that rare faces are drawn more often.",
            ),
        ],
    )


def _density_weighted(mu):
    """The common mistake of weighting by density instead of its inverse (max rule, normalised)."""
    weights = np.zeros(len(mu))
    for column in mu.T.astype(np.float64):
        density, edges = np.histogram(column, bins=10, density=True)
        index = np.clip(np.digitize(column, edges[1:-1]), 0, 9)
        smoothed = (density + 0.001) / np.sum(density + 0.001)
        per_face = smoothed[index]
        weights = np.maximum(weights, per_face / per_face.sum())
    return weights / weights.sum()
