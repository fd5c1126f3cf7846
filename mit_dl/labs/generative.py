"""Checkers for the lecture 4 lab (deep generative models): the VAE loss with beta, the GAN losses, the penalty.

Each runs the learner's function on fixed inputs, compares it with
`mit_dl.generative.losses` and names the typical mistake when it differs.
The reparameterised sample is Lab 2's exercise and checker
(`mit_dl.labs.faces.check_reparameterize`), re-exported here.
"""

import numpy as np
import tensorflow as tf

from mit_dl.labs.faces import check_reparameterize
from mit_dl.labs.grading import Mistake, call_learner, checker, explain_mismatch, values

__all__ = [
    "check_beta_vae_loss",
    "check_reparameterize",
    "check_discriminator_loss",
    "check_generator_loss",
    "check_interpolation_weights",
    "check_gradient_penalty",
]

_RNG = np.random.default_rng(4)
_X = _RNG.uniform(size=(2, 4, 4, 1)).astype(np.float32)
_LOGITS = _RNG.normal(size=(2, 4, 4, 1)).astype(np.float32)
_MU = np.array([[0.5, -1.0, 0.0], [2.0, 0.25, -0.5]], np.float32)
_LOGVAR = np.array([[0.4, -1.5, 0.2], [0.1, 0.9, -2.0]], np.float32)
_BETA = 4.0
_REAL_LOGITS = np.array([[2.0], [-0.5], [1.0]], np.float32)
_FAKE_LOGITS = np.array([[-1.5], [0.25], [3.0]], np.float32)


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _kl(mu, logvar):
    return 0.5 * np.sum(np.exp(logvar) + mu**2 - 1.0 - logvar, axis=1)


@checker
def check_beta_vae_loss(vae_loss):
    """vae_loss(x, logits, mu, logvar, beta) = sum over pixels of BCE(x, sigmoid(logits)) + beta * KL, per image.

    Args:
        vae_loss: the learner's `vae_loss`, called on fixed inputs with ``beta = 4``.

    Returns:
        A `CheckResult`: passed, or what was expected, what was received and the likely mistake.
    """
    received = values(
        call_learner("vae_loss(x, logits, mu, logvar, beta=4)", vae_loss, _X, _LOGITS, _MU, _LOGVAR, _BETA),
        "vae_loss(...)",
    )
    x, logits = _X.astype(np.float64), _LOGITS.astype(np.float64)
    mu, logvar = _MU.astype(np.float64), _LOGVAR.astype(np.float64)
    p = _sigmoid(logits)
    bce = -(x * np.log(p) + (1 - x) * np.log(1 - p))
    summed, averaged = bce.reshape(2, -1).sum(1), bce.reshape(2, -1).mean(1)
    kl = _kl(mu, logvar)
    if received.shape != kl.shape:
        raise Mistake(
            f"expected one loss per image, shape {kl.shape}, received shape {received.shape}: sum the "
            "reconstruction over pixels (axis=(1, 2, 3)) and the KL over latent dimensions (axis=1), "
            "not over the batch."
        )
    explain_mismatch(
        received,
        summed + _BETA * kl,
        "the β-VAE loss of two fixed images (beta = 4)",
        [
            (summed + kl, "beta is missing: the KL term is multiplied by beta (here 4)."),
            (_BETA * summed + kl, "beta multiplies the KL term, not the reconstruction."),
            (averaged + _BETA * kl, "the reconstruction is averaged over pixels; the lecture sums it over pixels."),
            (summed - _BETA * kl, "the KL term is added, not subtracted (it is a divergence, >= 0)."),
            (
                ((x - p) ** 2).reshape(2, -1).sum(1) + _BETA * kl,
                "the reconstruction is the squared error; this lab's pixels are Bernoulli: binary cross-entropy.",
            ),
            (
                -(x * np.log(_sigmoid(logits))).reshape(2, -1).sum(1) + _BETA * kl,
                "the cross-entropy misses its (1 - x) log(1 - x_hat) term.",
            ),
            (
                summed + _BETA * 0.5 * np.sum(np.exp(0.5 * logvar) + mu**2 - 1.0 - logvar, axis=1),
                "exp(0.5 * logvar) is the standard deviation; the KL needs the variance exp(logvar).",
            ),
        ],
    )


