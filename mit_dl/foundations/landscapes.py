"""Optimizers on the surfaces that tell them apart, and the learning-rate range test.

- `SURFACES`: an ill-conditioned quadratic ``0.5 (x^2 + 25 y^2)`` (one direction 25 times steeper:
  gradient descent zig-zags across the valley and crawls along it), Rosenbrock's banana
  ``(1 - x)^2 + 100 (y - x^2)^2`` (a curved valley), and a saddle ``x^2 - y^2`` (zero gradient at
  the origin without being a minimum).
- `trajectory`: the points an optimizer visits on one of them.
- `learning_rate_range`: train while the learning rate grows geometrically each step and record
  the loss (Smith, 2017): the loss falls fastest a little below the rate where it starts to
  diverge, a good maximum learning rate.

Examples:
    >>> from mit_dl.foundations import optimizers
    >>> path = trajectory(optimizers.GradientDescent(0.05, momentum=0.9), "quadratic", (2.0, 1.0), 200)
    >>> bool(abs(path[-1]).max() < 1e-3)
    True
"""

import numpy as np
import tensorflow as tf

from mit_dl.errors import ConfigError

SURFACES = {
    "quadratic": (lambda x, y: 0.5 * (x**2 + 25.0 * y**2), (0.0, 0.0)),
    "rosenbrock": (lambda x, y: (1.0 - x) ** 2 + 100.0 * (y - x**2) ** 2, (1.0, 1.0)),
    "saddle": (lambda x, y: x**2 - y**2, None),
}


def trajectory(optimizer, surface, start, steps):
    """Run ``optimizer`` from ``start`` on ``surface`` for ``steps`` steps.

    Args:
        optimizer: a Keras optimizer (ours or Keras').
        surface: a key of `SURFACES`.
        start: ``(x, y)``.
        steps: updates.

    Returns:
        ``[steps + 1, 2]`` float64 points, ``start`` first.
    """
    if surface not in SURFACES:
        raise ConfigError("surface", f"must be one of {', '.join(SURFACES)}, received {surface!r}")
    function = SURFACES[surface][0]
    point = tf.Variable(np.asarray(start, np.float64))

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            value = function(point[0], point[1])
        optimizer.apply_gradients([(tape.gradient(value, point), point)])

    path = [point.numpy().copy()]
    for _ in range(steps):
        step()
        path.append(point.numpy().copy())
    return np.array(path)


def learning_rate_range(model, loss, batches, optimizer, start=1e-5, stop=10.0):
    """The loss at each step while the learning rate grows from ``start`` to ``stop`` geometrically.

    The model and optimizer are trained in place (use fresh ones).

    Args:
        model: a built Keras model.
        loss: ``loss(y_true, y_pred) -> scalar``.
        batches: a list of ``(x, y)`` batches, one per step.
        optimizer: a Keras optimizer; its learning rate is set at every step.
        start: the first learning rate.
        stop: the last learning rate.

    Returns:
        ``(learning_rates, losses)``; the losses stop at the first non-finite one.
    """
    if not 0 < start < stop:
        raise ConfigError("start", f"must be positive and below stop, received {start!r} and {stop!r}")
    rates = np.geomspace(start, stop, len(batches))
    losses = []
    for rate, (x, y) in zip(rates, batches):
        optimizer.learning_rate.assign(rate)
        with tf.GradientTape() as tape:
            value = loss(y, model(x, training=True))
        optimizer.apply_gradients(zip(tape.gradient(value, model.trainable_variables), model.trainable_variables))
        losses.append(float(value))
        if not np.isfinite(losses[-1]):
            break
    return rates[: len(losses)], np.array(losses)
