"""Mean-variance estimation (MVE): a wrapped model's prediction plus an aleatoric variance per output.

Nix and Weigend (1994); lecture 5's first uncertainty method. A regression
model predicts ``mu(x)``; the wrapper adds a head on the features the
model's output layer reads that predicts ``s(x) = log sigma^2(x)``, and
trains both by the Gaussian negative log-likelihood
(`mit_dl.uncertainty.losses.gaussian_nll`):

    L = mean over the batch of 1/2 [ s(x) + (y - mu(x))^2 exp(-s(x)) + log 2 pi ]

``sigma^2(x)`` is the *aleatoric* uncertainty: the noise in ``y`` that more
data would not remove. It says nothing about inputs unlike the training
data (that is epistemic uncertainty: dropout, ensembles, Bayes by
Backprop).

The wrapped model keeps its own layers and weights (they train too); its
features are the input of its last layer, which a functional or
``Sequential`` model exposes. For a subclassed model pass ``features``, a
model of the same inputs returning those features.
"""

import keras

from mit_dl.errors import ConfigError
from mit_dl.uncertainty.losses import gaussian_nll
from mit_dl.uncertainty.wrapper import UncertaintyWrapper, feature_model


class MVEWrapper(UncertaintyWrapper):
    """Wrap a regression model so it also predicts the variance of its targets (aleatoric uncertainty).

    Args:
        model: a built Keras regression model ``x -> [N, outputs]`` (functional or ``Sequential``).
        features: for a subclassed ``model``: a Keras model of the same inputs
            returning the features its output layer reads. Default: taken from ``model``.
        loss_fn: replaces `gaussian_nll` in training: ``loss_fn(y, mu, log_variance) -> per-element
            losses`` (the lab notebook passes the learner's). Not saved with the model.
        **kwargs: `keras.Model`'s (``name``, ...).

    Call arguments:
        inputs: what ``model`` takes.
        training: passed on to the wrapped model (dropout, batch normalisation).

    Returns:
        ``{"prediction": mu [N, outputs], "aleatoric": sigma^2 [N, outputs], "log_variance": s [N, outputs]}``
        (float32 under any precision policy).

    Examples:
        >>> inputs = keras.Input((1,))
        >>> outputs = keras.layers.Dense(1)(keras.layers.Dense(8, activation="relu")(inputs))
        >>> wrapped = MVEWrapper(keras.Model(inputs, outputs))
        >>> out = wrapped(keras.ops.zeros((3, 1)))
        >>> sorted(out), tuple(out["aleatoric"].shape)
        (['aleatoric', 'log_variance', 'prediction'], (3, 1))
    """

    def __init__(self, model, features=None, loss_fn=None, **kwargs):
        kwargs.setdefault("name", "mve")
        super().__init__(task="regression", **kwargs)
        self.model = model
        self.loss_fn = loss_fn or gaussian_nll
        self.features = features if features is not None else feature_model(model)
        outputs = model.outputs[0].shape[-1] if getattr(model, "outputs", None) else None
        if outputs is None:
            outputs = model.layers[-1].units if hasattr(model.layers[-1], "units") else None
        if outputs is None:
            raise ConfigError("model", "has no known output width: build it on its inputs before wrapping it")
        # Start at log sigma^2 = 0 (sigma = 1): zero weights, so early steps fit the mean first.
        self.log_variance_head = keras.layers.Dense(
            outputs, kernel_initializer="zeros", bias_initializer="zeros", name="log_variance"
        )
        if getattr(self.features, "outputs", None):
            self.log_variance_head.build(tuple(self.features.outputs[0].shape))

    def call(self, inputs, training=False):
        mean = self.model(inputs, training=training)
        log_variance = self.log_variance_head(self.features(inputs, training=training))
        log_variance = keras.ops.cast(log_variance, "float32")
        return {
            "prediction": keras.ops.cast(mean, "float32"),
            "aleatoric": keras.ops.exp(log_variance),
            "log_variance": log_variance,
        }

    def training_losses(self, inputs, targets):
        """The Gaussian negative log-likelihood per example (mean over outputs), and the squared error to log.

        Args:
            inputs: a batch of inputs.
            targets: their targets.

        Returns:
            ``(losses [N], parts)``: one loss per example, and ``{name: [N]}`` parts to log.
        """
        out = self(inputs, training=True)
        nll = keras.ops.mean(self.loss_fn(targets, out["prediction"], out["log_variance"]), axis=-1)
        error = keras.ops.cast(targets, "float32") - out["prediction"]
        return nll, {"squared_error": keras.ops.mean(keras.ops.square(error), axis=-1)}
