"""Weight initialisation, and what it does to the signal and the gradient of a deep network.

A layer ``y = W x`` with ``fan_in`` inputs of variance ``Var(x)`` and independent weights of
variance ``Var(w)`` gives ``Var(y) = fan_in Var(w) Var(x)``. Keeping the variance of the
activations (and, backwards, of the gradients) the same from layer to layer asks for:

- Xavier / Glorot (tanh, sigmoid around 0): ``Var(w) = 2 / (fan_in + fan_out)``, the compromise
  between ``1 / fan_in`` (forward) and ``1 / fan_out`` (backward);
- He / Kaiming (ReLU, which zeroes half of its inputs): ``Var(w) = 2 / fan_in``.

Too small (``N(0, 0.01^2)``) and the signal and the gradients vanish with depth; too large
(``N(0, 1)``) and they explode (or tanh saturates); all zeros (or any constant) and every unit of
a layer computes the same function and receives the same gradient forever: the symmetry is
never broken (`symmetry_after_training` shows it).

Keras twins: ``keras.initializers.GlorotNormal``, ``HeNormal`` (both draw from a *truncated*
normal whose standard deviation is corrected to the target variance; the schemes here draw from
the plain normal, the textbook's form).

Examples:
    >>> import numpy as np
    >>> w = initial_weights("he", 512, 256, np.random.default_rng(0))
    >>> round(float(w.var() * 512), 1)
    2.0
"""

import keras
import numpy as np

from mit_dl.errors import ConfigError

SCHEMES = ("zeros", "small", "normal", "xavier", "he")


def weight_std(scheme, fan_in, fan_out):
    """The standard deviation a scheme gives a ``[fan_in, fan_out]`` weight matrix.

    Args:
        scheme: one of `SCHEMES` (``"small"``: 0.01, ``"normal"``: 1).
        fan_in: inputs per unit.
        fan_out: units.

    Returns:
        The standard deviation (0 for ``"zeros"``).
    """
    stds = {
        "zeros": 0.0,
        "small": 0.01,
        "normal": 1.0,
        "xavier": np.sqrt(2.0 / (fan_in + fan_out)),
        "he": np.sqrt(2.0 / fan_in),
    }
    if scheme not in stds:
        raise ConfigError("scheme", f"must be one of {', '.join(SCHEMES)}, received {scheme!r}")
    return float(stds[scheme])


def initial_weights(scheme, fan_in, fan_out, rng):
    """A ``[fan_in, fan_out]`` weight matrix drawn as the scheme says.

    Args:
        scheme: one of `SCHEMES`.
        fan_in: inputs per unit.
        fan_out: units.
        rng: a NumPy ``Generator``.

    Returns:
        The float64 matrix.
    """
    return rng.normal(0.0, 1.0, size=(fan_in, fan_out)) * weight_std(scheme, fan_in, fan_out)


@keras.saving.register_keras_serializable(package="mit_dl")
class SchemeInitializer(keras.initializers.Initializer):
    """A scheme as a Keras initializer, for Dense kernels ``[fan_in, fan_out]`` and convolution kernels.

    A convolution kernel ``[kh, kw, in, out]`` has ``fan_in = kh kw in`` and ``fan_out = kh kw out``
    (each output sees ``kh kw in`` inputs), as Keras counts them.

    Args:
        scheme: one of `SCHEMES`.
        seed: the draw's seed (an int; None for a fresh one each call).

    Examples:
        >>> kernel = SchemeInitializer("he", seed=0)((3, 3, 16, 32))
        >>> round(float(keras.ops.var(kernel)) * 3 * 3 * 16, 1)
        2.0
    """

    def __init__(self, scheme, seed=None):
        weight_std(scheme, 1, 1)  # an unknown scheme fails here, in one sentence
        self.scheme = scheme
        self.seed = seed

    def __call__(self, shape, dtype=None):
        receptive = int(np.prod(shape[:-2])) if len(shape) > 2 else 1
        fan_in, fan_out = shape[-2] * receptive if len(shape) > 1 else shape[0], shape[-1] * receptive
        std = weight_std(self.scheme, fan_in, fan_out)
        return keras.random.normal(shape, stddev=std, dtype=dtype, seed=self.seed)

    def get_config(self):
        return {"scheme": self.scheme, "seed": self.seed}


