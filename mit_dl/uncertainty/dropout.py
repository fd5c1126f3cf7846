"""Monte Carlo dropout (Gal and Ghahramani 2016): dropout kept on at prediction time, ``T`` passes, their spread.

A network trained with dropout is, to a good approximation, a variational
Bayesian network whose weight samples are the dropout masks. Predicting
with dropout *on* and averaging ``T`` passes approximates the posterior
predictive; the disagreement between passes is epistemic uncertainty
(`mit_dl.uncertainty.summaries`). The two mistakes the lecture warns
about: predicting with dropout off (every pass then agrees, and the
epistemic estimate is zero everywhere), and switching it on with
``model(x, training=True)``, which also puts batch normalisation in
training mode (each pass then normalises by the statistics of its batch).

Here dropout is switched on by the layer itself: `MCDropout` ignores the
``training`` flag, so batch normalisation stays in inference mode. The
``T`` passes are *one* batched call: the inputs are repeated ``T`` times
along the batch, each row draws its own mask, and the result is reshaped
to ``[T, N, ...]`` (`benchmarks/uncertainty.py` times it against a Python
loop of ``T`` calls). In a ``Sequential`` model the layers before the
first dropout give the same output in every pass, so they run once and
only their output is repeated: with dropout in the classifier head alone,
the convolutions run once instead of ``T`` times.
"""

import keras
import tensorflow as tf

from mit_dl.errors import ConfigError
from mit_dl.uncertainty.summaries import summarise
from mit_dl.uncertainty.wrapper import UncertaintyWrapper, check_count, is_graph_model, task_loss

ADDED_RATE = 0.1
_WEIGHT_LAYERS = (keras.layers.Dense, keras.layers.Conv1D, keras.layers.Conv2D, keras.layers.Conv3D)


@keras.saving.register_keras_serializable(package="mit_dl")
class MCDropout(keras.layers.Dropout):
    """`keras.layers.Dropout` that drops at prediction time too (its ``training`` argument is ignored).

    It takes `keras.layers.Dropout`'s arguments: ``rate`` (the fraction of
    inputs set to zero, in (0, 1); the others are scaled by ``1 / (1 -
    rate)``), ``noise_shape``, ``seed``, ``name``.

    Examples:
        >>> layer = MCDropout(0.5, seed=0)
        >>> bool(keras.ops.any(layer(keras.ops.ones((1, 100)), training=False) == 0))
        True
    """

    def call(self, inputs, training=None):
        return super().call(inputs, training=True)


def check_rate(rate):
    """Check a dropout rate.

    Args:
        rate: the rate to check.

    Returns:
        ``rate`` as a float.

    Raises:
        ConfigError: it is not strictly between 0 and 1.
    """
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 < rate < 1:
        raise ConfigError("rate", f"must be a dropout rate strictly between 0 and 1, received {rate!r}")
    return float(rate)


def _has_layer(model, kind):
    return any(isinstance(layer, kind) for layer in model._flatten_layers(include_self=False))


def _with_mc_dropout(model, rate, after):
    """``model`` re-wired on its own layers: each Dropout replaced by `MCDropout`, one added after each ``after``."""
    added = []

    def substitute(layer):
        if isinstance(layer, keras.layers.Dropout):
            return MCDropout(layer.rate if rate is None else rate, name=f"mc_{layer.name}")
        if layer.name in after:
            added.append(layer.name)
            drop = MCDropout(ADDED_RATE if rate is None else rate, name=f"mc_dropout_after_{layer.name}")
            return keras.Sequential([layer, drop], name=f"{layer.name}_with_dropout")
        return layer  # the same layer object: the wrapper trains and uses the user's weights

    if isinstance(model, keras.Sequential):  # a flat list: the layers before the first dropout can be split off
        layers = []
        for layer in model.layers:
            replaced = substitute(layer)
            layers.extend(
                replaced.layers if isinstance(replaced, keras.Sequential) and layer.name in after else [replaced]
            )
        return keras.Sequential([keras.Input(model.inputs[0].shape[1:]), *layers], name=f"{model.name}_mc"), added
    clone = keras.models.clone_model(model, clone_function=substitute)
    return clone, added


def _split_at_first_dropout(network):
    """``(prefix, rest)`` of a Sequential network around its first `MCDropout`, or None if there is no prefix."""
    if not isinstance(network, keras.Sequential):
        return None
    first = next((i for i, layer in enumerate(network.layers) if isinstance(layer, MCDropout)), None)
    if not first:
        return None
    prefix = keras.Sequential([keras.Input(network.inputs[0].shape[1:]), *network.layers[:first]])
    rest = keras.Sequential([keras.Input(network.layers[first].input.shape[1:]), *network.layers[first:]])
    return prefix, rest


