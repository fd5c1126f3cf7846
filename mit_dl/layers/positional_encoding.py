"""`PositionalEncoding`: the fixed sinusoidal position signal of the Transformer."""

import keras
from keras import ops

from mit_dl.layers import _checks


def sinusoidal_encoding(length, depth, base=10000.0, dtype="float32"):
    """The sinusoidal position table, sines and cosines interleaved.

        PE(pos, 2i)   = sin(pos / base^(2i/d))
        PE(pos, 2i+1) = cos(pos / base^(2i/d))

    Args:
        length: number of positions.
        depth: ``d``, the size of each position's vector.
        base: the wavelength base, 10000 in the paper.
        dtype: dtype of the result (computed in float32).

    Returns:
        The ``(length, depth)`` table.

    Examples:
        >>> tuple(sinusoidal_encoding(50, 16).shape)
        (50, 16)
    """
    positions = ops.cast(ops.arange(length), "float32")[:, None]
    dims = ops.arange(depth)
    pair_index = ops.cast(dims // 2 * 2, "float32")  # 2i, shared by 2i and 2i+1
    inverse_frequency = ops.power(float(base), -pair_index / float(depth))
    angles = positions * inverse_frequency[None, :]
    is_even = ops.equal(dims % 2, 0)[None, :]
    return ops.cast(ops.where(is_even, ops.sin(angles), ops.cos(angles)), dtype)


@keras.saving.register_keras_serializable(package="mit_dl")
class PositionalEncoding(keras.layers.Layer):
    """Adds the sinusoidal positional encoding to a sequence of embeddings.

    Lecture 2 (self-attention needs "position-aware encoding"); Vaswani et
    al. 2017, section 3.5:

        PE(pos, 2i)   = sin(pos / 10000^(2i / d))
        PE(pos, 2i+1) = cos(pos / 10000^(2i / d))
        output = inputs + PE

    The table is computed on the fly for the actual sequence length, so there
    is no maximum length and nothing to train or store. It is computed in
    float32 and cast to the layer's compute dtype (mixed precision).

    Args:
        base: the wavelength base, 10000 in the paper.
        **kwargs: base `keras.layers.Layer` arguments.

    Call arguments:
        inputs: embeddings ``(batch, time, d)``.

    Returns:
        ``inputs + PE[:time]``, same shape.

    Examples:
        >>> pe = PositionalEncoding()
        >>> tuple(pe(keras.ops.zeros((2, 7, 16))).shape)
        (2, 7, 16)

    Reference:
        Vaswani et al., "Attention Is All You Need", NeurIPS 2017; the
        keras-hub twin is ``keras_hub.layers.SinePositionEncoding`` (which
        returns PE alone).
    """

    def __init__(self, base=10000.0, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(base, (int, float)) or base <= 1:
            raise ValueError(f"PositionalEncoding: `base` must be a number > 1, received {base!r}.")
        self.base = float(base)
        self.supports_masking = True
        self.depth = None

    def build(self, input_shape):
        _checks.input_rank(self.name, input_shape, 3, what="input (batch, time, features)")
        self.depth = _checks.known_last_dim(self.name, input_shape)

    def call(self, inputs):
        _checks.input_rank(self.name, inputs.shape, 3, what="input (batch, time, features)")
        _checks.last_dim(self.name, inputs.shape, self.depth)
        table = sinusoidal_encoding(ops.shape(inputs)[1], self.depth, self.base, dtype=inputs.dtype)
        return inputs + table[None]

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update({"base": self.base})
        return config
