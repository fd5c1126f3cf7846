"""Vanishing and exploding gradients, measured, and gradient clipping.

Backpropagation multiplies one Jacobian per layer (or per time step):
``dL/dh_1 = dL/dh_n  prod_k  W_k^T diag(f'(z_k))``. A sigmoid's derivative is at most 1/4, so
through many sigmoid layers the product shrinks geometrically (vanishing); weights whose
largest singular value is above 1 make it grow (exploding). A vanilla RNN applies the *same*
``W_hh`` at every step, so its gradient to early steps shrinks or grows like a power of it; the
LSTM's additive cell state ``c_t = f_t c_{t-1} + i_t g_t`` lets the gradient pass through the
forget gate without that repeated product (`per_time_step`).

Clipping by the global norm rescales all gradients together when their joint norm exceeds a
threshold: the direction is kept, the step is bounded (`clip_by_global_norm`, equal to
``tf.clip_by_global_norm``).

Examples:
    >>> import numpy as np
    >>> clipped, norm = clip_by_global_norm([np.array([3.0]), np.array([4.0])], 1.0)
    >>> round(norm, 3), [round(float(g[0]), 3) for g in clipped]
    (5.0, [0.6, 0.8])
"""

import keras
import numpy as np
import tensorflow as tf

from mit_dl.errors import ConfigError
from mit_dl.layers import MyRNNCell


def per_layer(depth=20, width=64, activation="sigmoid", seed=0):
    """The norm of the loss's gradient with respect to each layer's kernel, at initialisation.

    Args:
        depth: dense layers (Glorot-initialised, as Keras does).
        width: units per layer.
        activation: the layers' activation.
        seed: the weights' and data's seed.

    Returns:
        A list of ``depth`` norms, the first layer first.
    """
    if depth < 1:
        raise ConfigError("depth", f"must be at least 1, received {depth}")
    keras.utils.set_random_seed(seed)
    model = keras.Sequential(
        [keras.Input((width,))]
        + [keras.layers.Dense(width, activation=activation) for _ in range(depth)]
        + [keras.layers.Dense(1)]
    )
    x = np.random.default_rng(seed).normal(size=(128, width)).astype("float32")
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(tf.square(model(x)))
    kernels = [layer.kernel for layer in model.layers[:-1]]
    return [float(tf.norm(g)) for g in tape.gradient(loss, kernels)]


def per_time_step(cell="rnn", steps=50, units=32, seed=0):
    """``||dL/dx_t||`` for every step ``t`` of a sequence, with ``L`` a function of the last output only.

    Args:
        cell: ``"rnn"`` (the lecture's `MyRNNCell`) or ``"lstm"`` (``keras.layers.LSTMCell``).
        steps: the sequence's length.
        units: the state's size.
        seed: the weights' and inputs' seed.

    Returns:
        A list of ``steps`` norms, the first step first: how much the loss at the end hears of each input.
    """
    cells = {"rnn": lambda: MyRNNCell(units), "lstm": lambda: keras.layers.LSTMCell(units)}
    if cell not in cells:
        raise ConfigError("cell", f"must be rnn or lstm, received {cell!r}")
    keras.utils.set_random_seed(seed)
    layer = keras.layers.RNN(cells[cell]())
    x = tf.Variable(np.random.default_rng(seed).normal(size=(16, steps, 8)).astype("float32"))
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(layer(x) ** 2)
    gradient = tape.gradient(loss, x)
    return [float(v) for v in tf.norm(gradient, axis=(0, 2)).numpy()]


def clip_by_global_norm(gradients, threshold):
    """Scale every gradient by ``threshold / max(threshold, ||all gradients||)``.

    Args:
        gradients: arrays.
        threshold: the largest joint norm allowed (> 0).

    Returns:
        ``(clipped gradients, the joint norm before clipping)``.
    """
    if not threshold > 0:
        raise ConfigError("threshold", f"must be a positive number, received {threshold!r}")
    norm = float(np.sqrt(sum(float(np.sum(np.square(g))) for g in gradients)))
    scale = threshold / max(threshold, norm)
    return [np.asarray(g) * scale for g in gradients], norm
