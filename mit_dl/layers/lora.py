"""`LoRADense`: a frozen dense layer plus a trainable low-rank update (LoRA), and the update's formula."""

import keras
from keras import ops

from mit_dl.layers import _checks


def lora_scale(rank, alpha=None):
    """The factor ``alpha / r`` that multiplies the low-rank update (``alpha`` defaults to ``r``: factor 1).

    Args:
        rank: the update's rank ``r``.
        alpha: LoRA's ``alpha``, or None for ``r``.

    Returns:
        A float.
    """
    return float(rank if alpha is None else alpha) / float(rank)


def lora_delta(lora_a, lora_b, scale):
    """The low-rank update of a kernel: ``scale * A @ B`` (shape of the kernel, ``[in, out]``).

    Args:
        lora_a: ``[in, r]``.
        lora_b: ``[r, out]``.
        scale: ``alpha / r`` (`lora_scale`).

    Returns:
        ``[in, out]``.
    """
    return ops.multiply(ops.matmul(lora_a, lora_b), scale)


@keras.saving.register_keras_serializable(package="mit_dl")
class LoRADense(keras.layers.Layer):
    """A dense layer whose kernel is frozen and adapted by a trainable low-rank product (LoRA).

    Hu et al. 2021 (lecture "Large Language Models": parameter-efficient
    fine-tuning). A pretrained kernel ``W`` (``d_in x d_out``) stays fixed and
    the layer learns a rank-``r`` correction:

        y = x W + b + (alpha / r) * (x A) B,     A: d_in x r,  B: r x d_out

    ``A`` starts random (He-uniform, as Keras draws it) and ``B`` at zeros, so
    at the first step the layer is exactly the pretrained one and only
    ``r (d_in + d_out)`` numbers train instead of ``d_in d_out``. Computing
    ``(x A) B`` costs ``r (d_in + d_out)`` per row instead of forming the
    ``d_in x d_out`` update. `merge` folds the update into ``W`` for serving
    (one matrix product, no extra cost); `unmerge` takes it back out.

    The paper writes the update ``B A`` with ``W`` acting on column vectors;
    Keras kernels act on rows (``x W``), so here ``A`` comes first. With
    ``alpha = r`` (the default) the factor is 1; Keras' ``enable_lora`` uses
    the same convention.

    Args:
        units: positive int, the output width.
        rank: positive int ``r``, the rank of the update.
        alpha: LoRA's ``alpha`` (default ``r``).
        activation: applied after the sum (default none).
        use_bias: add a (frozen) bias.
        a_initializer: initializer of ``A`` (default ``"he_uniform"``).
        **kwargs: base `keras.layers.Layer` arguments.

    Call arguments:
        inputs: ``(..., d_in)``.

    Returns:
        ``(..., units)``.

    Examples:
        >>> layer = LoRADense(4, rank=2)
        >>> y = layer(keras.ops.ones((3, 8)))
        >>> [w.name for w in layer.trainable_weights]
        ['lora_a', 'lora_b']
        >>> layer.count_params(), layer.lora_parameter_count()
        (60, 24)

    Reference:
        Hu et al., "LoRA: Low-Rank Adaptation of Large Language Models", ICLR 2022.
        The built-in twin is ``keras.layers.Dense(units)`` with ``layer.enable_lora(rank, lora_alpha)``
        (same ``A``, ``B`` and factor; `from_dense` copies a Dense's kernel).
    """

    def __init__(self, units, rank, alpha=None, activation=None, use_bias=True, a_initializer="he_uniform", **kwargs):
        super().__init__(**kwargs)
        self.units = _checks.positive_int("LoRADense", "units", units)
        self.rank = check_rank(rank)
        self.alpha = float(self.rank if alpha is None else alpha)
        self.activation = keras.activations.get(activation)
        self.use_bias = bool(use_bias)
        self.a_initializer = keras.initializers.get(a_initializer)
        self.merged = False

    def build(self, input_shape):
        depth = _checks.known_last_dim(self.name, input_shape)
        self.kernel = self.add_weight(shape=(depth, self.units), name="kernel", trainable=False)
        self.bias = (
            self.add_weight(shape=(self.units,), initializer="zeros", name="bias", trainable=False)
            if self.use_bias
            else None
        )
        self.lora_a = self.add_weight(shape=(depth, self.rank), initializer=self.a_initializer, name="lora_a")
        self.lora_b = self.add_weight(shape=(self.rank, self.units), initializer="zeros", name="lora_b")

    @property
    def scale(self):
        """``alpha / r``."""
        return self.alpha / self.rank

    def call(self, inputs):
        y = ops.matmul(inputs, self.kernel)
        if not self.merged:
            y = y + ops.matmul(ops.matmul(inputs, self.lora_a), self.lora_b) * self.scale
        if self.bias is not None:
            y = y + self.bias
        return self.activation(y)

    def merge(self):
        """Fold the update into the kernel: ``W <- W + (alpha / r) A B``; the output is unchanged.

        Returns:
            None.
        """
        if not self.merged:
            self.kernel.assign(self.kernel + lora_delta(self.lora_a, self.lora_b, self.scale))
            self.merged = True

    def unmerge(self):
        """Take the update back out of the kernel (the inverse of `merge`, up to rounding).

        Returns:
            None.
        """
        if self.merged:
            self.kernel.assign(self.kernel - lora_delta(self.lora_a, self.lora_b, self.scale))
            self.merged = False

    def lora_parameter_count(self):
        """The numbers LoRA trains: ``r (d_in + d_out)``.

        Returns:
            An int.
        """
        return int(self.lora_a.shape[0] * self.rank + self.rank * self.units)

    @classmethod
    def from_dense(cls, dense, rank, alpha=None):
        """A `LoRADense` around a built ``keras.layers.Dense`` (its kernel and bias copied, then frozen).

        Args:
            dense: a built ``keras.layers.Dense`` (LoRA not enabled).
            rank: the update's rank.
            alpha: LoRA's ``alpha`` (default ``rank``).

        Returns:
            The built `LoRADense`, equal to ``dense`` until it trains.
        """
        layer = cls(dense.units, rank, alpha, activation=dense.activation, use_bias=dense.use_bias)
        layer.build((None, dense.kernel.shape[0]))
        layer.kernel.assign(dense.kernel)
        if dense.use_bias:
            layer.bias.assign(dense.bias)
        return layer

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "units": self.units,
                "rank": self.rank,
                "alpha": self.alpha,
                "activation": keras.activations.serialize(self.activation),
                "use_bias": self.use_bias,
                "a_initializer": keras.initializers.serialize(self.a_initializer),
            }
        )
        return config


def check_rank(rank):
    """``rank`` when it is a positive int, else one sentence saying what to give.

    Args:
        rank: the rank asked for.

    Returns:
        ``rank``.
    """
    if isinstance(rank, bool) or not isinstance(rank, int) or rank <= 0:
        raise ValueError(f"LoRA's rank must be a positive integer, received {rank!r}; try 8.")
    return rank