def _d_reference(real, fake):
    return -np.log(_sigmoid(real)) - np.log(1 - _sigmoid(fake))


@checker
def check_discriminator_loss(discriminator_loss):
    """discriminator_loss(real_logits, fake_logits) = -log D(x) - log(1 - D(G(z))), one value per example.

    Args:
        discriminator_loss: the learner's `discriminator_loss`, called on fixed logits.

    Returns:
        A `CheckResult`: passed, or what was expected, what was received and the likely mistake.
    """
    received = values(
        call_learner("discriminator_loss(real_logits, fake_logits)", discriminator_loss, _REAL_LOGITS, _FAKE_LOGITS),
        "discriminator_loss(...)",
    )
    real, fake = _REAL_LOGITS[:, 0].astype(np.float64), _FAKE_LOGITS[:, 0].astype(np.float64)
    if received.size == 1 and received.ndim <= 1:
        expected_mean = _d_reference(real, fake).mean()
        if np.isclose(float(received.reshape(())), expected_mean, rtol=1e-4):
            raise Mistake("the loss is averaged over the batch: return one value per example (the step averages).")
    explain_mismatch(
        received.reshape(-1),
        _d_reference(real, fake),
        "the discriminator's loss on three real and three generated images",
        [
            (
                _d_reference(fake, real),
                "real and fake are swapped: real images are labelled 1 (maximise log D(x)), generated ones 0.",
            ),
            (-np.log(_sigmoid(real)), "the term of the generated images, -log(1 - D(G(z))), is missing."),
            (-np.log(1 - _sigmoid(fake)), "the term of the real images, -log D(x), is missing."),
            (
                -np.log(np.clip(real, 1e-7, 1)) - np.log(np.clip(1 - fake, 1e-7, 1)),
                "the logits were used as probabilities: D(x) = sigmoid(logit) (or use from_logits=True).",
            ),
            (
                -_d_reference(real, fake),
                "the sign is flipped: the discriminator *minimises* -log D(x) - log(1 - D(G(z))).",
            ),
        ],
    )


@checker
def check_generator_loss(generator_loss):
    """generator_loss(fake_logits, kind): non-saturating -log D(G(z)), minimax log(1 - D(G(z))), per example.

    Args:
        generator_loss: the learner's `generator_loss(fake_logits, kind)`, called for both kinds.

    Returns:
        A `CheckResult`: passed, or what was expected, what was received and the likely mistake.
    """
    fake = _FAKE_LOGITS[:, 0].astype(np.float64)
    non_saturating, minimax = -np.log(_sigmoid(fake)), np.log(1 - _sigmoid(fake))
    got = {}
    for kind in ("non-saturating", "minimax"):
        got[kind] = values(
            call_learner(f"generator_loss(fake_logits, {kind!r})", generator_loss, _FAKE_LOGITS, kind),
            f"generator_loss(fake_logits, {kind!r})",
        ).reshape(-1)
    explain_mismatch(
        got["non-saturating"],
        non_saturating,
        "the non-saturating generator loss",
        [
            (
                minimax,
                "this is the saturating (minimax) loss log(1 - D(G(z))): the non-saturating one is -log D(G(z)).",
            ),
            (-minimax, "-log(1 - D(G(z))) rewards the generator for being caught: use -log D(G(z))."),
            (np.log(_sigmoid(fake)), "the sign is flipped: the generator minimises -log D(G(z))."),
        ],
    )
    explain_mismatch(
        got["minimax"],
        minimax,
        "the minimax (saturating) generator loss",
        [
            (non_saturating, "for kind='minimax' return the lecture's log(1 - D(G(z))), the saturating form."),
            (-minimax, "the sign is flipped: the generator minimises log(1 - D(G(z)))."),
        ],
    )


