"""Latent resampling probabilities: NumPy references for both rules, limits, stability."""

import numpy as np
import pytest

from mit_dl import debias
from support import rng


def _product_reference(mu, bins=10, smoothing=0.001):
    """The paper's rule in plain NumPy (float64, log space)."""
    log_w = np.zeros(len(mu))
    for i in range(mu.shape[1]):
        density, edges = np.histogram(mu[:, i], density=True, bins=bins)
        index = np.clip(np.digitize(mu[:, i], edges) - 1, 0, bins - 1)
        smoothed = (density + smoothing) / (density + smoothing).sum()
        log_w -= np.log(smoothed[index])
    w = np.exp(log_w - log_w.max())
    return w / w.sum()


@pytest.mark.parametrize("shape", [(500, 1), (1000, 8), (300, 32)])
def test_both_rules_match_numpy_references(shape):
    mu = rng(1).normal(size=shape).astype(np.float32)
    ours_max = debias.sampling_probabilities(mu, combine="max").numpy()
    np.testing.assert_allclose(ours_max, debias.course_sampling_probabilities(mu), rtol=1e-4, atol=1e-9)
    ours_product = debias.sampling_probabilities(mu, combine="product").numpy()
    np.testing.assert_allclose(ours_product, _product_reference(mu), rtol=1e-3, atol=1e-9)
    for p in (ours_max, ours_product):
        assert p.sum() == pytest.approx(1.0, abs=1e-5) and (p > 0).all()


def test_large_smoothing_gives_uniform_probabilities():
    mu = rng(2).normal(size=(400, 6))
    for rule in debias.COMBINE_RULES:
        p = debias.sampling_probabilities(mu, smoothing=1e6, combine=rule).numpy()
        np.testing.assert_allclose(p, np.full(400, 1 / 400), rtol=1e-3)


def test_a_rare_cluster_is_up_weighted():
    mu = rng(3).normal(0, 0.3, size=(1000, 4))
    mu[:20, 0] += 5.0  # 2% of examples far out in dimension 0
    for rule in debias.COMBINE_RULES:
        p = debias.sampling_probabilities(mu, combine=rule).numpy()
        assert p[:20].mean() > 10 * p[20:].mean(), rule
        assert p[:20].sum() > 0.1  # the 2% get at least five times their share of the draws


def test_rules_agree_on_one_dimension():
    mu = rng(4).standard_exponential(size=(700, 1))
    np.testing.assert_allclose(debias.sampling_probabilities(mu, combine="max").numpy(),
                               debias.sampling_probabilities(mu, combine="product").numpy(), rtol=1e-5)


def test_product_is_stable_for_hundreds_of_dimensions():
    mu = rng(5).normal(size=(2000, 256))
    mu[:10] += 4.0  # unusual in every dimension: a naive product would overflow
    p = debias.sampling_probabilities(mu, combine="product").numpy()
    assert np.isfinite(p).all() and p.sum() == pytest.approx(1.0, abs=1e-5)
    assert p[:10].sum() > 0.99


@pytest.mark.parametrize("kwargs, match", [
    ({"combine": "mean"}, "combine must be one of"),
    ({"bins": 0}, "bins must be a positive integer"),
    ({"smoothing": -1}, "smoothing must be >= 0"),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        debias.sampling_probabilities(np.zeros((4, 2)), **kwargs)
    with pytest.raises(ValueError, match="non-empty \\[N, D\\]"):
        debias.sampling_probabilities(np.zeros(4))
