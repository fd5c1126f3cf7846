"""Checkers for Lab 1: part 1 (TensorFlow and Keras basics) and part 2 (music generation).

Each ``check_*`` takes the learner's function or class, runs it on fixed
inputs with known weights and returns a `mit_dl.labs.grading.CheckResult`.
"""

import numpy as np
import tensorflow as tf

from mit_dl.labs.grading import Mistake, call_learner, checker, expect_shape, explain_mismatch, matches, values
from mit_dl.labs.shared_checks import check_loss, check_train_step
from mit_dl.music.model import build_music_model

__all__ = [
    "check_tensors",
    "check_computation_graph",
    "check_dense_layer",
    "check_identity_model",
    "check_derivative",
    "check_sgd_step",
    "check_tf_function",
    "check_vectorize",
    "check_get_batch",
    "check_music_model",
    "check_loss",
    "check_train_step",
]


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


# ---------------------------------------------------------------- part 1


@checker
def check_tensors(make_tensors):
    """make_tensors() returns a rank-2 tensor and a [10, 256, 256, 3] tensor of zeros.

    Args:
        make_tensors: the learner's `make_tensors` (function or class), called on fixed inputs.

    Returns:
        A `CheckResult`: passed, or what was expected, what was received and the likely mistake.
    """
    result = call_learner("make_tensors()", make_tensors)
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        raise Mistake("make_tensors() should return two tensors: (matrix, images).")
    matrix, images = result
    for name, tensor in (("matrix", matrix), ("images", images)):
        if not isinstance(tensor, tf.Tensor):
            raise Mistake(
                f"{name} is a {type(tensor).__name__}, not a tf.Tensor: create it with "
                "tf.constant(...) or tf.zeros(...)."
            )
    if matrix.shape.rank != 2:
        raise Mistake(
            f"matrix has rank {matrix.shape.rank}, a matrix has rank 2 (a list of rows, "
            "e.g. tf.constant([[1, 2], [3, 4]]))."
        )
    if tuple(images.shape) == (10, 3, 256, 256):
        raise Mistake(
            "images has shape [10, 3, 256, 256]: TensorFlow puts the colour channels last, "
            "[batch, height, width, channels] = [10, 256, 256, 3]."
        )
    expect_shape(images, (10, 256, 256, 3), "images", " Use tf.zeros([10, 256, 256, 3]).")
    if np.any(images.numpy() != 0):
        raise Mistake("images should be all zeros (tf.zeros).")


def _graph_reference(a, b):
    return (a + b) * (b - 1)


@checker
def check_computation_graph(func):
    """func(a, b) computes e = (a + b) * (b - 1) through c = a + b and d = b - 1.

    Args:
        func: the learner's `func` (function or class), called on fixed inputs.

    Returns:
        A `CheckResult`: passed, or what was expected, what was received and the likely mistake.
    """
    cases = [(1.5, 2.5), (np.array([1.0, -2.0, 3.0], np.float32), np.array([0.5, 4.0, -1.0], np.float32))]
    for a, b in cases:
        received = values(call_learner(f"func({a}, {b})", func, tf.constant(a), tf.constant(b)), "func(a, b)")
        a64, b64 = np.float64(a), np.float64(b)
        explain_mismatch(
            received,
            _graph_reference(a64, b64),
            f"func({a}, {b})",
            [
                ((a64 + b64) * (b64 + 1), "d should be b - 1 (tf.subtract(b, 1)), not b + 1."),
                ((a64 + b64) + (b64 - 1), "e should multiply c and d (tf.multiply), not add them."),
                ((a64 + b64) * (a64 - 1), "d subtracts 1 from b, not from a."),
                ((a64 * b64) * (b64 - 1), "c should be a + b (tf.add), not a * b."),
            ],
        )


_LAYER_X = {
    2: np.array([[1.0, 2.0], [-0.5, 0.25], [0.0, 0.0], [3.0, -1.0]], np.float32),
    3: np.array([[1.0, 2.0, -1.0], [0.5, -0.5, 0.25]], np.float32),
}


