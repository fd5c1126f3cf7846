"""The foundations lab's part of ``mit-dl demo``: the from-scratch autodiff engine trains an MLP; optimizer paths."""

import numpy as np
import tensorflow as tf

from mit_dl.foundations import autodiff, experiments


def spirals(points=200, classes=3, seed=0):
    """Three interleaved spiral arms in the plane, one per class: not separable by a line.

    Args:
        points: points per arm.
        classes: arms.
        seed: the noise's seed.

    Returns:
        ``(x [points * classes, 2], labels)``.
    """
    rng = np.random.default_rng(seed)
    radius = np.tile(np.linspace(0.05, 1.0, points), classes)
    labels = np.repeat(np.arange(classes), points)
    angle = labels * 2 * np.pi / classes + 4.0 * radius + rng.normal(0, 0.15, len(radius))
    return np.stack([radius * np.sin(angle), radius * np.cos(angle)], axis=1), labels


def tape_agreement(parameters, x, labels):
    """The largest relative difference between this engine's gradients and ``tf.GradientTape``'s.

    Args:
        parameters: `autodiff.mlp_parameters`.
        x: inputs.
        labels: class ids.

    Returns:
        A float (about 1e-15 in float64).
    """
    for parameter in parameters:
        parameter.grad = None
    autodiff.mlp_loss(parameters, x, labels).backward()
    variables = [tf.Variable(p.value) for p in parameters]
    with tf.GradientTape() as tape:
        h = tf.constant(x)
        for index in range(0, len(variables) - 2, 2):
            h = tf.tanh(h @ variables[index] + variables[index + 1])
        logits = h @ variables[-2] + variables[-1]
        loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels, logits))
    reference = tape.gradient(loss, variables)
    return max(float(np.abs(p.grad - r).max() / (np.abs(r).max() + 1e-300)) for p, r in zip(parameters, reference))


def run(out_dir, steps, seed, log, earlier):
    """Train a 2-32-32-3 tanh MLP on three spirals with the from-scratch engine; draw optimizer paths.

    Args:
        out_dir: the part's folder.
        steps: the demo's steps (the engine takes twice as many full-batch steps).
        seed: the weights' seed.
        log: where progress lines go.
        earlier: the figures of the parts run before (unused).

    Returns:
        The engine's loss, accuracy, agreement with GradientTape, and the figures' folder.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    x, labels = spirals(seed=seed)
    parameters = autodiff.mlp_parameters((2, 32, 32, 3), seed=seed)
    agreement = tape_agreement(parameters, x, labels)
    log(f"foundations: backpropagation from scratch on NumPy; gradients equal GradientTape's to {agreement:.1e}")
    losses = [autodiff.gradient_descent_step(parameters, x, labels, 1.0) for _ in range(2 * steps)]
    accuracy = float((_logits(parameters, x).argmax(1) == labels).mean())
    log(
        f"  {2 * steps} steps on three interleaved spirals (600 points): loss {losses[0]:.3f} -> {losses[-1]:.3f}, "
        f"training accuracy {100 * accuracy:.1f}%"
    )
    surfaces = experiments.surfaces(out_dir, names=("sgd", "momentum", "adam"), which=("quadratic",))
    log(f"  gradient descent, momentum and Adam in a narrow valley: {out_dir / 'quadratic.png'}")
    return {
        "first_loss": losses[0],
        "last_loss": losses[-1],
        "training_accuracy": accuracy,
        "gradient_agreement": agreement,
        "surfaces": surfaces,
        "figures": str(out_dir),
    }


def _logits(parameters, x):
    h = x
    for index in range(0, len(parameters) - 2, 2):
        h = np.tanh(h @ parameters[index].value + parameters[index + 1].value)
    return h @ parameters[-2].value + parameters[-1].value
