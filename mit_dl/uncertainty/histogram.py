"""Representation bias as latent density: inputs in sparse regions of a learned feature space are rare.

The DB-VAE (lab 2 part 2) resamples training faces by the inverse of a
per-dimension histogram density of their latent means. The same numbers
score how *unusual* an input is relative to the training set: this wrapper
fits those histograms (`mit_dl.faces.debias.latent_histograms`, the code the
DB-VAE's `sampling_probabilities` runs) on the training inputs' features and
reports, for any input,

    bias_score(x) = sum_i -log Q_i(z_i(x))      (the log of the DB-VAE's product weight, unnormalised)

which is high for inputs whose features are rare in the training data
(lecture 5: representation bias is an uncertainty about under-represented
groups). The features are the wrapped model's penultimate layer, or any
encoder (a VAE's latent means).
"""

import tensorflow as tf

from mit_dl.errors import ConfigError
from mit_dl.faces import latent_histograms, latent_rarity
from mit_dl.uncertainty.wrapper import UncertaintyWrapper, check_count, feature_model, task_loss


class HistogramWrapper(UncertaintyWrapper):
    """Wrap a model with latent-density histograms of its features; add ``bias_score`` to its predictions.

    Call `adapt` on the training inputs before predicting.

    Args:
        model: a built Keras model returning logits (classification) or predictions (regression).
        features: a function (a Keras model, or e.g. `VAEWrapper.latent_means`) of the same inputs
            returning ``[N, D]`` features; default: the input of ``model``'s last layer.
        bins: histogram bins per feature (the DB-VAE's default, 10).
        smoothing: added to each bin's density (the DB-VAE's ``alpha``).
        task: ``"classification"`` or ``"regression"``.
        **kwargs: `keras.Model`'s.

    Returns:
        ``{"probabilities" (classification) or "prediction", "bias_score" [N]}``.

    Raises:
        ConfigError: ``bins`` < 1, a negative ``smoothing``, or a model without a layer before its output
            and no ``features``.
    """

    def __init__(self, model, features=None, bins=10, smoothing=0.001, task="classification", **kwargs):
        kwargs.setdefault("name", "latent_histogram")
        super().__init__(task=task, **kwargs)
        self.bins = check_count("bins", bins)
        if not smoothing >= 0:
            raise ConfigError("smoothing", f"must be >= 0, received {smoothing!r}")
        self.smoothing = float(smoothing)
        self.model = model
        self.features = features if features is not None else feature_model(model)
        self.histograms = None

    def adapt(self, inputs, batch_size=1024):
        """Fit the histograms on the training inputs' features (kept as weights: saved and exported).

        Args:
            inputs: the training inputs (an array, sliced into ``batch_size`` rows), or an iterable of
                input batches (a `tf.data.Dataset`, a generator).
            batch_size: inputs per feature pass (arrays only).

        Returns:
            The features ``[N, D]`` the histograms were fitted on.
        """
        if hasattr(inputs, "shape"):
            batches = (inputs[i : i + batch_size] for i in range(0, len(inputs), batch_size))
        else:
            batches = inputs
        features = tf.concat([tf.cast(self.features(batch), tf.float32) for batch in batches], axis=0)
        low, width, smoothed = latent_histograms(features, self.bins, tf.constant(self.smoothing))
        if self.histograms is None:
            self.histograms = [
                self.add_weight(name=name, shape=value.shape, trainable=False, initializer="zeros")
                for name, value in (("low", low), ("width", width), ("density", smoothed))
            ]
        for weight, value in zip(self.histograms, (low, width, smoothed)):
            weight.assign(value)
        self.built = True  # its model and features are built; the histograms are its own weights
        return features

    def bias_score(self, inputs):
        """How rare each input's features are in the training data.

        Args:
            inputs: a batch of what the model takes.

        Returns:
            ``[N]``: the summed ``-log`` smoothed density of each input's features (higher: rarer).

        Raises:
            ConfigError: `adapt` has not been called.
        """
        if self.histograms is None:
            raise ConfigError("HistogramWrapper", "has no histograms yet: call adapt(training inputs) first")
        rarity = latent_rarity(tf.cast(self.features(inputs), tf.float32), *self.histograms)
        return tf.reduce_sum(rarity, axis=-1)

    def call(self, inputs, training=False):
        outputs = tf.cast(self.model(inputs, training=training), tf.float32)
        key, value = (
            ("probabilities", tf.nn.softmax(outputs))
            if self.task == "classification"
            else (
                "prediction",
                outputs,
            )
        )
        if self.histograms is None:  # building, or predicting before adapt: the score is not defined yet
            return {key: value}
        return {key: value, "bias_score": self.bias_score(inputs)}

    def training_losses(self, inputs, targets):
        """The model's task loss (the histograms are fitted afterwards by `adapt`).

        Args:
            inputs: a batch of inputs.
            targets: their targets.

        Returns:
            ``(losses [N], parts)``: one loss per example, and ``{name: [N]}`` parts to log.
        """
        return task_loss(self.task, targets, self.model(inputs, training=True)), {}