class DropoutWrapper(UncertaintyWrapper):
    """Wrap a model for Monte Carlo dropout: ``T`` stochastic passes in one call, their mean and their spread.

    Dropout layers already in the model are kept on at prediction time. If the
    model has none (or ``after`` names layers), dropout is added after the
    named layers; by default after every Dense and convolution layer but the
    output layer. The wrapper shares the model's layers and weights.

    Args:
        model: a built Keras model returning logits (classification) or predictions (regression).
            Functional and ``Sequential`` models are re-wired with `MCDropout`; a subclassed model
            must already contain dropout and no batch normalisation (its passes use ``training=True``).
        samples: ``T``, stochastic passes per prediction (at least 1).
        rate: the dropout rate of every dropout layer, in (0, 1); default: the model's own rates,
            0.1 where dropout is added.
        after: names of the layers to add dropout after (default: see above, only if the model has none).
        task: ``"classification"`` or ``"regression"``.
        **kwargs: `keras.Model`'s (``name``, ...).

    Call arguments:
        inputs: what ``model`` takes.
        training: ignored (dropout is always on; batch normalisation always in inference mode).

    Returns:
        Classification: ``{"probabilities", "entropy", "aleatoric", "epistemic", "variance"}``
        (`mit_dl.uncertainty.summaries.classification_summary`); regression:
        ``{"prediction", "epistemic"}``.

    Raises:
        ConfigError: ``samples`` < 1, ``rate`` outside (0, 1), an ``after`` name the model does not
            have, or a subclassed model without dropout or with batch normalisation.

    Examples:
        >>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(16, activation="relu", name="hidden"),
        ...                           keras.layers.Dense(3, name="logits")])
        >>> wrapped = DropoutWrapper(model, samples=8)
        >>> wrapped.added
        ['hidden']
        >>> out = wrapped(keras.ops.ones((2, 4)))
        >>> tuple(out["probabilities"].shape), tuple(out["epistemic"].shape)
        ((2, 3), (2,))
    """

    def __init__(self, model, samples=20, rate=None, after=None, task="classification", **kwargs):
        kwargs.setdefault("name", "mc_dropout")
        super().__init__(task=task, **kwargs)
        self.samples = check_count("samples", samples)
        if rate is not None:
            check_rate(rate)
        self.model = model
        if not is_graph_model(model):
            self._check_subclassed(model, after)
            self.network, self.added, self._switch_with_training, self._split = model, [], True, None
            return
        names = [layer.name for layer in model.layers]
        if after is None:
            has_dropout = any(isinstance(layer, keras.layers.Dropout) for layer in model.layers)
            after = (
                () if has_dropout else [layer.name for layer in model.layers[:-1] if isinstance(layer, _WEIGHT_LAYERS)]
            )
            if not after and not has_dropout:
                raise ConfigError(
                    "model",
                    f"({model.name}) has no dropout and no Dense or convolution layer before its output to add it "
                    "after; name the layers with after=[...]",
                )
        missing = sorted(set(after) - set(names))
        if missing:
            raise ConfigError("after", f"names layers {model.name} does not have: {', '.join(missing)}")
        self.network, self.added = _with_mc_dropout(model, rate, set(after))
        self._switch_with_training = False
        # The layers before the first dropout give the same output in every pass: run them once.
        self._split = _split_at_first_dropout(self.network)

    @staticmethod
    def _check_subclassed(model, after):
        if after:
            raise ConfigError(
                "after",
                f"needs a functional or Sequential model; {type(model).__name__} is subclassed: add "
                "keras.layers.Dropout to it yourself",
            )
        if not _has_layer(model, keras.layers.Dropout):
            raise ConfigError(
                "model",
                f"({type(model).__name__}) is subclassed and has no Dropout layer: add keras.layers.Dropout "
                "to it, or wrap a functional or Sequential model",
            )
        if _has_layer(model, keras.layers.BatchNormalization):
            raise ConfigError(
                "model",
                f"({type(model).__name__}) is subclassed and has BatchNormalization: its dropout can only be "
                "switched on with training=True, which would also switch batch statistics on; wrap a "
                "functional or Sequential model instead",
            )

    def sample(self, inputs):
        """``T`` stochastic passes as one batched call.

        Args:
            inputs: a batch ``[N, ...]``.

        Returns:
            ``[T, N, outputs]`` float32: logits (classification) or predictions (regression).
        """
        inputs = tf.convert_to_tensor(inputs)
        n = tf.shape(inputs)[0]
        network = self.network
        if self._split is not None:
            prefix, network = self._split
            inputs = prefix(inputs, training=False)
        repeated = tf.reshape(
            tf.tile(inputs[None], tf.concat([[self.samples], tf.ones_like(tf.shape(inputs))], 0)),
            tf.concat([[self.samples * n], tf.shape(inputs)[1:]], 0),
        )
        outputs = tf.cast(network(repeated, training=self._switch_with_training), tf.float32)
        return tf.reshape(outputs, tf.concat([[self.samples, n], tf.shape(outputs)[1:]], 0))

    def call(self, inputs, training=False):
        return summarise(self.task, self.sample(inputs))

    def training_losses(self, inputs, targets):
        """The task's loss of one pass with dropout on (standard dropout training).

        Args:
            inputs: a batch of inputs.
            targets: their targets.

        Returns:
            ``(losses [N], parts)``: one loss per example, and ``{name: [N]}`` parts to log.
        """
        return task_loss(self.task, targets, self.network(inputs, training=True)), {}
