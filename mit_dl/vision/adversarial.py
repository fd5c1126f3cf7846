r"""Adversarial examples: FGSM and PGD attacks, accuracy-vs-epsilon curves, and PGD adversarial training.

The attacker may change every pixel by at most $\epsilon$. Here $\epsilon$ is
given in **pixel units of 0-255 images** (``epsilon=25.5`` is 0.1 of the
[0, 1] range the model sees; 8 is the common "8/255").

- `fgsm` (Goodfellow et al. 2015), one step up the loss:
  $x' = \mathrm{clip}_{[0,1]}(x + \epsilon\, \mathrm{sign}(\nabla_x L(f(x), y)))$;
- `pgd` (Madry et al. 2018), ``steps`` smaller signed steps from a random
  start inside the $\epsilon$-ball, each projected back onto the ball and
  the [0, 1] range: the stronger attack, and the one to train against;
- PGD adversarial training (Madry et al.'s min-max), which the images lab's
  ``adversarial_epsilon`` option uses, is a training technique:
  `mit_dl.training.adversarial.pgd_training_step`.

Adversarial images come back as float32 in [0, 1] (not rounded to 0-255).

Examples:
    >>> import keras, numpy as np
    >>> model = keras.Sequential([keras.Input((4, 4, 1)), keras.layers.Flatten(), keras.layers.Dense(3)])
    >>> images = np.full((2, 4, 4), 128, np.uint8)
    >>> attacked = fgsm(model, images, [0, 2], epsilon=8)
    >>> float(np.abs(attacked - images[..., None] / 255).max()) <= 8 / 255 + 1e-6
    True
    >>> fgsm(model, images, [0, 2], epsilon=-1)
    Traceback (most recent call last):
    ...
    mit_dl.errors.ConfigError: epsilon must be 0 or more pixel units (of 0-255 images), received -1.
"""

import numpy as np
import tensorflow as tf

from mit_dl.errors import ConfigError
from mit_dl.training.adversarial import checked_epsilon, loss_gradient, pgd_tensors
from mit_dl.vision.attribution import as_images, checked_classes

_pgd_compiled = tf.function(pgd_tensors, reduce_retracing=True)


def fgsm(model, images, labels, epsilon):
    """The fast gradient sign method: one step of size ``epsilon`` up the sign of the loss's gradient.

    Args:
        model: maps float images in [0, 1] to logits.
        images: uint8 or float images.
        labels: the true class of every image (the loss the attack raises).
        epsilon: the largest change of a pixel, in pixel units of 0-255.

    Returns:
        float32 ``[N, H, W, C]`` adversarial images in [0, 1].

    Raises:
        ConfigError: ``epsilon`` < 0, or labels outside the model's classes.
    """
    epsilon = checked_epsilon(epsilon)
    images = as_images(images)
    labels = checked_classes(model, images, labels)
    gradient = loss_gradient(model, tf.constant(images), tf.constant(labels))
    return np.clip(images + epsilon * np.sign(gradient.numpy()), 0.0, 1.0)


def pgd(model, images, labels, epsilon, steps=10, step_size=None, random_start=True, seed=0):
    """Projected gradient descent (on the loss's ascent): ``steps`` signed steps, projected onto the ball.

    Args:
        model: maps float images in [0, 1] to logits.
        images: uint8 or float images.
        labels: the true class of every image.
        epsilon: the ball's radius, in pixel units of 0-255.
        steps: attack steps.
        step_size: pixel units per step (default ``2.5 * epsilon / steps``, Madry et al.'s).
        random_start: start from a uniform point of the ball instead of the image.
        seed: the random start's seed.

    Returns:
        float32 ``[N, H, W, C]`` adversarial images in [0, 1].

    Raises:
        ConfigError: ``epsilon`` < 0, ``steps`` < 1, or labels outside the model's classes.
    """
    radius = checked_epsilon(epsilon)
    if steps < 1:
        raise ConfigError("steps", f"must be at least 1, received {steps}")
    size = 2.5 * radius / steps if step_size is None else checked_epsilon(step_size)
    images = as_images(images)
    labels = checked_classes(model, images, labels)
    start = np.random.default_rng(seed).uniform(-1, 1, images.shape) if random_start else np.zeros(images.shape)
    return _pgd_compiled(
        model,
        tf.constant(images),
        tf.constant(labels),
        tf.constant(radius, tf.float32),
        tf.constant(size, tf.float32),
        tf.constant(steps),
        tf.constant(start, tf.float32),
    ).numpy()


ATTACKS = {"fgsm": fgsm, "pgd": pgd}


def accuracy(model, images, labels, batch_size=500):
    """The share of images the model classifies as their label.

    Args:
        model: maps float images in [0, 1] to logits.
        images: uint8 or float images.
        labels: their classes.
        batch_size: images per forward pass.

    Returns:
        A float in [0, 1].
    """
    images, labels = as_images(images), np.asarray(labels)
    right = [
        np.argmax(model(images[i : i + batch_size], training=False), axis=-1) == labels[i : i + batch_size]
        for i in range(0, len(images), batch_size)
    ]
    return float(np.concatenate(right).mean())


def accuracy_curve(model, images, labels, epsilons, method="fgsm", batch_size=500, **options):
    """Accuracy on the attacked images at every ``epsilon``.

    Args:
        model: maps float images in [0, 1] to logits.
        images: uint8 or float images.
        labels: their classes.
        epsilons: radii in pixel units of 0-255 (0: the clean accuracy).
        method: ``"fgsm"`` or ``"pgd"``.
        batch_size: images attacked per call.
        **options: `pgd`'s ``steps``, ``step_size``, ``seed``.

    Returns:
        ``{"method", "epsilon": [pixel units], "epsilon_unit": [0-1 range], "accuracy": [...]}``.

    Raises:
        ConfigError: an unknown method or a negative epsilon.
    """
    if method not in ATTACKS:
        raise ConfigError("method", f"must be one of {', '.join(ATTACKS)}, received {method!r}")
    for epsilon in epsilons:
        checked_epsilon(epsilon)
    images, labels = as_images(images), np.asarray(labels)
    accuracies = []
    for epsilon in epsilons:
        attacked = np.concatenate(
            [
                ATTACKS[method](model, images[i : i + batch_size], labels[i : i + batch_size], epsilon, **options)
                for i in range(0, len(images), batch_size)
            ]
        )
        accuracies.append(accuracy(model, attacked, labels, batch_size))
    return {
        "method": method,
        "epsilon": [float(e) for e in epsilons],
        "epsilon_unit": [float(e) / 255.0 for e in epsilons],
        "accuracy": accuracies,
    }
