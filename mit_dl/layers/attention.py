"""`SelfAttention` (one head) and `scaled_dot_product_attention`, lecture 2."""

import keras
from keras import ops

from mit_dl.layers import _checks
from mit_dl.layers._dtypes import at_least_float32

# Added to the scores of masked positions (in float32). Finite, so a row with
# every key masked gives uniform weights instead of NaN, as in Keras' Softmax.
_MASKED_SCORE = -1e9


def attention_weights(query, key, mask=None, dtype=None):
    """The attention weights ``softmax(Q K^T / sqrt(d_k))`` with masked positions removed.

    Scores and softmax run in at least float32 (float16 scores overflow under
    mixed precision). A query whose keys are all masked gets uniform weights.

    Args:
        query: ``(..., T_q, d_k)``.
        key: ``(..., T_k, d_k)``.
        mask: optional boolean tensor broadcastable to ``(..., T_q, T_k)``,
            True where a query may attend to a key.
        dtype: dtype of the result (default: the query's).

    Returns:
        The weights ``(..., T_q, T_k)``; each row sums to 1.
    """
    d_k = query.shape[-1]
    if d_k is None:
        d_k = ops.shape(query)[-1]
    math_dtype = at_least_float32(query.dtype)
    scores = ops.matmul(query, ops.swapaxes(key, -1, -2))
    scores = ops.cast(scores, math_dtype) / ops.sqrt(ops.cast(d_k, math_dtype))
    if mask is not None:
        scores = ops.where(ops.cast(mask, "bool"), scores, _MASKED_SCORE)
    return ops.cast(ops.softmax(scores, axis=-1), dtype or query.dtype)


def scaled_dot_product_attention(query, key, value, mask=None):
    """Attention(Q, K, V) = softmax(Q K^T / sqrt(d_k)) V.

    Lecture 2 ("Deep Sequence Modeling", self-attention): the similarity of
    every query to every key, scaled by ``1/sqrt(d_k)`` so the softmax does
    not saturate as ``d_k`` grows, turned into weights that mix the values.
    A query whose keys are all masked gets uniform weights, not NaN.

    Args:
        query: ``(..., T_q, d_k)``.
        key: ``(..., T_k, d_k)``.
        value: ``(..., T_k, d_v)``.
        mask: optional boolean tensor broadcastable to ``(..., T_q, T_k)``;
            ``True`` where a query may attend to a key.

    Returns:
        ``(output, weights)``: ``(..., T_q, d_v)`` and ``(..., T_q, T_k)``,
        in the dtype of ``value``.

    Examples:
        >>> q = k = v = keras.ops.ones((2, 5, 8))
        >>> out, w = scaled_dot_product_attention(q, k, v)
        >>> tuple(out.shape), tuple(w.shape)
        ((2, 5, 8), (2, 5, 5))

    Reference:
        Vaswani et al., "Attention Is All You Need", NeurIPS 2017, eq. (1).
    """
    weights = attention_weights(query, key, mask, dtype=value.dtype)
    return ops.matmul(weights, value), weights


def mix_values(weights, value, rate, seed_generator, training):
    """``weights @ value``, with dropout on the weights while training.

    Args:
        weights: attention weights ``(..., T_q, T_k)``.
        value: ``(..., T_k, d_v)``.
        rate: dropout rate on the weights.
        seed_generator: the layer's `keras.random.SeedGenerator`.
        training: whether dropout applies.

    Returns:
        ``(..., T_q, d_v)``.
    """
    if training and rate:
        weights = keras.random.dropout(weights, rate, seed=seed_generator)
    return ops.matmul(weights, value)


def causal_mask(length):
    """The causal mask: position ``i`` may attend to ``j <= i``.

    Args:
        length: the sequence length.

    Returns:
        Boolean ``(length, length)``, True on and below the diagonal.
    """
    positions = ops.arange(length)
    return ops.expand_dims(positions, 1) >= ops.expand_dims(positions, 0)


def combine_masks(layer_name, inputs, padding_mask, attention_mask, use_causal_mask):
    """Merge padding, explicit and causal masks into one ``(B, T, T)`` mask.

    Args:
        layer_name: the layer's name, for error messages.
        inputs: the layer's input ``(batch, time, features)``.
        padding_mask: ``(batch, time)``, True for real tokens, or ``None``.
        attention_mask: ``(batch, time, time)``, True where query ``i`` may see key ``j``, or ``None``.
        use_causal_mask: add the causal mask.

    Returns:
        The boolean mask, or ``None`` when no mask applies.

    Raises:
        ValueError: a mask does not match the input's batch and time.
    """
    batch, time = inputs.shape[0], inputs.shape[1]
    mask = None
    if padding_mask is not None:
        _checks.input_rank(layer_name, padding_mask.shape, 2, what="padding mask (batch, time)")
        _check_dims(layer_name, "padding mask", padding_mask.shape, (batch, time))
        # Keys that are padding receive no attention from any query.
        mask = ops.expand_dims(ops.cast(padding_mask, "bool"), 1)
    if attention_mask is not None:
        _checks.input_rank(layer_name, attention_mask.shape, 3, what="attention mask (batch, time, time)")
        _check_dims(layer_name, "attention mask", attention_mask.shape, (batch, time, time))
        explicit = ops.cast(attention_mask, "bool")
        mask = explicit if mask is None else ops.logical_and(mask, explicit)
    if use_causal_mask:
        causal = ops.expand_dims(causal_mask(ops.shape(inputs)[1]), 0)
        mask = causal if mask is None else ops.logical_and(mask, causal)
    return mask