ACTIVATIONS = {
    "tanh": (np.tanh, lambda z: 1.0 - np.tanh(z) ** 2),
    "relu": (lambda z: np.maximum(z, 0.0), lambda z: (z > 0).astype(z.dtype)),
    "sigmoid": (lambda z: 0.5 * (1 + np.tanh(0.5 * z)), lambda z: 0.25 * (1 - np.tanh(0.5 * z) ** 2)),
}


def signal_and_gradient(scheme, activation, depth=50, width=256, batch=512, seed=0):
    """The variance of the activations and of the back-propagated gradients, layer by layer, at initialisation.

    A ``depth``-layer MLP of ``width`` units (biases 0) gets standard normal inputs; the gradient
    sent back from the top is standard normal too (a loss that does not favour any unit).

    Args:
        scheme: one of `SCHEMES`.
        activation: ``"tanh"``, ``"relu"`` or ``"sigmoid"``.
        depth: layers.
        width: units per layer.
        batch: examples.
        seed: the weights' and inputs' seed.

    Returns:
        ``{"activation_variance": [depth], "gradient_variance": [depth]}``: layer 1 first; the
        gradient's with respect to each layer's pre-activation.
    """
    if activation not in ACTIVATIONS:
        raise ConfigError("activation", f"must be one of {', '.join(ACTIVATIONS)}, received {activation!r}")
    if depth < 1 or width < 1:
        raise ConfigError("depth", f"and width must be at least 1, received {depth} and {width}")
    f, derivative = ACTIVATIONS[activation]
    rng = np.random.default_rng(seed)
    weights = [initial_weights(scheme, width, width, rng) for _ in range(depth)]
    h, pre, activations = rng.normal(size=(batch, width)), [], []
    for w in weights:
        z = h @ w
        h = f(z)
        pre.append(z)
        activations.append(float(h.var()))
    g, gradients = rng.normal(size=(batch, width)), []
    for w, z in zip(reversed(weights), reversed(pre)):
        g = g * derivative(z)  # dL/dz of this layer
        gradients.append(float(g.var()))
        g = g @ w.T  # dL/dh of the layer below
    return {"activation_variance": activations, "gradient_variance": gradients[::-1]}


def symmetry_after_training(scheme, steps=200, seed=0):
    """Train a 2-layer tanh MLP on a toy problem and measure how different its hidden units became.

    With a constant initialisation every hidden unit has the same weights, so the same output and
    the same gradient: they stay identical whatever the training (the symmetry problem).

    Args:
        scheme: one of `SCHEMES`.
        steps: full-batch gradient steps (learning rate 0.5).
        seed: the data's and weights' seed.

    Returns:
        ``{"distinct_units": int, "accuracy": float}``: hidden units whose incoming weights differ
        from the first unit's, and the training accuracy reached.
    """
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(256, 2))
    y = (x[:, 0] * x[:, 1] > 0).astype(float)[:, None]
    w1, w2 = initial_weights(scheme, 2, 16, rng), initial_weights(scheme, 16, 1, rng)
    b1, b2 = np.zeros(16), np.zeros(1)
    for _ in range(steps):
        h = np.tanh(x @ w1 + b1)
        p = 0.5 * (1 + np.tanh(0.5 * (h @ w2 + b2)))
        d_out = (p - y) / len(x)  # sigmoid + cross-entropy
        d_h = (d_out @ w2.T) * (1 - h**2)
        w2 -= 0.5 * h.T @ d_out
        b2 -= 0.5 * d_out.sum(0)
        w1 -= 0.5 * x.T @ d_h
        b1 -= 0.5 * d_h.sum(0)
    distinct = int(np.sum(np.any(~np.isclose(w1, w1[:, :1]), axis=0)))
    accuracy = float(((p > 0.5) == (y > 0.5)).mean())
    return {"distinct_units": distinct, "accuracy": accuracy}
