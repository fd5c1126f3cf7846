"""Checkers for the lecture 1 lab (foundations): backpropagation, VJPs, Adam, BatchNorm, initialisation.

Each runs the learner's function on fixed inputs, compares it with the equations (and
`mit_dl.foundations`) and names the typical mistake when it differs: a gradient summed where the
loss averages, the ReLU's derivative forgotten, "target minus prediction", Adam without its bias
correction, batch statistics at inference, a variance of ``1 / fan_out`` where ``1 / fan_in``
belongs, a reused node's gradient overwritten instead of accumulated.
"""

import numpy as np

from mit_dl.foundations import autodiff
from mit_dl.labs.grading import Mistake, call_learner, checker, explain_mismatch, values

__all__ = [
    "check_mlp_backprop",
    "check_softmax_cross_entropy_vjp",
    "check_backward_accumulates",
    "check_adam_step",
    "check_batch_norm",
    "check_initialisation_std",
]

_RNG = np.random.default_rng(7)
_X = _RNG.normal(size=(5, 4))
_LABELS = np.array([0, 2, 1, 2, 0])
_W1, _B1 = _RNG.normal(size=(4, 6)), _RNG.normal(size=6) * 0.5
_W2, _B2 = _RNG.normal(size=(6, 3)), _RNG.normal(size=3) * 0.5
_NAMES = ("W1", "b1", "W2", "b2")


def _softmax(z):
    z = z - z.max(axis=1, keepdims=True)
    return np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)


def _onehot(labels, classes):
    return np.eye(classes)[labels]


def _mlp_gradients(relu_derivative=True, average=True, sign=1.0):
    """The gradients of the mean cross-entropy of ``relu(x W1 + b1) W2 + b2``, or a typical mistake's."""
    z1 = _X @ _W1 + _B1
    h = np.maximum(z1, 0)
    d_logits = sign * (_softmax(h @ _W2 + _B2) - _onehot(_LABELS, 3)) / (len(_X) if average else 1)
    d_h = d_logits @ _W2.T
    d_z1 = d_h * (z1 > 0) if relu_derivative else d_h
    return {"W1": _X.T @ d_z1, "b1": d_z1.sum(0), "W2": h.T @ d_logits, "b2": d_logits.sum(0)}


@checker
def check_mlp_backprop(mlp_gradients):
    """mlp_gradients(x, labels, W1, b1, W2, b2): the four gradients of the mean cross-entropy, by hand.

    Args:
        mlp_gradients: the learner's function returning ``{"W1", "b1", "W2", "b2"}`` gradients.

    Returns:
        A `CheckResult`.
    """
    received = call_learner("mlp_gradients(x, labels, W1, b1, W2, b2)", mlp_gradients, _X, _LABELS, _W1, _B1, _W2, _B2)
    if not isinstance(received, dict) or set(received) != set(_NAMES):
        raise Mistake(f"expected a dict with the keys {', '.join(_NAMES)}; received {type(received).__name__}.")
    expected = _mlp_gradients()
    wrong = {
        "summed over the batch: the loss is the mean over 5 examples, so every gradient is divided by 5 "
        "(dL/dlogits = (softmax - onehot) / N).": _mlp_gradients(average=False),
        "the ReLU's derivative is missing: the gradient reaching z1 = x W1 + b1 is zero where z1 <= 0 "
        "(multiply dL/dh by (z1 > 0)).": _mlp_gradients(relu_derivative=False),
        "the sign: dL/dlogits is prediction minus target, softmax(z) - onehot(y), not the reverse.": _mlp_gradients(
            sign=-1.0
        ),
    }
    for name in _NAMES:
        explain_mismatch(
            values(received[name], f"the gradient {name}"),
            expected[name],
            f"dL/d{name}",
            [(gradients[name], text) for text, gradients in wrong.items()],
        )


@checker
def check_softmax_cross_entropy_vjp(softmax_cross_entropy_vjp):
    """softmax_cross_entropy_vjp(logits, labels, upstream): upstream * (softmax(z) - onehot(y)) / N.

    Args:
        softmax_cross_entropy_vjp: the learner's function ``(logits [N, C], labels [N], upstream scalar)``.

    Returns:
        A `CheckResult`.
    """
    logits, upstream = _RNG.normal(size=(4, 3)) * 2, 0.5
    labels = np.array([2, 0, 1, 1])
    received = values(
        call_learner(
            "softmax_cross_entropy_vjp(logits, labels, 0.5)", softmax_cross_entropy_vjp, logits, labels, upstream
        ),
        "the VJP",
    )
    p, onehot = _softmax(logits), _onehot(labels, 3)
    explain_mismatch(
        received,
        upstream * (p - onehot) / 4,
        "the VJP of the mean softmax cross-entropy",
        [
            (
                (p - onehot) / 4,
                "the upstream gradient is not used: a VJP multiplies the local gradient by it "
                "(it is 1 only when the loss is the graph's output).",
            ),
            (upstream * (p - onehot), "the mean's 1 / N is missing."),
            (upstream * (onehot - p) / 4, "the sign: prediction minus target, softmax(z) - onehot(y)."),
            (
                upstream * (1 / (1 + np.exp(-logits)) - onehot) / 4,
                "a sigmoid where the softmax belongs: the classes share one normalisation.",
            ),
        ],
    )


