"""Batch, layer and group normalisation written from their equations, as Keras layers.

Each normalises ``x`` over some axes with the mean and variance of those axes, then scales and
shifts per channel with learned ``gamma`` and ``beta``:

    y = gamma * (x - mu) / sqrt(sigma^2 + eps) + beta

They differ in *which* values share ``mu`` and ``sigma^2`` (for images ``[N, H, W, C]``):

- `BatchNorm`: one per channel, over the batch and the positions (``N, H, W``). In training it
  uses the batch's statistics and updates moving averages; at inference it uses the moving
  averages, so an example's output does not depend on its batch. With small batches the batch
  statistics are noisy (the batch-size dependence the experiments show).
- `LayerNorm`: one per example, over its features (``H, W, C``; for a sequence ``[N, T, D]``:
  over ``D``). The same in training and inference; no dependence on the batch.
- `GroupNorm`: one per example and group of ``C / groups`` channels, over the group's channels
  and the positions. ``groups = C`` is instance normalisation, ``groups = 1`` is layer norm over
  every axis.

Slip in the notes: the UvA course notes write the layer-norm variance as
``sigma_i^2 = 1/D sum_j (x_ij - mu_j)^2``, subtracting a per-feature ``mu_j``; layer norm's
mean is the example's, ``mu_i = 1/D sum_j x_ij``, so the variance must subtract ``mu_i``
(as implemented here and in Keras).

Keras twins: ``keras.layers.BatchNormalization``, ``LayerNormalization`` and
``GroupNormalization`` (the tests compare forward passes, gradients, moving statistics and
serialisation).

Examples:
    >>> import numpy as np
    >>> layer = LayerNorm()
    >>> y = layer(np.array([[1.0, 2.0, 3.0]], "float32"))
    >>> [round(float(v), 3) for v in y[0]]
    [-1.224, 0.0, 1.224]
"""

import keras
from keras import ops

from mit_dl.errors import ConfigError


class _Normalization(keras.layers.Layer):
    """``gamma`` and ``beta`` per channel (the last axis), and the normalisation they follow."""

    def __init__(self, epsilon=1e-3, **kwargs):
        super().__init__(**kwargs)
        self.epsilon = float(epsilon)
        self.supports_masking = True

    def _for_statistics(self, inputs):
        """``inputs`` in the statistics' dtype: the compute dtype, but at least float32 (mixed precision)."""
        dtype = "float32" if self.compute_dtype in ("float16", "bfloat16") else self.compute_dtype
        return ops.cast(inputs, dtype)

    def _scale_and_shift(self, channels):
        self.gamma = self.add_weight(shape=(channels,), initializer="ones", name="gamma")
        self.beta = self.add_weight(shape=(channels,), initializer="zeros", name="beta")

    def _normalise(self, x, mean, variance):
        x = ops.cast(x, self.compute_dtype)
        inverse = ops.rsqrt(ops.cast(variance, self.compute_dtype) + self.epsilon)
        gamma, beta = ops.cast(self.gamma, self.compute_dtype), ops.cast(self.beta, self.compute_dtype)
        return (x - ops.cast(mean, self.compute_dtype)) * inverse * gamma + beta

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "epsilon": self.epsilon}