def _known_dense_weights(layer, input_dim, units, description):
    """Give a learner's dense layer known ``W [input_dim, units]`` and ``b [units]``; returns them."""
    kernel = np.linspace(-1.0, 1.2, input_dim * units).reshape(input_dim, units).astype(np.float32)
    kernel[0] *= -1.5
    bias = np.linspace(0.3, -0.4, units).astype(np.float32)
    weights = list(layer.weights)
    kernels = [w for w in weights if tuple(w.shape) in ((input_dim, units), (units, input_dim))]
    biases = [w for w in weights if tuple(w.shape) in ((units,), (1, units))]
    shapes = [tuple(w.shape) for w in weights]
    if not kernels:
        raise Mistake(
            f"{description} has weights of shapes {shapes}; expected W of shape (input_dim, units) = "
            f"{(input_dim, units)} created in build() with self.add_weight."
        )
    if not biases or (len(biases) == 1 and biases[0] is kernels[0]):
        raise Mistake(
            f"{description} has weights of shapes {shapes} but no bias: add b of shape "
            f"(1, units) = {(1, units)} with self.add_weight (y = g(xW + b))."
        )
    w, b = kernels[0], next(b for b in biases if b is not kernels[0])
    w.assign(kernel if tuple(w.shape) == (input_dim, units) else kernel.T)
    b.assign(bias.reshape(tuple(b.shape)))
    return kernel.astype(np.float64), bias.astype(np.float64)


@checker
def check_dense_layer(layer_class):
    """layer_class(units) computes y = sigmoid(x W + b) with W [input_dim, units] and b [units].

    Args:
        layer_class: the learner's `layer_class` (function or class), called on fixed inputs.

    Returns:
        A `CheckResult`: passed, or what was expected, what was received and the likely mistake.
    """
    shape_hint = "W should have shape (input_dim, units) and z = tf.matmul(x, W) + b."
    for input_dim, units in ((3, 3), (2, 3)):
        description = f"{layer_class.__name__}({units})"
        layer = call_learner(description, layer_class, units)
        x = _LAYER_X[input_dim]
        call_learner(f"{description}.build({x.shape})", layer.build, x.shape)
        kernel, bias = _known_dense_weights(layer, input_dim, units, description)
        received = values(call_learner(f"{description}(x)", layer, x, on_error_hint=shape_hint), f"{description}(x)")
        x64 = x.astype(np.float64)
        z = x64 @ kernel + bias
        wrong = [
            (z, "the activation is missing: apply the sigmoid to z = xW + b."),
            (_sigmoid(x64 @ kernel), "the bias is missing: z = xW + b."),
            (np.maximum(z, 0), "that is a ReLU; this layer uses the sigmoid."),
            (np.tanh(z), "that is tanh; this layer uses the sigmoid."),
        ]
        if input_dim == units:
            wrong.append(
                (
                    _sigmoid(x64 @ kernel.T + bias),
                    "W is transposed: with inputs as rows, z = x W where W has shape (input_dim, units).",
                )
            )
        explain_mismatch(received, _sigmoid(z), f"{description} on fixed inputs {x.shape} with known W and b", wrong)


@checker
def check_identity_model(model_class):
    """model_class(units)(x, isidentity=True) returns x; otherwise its Dense layer's sigmoid output.

    Args:
        model_class: the learner's `model_class` (function or class), called on fixed inputs.

    Returns:
        A `CheckResult`: passed, or what was expected, what was received and the likely mistake.
    """
    x = _LAYER_X[3]
    model = call_learner(f"{model_class.__name__}(3)", model_class, 3)
    call_learner("model(x)", model, x)  # builds the dense layer
    same = values(call_learner("model(x, isidentity=True)", model, x, isidentity=True), "model(x, isidentity=True)")
    if not matches(same, x):
        if same.shape == x.shape and not np.allclose(same, x):
            raise Mistake("model(x, isidentity=True) changed x: with isidentity=True return the inputs unchanged.")
        raise Mistake(
            f"model(x, isidentity=True) should return x unchanged (shape {x.shape}), received shape "
            f"{same.shape}: check the if/else in call()."
        )
    kernel, bias = _known_dense_weights(model, 3, 3, f"{model_class.__name__}(3)")
    received = values(call_learner("model(x)", model, x), "model(x)")
    if matches(received, x):
        raise Mistake(
            "model(x) (isidentity=False) returned x: the identity is only for isidentity=True; "
            "otherwise apply the dense layer."
        )
    explain_mismatch(
        received,
        _sigmoid(x @ kernel + bias),
        "model(x) with known dense weights",
        [
            (x @ kernel + bias, "the dense layer needs activation='sigmoid'."),
        ],
    )


