"""What every uncertainty wrapper shares: the task's loss, its losses for the engine's step, compile, input checks.

A wrapper is a `keras.Model` holding the user's model. Its ``call``
returns a dict (the prediction plus named uncertainty outputs); its
``training_losses(inputs, targets)`` returns one loss per example, which
the engine's step (`mit_dl.training.trainer.losses_step`) averages over the
global batch, adds the layers' own losses to (the KL terms of Bayes by
Backprop) and applies, with loss scaling under ``mixed_float16``. The shared
`mit_dl.training.Trainer` trains, checkpoints and resumes any wrapper.

Tasks: ``"classification"``, where the wrapped model returns class logits
and is trained by the cross-entropy, and ``"regression"``, where it
returns predictions and is trained by the squared error (the MVE wrapper
replaces it by the Gaussian negative log-likelihood).
"""

import keras
import tensorflow as tf

from mit_dl.errors import ConfigError

TASKS = ("classification", "regression")


def check_task(task):
    """Check a task name.

    Args:
        task: the name to check.

    Returns:
        ``task``.

    Raises:
        ConfigError: it is not one of `TASKS`.
    """
    if task not in TASKS:
        raise ConfigError("task", f"must be one of {', '.join(TASKS)}, received {task!r}")
    return task


def check_count(name, value):
    """Check a count (passes, members, bins).

    Args:
        name: the parameter's name, for the message.
        value: the count to check.

    Returns:
        ``value``.

    Raises:
        ConfigError: it is not an integer of at least 1.
    """
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(name, f"must be an integer of at least 1, received {value!r}")
    return value


def task_loss(task, targets, outputs):
    """One loss per example: the cross-entropy of logits, or the mean squared error over the outputs.

    Args:
        task: ``"classification"`` (integer class targets ``[N]``, logits ``[N, C]``) or ``"regression"``.
        targets: the batch's targets.
        outputs: the wrapped model's outputs.

    Returns:
        ``[N]`` float32 losses.
    """
    outputs = tf.cast(outputs, tf.float32)
    if task == "classification":
        return tf.nn.sparse_softmax_cross_entropy_with_logits(tf.cast(tf.reshape(targets, [-1]), tf.int32), outputs)
    error = tf.cast(targets, tf.float32) - outputs
    return tf.reduce_mean(tf.reshape(tf.square(error), [tf.shape(error)[0], -1]), axis=-1)


def is_graph_model(model):
    """Whether a model's layers can be walked and re-wired.

    Args:
        model: a Keras model.

    Returns:
        True for a functional or ``Sequential`` model.
    """
    return any(cls.__name__ == "Functional" for cls in type(model).__mro__) or isinstance(model, keras.Sequential)


def feature_model(model):
    """A model of ``model``'s inputs returning what its last layer reads (the features of the output layer).

    Args:
        model: a functional or ``Sequential`` model.

    Returns:
        A `keras.Model` sharing ``model``'s layers.

    Raises:
        ConfigError: the model exposes no such layer (a subclassed model).
    """
    try:
        inputs, features = model.inputs, model.layers[-1].input
    except (AttributeError, IndexError, ValueError):
        inputs = features = None
    if not inputs or features is None:
        raise ConfigError(
            "model",
            f"({type(model).__name__}) exposes no layer before its output: wrap a functional or Sequential model, "
            "or pass features=<a model of the same inputs returning the features its output layer reads>",
        )
    return keras.Model(inputs, features, name=f"{model.name}_features")


class UncertaintyWrapper(keras.Model):
    """Base of the wrappers: ``compile``, `training_losses` for the engine's step, and the task.

    Args:
        task: ``"classification"`` or ``"regression"``.
        **kwargs: `keras.Model`'s (``name``, ...).
    """

    def __init__(self, task="classification", **kwargs):
        super().__init__(**kwargs)
        self.task = check_task(task)

    def compile(self, optimizer, **kwargs):
        """Compile with ``optimizer`` and build its slots for every trained variable (so checkpoints restore them).

        Args:
            optimizer: a Keras optimizer.
            **kwargs: passed to `keras.Model.compile`.
        """
        super().compile(optimizer=optimizer, **kwargs)
        self.optimizer.build(self.trainable_variables)

    def training_losses(self, inputs, targets):
        """``[N]`` losses of one training pass, and ``{name: [N]}`` parts to log (override).

        Args:
            inputs: a batch of inputs.
            targets: their targets.

        Returns:
            ``(losses [N], parts)``: one loss per example, and ``{name: [N]}`` parts to log.
        """
        raise NotImplementedError
