"""Checkers for exercises that appear in more than one lab: the cross-entropy loss and the training step."""

import keras
import numpy as np
import tensorflow as tf

from mit_dl.labs.grading import Mistake, call_learner, checker, explain_mismatch, values

# Fixed inputs: 3 examples, 4 features, 5 classes.
_X = np.linspace(-1.0, 1.0, 12, dtype=np.float32).reshape(3, 4)
_Y = np.array([2, 0, 4], np.int32)
_W = np.linspace(-0.6, 0.7, 20, dtype=np.float32).reshape(4, 5) * np.array([1, -1, 1, -1, 1], np.float32)
_B = np.array([0.1, -0.2, 0.05, 0.0, 0.3], np.float32)
_LEARNING_RATE = 0.5


def _log_softmax(logits):
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def cross_entropy(labels, logits):
    """Per-example ``-log softmax(logits)[label]`` in float64 (the reference of both loss checkers).

    Args:
        labels: integer labels ``[...]``.
        logits: ``[..., classes]``.

    Returns:
        ``[...]`` losses.
    """
    logits = np.asarray(logits, np.float64)
    return -np.take_along_axis(_log_softmax(logits), np.asarray(labels)[..., None], axis=-1)[..., 0]


@checker
def check_loss(compute_loss):
    """compute_loss(labels, logits) is the cross-entropy of integer labels with logits.

    Args:
        compute_loss: the learner's `compute_loss` (function or class), called on fixed inputs.

    Returns:
        A `CheckResult`: passed, or what was expected, what was received and the likely mistake.
    """
    labels = np.array([[1, 0, 3], [2, 2, 0]], np.int32)
    logits = np.linspace(-2.0, 2.5, 24, dtype=np.float32).reshape(2, 3, 4) ** 2 - 1.5
    received = values(
        call_learner("compute_loss(labels, logits)", compute_loss, labels, logits), "compute_loss(labels, logits)"
    )

    def as_returned(per_example):  # one loss per character, or their mean: both are fine
        return per_example if received.size != 1 else per_example.mean()

    expected = cross_entropy(labels, logits)
    as_probabilities = np.asarray(keras.losses.sparse_categorical_crossentropy(labels, logits, from_logits=False))
    explain_mismatch(
        received,
        as_returned(expected),
        "the loss for fixed labels [2, 3] and logits [2, 3, 4]",
        [
            (as_returned(as_probabilities), "the model outputs logits (no softmax), so pass from_logits=True."),
            (
                as_returned(cross_entropy(labels, np.exp(_log_softmax(logits)))),
                "softmax was applied before a loss that applies it again: give the loss the raw logits.",
            ),
            (as_returned(-expected), "the sign is flipped: cross-entropy is -log p."),
        ],
    )


@checker
def check_train_step(train_step):
    """train_step(model, optimizer, x, y) takes one gradient-descent step on the cross-entropy loss.

    Args:
        train_step: the learner's `train_step` (function or class), called on fixed inputs.

    Returns:
        A `CheckResult`: passed, or what was expected, what was received and the likely mistake.
    """
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(5)])
    model.layers[-1].kernel.assign(_W)
    model.layers[-1].bias.assign(_B)
    optimizer = keras.optimizers.SGD(_LEARNING_RATE)
    loss = call_learner(
        "train_step(model, optimizer, x, y)", train_step, model, optimizer, tf.constant(_X), tf.constant(_Y)
    )
    kernel, bias = (v.numpy().astype(np.float64) for v in (model.layers[-1].kernel, model.layers[-1].bias))

    probabilities = np.exp(_log_softmax(_X.astype(np.float64) @ _W + _B))
    d_logits = (probabilities - np.eye(5)[_Y]) / len(_Y)  # gradient of the mean cross-entropy
    grad_w, grad_b = _X.T @ d_logits, d_logits.sum(0)
    expected = np.concatenate([(_W - _LEARNING_RATE * grad_w).ravel(), _B - _LEARNING_RATE * grad_b])
    received = np.concatenate([kernel.ravel(), bias])
    start = np.concatenate([_W.ravel(), _B])
    step = expected - start
    if np.allclose(received, start):
        raise Mistake(
            "the weights did not change: apply the gradients with "
            "optimizer.apply_gradients(zip(grads, model.trainable_variables))."
        )
    explain_mismatch(
        received,
        expected,
        "the weights after one SGD step (learning rate 0.5) on fixed data",
        [
            (
                start - step,
                "the weights moved up the gradient: the optimizer already subtracts the gradient, "
                "give it the gradient of the loss itself (not of -loss).",
            ),
            (start + len(_Y) * step, "the loss was summed over the batch: take its mean (tf.reduce_mean)."),
        ],
    )
    received_loss = values(loss, "the loss train_step returned")
    expected_loss = cross_entropy(_Y, _X.astype(np.float64) @ _W + _B).mean()
    if received_loss.size == len(_Y):
        received_loss = received_loss.mean()
    explain_mismatch(
        received_loss,
        expected_loss,
        "the loss train_step returned (before the update)",
        [
            (
                cross_entropy(_Y, _X @ expected[:20].reshape(4, 5) + expected[20:]).mean(),
                "return the loss computed inside the tape, before the update.",
            ),
        ],
    )
