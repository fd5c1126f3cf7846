"""Bayes by Backprop (Blundell et al. 2015; UvA DL §7.3): a Dense layer whose weights are learned distributions.

Every weight and bias has a Gaussian posterior ``q(w) = N(mu, sigma^2)``
with ``sigma = softplus(rho)``; each call draws them by the
reparameterisation trick, ``w = mu + sigma * eps`` with ``eps ~ N(0, 1)``,
so gradients reach ``mu`` and ``rho``. Training minimises the negative
evidence lower bound per example,

    L = (1/N) [ KL(q(w) || p(w)) ] + E_q[ -log p(y | x, w) ],

with the prior ``p(w) = N(0, prior_std^2)`` and ``N`` the training set's
size (the KL is paid once per pass over the data, so per example it is
scaled by ``1/N``). The KL of two Gaussians is exact:

    KL(N(mu, sigma^2) || N(0, s^2)) = log(s / sigma) + (sigma^2 + mu^2) / (2 s^2) - 1/2.

The distributions are `tfp.distributions.Normal` (TFP's Keras layers do
not work with Keras 3; its distributions do). Predictions average ``T``
weight draws (`BayesianModel`); their spread is epistemic uncertainty.
"""

import keras
import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

from mit_dl.errors import ConfigError
from mit_dl.uncertainty.summaries import summarise
from mit_dl.uncertainty.wrapper import UncertaintyWrapper, check_count, task_loss

tfd = tfp.distributions


def normal_kl(loc, scale, prior_std):
    """``KL(N(loc, scale^2) || N(0, prior_std^2))`` elementwise (the closed form above).

    Args:
        loc: posterior means.
        scale: posterior standard deviations (> 0).
        prior_std: the prior's standard deviation (> 0).

    Returns:
        The KL divergences, shaped like ``loc``.

    Examples:
        >>> float(normal_kl(tf.constant(0.0), tf.constant(1.0), 1.0))
        0.0
    """
    prior_std = tf.cast(prior_std, scale.dtype)
    return tf.math.log(prior_std / scale) + (tf.square(scale) + tf.square(loc)) / (2.0 * tf.square(prior_std)) - 0.5


@keras.saving.register_keras_serializable(package="mit_dl")
class BayesByBackprop(keras.layers.Layer):
    """A variational Dense layer: ``activation(x W + b)`` with ``W, b`` drawn from learned Gaussians at every call.

    Args:
        units: output features.
        activation: a Keras activation (name or function), or None.
        prior_std: the standard deviation of the zero-mean Gaussian prior on every weight.
        kl_weight: the factor on the layer's KL (``1 / training-set size`` for the per-example ELBO;
            `BayesianModel` sets it from ``train_size``).
        initial_std: the posteriors' starting standard deviation (small: training starts near
            an ordinary network).
        seed: seed of the weight draws.
        **kwargs: `keras.layers.Layer`'s.

    Call arguments:
        inputs: ``[..., in_features]``.

    Returns:
        ``[..., units]``. The layer adds ``kl_weight * KL(q || p)`` as a loss (``layer.losses``) at each call.

    Keras twin: `keras.layers.Dense` (``BayesByBackprop`` with ``initial_std -> 0`` and no KL is a Dense layer).

    Examples:
        >>> layer = BayesByBackprop(4, seed=0)
        >>> a, b = layer(tf.ones((1, 3))), layer(tf.ones((1, 3)))
        >>> bool(tf.reduce_any(a != b)), len(layer.losses)
        (True, 1)
    """

    def __init__(self, units, activation=None, prior_std=1.0, kl_weight=1.0, initial_std=0.01, seed=None, **kwargs):
        super().__init__(**kwargs)
        check_count("units", units)
        for name, value in (("prior_std", prior_std), ("initial_std", initial_std)):
            if not value > 0:
                raise ConfigError(name, f"must be a positive standard deviation, received {value!r}")
        if kl_weight < 0:
            raise ConfigError("kl_weight", f"must be >= 0, received {kl_weight!r}")
        self.units = units
        self.activation = keras.activations.get(activation)
        self.prior_std = float(prior_std)
        self.kl_weight = float(kl_weight)
        self.initial_std = float(initial_std)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def build(self, input_shape):
        features = input_shape[-1]
        rho = float(np.log(np.expm1(self.initial_std)))  # softplus(rho) = initial_std
        self.kernel_loc = self.add_weight(name="kernel_loc", shape=(features, self.units), initializer="glorot_uniform")
        self.kernel_rho = self.add_weight(
            name="kernel_rho", shape=(features, self.units), initializer=keras.initializers.Constant(rho)
        )
        self.bias_loc = self.add_weight(name="bias_loc", shape=(self.units,), initializer="zeros")
        self.bias_rho = self.add_weight(
            name="bias_rho", shape=(self.units,), initializer=keras.initializers.Constant(rho)
        )

    def posteriors(self):
        """The weights' and biases' posteriors.

        Returns:
            ``(q(W), q(b))``, each a `tfp.distributions.Normal` of the layer's current parameters.
        """
        return (
            tfd.Normal(self.kernel_loc, tf.nn.softplus(self.kernel_rho)),
            tfd.Normal(self.bias_loc, tf.nn.softplus(self.bias_rho)),
        )

    def kl(self):
        """The layer's KL divergence to its prior.

        Returns:
            ``KL(q(W) || p(W)) + KL(q(b) || p(b))``, summed over every weight (before ``kl_weight``), a scalar.
        """
        return sum(tf.reduce_sum(normal_kl(q.loc, q.scale, self.prior_std)) for q in self.posteriors())

    def call(self, inputs):
        q_kernel, q_bias = self.posteriors()
        seeds = tf.cast(self.seed_generator.next(), tf.int32), tf.cast(self.seed_generator.next(), tf.int32)
        kernel = q_kernel.sample(seed=seeds[0])  # loc + scale * eps: reparameterised, so gradients reach both
        bias = q_bias.sample(seed=seeds[1])
        self.add_loss(self.kl_weight * self.kl())
        outputs = tf.matmul(inputs, tf.cast(kernel, self.compute_dtype)) + tf.cast(bias, self.compute_dtype)
        return self.activation(outputs) if self.activation is not None else outputs

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "activation": keras.activations.serialize(self.activation),
            "prior_std": self.prior_std,
            "kl_weight": self.kl_weight,
            "initial_std": self.initial_std,
            "seed": self.seed,
        }


