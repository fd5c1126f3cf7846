"""Modern CNNs lab checkers: each accepts the reference answer and rejects typical mistakes, explained."""

import numpy as np
import tensorflow as tf
from support import failed, todo

from mit_dl.architectures import metric, spatial
from mit_dl.labs import architectures as checks


def _block(relu_after=True, projected=True, inner_relu=True, shortcut=True):
    def block(x, conv1, conv2, projection):
        change = conv2(tf.nn.relu(conv1(x)) if inner_relu else conv1(x))
        identity = projection(x) if projection is not None and projected else x
        if not shortcut:
            return tf.nn.relu(change)
        return tf.nn.relu(identity + change) if relu_after else identity + tf.nn.relu(change)

    return block


def test_residual_block():
    assert checks.check_residual_block(_block())
    failed(checks.check_residual_block(_block(relu_after=False)), "ReLU comes before the addition")
    failed(checks.check_residual_block(_block(inner_relu=False)), "no ReLU between the two convolutions")
    failed(checks.check_residual_block(_block(shortcut=False)), "shortcut is missing")
    failed(checks.check_residual_block(_block(projected=False)), "add projection(x) instead of x")
    failed(checks.check_residual_block(todo), "not implemented yet")


def test_inception_channels():
    def right(c_in, f1, r3, f3, r5, f5, pool):
        return f1 + f3 + f5 + (c_in if pool is None else pool)

    assert checks.check_inception_channels(right)
    failed(checks.check_inception_channels(lambda c, f1, r3, f3, r5, f5, p: f1 + f3 + f5), "pooling branch")
    failed(
        checks.check_inception_channels(
            lambda c, f1, r3, f3, r5, f5, p: right(c, f1, r3, f3, r5, f5, p) + (r3 or 0) + (r5 or 0)
        ),
        "reductions are not outputs",
    )
    failed(checks.check_inception_channels(lambda c, f1, r3, f3, r5, f5, p: f1 + f3 + f5 + c), "projected to f_pool")
    failed(checks.check_inception_channels(todo), "not implemented yet")


def _contrastive(a, b, same, margin, swap=False, hinge=True):
    d = np.sqrt(((a - b) ** 2).sum(-1))
    same = 1 - same if swap else same
    push = np.maximum(0, margin - d) if hinge else margin - d
    return np.mean(same * d**2 + (1 - same) * push**2)


def test_contrastive_loss():
    assert checks.check_contrastive_loss(_contrastive)
    assert checks.check_contrastive_loss(metric.contrastive_loss)
    failed(checks.check_contrastive_loss(lambda *a: _contrastive(*a, swap=True)), "labels are swapped")
    failed(checks.check_contrastive_loss(lambda *a: _contrastive(*a, hinge=False)), "no hinge")
    failed(checks.check_contrastive_loss(todo), "not implemented yet")


def test_triplet_loss():
    def numpy_triplet(a, p, n, margin, hinge=True, sign=1):
        value = ((a - p) ** 2).sum(-1) - ((a - n) ** 2).sum(-1) + sign * margin
        return np.mean(np.maximum(0, value) if hinge else value)

    assert checks.check_triplet_loss(numpy_triplet)
    failed(checks.check_triplet_loss(lambda *a: numpy_triplet(*a, hinge=False)), "no hinge")
    failed(checks.check_triplet_loss(lambda *a: numpy_triplet(*a, sign=-1)), "margin's sign")
    failed(checks.check_triplet_loss(todo), "not implemented yet")


def test_the_triplet_loss_agrees_with_numpy_on_random_embeddings():
    rng = np.random.default_rng(0)
    a, p, n = (rng.normal(size=(32, 8)).astype(np.float32) for _ in range(3))
    expected = np.maximum(0, ((a - p) ** 2).sum(-1) - ((a - n) ** 2).sum(-1) + 0.5).mean()
    np.testing.assert_allclose(float(metric.triplet_loss(a, p, n, 0.5)), expected, rtol=1e-5)


def test_bilinear_sample():
    assert checks.check_bilinear_sample(lambda images, grid: spatial.bilinear_sample(images, grid))
    swapped = lambda images, grid: spatial.bilinear_sample(images, grid[..., ::-1])  # noqa: E731
    failed(checks.check_bilinear_sample(swapped), "x and y are swapped")
    failed(checks.check_bilinear_sample(checks._nearest), "nearest pixel")
    failed(checks.check_bilinear_sample(checks._clamped), "border's value")
    failed(checks.check_bilinear_sample(todo), "not implemented yet")
