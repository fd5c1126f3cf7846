"""`MyRNNCell`: the vanilla recurrent cell of lecture 2."""

import keras
from keras import ops

from mit_dl.layers import _checks


@keras.saving.register_keras_serializable(package="mit_dl")
class MyRNNCell(keras.layers.Layer):
    """The lecture's vanilla RNN cell, usable inside ``keras.layers.RNN``.

    Lecture 2 ("Deep Sequence Modeling"), one step of a recurrent network:

        h_t = tanh(W_hh h_{t-1} + W_xh x_t)
        y_t = W_hy h_t

    The slide writes column vectors; Keras works with row vectors, so the
    weights are stored transposed: ``input_kernel`` is ``W_xh^T`` with shape
    ``(input_dim, units)``, ``recurrent_kernel`` is ``W_hh^T`` with shape
    ``(units, units)`` and ``output_kernel`` is ``W_hy^T`` with shape
    ``(units, output_dim)``. Then ``h_t = tanh(x_t W_xh^T + h_{t-1} W_hh^T)``
    and ``y_t = h_t W_hy^T``, exactly the lecture equation.

    Two bugs of the slide code are fixed here:
      * the slide computes ``self.W_hh * self.h`` with ``*``, an element-wise
        product, where the equation needs a matrix product (``ops.matmul``);
      * the slide keeps the hidden state in ``self.h``, a Python attribute,
        which breaks under ``tf.function`` ("tensor is out of scope") and
        shares state between unrelated sequences. Here the state is passed in
        and returned, as the Keras RNN cell protocol requires, so
        ``keras.layers.RNN(MyRNNCell(...))`` loops over time and supports
        ``return_sequences``, ``return_state`` and ``initial_state``.

    Args:
        units: positive int, the size of the hidden state ``h``.
        output_dim: positive int, the size of ``y``; ``None`` (the default)
            skips ``W_hy`` and outputs ``y_t = h_t``, like
            ``keras.layers.SimpleRNNCell``.
        activation: the state non-linearity, default ``"tanh"``.
        use_bias: add a bias inside the activation (``W_hh h + W_xh x + b``).
            Default ``False``: the lecture's equation has none.
        kernel_initializer: initializer for ``W_xh`` and ``W_hy``.
        recurrent_initializer: initializer for ``W_hh``, default orthogonal
            (keeps repeated products with ``W_hh`` well conditioned).
        bias_initializer: initializer for the bias.
        **kwargs: base `keras.layers.Layer` arguments.

    Call arguments:
        inputs: ``x_t``, shape ``(batch, input_dim)``.
        states: a list holding ``h_{t-1}``, shape ``(batch, units)``.

    Returns:
        ``(y_t, [h_t])``: the output ``(batch, output_dim or units)`` and the
        new state list.

    Examples:
        >>> rnn = keras.layers.RNN(MyRNNCell(16, output_dim=4),
        ...                        return_sequences=True)
        >>> tuple(rnn(keras.ops.ones((2, 5, 3))).shape)
        (2, 5, 4)

    Reference:
        MIT 6.S191 lecture 2, "RNNs from scratch"; ``keras.layers.SimpleRNN``
        (followed by a bias-free ``Dense`` for ``W_hy``) is the built-in twin.
    """

    def __init__(
        self,
        units,
        output_dim=None,
        activation="tanh",
        use_bias=False,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        bias_initializer="zeros",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.units = _checks.positive_int("MyRNNCell", "units", units)
        self.output_dim = None if output_dim is None else _checks.positive_int("MyRNNCell", "output_dim", output_dim)
        self.activation = keras.activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.recurrent_initializer = keras.initializers.get(recurrent_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.input_dim = None

    @property
    def state_size(self):
        """Size of the hidden state ``h`` (``units``), as the Keras RNN protocol asks."""
        return self.units

    @property
    def output_size(self):
        """Size of ``y``: ``output_dim``, or ``units`` without ``W_hy``."""
        return self.output_dim or self.units

    def build(self, input_shape):
        _checks.input_rank(self.name, input_shape, 2, what="step input (batch, features)")
        self.input_dim = _checks.known_last_dim(self.name, input_shape)
        self.input_kernel = self.add_weight(
            shape=(self.input_dim, self.units),
            initializer=self.kernel_initializer,
            name="input_kernel",
        )
        self.recurrent_kernel = self.add_weight(
            shape=(self.units, self.units),
            initializer=self.recurrent_initializer,
            name="recurrent_kernel",
        )
        self.bias = (
            self.add_weight(shape=(self.units,), initializer=self.bias_initializer, name="bias")
            if self.use_bias
            else None
        )
        self.output_kernel = (
            self.add_weight(
                shape=(self.units, self.output_dim),
                initializer=self.kernel_initializer,
                name="output_kernel",
            )
            if self.output_dim
            else None
        )

    def call(self, inputs, states, training=None):
        _checks.input_rank(self.name, inputs.shape, 2, what="step input (batch, features)")
        _checks.last_dim(self.name, inputs.shape, self.input_dim)
        h_prev = states[0] if isinstance(states, (list, tuple)) else states
        z = ops.matmul(inputs, self.input_kernel) + ops.matmul(h_prev, self.recurrent_kernel)
        if self.bias is not None:
            z = z + self.bias
        h = self.activation(z)
        y = ops.matmul(h, self.output_kernel) if self.output_kernel is not None else h
        return y, [h]

    def get_initial_state(self, batch_size=None):
        return [ops.zeros((batch_size, self.units), dtype=self.compute_dtype)]

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "units": self.units,
                "output_dim": self.output_dim,
                "activation": keras.activations.serialize(self.activation),
                "use_bias": self.use_bias,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
                "recurrent_initializer": keras.initializers.serialize(self.recurrent_initializer),
                "bias_initializer": keras.initializers.serialize(self.bias_initializer),
            }
        )
        return config
