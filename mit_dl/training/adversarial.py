r"""Adversarial training (Madry et al. 2018): train on the PGD examples of each batch instead of the batch.

The inner maximisation is projected gradient ascent of the loss inside the
$\epsilon$-ball around each image (`pgd_tensors`); the images lab's
``adversarial_epsilon`` option trains with `pgd_training_step`, and the
vision lab's attacks (`mit_dl.vision.adversarial`: FGSM, PGD, accuracy
curves) use the same pieces. Radii are given in pixel units of 0-255 images.
"""

import numpy as np
import tensorflow as tf

from mit_dl.errors import ConfigError

PIXEL = 1.0 / 255.0


def checked_epsilon(epsilon):
    """``epsilon`` in pixel units of 0-255 as a radius of [0, 1] images, refused when negative or not finite.

    Args:
        epsilon: the radius in pixel units.

    Returns:
        ``epsilon / 255``.

    Raises:
        ConfigError: a negative or non-finite epsilon.
    """
    if not np.isfinite(epsilon) or epsilon < 0:
        raise ConfigError("epsilon", f"must be 0 or more pixel units (of 0-255 images), received {epsilon}")
    return float(epsilon) * PIXEL


def _loss(model, images, labels, training=False):
    logits = tf.cast(model(images, training=training), tf.float32)
    return tf.nn.sparse_softmax_cross_entropy_with_logits(tf.cast(labels, tf.int32), logits)


@tf.function(reduce_retracing=True)
def loss_gradient(model, images, labels):
    """The gradient of the cross-entropy of ``model`` with respect to its input images.

    Args:
        model: maps float images in [0, 1] to logits.
        images: float32 images.
        labels: their true classes.

    Returns:
        The gradient, shaped like ``images``.
    """
    with tf.GradientTape() as tape:
        tape.watch(images)
        loss = _loss(model, images, labels)
    return tape.gradient(loss, images)


def pgd_tensors(model, images, labels, epsilon, step_size, steps, start):
    """Projected gradient ascent of the loss in TF ops, inside a compiled step.

    Args:
        model: maps float images in [0, 1] to logits.
        images: float32 images in [0, 1].
        labels: their true classes.
        epsilon: the ball's radius in [0, 1] units.
        step_size: the size of each signed step, in [0, 1] units.
        steps: the number of steps.
        start: noise in [-1, 1] shaped like ``images`` (the random start, scaled by ``epsilon``).

    Returns:
        The adversarial images (no gradient flows through them).
    """
    adversarial = tf.clip_by_value(images + epsilon * start, 0.0, 1.0)
    for _ in tf.range(steps):
        gradient = loss_gradient(model, adversarial, labels)
        adversarial = adversarial + step_size * tf.sign(gradient)
        adversarial = tf.clip_by_value(adversarial, images - epsilon, images + epsilon)
        adversarial = tf.clip_by_value(adversarial, 0.0, 1.0)
    return tf.stop_gradient(adversarial)


def pgd_training_step(model, epsilon, steps=7, seed=0):
    """A `mit_dl.training.Trainer` ``train_step`` that trains ``model`` on the PGD examples of every batch.

    It keeps its own step rather than stating its losses to the engine's (`losses_step`): the attack
    takes its own gradients with respect to the images before the training tape opens, so the tape
    records the update's forward pass only, not the ``steps`` attack passes.

    Args:
        model: a classifier compiled with its optimizer (logits; sparse labels).
        epsilon: the attack's radius in pixel units of 0-255.
        steps: PGD steps per batch (the training costs about ``steps + 1`` times a plain step).
        seed: the seed of the random starts (a stateless draw per step, so a resumed run repeats them).

    Returns:
        ``step((images in [0, 1], labels)) -> {"loss", "accuracy"}`` (both on the adversarial batch).
    """
    radius = checked_epsilon(epsilon)
    if steps < 1:
        raise ConfigError("steps", f"must be at least 1, received {steps}")
    size = 2.5 * radius / steps
    optimizer = model.optimizer

    def step(batch):
        images, labels = batch
        images = tf.cast(images, tf.float32)
        labels = tf.cast(labels, tf.int32)
        draw = tf.stack([tf.constant(seed, tf.int64), tf.cast(optimizer.iterations, tf.int64)])
        start = tf.random.stateless_uniform(tf.shape(images), seed=draw, minval=-1.0)
        attacked = pgd_tensors(model, images, labels, radius, size, steps, start)
        with tf.GradientTape() as tape:
            logits = tf.cast(model(attacked, training=True), tf.float32)
            per_example = tf.nn.sparse_softmax_cross_entropy_with_logits(labels, logits)
            loss = tf.nn.compute_average_loss(per_example)
            scaled = optimizer.scale_loss(loss)
        gradients = tape.gradient(scaled, model.trainable_variables)
        optimizer.apply_gradients(zip(gradients, model.trainable_variables))
        right = tf.cast(tf.equal(tf.argmax(logits, axis=-1, output_type=tf.int32), labels), tf.float32)
        return {"loss": tf.reduce_mean(per_example), "accuracy": tf.reduce_mean(right)}

    return step