def add_projection(layer, name, units, input_dim=None):
    """Create a projection's weights on ``layer``.

    Args:
        layer: the layer that owns them (its ``kernel_initializer``,
            ``bias_initializer``, ``use_bias`` and ``input_dim`` are used).
        name: prefix of the weights' names (``"query"``).
        units: output size.
        input_dim: input size (default ``layer.input_dim``).

    Returns:
        ``(kernel, bias)``: the ``(input_dim, units)`` kernel and the bias, or ``None`` without ``use_bias``.
    """
    kernel = layer.add_weight(
        shape=(input_dim or layer.input_dim, units),
        initializer=layer.kernel_initializer,
        name=f"{name}_kernel",
    )
    bias = (
        layer.add_weight(shape=(units,), initializer=layer.bias_initializer, name=f"{name}_bias")
        if layer.use_bias
        else None
    )
    return kernel, bias


def project(x, kernel, bias):
    """One linear projection, ``x @ kernel (+ bias)``.

    Args:
        x: ``(..., input_dim)``.
        kernel: ``(input_dim, units)``.
        bias: ``(units,)`` or ``None``.

    Returns:
        ``(..., units)``.
    """
    y = ops.matmul(x, kernel)
    return y if bias is None else y + bias


def _check_dims(layer_name, what, shape, expected):
    for got, want in zip(shape, expected):
        if got is not None and want is not None and int(got) != int(want):
            raise ValueError(
                f"{layer_name}: {what} has shape {tuple(shape)}, which does not "
                f"match the input; expected {tuple(expected)}."
            )


@keras.saving.register_keras_serializable(package="mit_dl")
class SelfAttention(keras.layers.Layer):
    """One self-attention head with learned query, key and value projections.

    Lecture 2, self-attention: from the input sequence ``X`` (positions
    already encoded) compute

        Q = X W_Q,   K = X W_K,   V = X W_V
        A = softmax(Q K^T / sqrt(d_k)) V

    so every position becomes a mixture of the values of the positions it
    attends to.

    Args:
        key_dim: positive int ``d_k``, size of queries and keys.
        value_dim: positive int ``d_v``, size of values and of the output.
            Default: ``key_dim``.
        use_bias: add a bias to each projection. Default ``False`` (the
            lecture's equations have none).
        dropout: dropout rate on the attention weights during training.
        kernel_initializer: initializer of ``W_Q``, ``W_K``, ``W_V``.
        bias_initializer: initializer of the biases.
        seed: optional int seed for dropout.
        **kwargs: base `keras.layers.Layer` arguments.

    Call arguments:
        inputs: ``X``, shape ``(batch, time, features)``.
        mask: optional padding mask ``(batch, time)``, True for real tokens
            (filled in automatically after ``Embedding(mask_zero=True)``).
            Padding positions receive no attention.
        attention_mask: optional boolean ``(batch, time, time)``; True where
            query ``i`` may attend to key ``j``.
        use_causal_mask: if True, position ``i`` attends only to ``j <= i``
            (for autoregressive models).
        return_attention_scores: if True, also return the weights.
        training: enables dropout.

    Returns:
        ``(batch, time, value_dim)``, and the weights ``(batch, time, time)``
        when ``return_attention_scores=True``.

    Examples:
        >>> layer = SelfAttention(key_dim=8)
        >>> out, w = layer(keras.ops.ones((2, 5, 16)), use_causal_mask=True,
        ...                return_attention_scores=True)
        >>> tuple(out.shape), tuple(w.shape)
        ((2, 5, 8), (2, 5, 5))

    Reference:
        MIT 6.S191 lecture 2; Vaswani et al. 2017. The built-in twin is
        ``keras.layers.MultiHeadAttention(num_heads=1)`` (which adds an output
        projection).
    """

    def __init__(
        self,
        key_dim,
        value_dim=None,
        use_bias=False,
        dropout=0.0,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.key_dim = _checks.positive_int("SelfAttention", "key_dim", key_dim)
        self.value_dim = (
            self.key_dim if value_dim is None else _checks.positive_int("SelfAttention", "value_dim", value_dim)
        )
        self.use_bias = bool(use_bias)
        self.dropout = _checks.probability("SelfAttention", "dropout", dropout)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed) if self.dropout else None
        self.supports_masking = True
        self.input_dim = None

    def build(self, input_shape):
        _checks.input_rank(self.name, input_shape, 3, what="input (batch, time, features)")
        self.input_dim = _checks.known_last_dim(self.name, input_shape)
        self.query_kernel, self.query_bias = add_projection(self, "query", self.key_dim)
        self.key_kernel, self.key_bias = add_projection(self, "key", self.key_dim)
        self.value_kernel, self.value_bias = add_projection(self, "value", self.value_dim)

    def call(
        self,
        inputs,
        mask=None,
        attention_mask=None,
        use_causal_mask=False,
        return_attention_scores=False,
        training=None,
    ):
        _checks.input_rank(self.name, inputs.shape, 3, what="input (batch, time, features)")
        _checks.last_dim(self.name, inputs.shape, self.input_dim)
        full_mask = combine_masks(self.name, inputs, mask, attention_mask, use_causal_mask)
        q = project(inputs, self.query_kernel, self.query_bias)
        k = project(inputs, self.key_kernel, self.key_bias)
        v = project(inputs, self.value_kernel, self.value_bias)
        weights = attention_weights(q, k, full_mask)
        outputs = mix_values(weights, v, self.dropout, self.seed_generator, training)
        if return_attention_scores:
            return outputs, weights
        return outputs

    def compute_mask(self, inputs, mask=None):
        return mask

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.value_dim,)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "key_dim": self.key_dim,
                "value_dim": self.value_dim,
                "use_bias": self.use_bias,
                "dropout": self.dropout,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
                "bias_initializer": keras.initializers.serialize(self.bias_initializer),
                "seed": self.seed,
            }
        )
        return config
