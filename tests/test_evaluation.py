"""Metrics: Wilson intervals (plain and grouped) and the per-group report of a face detector."""

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
