"""Metrics: Wilson intervals, the per-group report of a face detector, calibration and out-of-distribution scores."""

import numpy as np
import pytest

from mit_dl import evaluation


def test_wilson_interval_known_values():
    low, high = evaluation.wilson_interval(50, 100)
    assert (low, high) == pytest.approx((0.4038, 0.5962), abs=1e-4)
    low, high = evaluation.wilson_interval(0, 20)
    assert low == pytest.approx(0.0, abs=1e-12) and 0.15 < high < 0.17


def test_grouped_interval_is_wilson_for_groups_of_one_trial():
    outcomes = [1] * 30 + [0] * 12
    grouped = evaluation.grouped_wilson_interval(outcomes, [1] * len(outcomes))
    assert grouped == pytest.approx(evaluation.wilson_interval(30, 42))


def test_grouped_interval_counts_all_or_nothing_groups_as_one_trial_each():
    # Ten groups of five trials, each group all successes or all failures: the
    # data hold ten independent outcomes, not fifty.
    successes, totals = [5] * 5 + [0] * 5, [5] * 10
    grouped = evaluation.grouped_wilson_interval(successes, totals)
    assert grouped == pytest.approx(evaluation.wilson_interval(5, 10))
    low, high = evaluation.wilson_interval(25, 50)
    assert grouped[0] < low and grouped[1] > high


def test_grouped_interval_is_never_narrower_than_independent_trials():
    # Each group exactly at the pooled rate: the robust variance is 0, the design effect stays 1.
    assert evaluation.grouped_wilson_interval([1, 2], [2, 4]) == pytest.approx(evaluation.wilson_interval(3, 6))
    assert evaluation.grouped_wilson_interval([3, 2], [3, 2]) == pytest.approx(evaluation.wilson_interval(5, 5))


def test_grouped_interval_of_no_trials():
    assert all(np.isnan(evaluation.grouped_wilson_interval([], [])))


def test_group_report_counts_per_group_and_finds_the_worst():
    labels = np.array([1, 1, 1, 1, 0, 0, 1, 1])
    probabilities = np.array([0.9, 0.8, 0.4, 0.7, 0.2, 0.6, 0.1, 0.3])
    groups = np.array(["face/light"] * 4 + ["non-face"] * 2 + ["face/dark"] * 2)
    report = evaluation.group_report(labels, probabilities, groups)
    assert report["accuracy"] == pytest.approx(4 / 8)
    assert report["groups"]["face/light"]["accuracy"] == pytest.approx(0.75)
    dark = report["groups"]["face/dark"]
    assert dark["accuracy"] == 0.0 and dark["examples"] == 2
    assert dark["accuracy_95ci"] == evaluation.wilson_interval(0, 2)
    assert dark["mean_face_probability"] == pytest.approx(0.2)
    assert report["worst_group"] == "face/dark" and report["best_minus_worst"] == pytest.approx(0.75)


def test_group_report_rejects_mismatched_or_empty_input():
    with pytest.raises(ValueError, match="must match"):
        evaluation.group_report([1, 0], [0.5], ["a", "b"])
    with pytest.raises(ValueError, match="no examples"):
        evaluation.group_report([], [], [])


def _brute_auroc(inside, outside):
    wins = sum((o > i) + 0.5 * (o == i) for o in outside for i in inside)
    return wins / (len(inside) * len(outside))


def _brute_aupr(inside, outside):
    scores = np.concatenate([inside, outside])
    positive = np.r_[np.zeros(len(inside)), np.ones(len(outside))]
    area, previous_recall = 0.0, 0.0
    for threshold in sorted(set(scores.tolist()), reverse=True):
        chosen = scores >= threshold
        recall = positive[chosen].sum() / positive.sum()
        area += (recall - previous_recall) * positive[chosen].mean()
        previous_recall = recall
    return area


def test_ood_auroc_and_aupr_match_their_definitions_with_and_without_ties():
    rng = np.random.default_rng(0)
    for inside, outside in (
        (rng.normal(0, 1, 200), rng.normal(1, 1, 150)),  # no ties
        (rng.integers(0, 5, 200).astype(float), rng.integers(2, 7, 120).astype(float)),  # many ties
    ):
        assert evaluation.ood_auroc(inside, outside) == pytest.approx(_brute_auroc(inside, outside), abs=1e-12)
        assert evaluation.ood_aupr(inside, outside) == pytest.approx(_brute_aupr(inside, outside), abs=1e-12)
    # Separated perfectly, the wrong way round, and not at all.
    assert evaluation.ood_auroc([0, 1], [2, 3]) == 1.0 and evaluation.ood_auroc([2, 3], [0, 1]) == 0.0
    assert evaluation.ood_auroc([1, 1], [1, 1, 1]) == 0.5 and evaluation.ood_aupr([1, 1], [1, 1, 1]) == 0.6
    with pytest.raises(ValueError, match="non-empty"):
        evaluation.ood_auroc([], [1.0])
    with pytest.raises(ValueError, match="finite"):
        evaluation.ood_aupr([np.nan], [1.0])


