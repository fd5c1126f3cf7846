"""The from-scratch autodiff engine against tf.GradientTape (float64, rtol 1e-10) and finite differences."""

import numpy as np
import pytest
import tensorflow as tf

from mit_dl.errors import ConfigError
from mit_dl.foundations import autodiff as ad

RTOL = 1e-10


def _rng(seed=0):
    return np.random.default_rng(seed)


def test_an_mlp_loss_has_gradienttapes_gradients():
    rng = _rng()
    x, labels = rng.normal(size=(16, 5)), rng.integers(0, 3, 16)
    w1, b1, w2, b2 = rng.normal(size=(5, 8)), rng.normal(size=8), rng.normal(size=(8, 3)), rng.normal(size=3)

    leaves = [ad.Tensor(v) for v in (w1, b1, w2, b2)]
    h = (ad.Tensor(x) @ leaves[0] + leaves[1]).tanh()
    loss = ad.softmax_cross_entropy(h @ leaves[2] + leaves[3], labels)
    loss.backward()

    variables = [tf.Variable(v) for v in (w1, b1, w2, b2)]
    with tf.GradientTape() as tape:
        logits = tf.tanh(x @ variables[0] + variables[1]) @ variables[2] + variables[3]
        expected = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels, logits))
    np.testing.assert_allclose(loss.value, expected.numpy(), rtol=RTOL)
    for leaf, grad in zip(leaves, tape.gradient(expected, variables)):
        np.testing.assert_allclose(leaf.grad, grad.numpy(), rtol=RTOL, atol=1e-14)


@pytest.mark.parametrize("seed", range(5))
def test_random_graphs_of_every_operation_with_reused_nodes(seed):
    rng = _rng(seed)
    a, b = rng.uniform(0.5, 2.0, size=(4, 3)), rng.uniform(0.5, 2.0, size=(3,))

    def graph(x, y, ops):
        u = ops["mul"](x, y)  # broadcast [4, 3] * [3]
        v = ops["add"](ops["exp"](u * 0.1), ops["log"](x))  # x reused
        w = ops["sigmoid"](v) + ops["relu"](v - 1.0) + ops["tanh"](u)
        return ops["sum"](ops["reshape"](w * w, (12,)))  # w reused

    ours = {
        "mul": lambda p, q: p * q,
        "add": lambda p, q: p + q,
        "exp": lambda p: p.exp(),
        "log": lambda p: p.log(),
        "sigmoid": lambda p: p.sigmoid(),
        "relu": lambda p: p.relu(),
        "tanh": lambda p: p.tanh(),
        "sum": lambda p: p.sum(),
        "reshape": lambda p, s: p.reshape(*s),
    }
    theirs = {
        "mul": tf.multiply,
        "add": tf.add,
        "exp": tf.exp,
        "log": tf.math.log,
        "sigmoid": tf.sigmoid,
        "relu": tf.nn.relu,
        "tanh": tf.tanh,
        "sum": tf.reduce_sum,
        "reshape": tf.reshape,
    }
    x, y = ad.Tensor(a), ad.Tensor(b)
    out = graph(x, y, ours)
    out.backward()
    tx, ty = tf.Variable(a), tf.Variable(b)
    with tf.GradientTape() as tape:
        expected = graph(tx, ty, theirs)
    gx, gy = tape.gradient(expected, [tx, ty])
    np.testing.assert_allclose(out.value, expected.numpy(), rtol=RTOL)
    np.testing.assert_allclose(x.grad, gx.numpy(), rtol=RTOL)
    np.testing.assert_allclose(y.grad, gy.numpy(), rtol=RTOL)


def test_a_convolution_through_im2col_has_tensorflows_gradients():
    rng = _rng(1)
    images, kernel = rng.normal(size=(2, 7, 6, 3)), rng.normal(size=(3, 3, 3, 4))
    for stride in (1, 2):
        x, k = ad.Tensor(images), ad.Tensor(kernel)
        out = ad.conv2d(x, k, stride)
        (out * out).sum().backward()
        tx, tk = tf.Variable(images), tf.Variable(kernel)
        with tf.GradientTape() as tape:
            expected = tf.nn.conv2d(tx, tk, stride, "VALID")
            loss = tf.reduce_sum(expected * expected)
        gx, gk = tape.gradient(loss, [tx, tk])
        np.testing.assert_allclose(out.value, expected.numpy(), rtol=RTOL, atol=1e-12)
        np.testing.assert_allclose(x.grad, gx.numpy(), rtol=RTOL, atol=1e-12)
        np.testing.assert_allclose(k.grad, gk.numpy(), rtol=RTOL, atol=1e-12)


