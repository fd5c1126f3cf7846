"""`TiedEmbedding`: one matrix that embeds characters and, transposed, scores them as output logits."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="mit_dl")
class TiedEmbedding(keras.layers.Embedding):
    """An embedding whose transpose is also the output layer (weight tying).

    Press & Wolf 2017: a language model's input embedding ``E`` (``vocab x d``)
    and its output projection play the same role, so one matrix can do both:

        x_t = E[token_t]                 (call(tokens))
        logits = h E^T                   (call(h, reverse=True))

    which halves those parameters and ties the meaning of each character's
    vector on both sides. GPT-2 ties them; for a 90-character vocabulary the
    saving is small, so the music transformer offers it as an option.

    Args:
        input_dim: vocabulary size.
        output_dim: embedding width ``d``.
        **kwargs: `keras.layers.Embedding` arguments.

    Call arguments:
        inputs: integer ids ``(...)``, or with ``reverse=True`` features ``(..., d)``.
        reverse: score features against every embedding (the output layer).

    Returns:
        ``(..., d)`` embeddings, or with ``reverse=True`` float32 logits ``(..., input_dim)``.

    Examples:
        >>> layer = TiedEmbedding(10, 4)
        >>> tuple(layer(keras.ops.zeros((2, 3), "int32")).shape)
        (2, 3, 4)
        >>> tuple(layer(keras.ops.zeros((2, 3, 4)), reverse=True).shape)
        (2, 3, 10)

    Reference:
        Press & Wolf, "Using the Output Embedding to Improve Language Models",
        EACL 2017; keras-hub's twin is ``keras_hub.layers.ReversibleEmbedding``.
    """

    def __init__(self, input_dim, output_dim, **kwargs):
        super().__init__(input_dim, output_dim, **kwargs)

    def call(self, inputs, reverse=False):
        if not reverse:
            return super().call(inputs)
        kernel = ops.cast(ops.transpose(self.embeddings), inputs.dtype)
        # float32 logits under mixed precision, like the untied output layer's.
        return ops.cast(ops.matmul(inputs, kernel), "float32")

    def compute_output_spec(self, inputs, reverse=False):
        """The output's shape and dtype for symbolic inputs (Keras functional models).

        Args:
            inputs: a `keras.KerasTensor` of ids, or of features with ``reverse``.
            reverse: as in `call`.

        Returns:
            A `keras.KerasTensor`: ``(..., output_dim)`` embeddings or float32 ``(..., input_dim)`` logits.
        """
        if reverse:
            return keras.KerasTensor((*inputs.shape[:-1], self.input_dim), dtype="float32")
        return super().compute_output_spec(inputs)
