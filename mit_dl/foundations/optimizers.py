"""The lecture's optimizers written from their update equations, as Keras optimizers.

Each class is a ``keras.optimizers.Optimizer``: Keras calls ``update_step(g, w, lr)`` once per
variable per step (inside ``tf.function``, under a ``tf.distribute`` strategy, with loss scaling
under ``mixed_float16``), and ``get_config`` makes it serialise with a model. ``g`` is ``dL/dw``
of the current batch; ``t`` counts steps from 1.

- `GradientDescent`: ``w <- w - lr g``; with momentum ``mu`` a velocity
  ``v <- mu v - lr g``, ``w <- w + v``; Nesterov looks ahead: ``w <- w + mu v - lr g``.
- `AdaGrad`: ``a <- a + g^2``, ``w <- w - lr g / sqrt(a + eps)``: each weight's step shrinks with
  the gradients it has seen.
- `RMSProp`: ``s <- rho s + (1 - rho) g^2``, ``w <- w - lr g / sqrt(s + eps)``: AdaGrad with a
  forgetting average.
- `Adam`: ``m <- b1 m + (1 - b1) g``, ``v <- b2 v + (1 - b2) g^2``, bias-corrected
  ``m^ = m / (1 - b1^t)``, ``v^ = v / (1 - b2^t)``, ``w <- w - lr m^ / (sqrt(v^) + eps^)``.
  Without the correction the first steps are tiny (m and v start at 0).
- `AdamW`: Adam plus decoupled weight decay ``w <- w - lr lambda w`` applied to the weight, not
  added to the gradient (an L2 term in the gradient would be divided by ``sqrt(v^)`` and decay
  weights with large gradients less; Loshchilov & Hutter, 2019).

Each one equals its Keras twin step by step (tests: 100 steps, rtol 1e-6 in float32); the
constants follow the twins' conventions where the textbooks differ (Keras puts AdaGrad's and
RMSProp's epsilon inside the square root, and starts AdaGrad's accumulator at 0.1).

Examples:
    >>> import keras
    >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    >>> model.compile(optimizer=Adam(learning_rate=1e-3), loss="mse")
    >>> type(model.optimizer).__name__
    'Adam'
"""

import keras
from keras import ops

from mit_dl.errors import ConfigError


def _check_rate(name, value, upper=None):
    """Refuse a hyper-parameter outside ``[0, upper)`` (a learning rate: ``> 0``) in one sentence."""
    if isinstance(value, (int, float)):
        if name == "learning_rate" and not value > 0:
            raise ConfigError(name, f"must be a positive number, received {value!r}")
        if name != "learning_rate" and not (0 <= value < (upper if upper is not None else float("inf"))):
            bound = f"in [0, {upper:g})" if upper is not None else "at least 0"
            raise ConfigError(name, f"must be {bound}, received {value!r}")


@keras.saving.register_keras_serializable(package="mit_dl")
class GradientDescent(keras.optimizers.Optimizer):
    """Stochastic gradient descent, with (Nesterov) momentum: the lecture's ``w <- w - lr dL/dw``.

    Args:
        learning_rate: ``lr`` (a float or a Keras schedule).
        momentum: ``mu`` in [0, 1); 0 is plain gradient descent.
        nesterov: evaluate the step at the look-ahead point.
        name: the optimizer's name.
        **kwargs: what every Keras optimizer takes (``clipnorm``, ``loss_scale_factor``, ...).
    """

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, name="gradient_descent", **kwargs):
        _check_rate("learning_rate", learning_rate)
        _check_rate("momentum", momentum, upper=1.0)
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.momentum = float(momentum)
        self.nesterov = bool(nesterov)

    def build(self, variables):
        """Create a velocity per variable (when there is momentum).

        Args:
            variables: the model's trainable variables.
        """
        if self.built:
            return
        super().build(variables)
        self._velocities = self.add_optimizer_variables(variables, "velocity") if self.momentum else []

    def update_step(self, gradient, variable, learning_rate):
        """One step of one variable.

        Args:
            gradient: ``dL/dw``.
            variable: ``w``.
            learning_rate: ``lr`` at this step.
        """
        lr = ops.cast(learning_rate, variable.dtype)
        g = ops.cast(gradient, variable.dtype)
        if not self.momentum:
            self.assign_sub(variable, lr * g)
            return
        v = self._velocities[self._get_variable_index(variable)]
        self.assign(v, self.momentum * v - lr * g)
        self.assign_add(variable, self.momentum * v - lr * g if self.nesterov else v)

    def get_config(self):
        """The settings that rebuild it (with the model)."""
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}


@keras.saving.register_keras_serializable(package="mit_dl")
class AdaGrad(keras.optimizers.Optimizer):
    """Per-weight steps scaled by the root of the summed squared gradients.

    Args:
        learning_rate: ``lr``.
        initial_accumulator_value: the accumulator's start (Keras' 0.1).
        epsilon: added inside the square root.
        name: the optimizer's name.
        **kwargs: what every Keras optimizer takes.
    """

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7, name="adagrad", **kwargs):
        _check_rate("learning_rate", learning_rate)
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.initial_accumulator_value = float(initial_accumulator_value)
        self.epsilon = float(epsilon)

    def build(self, variables):
        """Create the accumulators.

        Args:
            variables: the model's trainable variables.
        """
        if self.built:
            return
        super().build(variables)
        start = keras.initializers.Constant(self.initial_accumulator_value)
        self._accumulators = self.add_optimizer_variables(variables, "accumulator", initializer=start)

    def update_step(self, gradient, variable, learning_rate):
        """One step of one variable.

        Args:
            gradient: ``dL/dw``.
            variable: ``w``.
            learning_rate: ``lr`` at this step.
        """
        lr = ops.cast(learning_rate, variable.dtype)
        g = ops.cast(gradient, variable.dtype)
        a = self._accumulators[self._get_variable_index(variable)]
        self.assign_add(a, g * g)
        self.assign_sub(variable, lr * g / ops.sqrt(a + self.epsilon))

    def get_config(self):
        """The settings that rebuild it."""
        extra = {"initial_accumulator_value": self.initial_accumulator_value, "epsilon": self.epsilon}
        return {**super().get_config(), **extra}


