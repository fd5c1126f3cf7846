"""`MyDenseLayer`: the perceptron layer of lecture 1."""

import keras
from keras import ops

from mit_dl.layers import _checks


@keras.saving.register_keras_serializable(package="mit_dl")
class MyDenseLayer(keras.layers.Layer):
    """A fully connected layer, the lecture's multi-output perceptron.

    Lecture 1 ("Intro to Deep Learning"), the dense layer from scratch:

        y = g(x W + b)

    where ``x`` is the input row vector, ``W`` the ``(input_dim, units)``
    weight matrix, ``b`` the bias and ``g`` a non-linearity. The slide uses the
    sigmoid, so that is the default here; any Keras activation can be passed.
    Inputs of rank > 2 are transformed along their last axis, like
    ``keras.layers.Dense``.

    Args:
        units: positive int, the number of outputs (the slide's ``output_dim``).
        activation: the non-linearity ``g`` (name, callable or ``None`` for
            the identity). Default ``"sigmoid"`` as on the slide.
        use_bias: whether to add ``b``. Default ``True``.
        kernel_initializer: initializer for ``W``. Default ``"glorot_uniform"``
            (the slide draws from a normal distribution; Glorot keeps the
            activations' scale independent of the layer width).
        bias_initializer: initializer for ``b``. Default ``"zeros"``.
        **kwargs: base `keras.layers.Layer` arguments (``name``, ``dtype``...).

    Call arguments:
        inputs: tensor of shape ``(..., input_dim)``, rank >= 2.

    Returns:
        Tensor of shape ``(..., units)``.

    Examples:
        >>> layer = MyDenseLayer(3)
        >>> y = layer(keras.ops.ones((2, 4)))
        >>> tuple(y.shape)
        (2, 3)

    Reference:
        MIT 6.S191 lecture 1, "Dense layer from scratch";
        ``keras.layers.Dense`` is the built-in equivalent.
    """

    def __init__(
        self,
        units,
        activation="sigmoid",
        use_bias=True,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.units = _checks.positive_int("MyDenseLayer", "units", units)
        self.activation = keras.activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.input_dim = None

    def build(self, input_shape):
        _checks.input_rank(self.name, input_shape, range(2, 9))
        self.input_dim = _checks.known_last_dim(self.name, input_shape)
        self.kernel = self.add_weight(
            shape=(self.input_dim, self.units),
            initializer=self.kernel_initializer,
            name="kernel",
        )
        self.bias = (
            self.add_weight(shape=(self.units,), initializer=self.bias_initializer, name="bias")
            if self.use_bias
            else None
        )

    def call(self, inputs):
        _checks.input_rank(self.name, inputs.shape, range(2, 9))
        _checks.last_dim(self.name, inputs.shape, self.input_dim)
        z = ops.matmul(inputs, self.kernel)
        if self.bias is not None:
            z = ops.add(z, self.bias)
        return self.activation(z) if self.activation is not None else z

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "units": self.units,
                "activation": keras.activations.serialize(self.activation),
                "use_bias": self.use_bias,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
                "bias_initializer": keras.initializers.serialize(self.bias_initializer),
            }
        )
        return config
