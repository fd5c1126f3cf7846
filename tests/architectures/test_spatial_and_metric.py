"""The spatial transformer's sampler and the metric-learning losses against their definitions."""

import numpy as np
import tensorflow as tf

from mit_dl.architectures import metric, spatial


def test_the_identity_transform_returns_the_input():
    images = np.random.default_rng(0).random((3, 7, 9, 2)).astype(np.float32)
    np.testing.assert_allclose(
        spatial.transform(images, np.array([spatial.IDENTITY] * 3, np.float32)), images, atol=1e-6
    )


def test_a_shift_by_whole_pixels_moves_the_image_and_shifts_in_zeros():
    images = np.arange(20, dtype=np.float32).reshape(1, 4, 5, 1)
    theta = np.array([[[1, 0, -2 / 4], [0, 1, 0]]], np.float32)  # one pixel of 5: 2 / (5 - 1) normalised
    shifted = spatial.transform(images, theta).numpy()[0, ..., 0]
    np.testing.assert_allclose(shifted[:, 1:], images[0, :, :-1, 0], atol=1e-5)
    np.testing.assert_allclose(shifted[:, 0], 0.0)


def test_half_a_pixel_interpolates_its_two_neighbours_and_the_sampler_is_differentiable():
    images = np.arange(20, dtype=np.float32).reshape(1, 4, 5, 1)
    theta = tf.Variable(np.array([[[1, 0, 1 / 4], [0, 1, 0]]], np.float32))  # half a pixel to the right
    with tf.GradientTape() as tape:
        out = spatial.transform(images, theta)
        total = tf.reduce_sum(out)
    np.testing.assert_allclose(out.numpy()[0, :, :-1, 0], images[0, :, :-1, 0] + 0.5, atol=1e-5)
    assert np.abs(tape.gradient(total, theta).numpy()).sum() > 0


def test_the_contrastive_loss_is_its_formula():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(2, 16, 3)).astype(np.float32)
    same = rng.integers(0, 2, 16).astype(np.float32)
    d = np.sqrt(((a - b) ** 2).sum(-1))
    expected = np.mean(same * d**2 + (1 - same) * np.maximum(0, 2.0 - d) ** 2)
    np.testing.assert_allclose(float(metric.contrastive_loss(a, b, same, margin=2.0)), expected, rtol=1e-5)
