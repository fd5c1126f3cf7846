"""Lecture 1 lab checkers: each accepts the reference answer and rejects typical mistakes with the right explanation."""

import numpy as np
from support import failed, todo

from mit_dl.foundations import autodiff
from mit_dl.labs import foundations as checks


def _softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _mlp(relu_derivative=True, mean=True, sign=1.0):
    def gradients(x, labels, W1, b1, W2, b2):
        z1 = x @ W1 + b1
        h = np.maximum(z1, 0)
        d = sign * (_softmax(h @ W2 + b2) - np.eye(3)[labels]) / (len(x) if mean else 1)
        d_z1 = (d @ W2.T) * ((z1 > 0) if relu_derivative else 1)
        return {"W1": x.T @ d_z1, "b1": d_z1.sum(0), "W2": h.T @ d, "b2": d.sum(0)}

    return gradients


def test_mlp_backprop():
    assert checks.check_mlp_backprop(_mlp())
    failed(checks.check_mlp_backprop(_mlp(mean=False)), "summed over the batch")
    failed(checks.check_mlp_backprop(_mlp(relu_derivative=False)), "the ReLU's derivative is missing")
    failed(checks.check_mlp_backprop(_mlp(sign=-1.0)), "prediction minus target")
    failed(checks.check_mlp_backprop(lambda *a: [1, 2, 3, 4]), "expected a dict with the keys W1, b1, W2, b2")
    failed(checks.check_mlp_backprop(todo), "not implemented yet")


def test_softmax_cross_entropy_vjp():
    def vjp(logits, labels, g):
        return g * (_softmax(logits) - np.eye(logits.shape[1])[labels]) / len(logits)

    assert checks.check_softmax_cross_entropy_vjp(vjp)
    failed(checks.check_softmax_cross_entropy_vjp(lambda z, y, g: vjp(z, y, 1.0)), "upstream gradient is not used")
    failed(checks.check_softmax_cross_entropy_vjp(lambda z, y, g: vjp(z, y, g) * len(z)), "1 / N is missing")
    failed(checks.check_softmax_cross_entropy_vjp(lambda z, y, g: -vjp(z, y, g)), "prediction minus target")


def _backward(accumulate):
    def backward(loss):
        order = autodiff.topological_order(loss)
        for node in order:
            node.grad = None
        loss.grad = np.ones_like(loss.value)
        for node in reversed(order):
            for parent, vjp in node.parents:
                contribution = vjp(node.grad)
                parent.grad = parent.grad + contribution if accumulate and parent.grad is not None else contribution

    return backward


def test_backward_accumulates():
    assert checks.check_backward_accumulates(_backward(accumulate=True))
    failed(checks.check_backward_accumulates(_backward(accumulate=False)), "overwritten, not accumulated")
    failed(checks.check_backward_accumulates(lambda loss: None), "still None")


def _adam(correct=True, square=True, shift=0):
    def step(w, g, m, v, t, lr, b1, b2, eps):
        t = t + shift
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * (g * g if square else g)
        m_hat, v_hat = (m / (1 - b1**t), v / (1 - b2**t)) if correct else (m, v)
        return w - lr * m_hat / (np.sqrt(np.abs(v_hat)) + eps), m, v

    return step


def test_adam_step():
    assert checks.check_adam_step(_adam())
    failed(checks.check_adam_step(_adam(correct=False)), "the bias correction is missing")
    failed(checks.check_adam_step(_adam(square=False)), "v averages g, not g^2")
    failed(checks.check_adam_step(lambda w, g, *rest: (w - rest[3] * g, 0, 0)), "plain gradient descent")
    failed(checks.check_adam_step(_adam(shift=1)), "t is off by one")
    failed(checks.check_adam_step(lambda *a: a[0]), "expected (new w, new m, new v)")


def _batch_norm(inference_batch=False, ddof=0, flipped=False):
    def batch_norm(x, gamma, beta, mean_avg, var_avg, training, momentum, eps):
        if training or inference_batch:
            mean, var = x.mean(0), x.var(0, ddof=ddof)
            if training:
                keep = 1 - momentum if flipped else momentum
                mean_avg, var_avg = keep * mean_avg + (1 - keep) * mean, keep * var_avg + (1 - keep) * var
        else:
            mean, var = mean_avg, var_avg
        return (x - mean) / np.sqrt(var + eps) * gamma + beta, mean_avg, var_avg

    return batch_norm


def test_batch_norm():
    assert checks.check_batch_norm(_batch_norm())
    failed(checks.check_batch_norm(_batch_norm(inference_batch=True)), "batch statistics at inference")
    failed(checks.check_batch_norm(_batch_norm(ddof=1)), "unbiased variance")
    failed(checks.check_batch_norm(_batch_norm(flipped=True)), "momentum is the weight of the old average")


def test_initialisation_std():
    xavier, he = (lambda i, o: np.sqrt(2 / (i + o))), (lambda i, o: np.sqrt(2 / i))
    assert checks.check_initialisation_std(xavier, he)
    failed(checks.check_initialisation_std(xavier, lambda i, o: np.sqrt(2 / o)), "2 / fan_out where 2 / fan_in")
    failed(checks.check_initialisation_std(lambda i, o: 2 / (i + o), he), "the variance, not the standard deviation")
    failed(checks.check_initialisation_std(lambda i, o: np.sqrt(1 / (i + o)), he), "the 2 is missing")
    failed(checks.check_initialisation_std(xavier, todo), "not implemented yet")