def _graph_with_reuse():
    """``y = sum(x * x + x * w)`` with ``x`` used three times: its gradient is ``2x + w``."""
    x = autodiff.Tensor(np.array([1.0, -2.0, 3.0]), name="x")
    w = autodiff.Tensor(np.array([0.5, 0.5, -1.0]), name="w")
    return x, w, (x * x + x * w).sum()


@checker
def check_backward_accumulates(backward):
    """backward(loss): every tensor's .grad, with a reused node's contributions added up.

    Args:
        backward: the learner's function; it sets ``.grad`` on every tensor of `mit_dl.foundations.autodiff`
            that ``loss`` depends on (``autodiff.topological_order`` gives the order).

    Returns:
        A `CheckResult`.
    """
    x, w, loss = _graph_with_reuse()
    call_learner("backward(loss)", backward, loss)
    if x.grad is None or w.grad is None:
        raise Mistake("after backward(loss), x.grad or w.grad is still None: set .grad on every tensor of the graph.")
    expected = 2 * x.value + w.value
    explain_mismatch(
        values(x.grad, "x.grad"),
        expected,
        "x.grad for loss = sum(x * x + x * w)",
        [
            (
                x.value,
                "a reused node's gradient is overwritten, not accumulated: x reaches the loss three times "
                "(twice in x * x, once in x * w), so its contributions must be added up.",
            ),
            (
                w.value,
                "a reused node's gradient is overwritten, not accumulated: x reaches the loss three times "
                "(twice in x * x, once in x * w), so its contributions must be added up.",
            ),
            (2 * x.value, "a reused node's gradient is overwritten, not accumulated: the x * w path is lost."),
        ],
    )
    explain_mismatch(values(w.grad, "w.grad"), x.value, "w.grad", [])


def _adam(w, g, m, v, t, lr, b1, b2, eps, correct=True, g_squared=True):
    m = b1 * m + (1 - b1) * g
    v = b2 * v + (1 - b2) * (g * g if g_squared else g)
    m_hat, v_hat = (m / (1 - b1**t), v / (1 - b2**t)) if correct else (m, v)
    return w - lr * m_hat / (np.sqrt(np.abs(v_hat)) + eps), m, v


@checker
def check_adam_step(adam_step):
    """adam_step(w, g, m, v, t, lr, beta_1, beta_2, epsilon): Adam's update with its bias correction.

    Args:
        adam_step: the learner's function returning ``(new w, new m, new v)``; ``t`` counts from 1.

    Returns:
        A `CheckResult`.
    """
    w, g = np.array([1.0, -2.0, 0.5]), np.array([0.3, -0.1, 2.0])
    m, v = np.zeros(3), np.zeros(3)
    arguments = (w, g, m, v, 1, 0.1, 0.9, 0.999, 1e-8)
    received = call_learner("adam_step(w, g, m=0, v=0, t=1, ...)", adam_step, *arguments)
    if not isinstance(received, (tuple, list)) or len(received) != 3:
        raise Mistake("expected (new w, new m, new v); return all three, the next step needs m and v.")
    new_w = values(received[0], "the new w")
    explain_mismatch(
        new_w,
        _adam(*arguments)[0],
        "w after Adam's first step",
        [
            (
                _adam(*arguments, correct=False)[0],
                "the bias correction is missing: m and v start at 0, so at "
                "step t divide them by 1 - beta^t (at t = 1 the step is ~lr).",
            ),
            (
                _adam(*arguments, g_squared=False)[0],
                "v averages g, not g^2: the second moment is of the squared gradient.",
            ),
            (w - 0.1 * g, "this is plain gradient descent: Adam divides the averaged gradient by sqrt(v^)."),
            (
                _adam(*arguments[:4], 2, *arguments[5:])[0],
                "t is off by one: the correction at step t uses beta^t, and the first step is t = 1.",
            ),
        ],
    )
    later = (w, g, np.array([0.1, 0.0, -0.2]), np.array([0.01, 0.02, 0.5]), 3, 0.1, 0.9, 0.999, 1e-8)
    received = call_learner("adam_step(..., t=3)", adam_step, *later)
    explain_mismatch(
        values(received[0], "the new w"),
        _adam(*later)[0],
        "w after step 3",
        [(_adam(*later[:4], 2, *later[5:])[0], "t is off by one: the correction at step t uses beta^t, t from 1.")],
    )


