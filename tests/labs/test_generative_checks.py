"""Lecture 4 lab checkers: each accepts the reference answer and rejects typical mistakes with the right explanation."""

import numpy as np
import tensorflow as tf
from support import failed, todo

from mit_dl.generative import losses
from mit_dl.labs import generative as checks


def test_beta_vae_loss():
    def reference(x, logits, mu, logvar, beta):
        return losses.vae_loss(x, logits, mu, logvar, beta)[0]

    def mistake(kind):
        def loss(x, logits, mu, logvar, beta):
            p = tf.sigmoid(logits)
            bce = -(x * tf.math.log(p) + (1 - x) * tf.math.log(1 - p))
            kl = 0.5 * tf.reduce_sum(tf.exp(logvar) + mu**2 - 1 - logvar, axis=1)
            if kind == "no beta":
                return tf.reduce_sum(bce, axis=[1, 2, 3]) + kl
            if kind == "mean":
                return tf.reduce_mean(bce, axis=[1, 2, 3]) + beta * kl
            if kind == "mse":
                return tf.reduce_sum((x - p) ** 2, axis=[1, 2, 3]) + beta * kl
            return tf.reduce_sum(bce) + beta * tf.reduce_sum(kl)  # over the batch

        return loss

    assert checks.check_beta_vae_loss(reference)
    failed(checks.check_beta_vae_loss(mistake("no beta")), "beta is missing")
    failed(checks.check_beta_vae_loss(mistake("mean")), "sums it over pixels")
    failed(checks.check_beta_vae_loss(mistake("mse")), "binary cross-entropy")
    failed(checks.check_beta_vae_loss(mistake("batch")), "one loss per image")
    failed(checks.check_beta_vae_loss(todo), "not implemented yet")


def test_discriminator_loss():
    bce = tf.keras.losses.binary_crossentropy
    assert checks.check_discriminator_loss(losses.discriminator_loss)
    assert checks.check_discriminator_loss(
        lambda r, f: bce(tf.ones_like(r), r, from_logits=True) + bce(tf.zeros_like(f), f, from_logits=True)
    )
    failed(checks.check_discriminator_loss(lambda r, f: losses.discriminator_loss(f, r)), "swapped")
    failed(
        checks.check_discriminator_loss(lambda r, f: tf.reduce_mean(losses.discriminator_loss(r, f))),
        "averaged over the batch",
    )
    failed(checks.check_discriminator_loss(lambda r, f: tf.nn.softplus(-r[:, 0])), "is missing")
    failed(checks.check_discriminator_loss(todo), "not implemented yet")


def test_generator_loss():
    assert checks.check_generator_loss(losses.generator_loss)
    failed(checks.check_generator_loss(lambda f, kind: losses.generator_loss(f, "minimax")), "saturating")
    failed(checks.check_generator_loss(lambda f, kind: losses.generator_loss(f, "non-saturating")), "minimax")
    failed(checks.check_generator_loss(todo), "not implemented yet")


def test_interpolation_weights():
    assert checks.check_interpolation_weights(losses.interpolation_weights)
    failed(
        checks.check_interpolation_weights(lambda n, seed: tf.random.stateless_normal((n, 1, 1, 1), (seed, 0))),
        "normal distribution",
    )
    failed(checks.check_interpolation_weights(lambda n, seed: tf.fill((n, 1, 1, 1), 0.5)), "variance")
    failed(checks.check_interpolation_weights(lambda n, seed: tf.random.uniform((n,), seed=seed)), "shape")


def test_gradient_penalty():
    assert checks.check_gradient_penalty(losses.gradient_penalty)

    def only_real(critic, real, fake, epsilon):
        return losses.gradient_penalty(critic, real, real, epsilon)

    def whole_batch(critic, real, fake, epsilon):
        mixed = tf.constant(epsilon * real + (1 - epsilon) * fake)
        with tf.GradientTape() as tape:
            tape.watch(mixed)
            scores = critic(mixed)
        norm = tf.norm(tape.gradient(scores, mixed))
        return tf.fill([2], (norm - 1) ** 2)

    failed(checks.check_gradient_penalty(only_real), "real images only")
    failed(checks.check_gradient_penalty(lambda c, r, f, e: losses.gradient_penalty(c, f, r, e)), "e weights")
    failed(checks.check_gradient_penalty(whole_batch), "whole batch")
    failed(checks.check_gradient_penalty(todo), "not implemented yet")


def test_the_reparameterised_sample_is_lab_2s_checker():
    assert checks.check_reparameterize(lambda mu, logvar, eps: mu + np.exp(0.5 * logvar) * eps)
