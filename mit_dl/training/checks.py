"""Checks run before the first training step, and loss/metric resolution.

Every failure is a ``ValueError`` with one sentence saying what to change.
"""

import keras
import tensorflow as tf


def resolve_metrics(metrics, loss):
    """The metric functions for the Trainer's default step, each returning one value per example.

    Args:
        metrics: names (``"accuracy"``, a Keras metric function's name) or functions.
        loss: the Trainer's loss, which says which accuracy fits (binary or sparse categorical).

    Returns:
        ``{name: fn(y_true, y_pred)}``.

    Raises:
        ValueError: a stateful Keras metric object or an unknown name.
    """
    resolved = {}
    loss_name = loss if isinstance(loss, str) else getattr(loss, "name", getattr(loss, "__name__", ""))
    for metric in metrics or ():
        if metric in ("accuracy", "acc"):
            if "binary" in str(loss_name):
                from_logits = bool(getattr(loss, "from_logits", False))
                resolved["accuracy"] = _binary_accuracy(0.0 if from_logits else 0.5)
            else:
                resolved["accuracy"] = keras.metrics.sparse_categorical_accuracy
        elif isinstance(metric, str):
            fn = keras.metrics.get(metric)
            if isinstance(fn, keras.metrics.Metric):
                raise ValueError(
                    f"metric {metric!r} is a stateful Keras metric; pass a function returning one value per example."
                )
            resolved[metric] = fn
        elif callable(metric):
            resolved[getattr(metric, "__name__", "metric")] = metric
        else:
            raise ValueError(f"metrics must be names or functions, received {metric!r}.")
    return resolved


def _binary_accuracy(threshold):
    def binary_accuracy(y_true, y_pred):
        pred = tf.cast(y_pred > threshold, tf.float32)
        true = tf.cast(tf.reshape(y_true, tf.shape(pred)), tf.float32)
        return tf.reduce_mean(tf.cast(tf.equal(pred, true), tf.float32), axis=-1)

    return binary_accuracy


def per_example(fn, y_true, y_pred):
    """Values of a loss or metric, one per example (extra axes averaged).

    Args:
        fn: a `keras.losses.Loss` or a function ``fn(y_true, y_pred)``.
        y_true: the targets of a batch.
        y_pred: the model's outputs for it.

    Returns:
        A ``(batch,)`` tensor.
    """
    values = fn.call(y_true, y_pred) if isinstance(fn, keras.losses.Loss) else fn(y_true, y_pred)
    values = tf.convert_to_tensor(values)
    if values.shape.rank and values.shape.rank > 1:
        values = tf.reduce_mean(values, axis=list(range(1, values.shape.rank)))
    return values


def steps_per_epoch(data, given=None):
    """Steps in one pass over ``data``.

    Args:
        data: the training `tf.data.Dataset`.
        given: the caller's value, which wins when it is a positive int.

    Returns:
        The number of steps.

    Raises:
        ValueError: ``data`` is not a dataset, is empty or endless without ``given``, or ``given`` is not positive.
    """
    if not isinstance(data, tf.data.Dataset):
        raise ValueError(f"training data must be a tf.data.Dataset, received {type(data).__name__}.")
    cardinality = int(data.cardinality())
    if cardinality == 0:
        raise ValueError("the training dataset is empty; check its source and batch size (drop_remainder).")
    if given is not None:
        if not isinstance(given, int) or given <= 0:
            raise ValueError(f"`steps_per_epoch` must be a positive integer, received {given!r}.")
        return given
    if cardinality > 0:
        return cardinality
    if cardinality == tf.data.UNKNOWN_CARDINALITY:
        # Count once (cheap for in-memory data); 0 means empty.
        counted = int(data.reduce(0, lambda n, _: n + 1))
        if counted == 0:
            raise ValueError("the training dataset is empty; check its source and batch size (drop_remainder).")
        return counted
    raise ValueError("the training dataset repeats forever; pass `steps_per_epoch` to fit.")


def total_steps(epochs, steps, steps_per_epoch):
    """The step budget of a `Trainer.fit` call.

    Args:
        epochs: passes over the data, or ``None``.
        steps: a step budget, or ``None`` (exactly one of the two is given).
        steps_per_epoch: steps in one epoch.

    Returns:
        The total number of steps.

    Raises:
        ValueError: both or neither are given, or one is not a positive integer.
    """
    for name, value in (("epochs", epochs), ("steps", steps)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value <= 0):
            raise ValueError(f"`{name}` must be a positive integer, received {value!r}.")
    if (epochs is None) == (steps is None):
        raise ValueError("pass exactly one of `epochs` or `steps` to fit.")
    return steps if steps is not None else epochs * steps_per_epoch


def dataset_matches_model(data, model, what):
    """Compare the dataset's element spec with the model's inputs before training.

    Args:
        data: a `tf.data.Dataset` of ``(x, y)`` batches.
        model: the model it feeds (a subclassed model without static inputs is not compared).
        what: the dataset's name in the message (``"train_data"``).

    Raises:
        ValueError: elements that are not pairs, or shapes or dtypes that do not match.
    """
    spec = data.element_spec
    if not isinstance(spec, tuple) or len(spec) not in (2, 3):
        raise ValueError(
            f"{what} must yield (inputs, targets) pairs for the default training step, "
            f"its elements are {spec}; map it to (x, y) or pass a custom train_step."
        )
    inputs = getattr(model, "inputs", None)
    if not inputs:
        return  # a subclassed model: nothing static to compare
    x_specs = tf.nest.flatten(spec[0])
    if len(x_specs) != len(inputs):
        raise ValueError(f"{what} gives {len(x_specs)} input tensors but the model takes {len(inputs)}.")
    for x_spec, model_input in zip(x_specs, inputs):
        want, got = tuple(model_input.shape[1:]), tuple(x_spec.shape[1:])
        compatible = len(want) == len(got) and all(w is None or g is None or w == g for w, g in zip(want, got))
        if not compatible:
            raise ValueError(
                f"{what} has inputs of shape {tuple(x_spec.shape)} but the model expects "
                f"(batch, {', '.join(str(d) for d in want)}); reshape the data or rebuild the model."
            )
        model_dtype = tf.as_dtype(model_input.dtype)
        if (
            x_spec.dtype == tf.string
            and model_dtype != tf.string
            or (model_dtype.is_integer and x_spec.dtype.is_floating)
        ):
            raise ValueError(
                f"{what} has inputs of dtype {x_spec.dtype.name} but the model expects "
                f"{model_dtype.name}; cast the data in the pipeline."
            )