@keras.saving.register_keras_serializable(package="mit_dl")
class RMSProp(keras.optimizers.Optimizer):
    """Per-weight steps scaled by a running root-mean-square of the gradients.

    Args:
        learning_rate: ``lr``.
        rho: the running average's decay, in [0, 1).
        epsilon: added inside the square root.
        name: the optimizer's name.
        **kwargs: what every Keras optimizer takes.
    """

    def __init__(self, learning_rate=0.001, rho=0.9, epsilon=1e-7, name="rmsprop", **kwargs):
        _check_rate("learning_rate", learning_rate)
        _check_rate("rho", rho, upper=1.0)
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.rho = float(rho)
        self.epsilon = float(epsilon)

    def build(self, variables):
        """Create the running averages of squared gradients.

        Args:
            variables: the model's trainable variables.
        """
        if self.built:
            return
        super().build(variables)
        self._squares = self.add_optimizer_variables(variables, "mean_square")

    def update_step(self, gradient, variable, learning_rate):
        """One step of one variable.

        Args:
            gradient: ``dL/dw``.
            variable: ``w``.
            learning_rate: ``lr`` at this step.
        """
        lr = ops.cast(learning_rate, variable.dtype)
        g = ops.cast(gradient, variable.dtype)
        s = self._squares[self._get_variable_index(variable)]
        self.assign(s, self.rho * s + (1.0 - self.rho) * g * g)
        self.assign_sub(variable, lr * g / ops.sqrt(s + self.epsilon))

    def get_config(self):
        """The settings that rebuild it."""
        return {**super().get_config(), "rho": self.rho, "epsilon": self.epsilon}


@keras.saving.register_keras_serializable(package="mit_dl")
class Adam(keras.optimizers.Optimizer):
    """Momentum and RMSProp together, with the bias correction of their zero start.

    Args:
        learning_rate: ``lr``.
        beta_1: the gradient average's decay, in [0, 1).
        beta_2: the squared gradient average's decay, in [0, 1).
        epsilon: added to ``sqrt(v^)`` (as Keras adds it: scaled like the corrected step).
        name: the optimizer's name.
        **kwargs: what every Keras optimizer takes.
    """

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, name="adam", **kwargs):
        _check_rate("learning_rate", learning_rate)
        _check_rate("beta_1", beta_1, upper=1.0)
        _check_rate("beta_2", beta_2, upper=1.0)
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.beta_1, self.beta_2, self.epsilon = float(beta_1), float(beta_2), float(epsilon)

    def build(self, variables):
        """Create the first and second moment estimates.

        Args:
            variables: the model's trainable variables.
        """
        if self.built:
            return
        super().build(variables)
        self._means, self._squares = self.add_optimizer_variables(variables, ["mean", "mean_square"])

    def update_step(self, gradient, variable, learning_rate):
        """One step of one variable.

        Args:
            gradient: ``dL/dw``.
            variable: ``w``.
            learning_rate: ``lr`` at this step.
        """
        lr = ops.cast(learning_rate, variable.dtype)
        g = ops.cast(gradient, variable.dtype)
        self._decay(variable, lr)
        t = ops.cast(self.iterations + 1, variable.dtype)
        index = self._get_variable_index(variable)
        m, v = self._means[index], self._squares[index]
        # m <- b1 m + (1 - b1) g, written as m + (1 - b1)(g - m): the same average, rounded as Keras rounds it.
        self.assign_add(m, (g - m) * (1.0 - self.beta_1))
        self.assign_add(v, (g * g - v) * (1.0 - self.beta_2))
        # lr * m^ / (sqrt(v^) + eps), with both corrections folded into the step size (Keras' form:
        # its epsilon sits beside sqrt(v), not sqrt(v^)).
        step = lr * ops.sqrt(1.0 - ops.power(self.beta_2, t)) / (1.0 - ops.power(self.beta_1, t))
        self.assign_sub(variable, (m * step) / (ops.sqrt(v) + self.epsilon))

    def _decay(self, variable, lr):
        """Adam has none; `AdamW` shrinks the weight here."""

    def get_config(self):
        """The settings that rebuild it."""
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon}


@keras.saving.register_keras_serializable(package="mit_dl")
class AdamW(Adam):
    """Adam with decoupled weight decay: ``w <- w - lr * decay * w`` beside the Adam step.

    Args:
        learning_rate: ``lr``.
        decay: ``lambda``, the weight decay per unit of learning rate (Keras' ``weight_decay``).
        beta_1: the gradient average's decay.
        beta_2: the squared gradient average's decay.
        epsilon: as `Adam`'s.
        name: the optimizer's name.
        **kwargs: what every Keras optimizer takes.
    """

    def __init__(
        self, learning_rate=0.001, decay=0.004, beta_1=0.9, beta_2=0.999, epsilon=1e-7, name="adamw", **kwargs
    ):
        _check_rate("decay", decay)
        super().__init__(learning_rate, beta_1, beta_2, epsilon, name=name, **kwargs)
        self.decay = float(decay)

    def _decay(self, variable, lr):
        self.assign(variable, variable - variable * self.decay * lr)

    def get_config(self):
        """The settings that rebuild it."""
        return {**super().get_config(), "decay": self.decay}
