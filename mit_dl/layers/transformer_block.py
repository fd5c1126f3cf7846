"""`TransformerBlock`: the decoder block of lecture 2's transformer, pre-norm, with a key/value cache."""

import keras

from mit_dl.layers import _checks
from mit_dl.layers.dense import MyDenseLayer
from mit_dl.layers.multi_head_attention import MultiHeadSelfAttention


@keras.saving.register_keras_serializable(package="mit_dl")
def gelu_tanh(x):
    """GPT-2's GELU: ``0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3)))`` (Hendrycks and Gimpel 2016).

    Args:
        x: a tensor.

    Returns:
        The tanh approximation of ``x Phi(x)``, elementwise.
    """
    return keras.activations.gelu(x, approximate=True)


@keras.saving.register_keras_serializable(package="mit_dl")
class TransformerBlock(keras.layers.Layer):
    """One decoder block: causal multi-head self-attention and a feed-forward layer, each with a residual.

    Lecture 2 (self-attention as the building block of the transformer);
    Vaswani et al. 2017, section 3.1, in the pre-norm arrangement GPT-2 and
    most decoders since use (Xiong et al. 2020):

        h = x + Dropout(MultiHead(LayerNorm_1(x)))           causal: position t sees 0..t
        y = h + Dropout(W_2 g(W_1 LayerNorm_2(h) + b_1) + b_2)

    with ``g`` the GELU: exact, ``x Phi(x)``, by default; GPT-2's tanh
    approximation ``0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3)))`` with
    ``approximate_gelu=True`` (to run GPT-2's weights unchanged). The
    lecture's figure (and the 2017 paper) puts the layer norms after each
    residual sum ("post-norm"); pre-norm keeps an identity path from the
    input to the output, so deep stacks train without a learning-rate
    warm-up this careful. The attention is the lecture layer
    `MultiHeadSelfAttention`; both feed-forward layers are `MyDenseLayer`.

    For generation, `prefill` runs a prefix and returns its keys and values,
    and `decode_step` adds one position reading the rest from the cache: each
    new character costs one position instead of the whole prefix.

    Args:
        d_model: positive int, the width of the block's input and output.
        num_heads: positive int; must divide ``d_model``.
        ff_dim: width of the feed-forward layer (default ``4 * d_model``, as in the paper).
        dropout: rate of the dropout on both residual branches.
        attention_dropout: rate of the dropout on the attention weights (default 0: on a CPU it
            costs a third of a training step at context 512, for little regularisation).
        causal: mask future positions (default ``True``: a decoder).
        epsilon: the layer norms' epsilon.
        approximate_gelu: use GPT-2's tanh approximation of the GELU (default ``False``: the exact one).
        seed: optional int seed for dropout.
        **kwargs: base `keras.layers.Layer` arguments.

    Call arguments:
        inputs: ``(batch, time, d_model)``.
        training: enables dropout.

    Returns:
        ``(batch, time, d_model)``.

    Examples:
        >>> block = TransformerBlock(d_model=16, num_heads=4)
        >>> tuple(block(keras.ops.ones((2, 5, 16))).shape)
        (2, 5, 16)

    Reference:
        Vaswani et al., "Attention Is All You Need", NeurIPS 2017; Radford et
        al., "Language Models are Unsupervised Multitask Learners" (GPT-2),
        2019. The built-in twin is assembled from ``keras.layers.LayerNormalization``,
        ``keras.layers.MultiHeadAttention(num_heads, d_model // num_heads)``
        called with ``use_causal_mask=True`` and two ``keras.layers.Dense``.
    """

    def __init__(
        self,
        d_model,
        num_heads,
        ff_dim=None,
        dropout=0.0,
        attention_dropout=0.0,
        causal=True,
        epsilon=1e-5,
        seed=None,
        approximate_gelu=False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        name = "TransformerBlock"
        self.d_model = _checks.positive_int(name, "d_model", d_model)
        self.num_heads = _checks.positive_int(name, "num_heads", num_heads)
        if self.d_model % self.num_heads:
            raise ValueError(
                f"{name}: `d_model` ({self.d_model}) must be divisible by `num_heads` ({self.num_heads}); "
                "choose d_model = num_heads * head size."
            )
        self.ff_dim = _checks.positive_int(name, "ff_dim", 4 * self.d_model if ff_dim is None else ff_dim)
        self.dropout = _checks.probability(name, "dropout", dropout)
        self.attention_dropout = _checks.probability(name, "attention_dropout", attention_dropout)
        self.causal = bool(causal)
        self.epsilon = float(epsilon)
        self.seed = seed
        self.approximate_gelu = bool(approximate_gelu)
        sub = {"dtype": self.dtype_policy}
        self.attention_norm = keras.layers.LayerNormalization(epsilon=self.epsilon, name="attention_norm", **sub)
        self.attention = MultiHeadSelfAttention(
            self.d_model, self.num_heads, dropout=self.attention_dropout, seed=seed, name="attention", **sub
        )
        self.feed_forward_norm = keras.layers.LayerNormalization(epsilon=self.epsilon, name="feed_forward_norm", **sub)
        self.feed_forward_in = MyDenseLayer(
            self.ff_dim, activation=gelu_tanh if self.approximate_gelu else "gelu", name="feed_forward_in", **sub
        )
        self.feed_forward_out = MyDenseLayer(self.d_model, activation=None, name="feed_forward_out", **sub)
        self.residual_dropout = keras.layers.Dropout(self.dropout, seed=seed, name="residual_dropout", **sub)
        self.supports_masking = True

    def build(self, input_shape):
        _checks.input_rank(self.name, input_shape, 3, what="input (batch, time, d_model)")
        _checks.last_dim(self.name, input_shape, self.d_model)
        self.attention_norm.build(input_shape)
        self.attention.build(input_shape)
        self.feed_forward_norm.build(input_shape)
        self.feed_forward_in.build(input_shape)
        self.feed_forward_out.build((*input_shape[:-1], self.ff_dim))

    def _feed_forward(self, h, training=None):
        y = self.feed_forward_out(self.feed_forward_in(self.feed_forward_norm(h)))
        return h + self.residual_dropout(y, training=training)

    def call(self, inputs, mask=None, training=None):
        _checks.input_rank(self.name, inputs.shape, 3, what="input (batch, time, d_model)")
        _checks.last_dim(self.name, inputs.shape, self.d_model)
        attended = self.attention(
            self.attention_norm(inputs), mask=mask, use_causal_mask=self.causal, training=training
        )
        return self._feed_forward(inputs + self.residual_dropout(attended, training=training), training)

    def prefill(self, inputs):
        """The block over a whole prefix (inference), with every position's keys and values.

        Args:
            inputs: ``(batch, time, d_model)``.

        Returns:
            ``(outputs, keys, values)``: ``call(inputs)``'s result and the
            attention's keys and values ``(batch, heads, time, d_model // heads)``.
        """
        attended, keys, values = self.attention.prefill(self.attention_norm(inputs))
        return self._feed_forward(inputs + attended), keys, values

    def decode_step(self, inputs, key_cache, value_cache, position):
        """The block for one new position (inference), reading earlier positions from the caches.

        Args:
            inputs: ``(batch, 1, d_model)``, the new position's input.
            key_cache: ``(batch, heads, capacity, d_model // heads)``, the keys of positions ``< position``.
            value_cache: likewise for the values.
            position: int32 scalar tensor, the new position's index.

        Returns:
            ``(outputs, key_cache, value_cache)``: ``(batch, 1, d_model)``, equal
            up to rounding to row ``position`` of `call` on the whole prefix,
            and the caches with this position written in.
        """
        attended, key_cache, value_cache = self.attention.decode_step(
            self.attention_norm(inputs), key_cache, value_cache, position
        )
        return self._feed_forward(inputs + attended), key_cache, value_cache

    def compute_mask(self, inputs, mask=None):
        return mask

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "d_model": self.d_model,
                "num_heads": self.num_heads,
                "ff_dim": self.ff_dim,
                "dropout": self.dropout,
                "attention_dropout": self.attention_dropout,
                "causal": self.causal,
                "epsilon": self.epsilon,
                "seed": self.seed,
                "approximate_gelu": self.approximate_gelu,
            }
        )
        return config