@checker
def check_interpolation_weights(interpolation_weights):
    """interpolation_weights(batch_size, seed): e ~ U[0, 1], shape [batch, 1, 1, 1].

    Args:
        interpolation_weights: the learner's `interpolation_weights`, called for 20,000 weights.

    Returns:
        A `CheckResult`: passed, or what was expected, what was received and the likely mistake.
    """
    received = values(call_learner("interpolation_weights(20000, seed=0)", interpolation_weights, 20000, 0), "weights")
    if received.shape != (20000, 1, 1, 1):
        raise Mistake(
            "expected shape (20000, 1, 1, 1), one weight per image broadcast over its pixels; "
            f"received {received.shape}."
        )
    e = received.reshape(-1)
    if e.min() < 0 or e.max() > 1:
        raise Mistake(
            f"weights range from {e.min():.2f} to {e.max():.2f}: they look drawn from a normal distribution, "
            "which puts "
            "points off the segment between real and fake images. Draw them uniformly on [0, 1]."
        )
    if abs(e.mean() - 0.5) > 0.02 or abs(e.var() - 1 / 12) > 0.01:
        raise Mistake(
            f"mean {e.mean():.3f} and variance {e.var():.4f}: a uniform draw on [0, 1] has 0.5 and 1/12 = 0.0833."
        )
    if len(np.unique(e)) < 1000:
        raise Mistake("the weights repeat: draw one independent weight per image.")


def _penalty_case():
    rng = np.random.default_rng(2)
    w = rng.normal(size=(1, 3, 3, 1)).astype(np.float32)
    real = rng.normal(size=(2, 3, 3, 1)).astype(np.float32)
    fake = rng.normal(size=(2, 3, 3, 1)).astype(np.float32)
    epsilon = np.array([0.3, 0.75], np.float32).reshape(2, 1, 1, 1)

    def critic(x, training=True):
        x = tf.cast(x, tf.float32)
        return (tf.tanh(tf.reduce_sum(w * x, axis=[1, 2, 3])) + 0.5 * tf.reduce_sum(x**2, axis=[1, 2, 3]))[:, None]

    def gradient(points):  # d critic / dx, by hand
        s = np.tanh((w * points).reshape(len(points), -1).sum(1))
        return (1 - s**2).reshape(-1, 1, 1, 1) * w + points

    return critic, real, fake, epsilon, gradient


@checker
def check_gradient_penalty(gradient_penalty):
    """gradient_penalty(critic, real, fake, epsilon) = (||grad f(x_hat)||_2 - 1)^2 at x_hat = e x + (1 - e) G(z).

    Args:
        gradient_penalty: the learner's `gradient_penalty`, called with a critic whose gradient is known.

    Returns:
        A `CheckResult`: passed, or what was expected, what was received and the likely mistake.
    """
    critic, real, fake, epsilon, gradient = _penalty_case()
    received = values(
        call_learner("gradient_penalty(critic, real, fake, epsilon)", gradient_penalty, critic, real, fake, epsilon),
        "gradient_penalty(...)",
    )

    def penalty_at(points, power=2, squared_norm=False):
        g = gradient(points.astype(np.float64)).reshape(len(points), -1)
        norm = np.sum(g**2, axis=1) if squared_norm else np.sqrt(np.sum(g**2, axis=1))
        return np.abs(norm - 1) ** power

    mixed = epsilon * real + (1 - epsilon) * fake
    if received.size == 1 and np.isclose(float(received.reshape(-1)[0]), penalty_at(mixed).mean(), rtol=1e-3):
        raise Mistake("the penalty is averaged over the batch: return one value per example (the step averages).")
    batch_norm = np.sqrt(np.sum(gradient(mixed.astype(np.float64)) ** 2))
    explain_mismatch(
        received.reshape(-1),
        penalty_at(mixed),
        "the penalty of two interpolated points under a critic with a known gradient",
        [
            (penalty_at(real), "the penalty is taken at the real images only: take it at x_hat = e x + (1 - e) G(z)."),
            (penalty_at(fake), "the penalty is taken at the generated images only: interpolate between real and fake."),
            (
                penalty_at(epsilon * fake + (1 - epsilon) * real),
                "e weights the generated image: x_hat = e * real + (1 - e) * fake.",
            ),
            (penalty_at(mixed, power=1), "the penalty squares the gap: (||grad|| - 1)^2."),
            (penalty_at(mixed, squared_norm=True), "use the gradient's norm ||grad||_2, not its square, before - 1."),
            (
                np.full(2, (batch_norm - 1) ** 2),
                "the norm was taken over the whole batch: take it per example (over each image's pixels).",
            ),
        ],
    )
