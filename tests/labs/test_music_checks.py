"""Lab 1 checkers: each accepts the reference answer and rejects typical mistakes with a helpful message."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from support import failed, todo

from mit_dl.labs import music as checks


def test_tensors():
    assert checks.check_tensors(lambda: (tf.constant([[1, 2], [3, 4]]), tf.zeros([10, 256, 256, 3])))
    failed(checks.check_tensors(lambda: (tf.constant([1, 2]), tf.zeros([10, 256, 256, 3]))), "rank 2")
    failed(checks.check_tensors(lambda: (tf.constant([[1]]), tf.zeros([10, 3, 256, 256]))), "channels last")
    failed(checks.check_tensors(lambda: (np.ones((2, 2)), tf.zeros([10, 256, 256, 3]))), "not a tf.Tensor")
    failed(checks.check_tensors(lambda: (tf.constant([[1]]), tf.ones([10, 256, 256, 3]))), "all zeros")


def test_computation_graph():
    assert checks.check_computation_graph(lambda a, b: (a + b) * (b - 1))
    failed(checks.check_computation_graph(lambda a, b: (a + b) * (b + 1)), "b - 1")
    failed(checks.check_computation_graph(lambda a, b: (a + b) + (b - 1)), "multiply")
    failed(checks.check_computation_graph(lambda a, b: a * b * (b - 1)), "a + b")


def dense_layer(forget_bias=False, activation=tf.sigmoid, transposed=False, transpose_in_call=False):
    class Layer(keras.layers.Layer):
        def __init__(self, units):
            super().__init__()
            self.units = units

        def build(self, input_shape):
            shape = (self.units, input_shape[-1]) if transposed else (input_shape[-1], self.units)
            self.W = self.add_weight(shape=shape, name="W")
            if not forget_bias:
                self.b = self.add_weight(shape=(1, self.units), name="b")

        def call(self, x):
            z = tf.matmul(x, self.W, transpose_b=transpose_in_call)
            return activation(z if forget_bias else z + self.b)

    return Layer


def test_dense_layer():
    assert checks.check_dense_layer(dense_layer())
    failed(checks.check_dense_layer(dense_layer(forget_bias=True)), "no bias")
    failed(checks.check_dense_layer(dense_layer(activation=tf.identity)), "activation is missing")
    failed(checks.check_dense_layer(dense_layer(activation=tf.nn.relu)), "ReLU")
    failed(checks.check_dense_layer(dense_layer(transpose_in_call=True)), "W is transposed")
    failed(checks.check_dense_layer(dense_layer(transposed=True)), "InvalidArgumentError", "(input_dim, units)")


def identity_model(inverted=False):
    class Model(keras.Model):
        def __init__(self, units):
            super().__init__()
            self.dense = keras.layers.Dense(units, activation="sigmoid")

        def call(self, x, isidentity=False):
            return x if isidentity != inverted else self.dense(x)

    return Model


def test_identity_model():
    assert checks.check_identity_model(identity_model())
    failed(checks.check_identity_model(identity_model(inverted=True)), "isidentity=True")

    class NoActivation(keras.Model):
        def __init__(self, units):
            super().__init__()
            self.dense = keras.layers.Dense(units)

        def call(self, x, isidentity=False):
            return x if isidentity else self.dense(x)

    failed(checks.check_identity_model(NoActivation), "sigmoid")


def derivative(returns="gradient", watch=True):
    def fn(x_value):
        x = tf.constant(x_value)
        with tf.GradientTape() as tape:
            if watch:
                tape.watch(x)
            y = x * x
        return {"gradient": tape.gradient(y, x), "y": y}[returns]

    return fn


def test_derivative():
    assert checks.check_derivative(derivative())
    failed(checks.check_derivative(derivative(returns="y")), "tape.gradient(y, x)")
    failed(checks.check_derivative(derivative(watch=False)), "tape.watch")


def sgd(sign=-1.0, use_rate=True, squared=True, in_place=True):
    def step(x, target, learning_rate):
        with tf.GradientTape() as tape:
            loss = (x - target) ** 2 if squared else tf.abs(x - target)
        update = (learning_rate if use_rate else 1.0) * tape.gradient(loss, x)
        if in_place:
            x.assign_add(sign * update)
        else:
            x = x + sign * update  # noqa: F841 (the mistake: rebinding, not assigning)
        return loss

    return step


def test_sgd_step():
    assert checks.check_sgd_step(sgd())
    failed(checks.check_sgd_step(sgd(sign=1.0)), "up the gradient")
    failed(checks.check_sgd_step(sgd(use_rate=False)), "learning rate is missing")
    failed(checks.check_sgd_step(sgd(squared=False)), "squared error")
    failed(checks.check_sgd_step(sgd(in_place=False)), "did not change", "assign_sub")


def test_tf_function():
    assert checks.check_tf_function(tf.function)
    failed(checks.check_tf_function(lambda fn: fn), "unchanged")
    failed(
        checks.check_tf_function(lambda fn: tf.function(fn)(tf.constant(1.0), tf.constant(2.0))), "not a tf.function"
    )


def test_vectorize():
    assert checks.check_vectorize(lambda s, c: np.array([c[ch] for ch in s]))
    failed(checks.check_vectorize(lambda s, c: np.array([c[ch] for ch in s][::-1])), "reverse")
    failed(checks.check_vectorize(lambda s, c: np.array([c[ch] + 1 for ch in s])), "off by one")
    failed(checks.check_vectorize(lambda s, c: np.array(sorted(c.values()))), "one per character")
    failed(checks.check_vectorize(lambda s, c: list(s)), "numbers")


def batcher(shift=1, transpose=False):
    def get_batch(ids, seq_length, batch_size):
        starts = np.random.default_rng(0).integers(1, len(ids) - seq_length, batch_size)
        x = np.stack([ids[i : i + seq_length] for i in starts])
        y = np.stack([ids[i + shift : i + shift + seq_length] for i in starts])
        return (x.T, y.T) if transpose else (x, y)

    return get_batch


def test_get_batch():
    assert checks.check_get_batch(batcher())
    failed(checks.check_get_batch(batcher(shift=-1)), "wrong way")
    failed(checks.check_get_batch(batcher(shift=0)), "equals x_batch")
    failed(checks.check_get_batch(batcher(transpose=True)), "transposed")


def music_model(return_sequences=True, softmax=False):
    def build(vocab_size, embedding_dim, rnn_units):
        return keras.Sequential(
            [
                keras.Input((None,), dtype="int32"),
                keras.layers.Embedding(vocab_size, embedding_dim),
                keras.layers.LSTM(rnn_units, return_sequences=return_sequences),
                keras.layers.Dense(vocab_size, activation="softmax" if softmax else None),
            ]
        )

    return build


def test_music_model():
    assert checks.check_music_model(music_model())
    failed(checks.check_music_model(music_model(return_sequences=False)), "return_sequences=True")
    failed(checks.check_music_model(music_model(softmax=True)), "without softmax")
    failed(
        checks.check_music_model(
            lambda v, e, r: keras.Sequential(
                [
                    keras.Input((None,), dtype="int32"),
                    keras.layers.Embedding(v, e),
                    keras.layers.GRU(r, return_sequences=True),
                    keras.layers.Dense(v),
                ]
            )
        ),
        "LSTM(16)",
    )


def test_loss():
    def loss(from_logits=True, sign=1.0):
        return lambda y, logits: sign * keras.losses.sparse_categorical_crossentropy(y, logits, from_logits=from_logits)

    assert checks.check_loss(loss())
    assert checks.check_loss(lambda y, logits: tf.reduce_mean(loss()(y, logits)))  # a mean is fine too
    failed(checks.check_loss(loss(from_logits=False)), "from_logits=True")
    failed(checks.check_loss(loss(sign=-1.0)), "sign")
    failed(checks.check_loss(lambda y, logits: loss()(y, tf.nn.softmax(logits))), "softmax was applied")


def train_step(apply=True, sign=1.0, reduce=tf.reduce_mean):
    def step(model, optimizer, x, y):
        with tf.GradientTape() as tape:
            loss = reduce(keras.losses.sparse_categorical_crossentropy(y, model(x), from_logits=True))
            objective = sign * loss
        gradients = tape.gradient(objective, model.trainable_variables)
        if apply:
            optimizer.apply_gradients(zip(gradients, model.trainable_variables))
        return loss

    return step


def test_train_step():
    assert checks.check_train_step(train_step())
    assert checks.check_train_step(tf.function(train_step()))
    failed(checks.check_train_step(train_step(apply=False)), "did not change", "apply_gradients")
    failed(checks.check_train_step(train_step(sign=-1.0)), "up the gradient")
    failed(checks.check_train_step(train_step(reduce=tf.reduce_sum)), "summed")


@pytest.mark.parametrize(
    "check, argument",
    [
        (checks.check_tensors, todo),
        (checks.check_computation_graph, todo),
        (checks.check_derivative, todo),
        (checks.check_sgd_step, todo),
        (checks.check_tf_function, todo),
        (checks.check_vectorize, todo),
        (checks.check_get_batch, todo),
        (checks.check_music_model, todo),
        (checks.check_loss, todo),
        (checks.check_train_step, todo),
        (checks.check_dense_layer, dense_layer(activation=todo)),
    ],
)
def test_unfinished_exercises_are_reported_not_raised(check, argument):
    failed(check(argument), "is not implemented yet", "write it")


def test_learner_errors_are_reported_with_their_line():
    def broken(a, b):
        return a + undefined_name  # noqa: F821

    result = failed(checks.check_computation_graph(broken), "NameError", "undefined_name")
    assert "at line" in result.message