class BayesianModel(UncertaintyWrapper):
    """Predict with a network of `BayesByBackprop` layers by averaging ``T`` weight draws.

    Args:
        model: a built Keras model containing `BayesByBackprop` layers, returning logits or predictions.
        samples: ``T``, weight draws per prediction (at least 1); each draw is one pass of the
            whole batch, all ``T`` inside the one call.
        train_size: the training set's size ``N``: every Bayes-by-Backprop layer's ``kl_weight``
            becomes ``1 / N`` (the per-example ELBO). Default: keep the layers' weights.
        task: ``"classification"`` or ``"regression"``.
        **kwargs: `keras.Model`'s.

    Returns:
        What `DropoutWrapper` returns for the task.

    Raises:
        ConfigError: the model has no `BayesByBackprop` layer, or ``samples`` < 1.
    """

    def __init__(self, model, samples=20, train_size=None, task="classification", **kwargs):
        kwargs.setdefault("name", "bayes_by_backprop")
        super().__init__(task=task, **kwargs)
        self.samples = check_count("samples", samples)
        self.model = model
        layers = [layer for layer in model._flatten_layers(include_self=False) if isinstance(layer, BayesByBackprop)]
        if not layers:
            raise ConfigError(
                "model",
                f"({model.name}) has no BayesByBackprop layer: build it with "
                "mit_dl.uncertainty.BayesByBackprop in place of (some of) its Dense layers",
            )
        if train_size is not None:
            check_count("train_size", train_size)
            for layer in layers:
                layer.kl_weight = 1.0 / train_size
        self.bayesian_layers = layers

    def sample(self, inputs):
        """``T`` passes, each with its own weight draw, inside the one call.

        Args:
            inputs: a batch ``[N, ...]``.

        Returns:
            ``[T, N, outputs]`` float32 logits or predictions.
        """
        return tf.stack([tf.cast(self.model(inputs, training=False), tf.float32) for _ in range(self.samples)])

    def call(self, inputs, training=False):
        return summarise(self.task, self.sample(inputs))

    def training_losses(self, inputs, targets):
        """The task's loss under one weight draw (the ELBO's expected log-likelihood, one sample).

        Args:
            inputs: a batch of inputs.
            targets: their targets.

        Returns:
            ``(losses [N], {"kl": ...})``: one loss per example, and the weights' KL term of this draw (the
            engine adds it to the loss, ``model.losses``) to log.
        """
        losses = task_loss(self.task, targets, self.model(inputs, training=True))
        terms = [tf.cast(term, tf.float32) for term in self.losses]
        return losses, ({"kl": tf.add_n(terms)} if terms else {})
