"""Mean-variance estimation: the Gaussian NLL against NumPy, the toy's noise learned, models it can and cannot wrap."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from mit_dl.errors import ConfigError
from mit_dl.training import Trainer
from mit_dl.uncertainty import MVEWrapper
from mit_dl.uncertainty.data import cubic_regression, in_gap, noise_std
from mit_dl.uncertainty.losses import gaussian_nll


def test_the_nll_and_its_gradients_match_numpy():
    rng = np.random.default_rng(0)
    y, mu, s = (rng.normal(size=(5, 3)).astype(np.float32) for _ in range(3))
    expected = 0.5 * (s + (y - mu) ** 2 * np.exp(-s) + np.log(2 * np.pi))
    mu_t, s_t = tf.Variable(mu), tf.Variable(s)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(gaussian_nll(y, mu_t, s_t))
    grad_mu, grad_s = tape.gradient(loss, [mu_t, s_t])
    np.testing.assert_allclose(gaussian_nll(y, mu, s).numpy(), expected, rtol=1e-5)
    np.testing.assert_allclose(grad_mu.numpy(), -(y - mu) * np.exp(-s), rtol=1e-5)
    np.testing.assert_allclose(grad_s.numpy(), 0.5 * (1 - (y - mu) ** 2 * np.exp(-s)), rtol=1e-4, atol=1e-6)


def test_the_nll_is_smallest_at_the_true_log_variance_not_at_log_sigma():
    samples = np.random.default_rng(1).normal(0.0, 2.0, 20_000).astype(np.float32)  # sigma 2
    grid = np.linspace(-1.0, 3.0, 81)
    losses = [float(np.mean(gaussian_nll(samples, np.zeros_like(samples), np.full_like(samples, g)))) for g in grid]
    best = grid[int(np.argmin(losses))]
    assert abs(best - np.log(4.0)) < 0.06  # log sigma^2 = 1.386, not log sigma = 0.693


def test_the_toy_leaves_its_gap_out_and_knows_its_noise():
    data = cubic_regression(5000, seed=3)
    assert data.x.shape == data.y.shape == (5000, 1) and data.x.dtype == np.float32
    assert not in_gap(data.x).any() and data.x.min() >= -4 and data.x.max() <= 4
    residual = (data.y - data.x**3)[:, 0] / noise_std(data.x[:, 0])
    assert abs(residual.mean()) < 0.05 and abs(residual.std() - 1) < 0.05
    np.testing.assert_array_equal(cubic_regression(10, seed=3).x, cubic_regression(10, seed=3).x)
    assert in_gap(cubic_regression(5000, seed=3, gap=False).x).any()
    with pytest.raises(ValueError, match="count must be a positive integer"):
        cubic_regression(0)


def _mlp():
    inputs = keras.Input((1,))
    hidden = keras.layers.Dense(64, activation="relu")(inputs)
    hidden = keras.layers.Dense(64, activation="relu")(hidden)
    return keras.Model(inputs, keras.layers.Dense(1)(hidden))


def test_mve_learns_the_toys_noise_within_fifteen_percent_on_the_training_range():
    keras.utils.set_random_seed(0)
    data = cubic_regression(8000, seed=0)
    scale = float(data.y.std())
    wrapped = MVEWrapper(_mlp())
    assert len(wrapped.trainable_variables) == len({id(v) for v in wrapped.trainable_variables}) == 8
    wrapped.compile(optimizer=keras.optimizers.Adam(3e-3))
    batches = tf.data.Dataset.from_tensor_slices((data.x / 4, data.y / scale)).shuffle(8000, seed=0)
    Trainer(wrapped, verbose=0).fit(batches.repeat().batch(256), steps=600, steps_per_epoch=600)
    grid = np.linspace(-4, 4, 401, dtype=np.float32)[:, None]
    sigma = np.sqrt(wrapped(grid / 4)["aleatoric"].numpy()[:, 0]) * scale
    true = noise_std(grid[:, 0])
    kept = ~in_gap(grid[:, 0])
    relative = np.sqrt(np.mean(((sigma - true) / true)[kept] ** 2))
    assert relative < 0.15, relative
    assert sigma[-1] / sigma[0] > 1.5  # the noise doubles from x = -4 to x = 4; a constant variance would not


class _Subclassed(keras.Model):
    def __init__(self):
        super().__init__()
        self.hidden = keras.layers.Dense(8, activation="relu")
        self.out = keras.layers.Dense(2)

    def call(self, x):
        return self.out(self.hidden(x))


def test_a_subclassed_model_needs_its_features_named_in_one_sentence():
    model = _Subclassed()
    model(tf.zeros((1, 3)))
    with pytest.raises(
        ConfigError, match=r"model \(_Subclassed\) exposes no layer before its output: wrap a functional"
    ):
        MVEWrapper(model)
    inputs = keras.Input((3,))
    features = keras.Model(inputs, model.hidden(inputs))
    out = MVEWrapper(model, features=features)(tf.zeros((4, 3)))
    assert out["prediction"].shape == out["aleatoric"].shape == (4, 2)
    assert np.allclose(out["aleatoric"].numpy(), 1.0)  # the head starts at sigma = 1