@checker
def check_derivative(derivative_of_square):
    """derivative_of_square(x) returns dy/dx of y = x^2 computed with tf.GradientTape (2x).

    Args:
        derivative_of_square: the learner's `derivative_of_square` (function or class), called on fixed inputs.

    Returns:
        A `CheckResult`: passed, or what was expected, what was received and the likely mistake.
    """
    for x in (3.0, -2.0):
        result = call_learner(f"derivative_of_square({x})", derivative_of_square, x)
        if result is None:
            raise Mistake(
                "tape.gradient returned None: the tape only watches variables; call tape.watch(x) "
                "(or make x a tf.Variable) before computing y inside the `with` block."
            )
        explain_mismatch(
            values(result, "the derivative"),
            2 * x,
            f"dy/dx at x = {x}",
            [
                (x * x, "that is y = x^2 itself; return tape.gradient(y, x)."),
                (x, "that is x; return tape.gradient(y, x)."),
            ],
        )


@checker
def check_sgd_step(sgd_step):
    """sgd_step(x, target, learning_rate) takes one gradient-descent step on (x - target)^2, in place.

    Args:
        sgd_step: the learner's `sgd_step` (function or class), called on fixed inputs.

    Returns:
        A `CheckResult`: passed, or what was expected, what was received and the likely mistake.
    """
    for start, target, rate in ((1.0, 4.0, 0.1), (5.0, 4.0, 0.25)):
        x = tf.Variable(start)
        call_learner(f"sgd_step(x={start}, target={target}, learning_rate={rate})", sgd_step, x, target, rate)
        received = float(x.numpy())
        gradient = 2 * (start - target)
        if received == start:
            raise Mistake(
                "x did not change: update the variable in place, x.assign_sub(learning_rate * gradient) "
                "(x = x - ... makes a new tensor and leaves the variable as it was)."
            )
        explain_mismatch(
            received,
            start - rate * gradient,
            f"x after one step from {start} towards {target} (learning rate {rate})",
            [
                (start + rate * gradient, "x moved up the gradient: subtract learning_rate * gradient."),
                (start - gradient, "the learning rate is missing: subtract learning_rate * gradient."),
                (start - rate * np.sign(start - target), "the loss must be the squared error (x - target)**2."),
            ],
        )


@checker
def check_tf_function(compile_function):
    """compile_function(fn) returns fn compiled with tf.function, giving the same results.

    Args:
        compile_function: the learner's `compile_function` (function or class), called on fixed inputs.

    Returns:
        A `CheckResult`: passed, or what was expected, what was received and the likely mistake.
    """

    def affine(a, b):
        return a * b + 1.0

    compiled = call_learner("compile_function(affine)", compile_function, affine)
    if compiled is affine:
        raise Mistake("compile_function returned the Python function unchanged: return tf.function(fn).")
    if not isinstance(compiled, tf.types.experimental.GenericFunction):
        raise Mistake(
            f"compile_function returned a {type(compiled).__name__}, not a tf.function: "
            "return tf.function(fn) (the function, not the result of calling it)."
        )
    a, b = tf.constant([1.0, 2.0]), tf.constant([3.0, -1.0])
    explain_mismatch(
        values(call_learner("compiled(a, b)", compiled, a, b), "compiled(a, b)"),
        [4.0, -1.0],
        "the compiled function on fixed inputs",
    )


# ---------------------------------------------------------------- part 2

_VOCABULARY = sorted(set("X:1\nT:Reel\nK:D\n|:ABc dBA|fed cBA:|"))
_CHAR2IDX = {c: i for i, c in enumerate(_VOCABULARY)}


@checker
def check_vectorize(vectorize_string):
    """vectorize_string(text, char2idx) returns one integer id per character of text.

    Args:
        vectorize_string: the learner's `vectorize_string` (function or class), called on fixed inputs.

    Returns:
        A `CheckResult`: passed, or what was expected, what was received and the likely mistake.
    """
    text = "K:D\n|:ABc dBA:|"
    expected = np.array([_CHAR2IDX[c] for c in text])
    received = call_learner("vectorize_string(text, char2idx)", vectorize_string, text, dict(_CHAR2IDX))
    ids = values(received, "vectorize_string(text, char2idx)")
    if ids.ndim != 1 or len(ids) != len(text):
        raise Mistake(f"expected {len(text)} ids (one per character) in a 1-D array, received shape {ids.shape}.")
    explain_mismatch(
        ids,
        expected,
        f"vectorize_string({text!r})",
        [
            (expected[::-1], "the ids are in reverse order."),
            (expected + 1, "the ids are off by one: use char2idx[c] as it is."),
        ],
    )