def test_gradients_match_central_finite_differences():
    rng = _rng(2)
    w = rng.normal(size=(3, 2))

    def loss(values):
        leaf = ad.Tensor(values)
        return leaf, ((ad.Tensor(np.ones((4, 3))) @ leaf).sigmoid() * 2.0).mean()

    leaf, out = loss(w)
    out.backward()
    eps, numeric = 1e-6, np.zeros_like(w)
    for index in np.ndindex(w.shape):
        plus, minus = w.copy(), w.copy()
        plus[index] += eps
        minus[index] -= eps
        numeric[index] = (loss(plus)[1].value - loss(minus)[1].value) / (2 * eps)
    np.testing.assert_allclose(leaf.grad, numeric, rtol=1e-7)


def test_forward_and_reverse_mode_give_the_same_jacobian_at_n_and_m_passes():
    rng = _rng(3)
    matrix = rng.normal(size=(3, 5))

    def forward_function(x):
        return (x @ matrix.T).tanh()

    def reverse_function(x):
        return (x.reshape(1, 5) @ ad.Tensor(matrix.T)).tanh().reshape(3)

    x = rng.normal(size=5)
    forward, n_passes = ad.jacobian_forward(forward_function, x)
    reverse, m_passes = ad.jacobian_reverse(reverse_function, x)
    expected = (1 - np.tanh(matrix @ x) ** 2)[:, None] * matrix
    np.testing.assert_allclose(forward, expected, rtol=RTOL)
    np.testing.assert_allclose(reverse, expected, rtol=RTOL)
    assert (n_passes, m_passes) == (5, 3)


def test_it_trains_an_mlp_on_a_toy_problem():
    rng = _rng(4)
    x = rng.normal(size=(200, 2))
    labels = (x[:, 0] * x[:, 1] > 0).astype(int)  # XOR-like: not linearly separable
    params = [
        ad.Tensor(rng.normal(size=(2, 16)) * 0.5),
        ad.Tensor(np.zeros(16)),
        ad.Tensor(rng.normal(size=(16, 2)) * 0.5),
        ad.Tensor(np.zeros(2)),
    ]
    losses = []
    for _ in range(300):
        for p in params:
            p.grad = None
        loss = ad.softmax_cross_entropy((ad.Tensor(x) @ params[0] + params[1]).tanh() @ params[2] + params[3], labels)
        loss.backward()
        for p in params:
            p.value -= 0.5 * p.grad
        losses.append(float(loss.value))
    logits = np.tanh(x @ params[0].value + params[1].value) @ params[2].value + params[3].value
    assert losses[-1] < 0.3 * losses[0] and (logits.argmax(1) == labels).mean() > 0.9


def test_bad_shapes_are_one_sentence():
    with pytest.raises(ConfigError, match=r"shapes \(2, 3\) \+ \(4,\) do not broadcast"):
        ad.Tensor(np.ones((2, 3))) + ad.Tensor(np.ones(4))
    with pytest.raises(ConfigError, match=r"matmul needs \[n, k\] @ \[k, m\] matrices, received \(2, 3\) @ \(2, 3\)"):
        ad.Tensor(np.ones((2, 3))) @ ad.Tensor(np.ones((2, 3)))
    with pytest.raises(ConfigError, match="backward\\(\\) starts from a scalar loss"):
        ad.Tensor(np.ones(3)).tanh().backward()


def test_the_graph_figure_draws_every_node(tmp_path):
    x = ad.Tensor(np.ones((2, 3)), name="x")
    w = ad.Tensor(np.ones((3, 1)), name="w")
    loss = ((x @ w).sigmoid() * x.sum()).mean()
    path = ad.draw_graph(loss, tmp_path / "graph.png")
    assert len(ad.topological_order(loss)) == 9 and path.stat().st_size > 10_000
