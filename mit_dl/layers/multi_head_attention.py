"""`MultiHeadSelfAttention`: h attention heads, concatenated and projected."""

import keras
from keras import ops

from mit_dl.layers import _checks
from mit_dl.layers.attention import (
    add_projection,
    attention_weights,
    combine_masks,
    mix_values,
    project,
)
from mit_dl.layers.lora import check_rank, lora_delta, lora_scale

PROJECTIONS = ("query", "key", "value", "output")


@keras.saving.register_keras_serializable(package="mit_dl")
class MultiHeadSelfAttention(keras.layers.Layer):
    """Multi-head self-attention: several heads side by side, then ``W^O``.

    Lecture 2 (self-attention, "multiple heads attend to different
    features"); Vaswani et al. 2017, section 3.2.2:

        head_i = softmax(X W_Q^i (X W_K^i)^T / sqrt(d_k)) X W_V^i
        MultiHead(X) = Concat(head_1, ..., head_h) W^O

    with ``d_k = d_model / h``. All heads are computed at once: one matrix
    ``W_Q = [W_Q^1 ... W_Q^h]`` of shape ``(input_dim, d_model)`` whose
    output is split into ``h`` slices of ``d_k`` (likewise ``W_K``, ``W_V``),
    and ``W^O`` has shape ``(d_model, d_model)``.

    Args:
        d_model: positive int, total size of the heads and of the output.
        num_heads: positive int ``h``; must divide ``d_model``.
        use_bias: add biases to the projections (default ``True``, as
            ``keras.layers.MultiHeadAttention``).
        dropout: dropout rate on the attention weights during training.
        kernel_initializer: initializer of the projection matrices.
        bias_initializer: initializer of the biases.
        seed: optional int seed for dropout.
        **kwargs: base `keras.layers.Layer` arguments.

    Call arguments:
        inputs: ``(batch, time, features)``.
        mask: optional padding mask ``(batch, time)``, True for real tokens.
        attention_mask: optional boolean ``(batch, time, time)``.
        use_causal_mask: restrict position ``i`` to keys ``j <= i``.
        return_attention_scores: also return ``(batch, heads, time, time)``.
        training: enables dropout.

    Returns:
        ``(batch, time, d_model)`` (and the attention weights if asked).

    Examples:
        >>> mha = MultiHeadSelfAttention(d_model=16, num_heads=4)
        >>> tuple(mha(keras.ops.ones((2, 5, 16))).shape)
        (2, 5, 16)

    Reference:
        Vaswani et al., "Attention Is All You Need", NeurIPS 2017; the
        built-in twin is ``keras.layers.MultiHeadAttention(num_heads=h,
        key_dim=d_model // h)`` called as ``mha(x, x)``.
    """

    def __init__(
        self,
        d_model,
        num_heads,
        use_bias=True,
        dropout=0.0,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        name = "MultiHeadSelfAttention"
        self.d_model = _checks.positive_int(name, "d_model", d_model)
        self.num_heads = _checks.positive_int(name, "num_heads", num_heads)
        if self.d_model % self.num_heads:
            raise ValueError(
                f"{name}: `d_model` ({self.d_model}) must be divisible by "
                f"`num_heads` ({self.num_heads}); choose d_model = num_heads * head size."
            )
        self.head_dim = self.d_model // self.num_heads
        self.use_bias = bool(use_bias)
        self.dropout = _checks.probability(name, "dropout", dropout)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed) if self.dropout else None
        self.supports_masking = True
        self.input_dim = None

    def build(self, input_shape):
        _checks.input_rank(self.name, input_shape, 3, what="input (batch, time, features)")
        self.input_dim = _checks.known_last_dim(self.name, input_shape)
        self.lora = {}  # projection -> (A, B) once `enable_lora` has run
        self.query_kernel, self.query_bias = add_projection(self, "query", self.d_model)
        self.key_kernel, self.key_bias = add_projection(self, "key", self.d_model)
        self.value_kernel, self.value_bias = add_projection(self, "value", self.d_model)
        self.output_kernel, self.output_bias = add_projection(self, "output", self.d_model, input_dim=self.d_model)

    def _split_heads(self, x):
        # (B, T, d_model) -> (B, h, T, d_k)
        batch, time = ops.shape(x)[0], ops.shape(x)[1]
        x = ops.reshape(x, (batch, time, self.num_heads, self.head_dim))
        return ops.transpose(x, (0, 2, 1, 3))

    def call(
        self,
        inputs,
        mask=None,
        attention_mask=None,
        use_causal_mask=False,
        return_attention_scores=False,
        training=None,
    ):
        outputs, weights, _ = self._attend(inputs, mask, attention_mask, use_causal_mask, training)
        if return_attention_scores:
            return outputs, weights
        return outputs

    def _attend(self, inputs, mask=None, attention_mask=None, use_causal_mask=False, training=None):
        """``(outputs, weights, (keys, values))``: the layer's output and the per-head keys and values."""
        _checks.input_rank(self.name, inputs.shape, 3, what="input (batch, time, features)")
        _checks.last_dim(self.name, inputs.shape, self.input_dim)
        full_mask = combine_masks(self.name, inputs, mask, attention_mask, use_causal_mask)
        if full_mask is not None:
            full_mask = ops.expand_dims(full_mask, 1)  # the same mask for every head
        q, k, v = self._queries_keys_values(inputs)
        weights = attention_weights(q, k, full_mask)
        heads = mix_values(weights, v, self.dropout, self.seed_generator, training)
        return self._merge_heads(heads), weights, (k, v)

    def _weight(self, variable):
        # `prefill` / `decode_step` run outside `__call__`, where Keras' mixed-precision autocast
        # does not apply: cast the float32 variables to the compute dtype here (a no-op otherwise).
        return None if variable is None else ops.cast(variable, self.compute_dtype)

    def _kernel(self, name):
        """The projection's kernel, with its LoRA update when `enable_lora` adapted it."""
        kernel = getattr(self, f"{name}_kernel")
        if name in self.lora:
            kernel = kernel + lora_delta(*self.lora[name], self.lora_scale)
        return self._weight(kernel)

    def _queries_keys_values(self, inputs):
        inputs = ops.cast(inputs, self.compute_dtype)
        return tuple(
            self._split_heads(project(inputs, self._kernel(name), self._weight(getattr(self, f"{name}_bias"))))
            for name in ("query", "key", "value")
        )

    def _merge_heads(self, heads):
        """Concat(head_1..head_h): ``(B, h, T, d_k)`` -> ``(B, T, d_model)``, then ``W^O``."""
        heads = ops.transpose(heads, (0, 2, 1, 3))
        batch, time = ops.shape(heads)[0], ops.shape(heads)[1]
        concat = ops.reshape(heads, (batch, time, self.d_model))
        return project(concat, self._kernel("output"), self._weight(self.output_bias))

    def enable_lora(self, rank, alpha=None, projections=PROJECTIONS):
        """Adapt projections with LoRA: ``W_P + (alpha / r) A_P B_P``, ``B_P`` zeros (the layer is unchanged).

        The same update as `mit_dl.layers.LoRADense`, added to this layer's
        own kernels (its twin: ``keras.layers.Dense.enable_lora``). The
        layer's own weights stop training; only the ``A`` and ``B`` matrices train.

        Args:
            rank: positive int ``r``.
            alpha: LoRA's ``alpha`` (default ``r``).
            projections: which of ``"query"``, ``"key"``, ``"value"``, ``"output"`` to adapt.

        Returns:
            None.
        """
        if not self.built:
            raise ValueError(f"{self.name}: build the layer (call it once) before enable_lora.")
        if self.lora:
            raise ValueError(f"{self.name}: LoRA is already enabled on this layer.")
        unknown = sorted(set(projections) - set(PROJECTIONS))
        if unknown or not projections:
            raise ValueError(f"{self.name}: LoRA adapts some of {PROJECTIONS}, received {tuple(projections)}.")
        rank = check_rank(rank)
        self.lora_rank, self.lora_scale = rank, lora_scale(rank, alpha)
        self._tracker.unlock()
        for weight in self.weights:
            weight.trainable = False
        for name in projections:
            kernel = getattr(self, f"{name}_kernel")
            a = self.add_weight(shape=(kernel.shape[0], rank), initializer="he_uniform", name=f"{name}_lora_a")
            b = self.add_weight(shape=(rank, kernel.shape[1]), initializer="zeros", name=f"{name}_lora_b")
            self.lora[name] = (a, b)
        self._tracker.lock()

    def merge_lora(self):
        """Fold each LoRA update into its kernel and zero ``B`` (the output is unchanged).

        Returns:
            None.
        """
        for name, (a, b) in self.lora.items():
            kernel = getattr(self, f"{name}_kernel")
            kernel.assign(kernel + lora_delta(a, b, self.lora_scale))
            b.assign(ops.zeros_like(b))

    def prefill(self, inputs):
        """Causal self-attention over a whole prefix, returning its keys and values for a cache.

        The first half of cached decoding: run the prefix once, keep every
        position's keys and values, then add one position at a time with
        `decode_step`.

        Args:
            inputs: ``(batch, time, features)``.

        Returns:
            ``(outputs, keys, values)``: ``(batch, time, d_model)`` (what
            ``call(inputs, use_causal_mask=True)`` returns) and the keys and
            values ``(batch, heads, time, d_k)``.
        """
        outputs, _, (keys, values) = self._attend(inputs, use_causal_mask=True)
        return outputs, keys, values

    def decode_step(self, inputs, key_cache, value_cache, position):
        """Causal self-attention for one new position, reading earlier positions from a cache.

        The new position's key and value are written into the caches at
        ``position``; its query attends to cache slots ``0..position``, so the
        step costs one position's projections and one row of scores instead of
        the whole prefix. The result equals row ``position`` of
        ``call(prefix, use_causal_mask=True)`` up to rounding.

        Args:
            inputs: the new position's features ``(batch, 1, features)``.
            key_cache: ``(batch, heads, capacity, d_k)``; slots ``< position`` hold the prefix's keys.
            value_cache: ``(batch, heads, capacity, d_k)``, likewise.
            position: int32 scalar tensor, the new position's index (``< capacity``).

        Returns:
            ``(outputs, key_cache, value_cache)``: ``(batch, 1, d_model)`` and the updated caches.
        """
        q, k, v = self._queries_keys_values(inputs)
        slots = ops.arange(ops.shape(key_cache)[2])
        here = ops.reshape(ops.equal(slots, position), (1, 1, -1, 1))
        key_cache = ops.where(here, ops.cast(k, key_cache.dtype), key_cache)
        value_cache = ops.where(here, ops.cast(v, value_cache.dtype), value_cache)
        visible = ops.reshape(slots <= position, (1, 1, 1, -1))
        weights = attention_weights(q, key_cache, visible)
        return self._merge_heads(ops.matmul(weights, value_cache)), key_cache, value_cache

    def compute_mask(self, inputs, mask=None):
        return mask

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.d_model,)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "d_model": self.d_model,
                "num_heads": self.num_heads,
                "use_bias": self.use_bias,
                "dropout": self.dropout,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
                "bias_initializer": keras.initializers.serialize(self.bias_initializer),
                "seed": self.seed,
            }
        )
        return config
