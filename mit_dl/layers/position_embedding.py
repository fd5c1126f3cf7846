"""`PositionEmbedding`: a learned position vector added to each embedding."""

import keras
from keras import ops

from mit_dl.layers import _checks


@keras.saving.register_keras_serializable(package="mit_dl")
class PositionEmbedding(keras.layers.Layer):
    """Adds a learned embedding of each position, the alternative to sinusoids.

    Lecture 2 (position-aware encoding), the learned variant used by BERT and
    GPT: a trainable table ``P`` of shape ``(sequence_length, d)`` and

        output[b, t] = inputs[b, t] + P[t]

    Sequences may be shorter than ``sequence_length``; longer ones are
    rejected because no embedding was learned for their positions.

    Args:
        sequence_length: positive int, the longest sequence supported.
        initializer: initializer of ``P``. Default ``"glorot_uniform"``.
        **kwargs: base `keras.layers.Layer` arguments.

    Call arguments:
        inputs: embeddings ``(batch, time, d)`` with ``time <= sequence_length``.
        start: index of the first input position (default 0): a cached
            decoder adds ``P[start]`` to the one new position it computes.
            ``start + time`` must not exceed ``sequence_length``.

    Returns:
        ``inputs + P[start:start + time]``, same shape.

    Examples:
        >>> layer = PositionEmbedding(sequence_length=10)
        >>> tuple(layer(keras.ops.zeros((2, 7, 16))).shape)
        (2, 7, 16)

    Reference:
        Devlin et al. 2019 (BERT); the keras-hub twin is
        ``keras_hub.layers.PositionEmbedding`` (which returns ``P`` alone).
    """

    def __init__(self, sequence_length, initializer="glorot_uniform", **kwargs):
        super().__init__(**kwargs)
        self.sequence_length = _checks.positive_int("PositionEmbedding", "sequence_length", sequence_length)
        self.initializer = keras.initializers.get(initializer)
        self.supports_masking = True
        self.depth = None

    def build(self, input_shape):
        _checks.input_rank(self.name, input_shape, 3, what="input (batch, time, features)")
        self._check_length(input_shape)
        self.depth = _checks.known_last_dim(self.name, input_shape)
        self.position_embeddings = self.add_weight(
            shape=(self.sequence_length, self.depth),
            initializer=self.initializer,
            name="position_embeddings",
        )

    def _check_length(self, shape):
        time = shape[1]
        if time is not None and int(time) > self.sequence_length:
            raise ValueError(
                f"{self.name}: input has {int(time)} positions but embeddings were "
                f"learned for at most {self.sequence_length}; shorten the input or "
                f"create the layer with a larger `sequence_length`."
            )

    def call(self, inputs, start=0):
        _checks.input_rank(self.name, inputs.shape, 3, what="input (batch, time, features)")
        _checks.last_dim(self.name, inputs.shape, self.depth)
        self._check_length(inputs.shape)
        # A gather (not a slice) of the rows used: its gradient is sparse,
        # touching only those rows, like keras.layers.Embedding.
        positions = ops.arange(ops.shape(inputs)[1]) + ops.cast(start, "int32")
        table = ops.cast(ops.take(self.position_embeddings, positions, axis=0), inputs.dtype)
        return inputs + table[None]

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "sequence_length": self.sequence_length,
                "initializer": keras.initializers.serialize(self.initializer),
            }
        )
        return config
