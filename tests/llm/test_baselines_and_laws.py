"""The Kneser-Ney baseline is a distribution; the power-law fit recovers a known law; the iso-compute vertex."""

import numpy as np
import pytest

from mit_dl.llm.config import GPTConfig
from mit_dl.llm.ngram import KneserNey
from mit_dl.llm.scaling import compute_optimal, fit_power_law, non_embedding_weights, point_config

TEXT = "the quick brown fox jumps over the lazy dog. " * 30 + "a stitch in time saves nine. " * 20


@pytest.mark.parametrize("context", [b"", b"th", b"the", b"zzzz", b"lazy"])
def test_kneser_ney_probabilities_sum_to_one_in_every_context(context):
    model = KneserNey.fit(TEXT, order=5)
    assert sum(model.probability(context, byte) for byte in range(256)) == pytest.approx(1.0, abs=1e-9)


def test_kneser_ney_prefers_text_like_its_training_text():
    model = KneserNey.fit(TEXT, order=5)
    assert model.bits_per_character("the lazy dog jumps over the quick fox.") < 1.5
    assert model.bits_per_character("zebras quietly vex jumpy wizards") > 4


def test_the_power_law_fit_recovers_its_exponent_with_an_interval():
    rng = np.random.default_rng(0)
    n = np.geomspace(3e3, 1e6, 6).repeat(3)
    loss = (40 * n**-0.3 + 2.0) * np.exp(rng.normal(0, 0.005, len(n)))
    fit = fit_power_law(n, loss, resamples=200)
    assert fit["alpha"] == pytest.approx(0.3, abs=0.05) and fit["r2"] > 0.95
    low, high = fit["alpha_95ci"]
    assert low < fit["alpha"] < high


def test_the_compute_optimal_size_is_the_parabolas_vertex():
    weights = np.array([1e4, 3e4, 1e5, 3e5])
    points = [{"weights": w, "loss": (np.log(w) - np.log(5e4)) ** 2 + 3} for w in weights]
    assert compute_optimal(points) == pytest.approx(5e4, rel=1e-6)


def test_sweep_points_change_size_and_steps_only():
    config = GPTConfig.from_preset("quick")
    point = point_config(config, 32, 2, 123.7)
    assert (point.d_model, point.num_layers, point.num_heads, point.ff_dim, point.steps) == (32, 2, 2, 128, 123)
    assert point.data == config.data and point.context == config.context
    assert non_embedding_weights(128, 4) == 793088
