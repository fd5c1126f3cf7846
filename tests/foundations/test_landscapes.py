"""Optimizers on the quadratic valley, Rosenbrock and a saddle; the learning-rate range test."""

import keras
import numpy as np
import pytest

from mit_dl.errors import ConfigError
from mit_dl.foundations import landscapes, optimizers


def _distance(path, surface):
    return float(np.linalg.norm(path[-1] - np.array(landscapes.SURFACES[surface][1])))


def test_momentum_and_adam_cross_the_ill_conditioned_valley_that_gradient_descent_crawls_along():
    start, steps = (2.0, 1.0), 60
    plain = landscapes.trajectory(optimizers.GradientDescent(0.07), "quadratic", start, steps)
    heavy = landscapes.trajectory(optimizers.GradientDescent(0.07, momentum=0.8), "quadratic", start, steps)
    assert _distance(heavy, "quadratic") < 0.1 * _distance(plain, "quadratic")
    zigzag = np.sign(np.diff(plain[:10, 1]))
    assert (zigzag[1:] != zigzag[:-1]).all()  # the steep direction overshoots every step (25 * 0.07 > 1)


def test_on_the_saddle_gradient_descent_escapes_only_as_fast_as_the_small_offset_grows():
    path = landscapes.trajectory(optimizers.GradientDescent(0.01), "saddle", (1.0, 1e-6), 200)
    assert abs(path[100, 1]) < 1e-4 and abs(path[-1, 0]) < 0.05  # near the saddle point long after x settled
    adam = landscapes.trajectory(optimizers.Adam(0.01), "saddle", (1.0, 1e-6), 200)
    assert abs(adam[-1, 1]) > 100 * abs(path[-1, 1])  # Adam's normalised step leaves it at once


def test_adam_reaches_rosenbrocks_valley_floor():
    path = landscapes.trajectory(optimizers.Adam(0.02), "rosenbrock", (-1.5, 2.0), 2000)
    assert _distance(path, "rosenbrock") < 0.1


def test_the_range_test_finds_a_falling_stretch_then_divergence():
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    model = keras.Sequential([keras.Input((10,)), keras.layers.Dense(32, activation="relu"), keras.layers.Dense(1)])
    w = rng.normal(size=(10, 1))
    batches = [(x, x @ w) for x in (rng.normal(size=(64, 10)).astype("float32") for _ in range(120))]
    rates, losses = landscapes.learning_rate_range(
        model, keras.losses.MeanSquaredError(), batches, optimizers.GradientDescent(1e-5)
    )
    best = int(np.argmin(losses))
    assert 1e-4 < rates[best] < 10 and losses[best] < 0.2 * losses[0]
    assert not np.isfinite(losses[-1]) or losses[-1] > 10 * losses[best]  # too large: it blows up
    with pytest.raises(ConfigError, match="start must be positive and below stop"):
        landscapes.learning_rate_range(model, None, batches, optimizers.Adam(), start=1.0, stop=0.1)