def test_calibration_error_weighs_bins_by_their_counts_and_is_zero_when_calibrated():
    # 90 predictions at confidence 0.95 with 90% right, 10 at 0.55 with 50% right.
    probabilities = np.array([[0.95, 0.05]] * 90 + [[0.55, 0.45]] * 10)
    labels = np.array([0] * 81 + [1] * 9 + [0] * 5 + [1] * 5)
    table = evaluation.calibration_bins(labels, probabilities, bins=10)
    assert table["count"].sum() == 100 and table["count"][9] == 90 and table["count"][5] == 10
    np.testing.assert_allclose(table["accuracy"][[5, 9]], [0.5, 0.9])
    ece = evaluation.expected_calibration_error(labels, probabilities, bins=10)
    assert ece == pytest.approx(0.9 * 0.05 + 0.1 * 0.05)  # not the unweighted mean of the two gaps
    # Calibrated: each bin's accuracy equals its confidence.
    calibrated = np.array([[0.8, 0.2]] * 10)
    assert evaluation.expected_calibration_error([0] * 8 + [1] * 2, calibrated) == pytest.approx(0.0)
    # An edge value lands in the bin it closes: 0.6 in (0.4, 0.6] of 5 bins.
    assert evaluation.calibration_bins([0], [[0.6, 0.4]], bins=5)["count"].tolist() == [0, 0, 1, 0, 0]
    with pytest.raises(ValueError, match="bins must be a positive integer"):
        evaluation.calibration_bins([0], [[0.6, 0.4]], bins=0)


def test_nll_and_brier_against_hand_computed_values():
    labels, probabilities = [0, 2], [[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]]
    assert evaluation.negative_log_likelihood(labels, probabilities) == pytest.approx(-(np.log(0.7) + np.log(0.8)) / 2)
    expected = ((0.3**2 + 0.2**2 + 0.1**2) + (0.1**2 + 0.1**2 + 0.2**2)) / 2
    assert evaluation.brier_score(labels, probabilities) == pytest.approx(expected)
    assert evaluation.negative_log_likelihood([1], [[1.0, 0.0]]) == pytest.approx(-np.log(1e-12))
    with pytest.raises(ValueError, match=r"probabilities must be \[N, classes\]"):
        evaluation.brier_score([0, 1], [0.5, 0.5])


def test_bootstrap_intervals_match_the_normal_theory_and_resample_groups_on_their_own():
    values = np.random.default_rng(0).normal(10.0, 2.0, 400)
    low, high = evaluation.bootstrap_interval(np.mean, values, resamples=2000)
    half = 1.96 * 2.0 / np.sqrt(400)  # 0.196
    assert low < values.mean() < high and abs((high - low) / 2 - half) < 0.03
    assert evaluation.bootstrap_interval(np.mean, values, resamples=200) == evaluation.bootstrap_interval(
        np.mean, values, resamples=200
    )
    # Paired rows: labels and probabilities stay together; two groups of scores are drawn apart.
    labels = np.array([0, 1] * 50)
    probabilities = np.where(labels[:, None] == np.arange(2), 0.8, 0.2)
    nll = evaluation.bootstrap_interval(evaluation.negative_log_likelihood, labels, probabilities, resamples=50)
    assert nll == pytest.approx((-np.log(0.8), -np.log(0.8)))  # every row has the same loss
    rng = np.random.default_rng(1)
    inside, outside = rng.normal(0, 1, 300), rng.normal(1, 1, 100)
    low, high = evaluation.bootstrap_interval(evaluation.ood_auroc, inside, outside, paired=False, resamples=300)
    assert low < evaluation.ood_auroc(inside, outside) < high and 0.03 < high - low < 0.2
    with pytest.raises(ValueError, match="paired samples must have the same length"):
        evaluation.bootstrap_interval(evaluation.ood_auroc, inside, outside)
    with pytest.raises(ValueError, match=r"confidence must be in \(0, 1\)"):
        evaluation.bootstrap_interval(np.mean, values, confidence=95)


def test_temperature_scaling_recovers_the_temperature_the_labels_were_drawn_with():
    rng = np.random.default_rng(3)
    logits = rng.normal(0, 3, size=(20_000, 5))
    true = np.exp(logits / 2.0)
    true /= true.sum(1, keepdims=True)
    labels = np.array([rng.choice(5, p=p) for p in true])
    model = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)  # over-confident by a factor 2 in the logits
    fitted = evaluation.fit_temperature(labels, model)
    assert abs(fitted - 2.0) < 0.1
    scaled = evaluation.temperature_scaled(model, fitted)
    np.testing.assert_allclose(scaled.sum(1), 1.0)
    assert (scaled.argmax(1) == model.argmax(1)).all()  # the ranking, hence the accuracy, is kept
    assert evaluation.negative_log_likelihood(labels, scaled) < evaluation.negative_log_likelihood(labels, model)
    assert evaluation.expected_calibration_error(labels, scaled) < evaluation.expected_calibration_error(labels, model)
    with pytest.raises(ValueError, match="temperature must be positive"):
        evaluation.temperature_scaled(model, 0.0)


def test_the_reports_hold_each_metric_with_its_interval():
    rng = np.random.default_rng(4)
    probabilities = rng.dirichlet(np.ones(3), size=400)
    labels = rng.integers(0, 3, 400)
    report = evaluation.calibration_report(labels, probabilities, resamples=50)
    assert report["ece"] == evaluation.expected_calibration_error(labels, probabilities)
    assert report["brier"] == evaluation.brier_score(labels, probabilities)
    for name in ("accuracy", "nll", "brier", "ece"):
        low, high = report[f"{name}_95ci"]
        assert low < high, name
    assert sum(report["bins"]["count"]) == 400
    ood = evaluation.ood_report({"s": rng.normal(0, 1, 300)}, {"s": rng.normal(1, 1, 200)}, resamples=50)
    assert 0.7 < ood["s"]["auroc"] < 0.8 and ood["s"]["auroc_95ci"][0] < ood["s"]["auroc"] < ood["s"]["auroc_95ci"][1]
