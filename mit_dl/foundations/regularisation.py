"""Regularisation: an L2 penalty against decoupled weight decay, and (inverted) dropout.

**L2 penalty vs weight decay.** Adding ``(lambda / 2) ||w||^2`` to the loss adds ``lambda w`` to the
gradient. For plain gradient descent that is the same as shrinking the weights:

    w <- w - lr (g + lambda w)  =  (1 - lr lambda) w - lr g

For Adam it is not: the penalty's gradient ``lambda w`` is averaged into ``m`` and divided by
``sqrt(v^)`` like the data's gradient, so weights with large gradients are decayed *less*. AdamW
decays the weight directly, outside the adaptive scaling (Loshchilov & Hutter, 2019).
`penalty_versus_decay` runs both on the same problem and measures how far apart they end.

**Dropout.** During training each unit is kept with probability ``p_keep`` and, in the *inverted*
form every framework uses, the kept ones are divided by ``p_keep`` so the expected activation
is unchanged; at test time nothing is dropped and nothing is rescaled. The original form (no
rescaling in training) must instead multiply by ``p_keep`` at test time (`dropout`).

Examples:
    >>> import numpy as np
    >>> gap = penalty_versus_decay("sgd", steps=50)
    >>> gap < 1e-8
    True
"""

import keras
import numpy as np
import tensorflow as tf

from mit_dl.errors import ConfigError
from mit_dl.foundations import optimizers


def _problem(seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(64, 8)) * np.linspace(0.1, 3.0, 8)  # features of very different scales
    y = x @ rng.normal(size=(8, 1)) + 0.1 * rng.normal(size=(64, 1))
    return tf.constant(x), tf.constant(y)


def penalty_versus_decay(kind, strength=0.1, learning_rate=0.01, steps=200, seed=0):
    """Train a linear model with an L2 penalty and, separately, with decoupled decay; the final gap.

    Args:
        kind: ``"sgd"`` (the two are the same update) or ``"adam"`` (they differ).
        strength: ``lambda``.
        learning_rate: ``lr``.
        steps: full-batch steps.
        seed: the data's seed.

    Returns:
        The largest absolute difference between the two final weight vectors (float64).
    """
    if kind not in ("sgd", "adam"):
        raise ConfigError("kind", f"must be sgd or adam, received {kind!r}")
    x, y = _problem(seed)
    finals = []
    for decoupled in (False, True):
        w = tf.Variable(tf.zeros((8, 1), tf.float64))
        if kind == "sgd":
            optimizer = keras.optimizers.SGD(learning_rate, weight_decay=strength if decoupled else None)
        elif decoupled:
            optimizer = optimizers.AdamW(learning_rate, decay=strength)
        else:
            optimizer = optimizers.Adam(learning_rate)
        for _ in range(steps):
            with tf.GradientTape() as tape:
                loss = 0.5 * tf.reduce_mean(tf.reduce_sum((x @ w - y) ** 2, axis=1))
                if not decoupled:
                    loss += 0.5 * strength * tf.reduce_sum(w * w)
            optimizer.apply_gradients([(tape.gradient(loss, w), w)])
        finals.append(w.numpy())
    return float(np.abs(finals[0] - finals[1]).max())


def dropout(values, rate, training, rng, inverted=True):
    """Drop units with probability ``rate``: the inverted form (scale in training) or the original one.

    Args:
        values: an array of activations.
        rate: the probability of dropping a unit, in [0, 1).
        training: drop (``True``) or pass through (``False``).
        rng: a NumPy ``Generator``.
        inverted: divide the kept units by ``1 - rate`` in training (and do nothing at test time);
            ``False``: keep them as they are and multiply everything by ``1 - rate`` at test time.

    Returns:
        The activations after dropout.
    """
    if not 0.0 <= rate < 1.0:
        raise ConfigError("rate", f"must be in [0, 1), received {rate!r}")
    keep = 1.0 - rate
    if not training:
        return values if inverted else values * keep
    mask = rng.random(np.shape(values)) < keep
    return values * mask / keep if inverted else values * mask
