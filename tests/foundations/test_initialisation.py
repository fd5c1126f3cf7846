"""Initialisation: the variances the schemes promise, the depth at which bad ones fail, the symmetry problem."""

import numpy as np
import pytest

from mit_dl.errors import ConfigError
from mit_dl.foundations import initialisation as init


@pytest.mark.parametrize("scheme, variance", [("xavier", 2 / (300 + 100)), ("he", 2 / 300), ("small", 1e-4)])
def test_each_scheme_draws_its_variance(scheme, variance):
    w = init.initial_weights(scheme, 300, 100, np.random.default_rng(0))
    assert w.shape == (300, 100) and w.var() == pytest.approx(variance, rel=0.03)


def test_at_50_layers_with_tanh_xavier_keeps_the_signal_while_small_weights_lose_it():
    glorot = init.signal_and_gradient("xavier", "tanh", depth=50, width=128, batch=256)
    small = init.signal_and_gradient("small", "tanh", depth=50, width=128, batch=256)
    # Glorot + tanh decays slowly with depth (the variance 1/fan_in only holds in the linear regime of tanh).
    assert glorot["activation_variance"][-1] > 1e-3 and glorot["gradient_variance"][0] > 1e-3
    assert small["activation_variance"][-1] < 1e-30 and small["gradient_variance"][0] < 1e-30  # vanished


def test_with_relu_he_keeps_the_variance_and_xavier_halves_it_each_layer():
    he = init.signal_and_gradient("he", "relu", depth=20, width=256)
    xavier = init.signal_and_gradient("xavier", "relu", depth=20, width=256)
    ratio = he["activation_variance"][-1] / he["activation_variance"][0]
    assert 0.2 < ratio < 5  # stays of the same order over 20 layers
    shrink = xavier["activation_variance"][-1] / xavier["activation_variance"][0]
    assert shrink == pytest.approx(0.5**19, rel=0.5)  # Var(w) = 1/fan_in: half of what ReLU needs
    normal = init.signal_and_gradient("normal", "relu", depth=20, width=256)
    assert normal["activation_variance"][-1] > 1e30  # exploded: (256 / 2)^20


def test_a_constant_initialisation_never_breaks_the_symmetry():
    zeros = init.symmetry_after_training("zeros")
    xavier = init.symmetry_after_training("xavier")
    assert zeros["distinct_units"] == 0 and zeros["accuracy"] < 0.7  # 16 copies of one unit: not XOR
    assert xavier["distinct_units"] == 15 and xavier["accuracy"] > 0.9


def test_bad_names_are_one_sentence():
    with pytest.raises(ConfigError, match="scheme must be one of zeros, small, normal, xavier, he, received 'glorot'"):
        init.weight_std("glorot", 2, 2)
    with pytest.raises(ConfigError, match="activation must be one of tanh, relu, sigmoid"):
        init.signal_and_gradient("he", "gelu")