@checker
def check_get_batch(get_batch):
    """get_batch(ids, seq_length, batch_size) returns inputs text[i:i+L] and targets text[i+1:i+L+1].

    Args:
        get_batch: the learner's `get_batch` (function or class), called on fixed inputs.

    Returns:
        A `CheckResult`: passed, or what was expected, what was received and the likely mistake.
    """
    for length, seq_length, batch_size in ((1000, 20, 8), (12, 10, 4)):
        ids = np.arange(length)  # each id equals its position, so the offsets can be read off
        for _ in range(10):
            result = call_learner(f"get_batch(ids, {seq_length}, {batch_size})", get_batch, ids, seq_length, batch_size)
            if not isinstance(result, (tuple, list)) or len(result) != 2:
                raise Mistake("get_batch should return two arrays: (x_batch, y_batch).")
            x, y = (values(r, name) for r, name in zip(result, ("x_batch", "y_batch")))
            if x.shape == (seq_length, batch_size) != (batch_size, seq_length):
                raise Mistake(
                    f"x_batch has shape {x.shape}, transposed: expected [batch_size, seq_length] = "
                    f"{(batch_size, seq_length)}."
                )
            expect_shape(x, (batch_size, seq_length), "x_batch")
            expect_shape(y, (batch_size, seq_length), "y_batch")
            if not np.all(np.diff(x, axis=1) == 1):
                raise Mistake("each row of x_batch should be one contiguous slice text[i:i+seq_length].")
            if np.array_equal(y, x):
                raise Mistake("y_batch equals x_batch: the targets are the next characters, text[i+1:i+seq_length+1].")
            if np.array_equal(y, x - 1):
                raise Mistake(
                    "the targets are shifted the wrong way: y_batch must be text[i+1:i+seq_length+1] "
                    "(the character after each input), not text[i-1:...]."
                )
            if not np.array_equal(y, x + 1):
                raise Mistake("y_batch should be x_batch shifted one character ahead: text[i+1:i+seq_length+1].")
            if x.min() < 0 or y.max() > length - 1:
                raise Mistake("a start index runs past the text: draw i from 0 to len(text) - seq_length - 1.")


@checker
def check_music_model(build_model):
    """build_model(vocab_size, embedding_dim, rnn_units): Embedding -> LSTM (every step) -> Dense logits.

    Args:
        build_model: the learner's `build_model` (function or class), called on fixed inputs.

    Returns:
        A `CheckResult`: passed, or what was expected, what was received and the likely mistake.
    """
    vocab_size, embedding_dim, units = 11, 8, 16
    model = call_learner(
        f"build_model({vocab_size}, {embedding_dim}, {units})", build_model, vocab_size, embedding_dim, units
    )
    ids = np.array([[1, 4, 2, 0, 9, 3, 3], [10, 5, 5, 2, 7, 1, 0]], np.int32)
    received = values(call_learner("model(ids)", model, ids), "model(ids)")
    if received.shape == (2, vocab_size):
        raise Mistake(
            "the model returns one prediction per sequence: set return_sequences=True on the LSTM "
            "so that it predicts the next character at every position."
        )
    expect_shape(
        received,
        (2, 7, vocab_size),
        "model(ids) for ids of shape (2, 7)",
        " Expected [batch, time, vocab_size] logits.",
    )
    if np.allclose(received.sum(-1), 1.0, atol=1e-4) and received.min() >= 0:
        raise Mistake(
            "the outputs are probabilities: leave the last Dense layer without softmax (logits); "
            "the loss applies the softmax (from_logits=True)."
        )
    reference = build_music_model(vocab_size, embedding_dim, units)
    expected_shapes = [tuple(w.shape) for w in reference.weights]
    shapes = [tuple(np.shape(w)) for w in model.get_weights()]
    if shapes != expected_shapes:
        raise Mistake(
            f"the weights have shapes {shapes}; Embedding({vocab_size}, {embedding_dim}) -> "
            f"LSTM({units}) -> Dense({vocab_size}) has {expected_shapes}."
        )
    reference.set_weights(model.get_weights())
    explain_mismatch(
        received,
        reference(ids),
        "the logits, recomputed with your weights by Embedding -> LSTM(return_sequences=True) -> Dense",
    )
