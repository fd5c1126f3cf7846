"""The losses of lecture 4: the VAE's, the GAN's two players', and WGAN-GP's critic with its gradient penalty.

All work on logits (the discriminator's last layer has no sigmoid) in
their overflow-free forms, ``log sigmoid(l) = -softplus(-l)`` and
``log(1 - sigmoid(l)) = -softplus(l)``, and return one value per example,
so a training step averages them over the global batch.

- VAE (Kingma and Welling 2014), per example, summed over pixels as the
  lecture writes it: ``L = sum_pixels BCE(x, x_hat) + beta * KL(q(z|x) || N(0, I))``
  (``beta = 1``: the VAE; ``beta > 1``: the β-VAE of Higgins et al. 2017).
- GAN (Goodfellow et al. 2014): the discriminator maximises
  ``log D(x) + log(1 - D(G(z)))``; the generator of the minimax game
  minimises ``log(1 - D(G(z)))``, whose gradient vanishes when D rejects
  the fakes confidently (early in training), so the paper itself proposes
  the *non-saturating* loss ``-log D(G(z))``, the default here.
- WGAN-GP (Gulrajani et al. 2017; UvA DL §6.1): the critic's scores ``f``
  are unbounded; the critic minimises ``f(G(z)) - f(x) + lambda (||grad f(x_hat)||_2 - 1)^2``
  with ``x_hat = e x + (1 - e) G(z)``, ``e ~ U[0, 1]`` per example: points drawn
  *uniformly* on the lines between real and fake images. (A popular example
  draws ``e`` from a normal distribution, which puts most points outside the
  segment; `interpolation_weights` is uniform.) The generator minimises ``-f(G(z))``.
"""

import keras
import tensorflow as tf
from keras import ops

from mit_dl.layers import kl_divergence_to_standard_normal


def _flat_sum(x):
    return ops.sum(ops.reshape(x, (ops.shape(x)[0], -1)), axis=-1)


def vae_loss(images, logits, mean, log_variance, beta=1.0):
    """Per-example VAE loss: Bernoulli reconstruction summed over pixels plus ``beta`` times the KL term.

    Args:
        images: the inputs, in [0, 1] (the targets of the reconstruction).
        logits: the decoder's logits, ``x_hat = sigmoid(logits)``, shaped like ``images``.
        mean: the encoder's ``mu`` ``[B, D]``.
        log_variance: the encoder's ``log sigma^2`` ``[B, D]``.
        beta: the KL term's weight (1: VAE; above 1: β-VAE).

    Returns:
        ``(total, reconstruction, kl)``, each ``[B]``, in nats.

    Examples:
        >>> x = keras.ops.ones((1, 2, 2, 1))
        >>> total, rec, kl = vae_loss(x, 20.0 * x, keras.ops.zeros((1, 3)), keras.ops.zeros((1, 3)))
        >>> round(float(rec[0]), 6), float(kl[0])
        (0.0, 0.0)
    """
    images = ops.cast(images, "float32")
    logits = ops.cast(logits, "float32")
    # BCE(x, sigmoid(l)) = softplus(l) - x * l, exact for any x in [0, 1].
    reconstruction = _flat_sum(ops.softplus(logits) - images * logits)
    kl = kl_divergence_to_standard_normal(mean, log_variance)
    return reconstruction + beta * kl, reconstruction, kl


def discriminator_loss(real_logits, fake_logits):
    """The discriminator's loss: ``-log D(x) - log(1 - D(G(z)))`` per example.

    Args:
        real_logits: the discriminator's logits on real images ``[B, 1]``.
        fake_logits: its logits on generated images ``[B, 1]``.

    Returns:
        ``[B]`` (real labelled 1, fake labelled 0).
    """
    real = ops.reshape(ops.cast(real_logits, "float32"), (-1,))
    fake = ops.reshape(ops.cast(fake_logits, "float32"), (-1,))
    return ops.softplus(-real) + ops.softplus(fake)


def generator_loss(fake_logits, kind="non-saturating"):
    """The generator's loss on the discriminator's logits of its images.

    Args:
        fake_logits: logits of generated images ``[B, 1]``.
        kind: ``"non-saturating"`` (``-log D(G(z))``) or ``"minimax"`` (``log(1 - D(G(z)))``).

    Returns:
        ``[B]``.

    Raises:
        ValueError: an unknown ``kind``.
    """
    fake = ops.reshape(ops.cast(fake_logits, "float32"), (-1,))
    if kind == "non-saturating":
        return ops.softplus(-fake)
    if kind == "minimax":
        return -ops.softplus(fake)
    raise ValueError(f"unknown generator loss {kind!r}; choose 'non-saturating' or 'minimax'.")


def critic_loss(real_scores, fake_scores):
    """The Wasserstein critic's loss without the penalty: ``f(G(z)) - f(x)`` per example.

    Args:
        real_scores: the critic's scores of real images ``[B, 1]``.
        fake_scores: its scores of generated images ``[B, 1]``.

    Returns:
        ``[B]``; its negative mean estimates the Wasserstein-1 distance.
    """
    real = ops.reshape(ops.cast(real_scores, "float32"), (-1,))
    fake = ops.reshape(ops.cast(fake_scores, "float32"), (-1,))
    return fake - real


def wasserstein_generator_loss(fake_scores):
    """The WGAN generator's loss: ``-f(G(z))`` per example.

    Args:
        fake_scores: the critic's scores of generated images ``[B, 1]``.

    Returns:
        ``[B]``.
    """
    return -ops.reshape(ops.cast(fake_scores, "float32"), (-1,))


def interpolation_weights(batch_size, seed=None):
    """``e ~ U[0, 1]``, one per example, shaped ``[B, 1, 1, 1]`` to mix image batches.

    Args:
        batch_size: examples in the batch.
        seed: an int or a `keras.random.SeedGenerator`.

    Returns:
        float32 ``[B, 1, 1, 1]``.
    """
    return keras.random.uniform((batch_size, 1, 1, 1), 0.0, 1.0, seed=seed)


def gradient_penalty(critic, real, fake, epsilon, training=True):
    """WGAN-GP's penalty ``(||grad_x f(x_hat)||_2 - 1)^2`` at ``x_hat = e x + (1 - e) G(z)``, per example.

    Args:
        critic: maps images to scores ``[B, 1]``.
        real: real images.
        fake: generated images of the same shape.
        epsilon: ``[B, 1, 1, 1]`` weights in [0, 1] (`interpolation_weights`).
        training: the critic's training flag.

    Returns:
        ``[B]``: the penalty of each interpolated point (the gradient's norm over all its pixels).
    """
    real = tf.cast(real, tf.float32)
    fake = tf.cast(fake, tf.float32)
    epsilon = tf.cast(epsilon, tf.float32)
    mixed = epsilon * real + (1.0 - epsilon) * fake
    with tf.GradientTape() as tape:
        tape.watch(mixed)
        scores = tf.cast(critic(mixed, training=training), tf.float32)
    gradients = tape.gradient(scores, mixed)
    norms = tf.sqrt(tf.reduce_sum(tf.square(tf.reshape(gradients, (tf.shape(gradients)[0], -1))), axis=-1) + 1e-12)
    return tf.square(norms - 1.0)