@keras.saving.register_keras_serializable(package="mit_dl")
class BatchNorm(_Normalization):
    """Normalise each channel with the batch's statistics in training, the moving averages at inference.

    Args:
        momentum: the moving averages' decay: ``avg <- momentum * avg + (1 - momentum) * batch``.
        epsilon: added to the variance.
        **kwargs: Keras layer arguments (``name``, ``dtype``).

    Call arguments:
        inputs: ``[N, ..., C]``.
        training: use and update the batch's statistics (``True``) or use the moving ones.

    Returns:
        The normalised, scaled and shifted tensor, of the input's shape.
    """

    def __init__(self, momentum=0.99, epsilon=1e-3, **kwargs):
        super().__init__(epsilon, **kwargs)
        if not 0.0 <= momentum < 1.0:
            raise ConfigError("momentum", f"must be in [0, 1), received {momentum!r}")
        self.momentum = float(momentum)

    def build(self, input_shape):
        channels = input_shape[-1]
        self._scale_and_shift(channels)
        self.moving_mean = self.add_weight(shape=(channels,), initializer="zeros", trainable=False, name="moving_mean")
        self.moving_variance = self.add_weight(
            shape=(channels,), initializer="ones", trainable=False, name="moving_variance"
        )

    def call(self, inputs, training=None):
        if not training:
            return self._normalise(inputs, self.moving_mean, self.moving_variance)
        axes = list(range(len(inputs.shape) - 1))
        x = self._for_statistics(inputs)
        mean, variance = ops.mean(x, axis=axes), ops.var(x, axis=axes)
        m = self.momentum
        self.moving_mean.assign(self.moving_mean * m + ops.cast(mean, self.moving_mean.dtype) * (1.0 - m))
        self.moving_variance.assign(
            self.moving_variance * m + ops.cast(variance, self.moving_variance.dtype) * (1.0 - m)
        )
        return self._normalise(inputs, mean, variance)

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum}


@keras.saving.register_keras_serializable(package="mit_dl")
class LayerNorm(_Normalization):
    """Normalise each example over its last axis (its features).

    Args:
        epsilon: added to the variance.
        **kwargs: Keras layer arguments.

    Call arguments:
        inputs: ``[..., D]``.

    Returns:
        The normalised, scaled and shifted tensor, of the input's shape.
    """

    def build(self, input_shape):
        self._scale_and_shift(input_shape[-1])

    def call(self, inputs):
        x = self._for_statistics(inputs)
        mean = ops.mean(x, axis=-1, keepdims=True)
        variance = ops.mean(ops.square(x - mean), axis=-1, keepdims=True)  # mu_i, the example's (see above)
        return self._normalise(inputs, mean, variance)


@keras.saving.register_keras_serializable(package="mit_dl")
class GroupNorm(_Normalization):
    """Normalise each example over groups of channels (and all positions).

    Args:
        groups: the number of groups; it must divide the channels (``C`` groups: instance norm).
        epsilon: added to the variance.
        **kwargs: Keras layer arguments.

    Call arguments:
        inputs: ``[N, ..., C]``.

    Returns:
        The normalised, scaled and shifted tensor, of the input's shape.
    """

    def __init__(self, groups=32, epsilon=1e-3, **kwargs):
        super().__init__(epsilon, **kwargs)
        if not isinstance(groups, int) or groups < 1:
            raise ConfigError("groups", f"must be a whole number >= 1, received {groups!r}")
        self.groups = groups

    def build(self, input_shape):
        channels = input_shape[-1]
        if channels % self.groups:
            raise ConfigError(
                "groups",
                f"is {self.groups}, which does not divide the {channels} channels; choose a divisor of {channels}",
            )
        self._scale_and_shift(channels)

    def call(self, inputs):
        shape = ops.shape(inputs)
        channels = inputs.shape[-1]
        x = self._for_statistics(inputs)
        grouped = ops.reshape(x, (shape[0], -1, self.groups, channels // self.groups))
        axes = (1, 3)  # the positions and the group's channels
        mean = ops.mean(grouped, axis=axes, keepdims=True)
        variance = ops.mean(ops.square(grouped - mean), axis=axes, keepdims=True)
        normalised = (grouped - mean) * ops.rsqrt(variance + self.epsilon)
        y = ops.cast(ops.reshape(normalised, shape), self.compute_dtype)
        return y * ops.cast(self.gamma, self.compute_dtype) + ops.cast(self.beta, self.compute_dtype)

    def get_config(self):
        return {**super().get_config(), "groups": self.groups}