_BN_X = _RNG.normal(loc=2.0, scale=3.0, size=(6, 4))
_GAMMA, _BETA = np.array([1.0, 2.0, 0.5, 1.5]), np.array([0.0, 1.0, -1.0, 0.5])


@checker
def check_batch_norm(batch_norm):
    """batch_norm(x, gamma, beta, moving_mean, moving_variance, training, momentum, epsilon): BatchNorm's two modes.

    Args:
        batch_norm: the learner's function returning ``(y, new moving_mean, new moving_variance)``.

    Returns:
        A `CheckResult`.
    """
    moving_mean, moving_variance, momentum, eps = np.full(4, 0.5), np.full(4, 4.0), 0.9, 1e-3
    mean, variance = _BN_X.mean(0), _BN_X.var(0)
    received = call_learner(
        "batch_norm(x, ..., training=True)",
        batch_norm,
        _BN_X,
        _GAMMA,
        _BETA,
        moving_mean,
        moving_variance,
        True,
        momentum,
        eps,
    )
    if not isinstance(received, (tuple, list)) or len(received) != 3:
        raise Mistake("expected (y, new moving_mean, new moving_variance).")
    explain_mismatch(
        values(received[0], "y"),
        (_BN_X - mean) / np.sqrt(variance + eps) * _GAMMA + _BETA,
        "y in training (batch statistics)",
        [
            (
                (_BN_X - mean) / np.sqrt(_BN_X.var(0, ddof=1) + eps) * _GAMMA + _BETA,
                "the unbiased variance (ddof=1): BatchNorm normalises with the batch's own variance, 1 / N.",
            ),
            ((_BN_X - mean) / (np.sqrt(variance) + eps) * _GAMMA + _BETA, "epsilon belongs inside the square root."),
        ],
    )
    explain_mismatch(
        values(received[1], "the new moving_mean"),
        momentum * moving_mean + (1 - momentum) * mean,
        "the moving mean after one training batch",
        [
            (
                (1 - momentum) * moving_mean + momentum * mean,
                "momentum is the weight of the old average: avg <- momentum avg + (1 - momentum) batch.",
            )
        ],
    )
    received = call_learner(
        "batch_norm(x, ..., training=False)",
        batch_norm,
        _BN_X,
        _GAMMA,
        _BETA,
        moving_mean,
        moving_variance,
        False,
        momentum,
        eps,
    )
    explain_mismatch(
        values(received[0], "y"),
        (_BN_X - moving_mean) / np.sqrt(moving_variance + eps) * _GAMMA + _BETA,
        "y at inference (moving statistics)",
        [
            (
                (_BN_X - mean) / np.sqrt(variance + eps) * _GAMMA + _BETA,
                "batch statistics at inference: a prediction must not depend on the other examples of its batch; "
                "use the moving averages when training is False.",
            )
        ],
    )


@checker
def check_initialisation_std(xavier_std, he_std):
    """xavier_std(fan_in, fan_out) = sqrt(2 / (fan_in + fan_out)) and he_std(fan_in, fan_out) = sqrt(2 / fan_in).

    Args:
        xavier_std: the learner's Glorot standard deviation.
        he_std: the learner's He standard deviation.

    Returns:
        A `CheckResult`.
    """
    fan_in, fan_out = 300, 100
    received = float(values(call_learner("xavier_std(300, 100)", xavier_std, fan_in, fan_out), "xavier_std"))
    explain_mismatch(
        np.array(received),
        np.sqrt(2 / (fan_in + fan_out)),
        "xavier_std(300, 100)",
        [
            (2 / (fan_in + fan_out), "the variance, not the standard deviation: take the square root."),
            (
                np.sqrt(1 / (fan_in + fan_out)),
                "the 2 is missing: Var(w) = 2 / (fan_in + fan_out), the mean of 1 / fan_in and 1 / fan_out.",
            ),
            (np.sqrt(1 / fan_out), "1 / fan_out is the backward pass's condition only; Glorot averages both fans."),
        ],
    )
    received = float(values(call_learner("he_std(300, 100)", he_std, fan_in, fan_out), "he_std"))
    explain_mismatch(
        np.array(received),
        np.sqrt(2 / fan_in),
        "he_std(300, 100)",
        [
            (
                np.sqrt(2 / fan_out),
                "a variance of 2 / fan_out where 2 / fan_in belongs: each unit sums fan_in "
                "inputs, so the forward signal keeps its variance with 2 / fan_in.",
            ),
            (2 / fan_in, "the variance, not the standard deviation: take the square root."),
            (np.sqrt(1 / fan_in), "the 2 is missing: ReLU zeroes half of its inputs, which halves the variance."),
        ],
    )
