"""`Sampling`: the VAE reparameterization trick, and the KL term of the VAE loss."""

import keras
from keras import ops

from mit_dl.layers import _checks
from mit_dl.layers._dtypes import at_least_float32


def kl_divergence_to_standard_normal(mean, log_variance, axis=-1):
    """Analytic ``KL(N(mu, sigma^2) || N(0, I))`` summed over ``axis``.

    Lecture 4 ("Deep Generative Modeling"), the VAE regularization term:

        KL = 1/2 * sum_j (sigma_j^2 + mu_j^2 - 1 - log sigma_j^2)

    computed in (at least) float32 for stability under mixed precision.

    Args:
        mean: ``mu``, the encoder's means.
        log_variance: ``log sigma^2``, the encoder's log-variances (same shape).
        axis: the latent axis summed over.

    Returns:
        One value per example: the shape of ``mean`` without ``axis``.

    Examples:
        >>> float(kl_divergence_to_standard_normal(keras.ops.zeros((1, 4)), keras.ops.zeros((1, 4)))[0])
        0.0
    """
    math_dtype = at_least_float32(mean.dtype)
    mean = ops.cast(mean, math_dtype)
    log_variance = ops.cast(log_variance, math_dtype)
    terms = ops.exp(log_variance) + ops.square(mean) - 1.0 - log_variance
    return 0.5 * ops.sum(terms, axis=axis)


@keras.saving.register_keras_serializable(package="mit_dl")
class Sampling(keras.layers.Layer):
    """Draws ``z ~ N(mu, sigma^2)`` differentiably: the reparameterization trick.

    Lecture 4 ("Deep Generative Modeling", VAEs): sampling is not
    differentiable, so the randomness is moved into a fixed noise input,

        z = mu + exp(0.5 * logvar) * eps,   eps ~ N(0, I)

    and gradients flow to ``mu`` and ``logvar`` (``exp(0.5 * logvar)`` is
    ``sigma``). ``eps`` comes from a `keras.random.SeedGenerator` held by the
    layer, so a fixed ``seed`` reproduces the samples and the generator state
    is saved with the model. The batch size is read at run time (any batch).

    Args:
        seed: optional int seed for ``eps``.
        **kwargs: base `keras.layers.Layer` arguments.

    Call arguments:
        inputs: a pair ``(mu, logvar)`` of tensors with the same shape
            ``(batch, latent_dim)`` (or any rank >= 2).

    Returns:
        ``z`` with the shape of ``mu``.

    Examples:
        >>> z = Sampling(seed=0)([keras.ops.zeros((4, 2)), keras.ops.zeros((4, 2))])
        >>> tuple(z.shape)
        (4, 2)

    Reference:
        Kingma and Welling, "Auto-Encoding Variational Bayes", ICLR 2014;
        MIT 6.S191 lab 2 (DB-VAE).
    """

    def __init__(self, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def _split(self, inputs):
        if not isinstance(inputs, (list, tuple)) or len(inputs) != 2:
            raise ValueError(
                f"{self.name}: expected a pair (mean, log_variance), received "
                f"{type(inputs).__name__} of length {len(inputs) if hasattr(inputs, '__len__') else 'n/a'}."
            )
        return inputs

    def build(self, input_shape):
        mean_shape, log_var_shape = self._split(input_shape)
        self._check_shapes(mean_shape, log_var_shape)

    def _check_shapes(self, mean_shape, log_var_shape):
        _checks.input_rank(self.name, mean_shape, range(2, 9), what="mean")
        if len(mean_shape) != len(log_var_shape) or any(
            a is not None and b is not None and int(a) != int(b) for a, b in zip(mean_shape, log_var_shape)
        ):
            raise ValueError(
                f"{self.name}: mean shape {tuple(mean_shape)} and log-variance shape "
                f"{tuple(log_var_shape)} must be equal."
            )

    def call(self, inputs):
        mean, log_variance = self._split(inputs)
        self._check_shapes(mean.shape, log_variance.shape)
        epsilon = keras.random.normal(ops.shape(mean), dtype=mean.dtype, seed=self.seed_generator)
        return mean + ops.exp(0.5 * log_variance) * epsilon

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[0])

    def get_config(self):
        config = super().get_config()
        config.update({"seed": self.seed})
        return config
