"""Classification metrics: accuracy, confusion matrix, intervals, calibration, out-of-distribution scores."""

import math

import numpy as np
import scipy.stats


def confusion_matrix(labels, predictions, num_classes):
    """The confusion matrix: ``C[i, j]`` counts the examples of true class ``i`` predicted as ``j``.

    Args:
        labels: true class ids ``[N]``.
        predictions: predicted class ids ``[N]``.
        num_classes: number of classes.

    Returns:
        An int64 ``[num_classes, num_classes]`` array.

    Examples:
        >>> confusion_matrix([0, 1, 1], [0, 1, 0], 2).tolist()
        [[1, 0], [1, 1]]
    """
    labels = np.asarray(labels, dtype=np.int64)
    predictions = np.asarray(predictions, dtype=np.int64)
    if labels.shape != predictions.shape:
        raise ValueError(f"{labels.shape[0]} labels but {predictions.shape[0]} predictions; they must match.")
    return np.bincount(labels * num_classes + predictions, minlength=num_classes**2).reshape(num_classes, num_classes)


def wilson_interval(successes, total, z=1.959964):
    """95% Wilson score interval of a proportion (sensible also near 0 and 1).

    Args:
        successes: the count of successes.
        total: the count of trials.
        z: the normal quantile (1.96 for 95%).

    Returns:
        ``(low, high)``; ``(nan, nan)`` for no trials.
    """
    if total == 0:
        return (float("nan"), float("nan"))
    p = successes / total
    denominator = 1 + z**2 / total
    centre = (p + z**2 / (2 * total)) / denominator
    half = z * math.sqrt(p * (1 - p) / total + z**2 / (4 * total**2)) / denominator
    return (centre - half, centre + half)


def grouped_wilson_interval(successes, totals, z=1.959964):
    """95% interval of a pooled proportion whose trials come in groups that may be alike within.

    Trials of one group (e.g. the songs of one generated sample) are not
    independent, so the plain `wilson_interval` over all trials can be too
    narrow. This is the Wilson interval at Kish's effective sample size
    ``n / deff``, where the design effect ``deff`` is the cluster-robust
    variance of ``p = sum(successes) / sum(totals)``, ``sum((s_g - p t_g)^2) / n^2``,
    over the binomial one, ``p (1 - p) / n``. Groups of one trial give
    ``deff = 1`` (the plain interval); groups that are all-or-nothing widen it.
    ``deff`` is kept at 1 or more: with few groups the robust variance can
    come out near 0, and grouped trials are never counted as worth more than
    independent ones.

    Args:
        successes: ``successes[g]``, the successes in group ``g``.
        totals: ``totals[g]``, the trials in group ``g``.
        z: the normal quantile (1.96 for 95%).

    Returns:
        ``(low, high)``.
    """
    successes = np.asarray(successes, np.float64)
    totals = np.asarray(totals, np.float64)
    n = totals.sum()
    if n == 0:
        return (float("nan"), float("nan"))
    p = successes.sum() / n
    binomial = p * (1 - p) / n
    robust = float(np.sum((successes - p * totals) ** 2)) / n**2
    design_effect = max(1.0, robust / binomial) if binomial > 0 else 1.0  # p of 0 or 1: nothing to widen
    effective = n / design_effect
    return wilson_interval(float(p * effective), float(effective), z)


def classification_report(labels, probabilities, class_names):
    """Accuracy with a 95% interval, per-class accuracy and the confusion matrix.

    Args:
        labels: true class ids ``[N]``.
        probabilities: predicted class probabilities ``[N, classes]``.
        class_names: one name per class.

    Returns:
        ``{"examples", "accuracy", "accuracy_95ci", "per_class_accuracy", "confusion_matrix"}``.
    """
    predictions = np.argmax(probabilities, axis=-1)
    matrix = confusion_matrix(labels, predictions, len(class_names))
    correct, total = int(np.trace(matrix)), int(matrix.sum())
    per_class = {
        name: (float(matrix[i, i] / matrix[i].sum()) if matrix[i].sum() else float("nan"))
        for i, name in enumerate(class_names)
    }
    return {
        "examples": total,
        "accuracy": correct / total if total else float("nan"),
        "accuracy_95ci": wilson_interval(correct, total),
        "per_class_accuracy": per_class,
        "confusion_matrix": matrix.tolist(),
    }


def group_report(labels, face_probabilities, groups, threshold=0.5):
    """Per-group accuracy of a binary detector, with 95% intervals, and the fairness summary.

    Args:
        labels: 1 for a face, 0 for a non-face, ``[N]``.
        face_probabilities: the detector's face probabilities ``[N]``.
        groups: one group name per example (e.g. ``"face/dark/dim/hat"``).
        threshold: probabilities at or above it count as faces.

    Returns:
        Overall accuracy, per-group ``{accuracy, accuracy_95ci, examples,
        mean_face_probability}`` (the last is the course notebook's measure),
        the worst group, the worst face group and the gap between the best and
        worst group accuracy.

    Raises:
        ValueError: the inputs' lengths differ, or there are no examples.
    """
    labels = np.asarray(labels).reshape(-1)
    p = np.asarray(face_probabilities, np.float64).reshape(-1)
    groups = np.asarray(groups).reshape(-1)
    if not len(labels) == len(p) == len(groups):
        raise ValueError(f"{len(labels)} labels, {len(p)} probabilities and {len(groups)} groups; they must match.")
    if len(labels) == 0:
        raise ValueError("no examples to evaluate; pass at least one image.")
    correct = (p >= threshold).astype(int) == labels
    per_group = {}
    for name in sorted(set(groups.tolist())):
        member = groups == name
        hits, total = int(correct[member].sum()), int(member.sum())
        per_group[name] = {
            "accuracy": hits / total,
            "accuracy_95ci": wilson_interval(hits, total),
            "examples": total,
            "mean_face_probability": float(p[member].mean()),
        }
    accuracies = {name: g["accuracy"] for name, g in per_group.items()}
    worst = min(accuracies, key=accuracies.get)
    return {
        "examples": len(labels),
        "accuracy": float(correct.mean()),
        "accuracy_95ci": wilson_interval(int(correct.sum()), len(labels)),
        "groups": per_group,
        "worst_group": worst,
        "worst_group_accuracy": accuracies[worst],
        "best_minus_worst": max(accuracies.values()) - accuracies[worst],
    }


def _labels_and_probabilities(labels, probabilities):
    labels = np.asarray(labels, dtype=np.int64)
    probabilities = np.asarray(probabilities, dtype=np.float64)
    if probabilities.ndim != 2 or labels.shape != probabilities.shape[:1]:
        raise ValueError(
            f"probabilities must be [N, classes] with one label each; received {probabilities.shape} "
            f"and {labels.shape} labels"
        )
    return labels, probabilities


def negative_log_likelihood(labels, probabilities, epsilon=1e-12):
    """Mean ``-log p(y | x)`` of the true classes (nats).

    Args:
        labels: true class ids ``[N]``.
        probabilities: predicted class probabilities ``[N, K]``.
        epsilon: floor on the probabilities (a confident wrong answer costs ``-log epsilon``).

    Returns:
        The mean, a float.

    Examples:
        >>> round(negative_log_likelihood([0, 1], [[0.5, 0.5], [0.2, 0.8]]), 4)
        0.4581
    """
    labels, probabilities = _labels_and_probabilities(labels, probabilities)
    chosen = probabilities[np.arange(len(labels)), labels]
    return float(-np.log(np.maximum(chosen, epsilon)).mean())


def brier_score(labels, probabilities):
    """Mean over examples of ``sum_k (p_k - 1[y = k])^2`` (the multi-class Brier score, 0 best, 2 worst).

    Args:
        labels: true class ids ``[N]``.
        probabilities: predicted class probabilities ``[N, K]``.

    Returns:
        The mean, a float.

    Examples:
        >>> round(brier_score([0, 1], [[1.0, 0.0], [0.6, 0.4]]), 4)
        0.36
    """
    labels, probabilities = _labels_and_probabilities(labels, probabilities)
    one_hot = np.eye(probabilities.shape[1])[labels]
    return float(np.square(probabilities - one_hot).sum(axis=1).mean())


def calibration_bins(labels, probabilities, bins=15):
    """Reliability-diagram bins: confidence (the top probability) against accuracy, in equal-width bins.

    Bin ``b`` holds the predictions whose confidence is in ``(b / bins, (b + 1) / bins]``
    (a confidence of exactly 0 falls in the first bin).

    Args:
        labels: true class ids ``[N]``.
        probabilities: predicted class probabilities ``[N, K]``.
        bins: the number of bins (15 in Guo et al. 2017).

    Returns:
        A dict of ``[bins]`` arrays: ``count``, ``confidence`` (mean in the bin) and
        ``accuracy`` (both NaN where the bin is empty), and ``edges`` ``[bins + 1]``.
    """
    labels, probabilities = _labels_and_probabilities(labels, probabilities)
    if isinstance(bins, bool) or not isinstance(bins, int) or bins < 1:
        raise ValueError(f"bins must be a positive integer, received {bins!r}")
    confidence = probabilities.max(axis=1)
    correct = (probabilities.argmax(axis=1) == labels).astype(np.float64)
    edges = np.linspace(0.0, 1.0, bins + 1)
    # (edge_b, edge_b+1]: compared with the edges themselves, not confidence * bins (0.6 * 5 > 3 in floats).
    index = np.clip(np.searchsorted(edges, confidence, side="left") - 1, 0, bins - 1)
    count = np.bincount(index, minlength=bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_confidence = np.bincount(index, weights=confidence, minlength=bins) / count
        accuracy = np.bincount(index, weights=correct, minlength=bins) / count
    return {
        "count": count,
        "confidence": mean_confidence,
        "accuracy": accuracy,
        "edges": edges,
    }


def expected_calibration_error(labels, probabilities, bins=15):
    """ECE: ``sum_b (n_b / N) |accuracy_b - confidence_b|`` over `calibration_bins`.

    Each bin weighs by its share of the predictions; an unweighted mean over
    bins would let a nearly empty bin count as much as the one holding most
    of them.

    Args:
        labels: true class ids ``[N]``.
        probabilities: predicted class probabilities ``[N, K]``.
        bins: the number of equal-width bins.

    Returns:
        The ECE in [0, 1], a float.

    Examples:
        >>> probabilities = [[0.9, 0.1], [0.9, 0.1], [0.6, 0.4], [0.3, 0.7]]
        >>> round(expected_calibration_error([0, 1, 0, 1], probabilities, bins=5), 4)
        0.375
    """
    table = calibration_bins(labels, probabilities, bins)
    filled = table["count"] > 0
    gaps = np.abs(table["accuracy"][filled] - table["confidence"][filled])
    return float((table["count"][filled] * gaps).sum() / table["count"].sum())


def _scores(in_scores, out_scores):
    in_scores = np.asarray(in_scores, dtype=np.float64).ravel()
    out_scores = np.asarray(out_scores, dtype=np.float64).ravel()
    if not len(in_scores) or not len(out_scores):
        raise ValueError("both the in-distribution and the out-of-distribution scores must be non-empty")
    if not (np.isfinite(in_scores).all() and np.isfinite(out_scores).all()):
        raise ValueError("the scores must be finite numbers")
    return in_scores, out_scores


def ood_auroc(in_scores, out_scores):
    """Area under the ROC curve of telling out-of-distribution inputs (positives) by a higher score.

    The probability that a random out-of-distribution input scores above a
    random in-distribution one, ties counting half (the Mann-Whitney
    statistic from average ranks). 0.5 is chance; a score that rates the
    outliers as *more* typical gives less than 0.5.

    Args:
        in_scores: ``[N_in]`` scores of in-distribution inputs (e.g. entropy, higher = more unusual).
        out_scores: ``[N_out]`` scores of out-of-distribution inputs.

    Returns:
        The AUROC, a float.

    Examples:
        >>> ood_auroc([0.1, 0.4, 0.5], [0.45, 0.9])
        0.8333333333333334
    """
    in_scores, out_scores = _scores(in_scores, out_scores)
    pooled = np.concatenate([in_scores, out_scores])
    order = np.argsort(pooled, kind="mergesort")
    ranks = np.empty(len(pooled))
    ranks[order] = np.arange(1, len(pooled) + 1)
    # Average ranks over ties.
    values, inverse, counts = np.unique(pooled, return_inverse=True, return_counts=True)
    sums = np.bincount(inverse, weights=ranks)
    ranks = (sums / counts)[inverse]
    n_in, n_out = len(in_scores), len(out_scores)
    out_rank_sum = ranks[n_in:].sum()
    return float((out_rank_sum - n_out * (n_out + 1) / 2) / (n_in * n_out))


def ood_aupr(in_scores, out_scores):
    """Area under the precision-recall curve with out-of-distribution inputs as positives (average precision).

    ``sum_t (R_t - R_{t-1}) P_t`` over the distinct score thresholds from the
    highest down, ``P_t`` and ``R_t`` the precision and recall of "score >=
    t". A score that cannot tell them apart gets the share of positives.

    Args:
        in_scores: ``[N_in]`` in-distribution scores.
        out_scores: ``[N_out]`` out-of-distribution scores (higher = more unusual).

    Returns:
        The average precision, a float.

    Examples:
        >>> round(ood_aupr([0.1, 0.4, 0.5], [0.45, 0.9]), 4)
        0.8333
    """
    in_scores, out_scores = _scores(in_scores, out_scores)
    scores = np.concatenate([in_scores, out_scores])
    positive = np.concatenate([np.zeros(len(in_scores)), np.ones(len(out_scores))])
    order = np.argsort(-scores, kind="mergesort")
    scores, positive = scores[order], positive[order]
    last_of_tie = np.r_[scores[1:] != scores[:-1], True]  # a threshold takes every example tied with it
    true_positives = np.cumsum(positive)[last_of_tie]
    predicted = (np.arange(1, len(scores) + 1))[last_of_tie]
    precision = true_positives / predicted
    recall = true_positives / len(out_scores)
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def bootstrap_interval(statistic, *samples, paired=True, resamples=1000, confidence=0.95, seed=0):
    """Percentile-bootstrap interval of ``statistic(*samples)``.

    Each resample draws examples with replacement: with ``paired``, the same
    indices from every sample (rows that belong together, such as labels and
    their predicted probabilities); without, each sample on its own (two
    independent groups, such as the in- and out-of-distribution scores of
    `ood_auroc`).

    Args:
        statistic: ``statistic(*samples) -> float``.
        *samples: arrays whose first axis indexes the examples.
        paired: resample the samples together (they must have the same length) or each on its own.
        resamples: how many bootstrap resamples (at least 1).
        confidence: the interval's coverage, in (0, 1).
        seed: seed of the resampling.

    Returns:
        ``(low, high)`` floats.

    Raises:
        ValueError: no samples, paired samples of different lengths, or ``confidence`` outside (0, 1).

    Examples:
        >>> low, high = bootstrap_interval(np.mean, np.arange(100.0), resamples=200)
        >>> bool(low < 49.5 < high)
        True
    """
    if not samples:
        raise ValueError("bootstrap_interval needs at least one sample")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), received {confidence!r}")
    if isinstance(resamples, bool) or not isinstance(resamples, int) or resamples < 1:
        raise ValueError(f"resamples must be a positive integer, received {resamples!r}")
    samples = [np.asarray(sample) for sample in samples]
    lengths = {len(sample) for sample in samples}
    if paired and len(lengths) > 1:
        raise ValueError(f"paired samples must have the same length, received lengths {sorted(lengths)}")
    rng = np.random.default_rng(seed)
    values = np.empty(resamples)
    for r in range(resamples):
        if paired:
            index = rng.integers(0, len(samples[0]), len(samples[0]))
            drawn = [sample[index] for sample in samples]
        else:
            drawn = [sample[rng.integers(0, len(sample), len(sample))] for sample in samples]
        values[r] = statistic(*drawn)
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(values, [tail, 1.0 - tail])
    return float(low), float(high)


def seed_interval(values, confidence=0.95, bounds=None):
    """Mean of a measurement repeated over seeds, with its Student-t interval.

    ``mean +- t * sd / sqrt(n)`` with ``n - 1`` degrees of freedom: the
    interval for the mean over training seeds (each seed one independent
    run). One value gives no interval (``nan`` bounds).

    Args:
        values: the measurement of every seed.
        confidence: the interval's coverage, in (0, 1).
        bounds: ``(lowest, highest)`` values the measure can take (an
            accuracy: ``(0, 1)``); the interval is clipped to them, so five
            seeds with one collapse do not give an accuracy above 100%.

    Returns:
        ``(mean, low, high)`` floats.

    Raises:
        ValueError: no values, or ``confidence`` outside (0, 1).

    Examples:
        >>> mean, low, high = seed_interval([0.80, 0.82, 0.84])
        >>> round(mean, 2), round(low, 3), round(high, 3)
        (0.82, 0.77, 0.87)
    """
    values = np.asarray(values, np.float64).reshape(-1)
    if len(values) == 0:
        raise ValueError("seed_interval needs at least one value")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), received {confidence!r}")
    mean = float(values.mean())
    if len(values) == 1:
        return mean, float("nan"), float("nan")
    half = scipy.stats.t.ppf(0.5 + confidence / 2.0, len(values) - 1) * values.std(ddof=1) / np.sqrt(len(values))
    low, high = mean - half, mean + half
    if bounds is not None:
        low, high = max(low, bounds[0]), min(high, bounds[1])
    return mean, float(low), float(high)


def temperature_scaled(probabilities, temperature):
    """``softmax(log p / T)``: the probabilities a temperature ``T`` gives (``T > 1`` softens, ``T < 1`` sharpens).

    For a single network ``log p`` equals its logits up to a constant per
    row, so this is Guo et al.'s temperature scaling; for averaged
    predictions (ensembles, MC dropout) it scales the log of the average.

    Args:
        probabilities: ``[N, K]``.
        temperature: ``T > 0``.

    Returns:
        ``[N, K]`` float64 probabilities.

    Examples:
        >>> temperature_scaled([[0.8, 0.2]], 1.0).round(3).tolist()
        [[0.8, 0.2]]
    """
    if not temperature > 0:
        raise ValueError(f"temperature must be positive, received {temperature!r}")
    logits = np.log(np.clip(np.asarray(probabilities, np.float64), 1e-12, None)) / temperature
    logits -= logits.max(axis=1, keepdims=True)
    scaled = np.exp(logits)
    return scaled / scaled.sum(axis=1, keepdims=True)


def fit_temperature(labels, probabilities, low=0.05, high=20.0, iterations=60):
    """The temperature minimising the negative log-likelihood on held-out predictions (Guo et al. 2017).

    A golden-section search over ``log T`` in ``[log low, log high]`` (the
    NLL is convex in ``1 / T`` for logits, so it has one minimum).

    Args:
        labels: held-out class ids ``[N]`` (a validation split, never the test set).
        probabilities: their predicted probabilities ``[N, K]``.
        low: the smallest ``T`` searched.
        high: the largest ``T`` searched.
        iterations: golden-section steps (60 narrow the range by a factor of about 1e12).

    Returns:
        ``T``, a float.

    Examples:
        >>> overconfident = [[0.99, 0.01], [0.99, 0.01], [0.01, 0.99], [0.99, 0.01]]  # one wrong
        >>> fit_temperature([0, 0, 1, 1], overconfident) > 1
        True
    """
    labels, probabilities = _labels_and_probabilities(labels, probabilities)

    def nll(log_t):
        return negative_log_likelihood(labels, temperature_scaled(probabilities, np.exp(log_t)))

    a, b = np.log(low), np.log(high)
    ratio = (np.sqrt(5.0) - 1.0) / 2.0
    c, d = b - ratio * (b - a), a + ratio * (b - a)
    fc, fd = nll(c), nll(d)
    for _ in range(iterations):
        if fc < fd:
            b, d, fd = d, c, fc
            c = b - ratio * (b - a)
            fc = nll(c)
        else:
            a, c, fc = c, d, fd
            d = a + ratio * (b - a)
            fd = nll(d)
    return float(np.exp((a + b) / 2.0))


def calibration_report(labels, probabilities, resamples=1000, seed=0):
    """Accuracy, NLL, Brier score and ECE (15 bins, weighted) with 95% intervals, and the reliability bins.

    Args:
        labels: class ids ``[N]``.
        probabilities: ``[N, K]``.
        resamples: bootstrap resamples of the intervals.
        seed: the bootstrap's seed.

    Returns:
        ``{"accuracy", "accuracy_95ci", "nll", "nll_95ci", "brier", "brier_95ci", "ece", "ece_95ci", "bins"}``.
    """
    correct = int((np.argmax(probabilities, axis=1) == labels).sum())
    report = {"accuracy": correct / len(labels), "accuracy_95ci": wilson_interval(correct, len(labels))}
    for name, metric in (
        ("nll", negative_log_likelihood),
        ("brier", brier_score),
        ("ece", expected_calibration_error),
    ):
        report[name] = metric(labels, probabilities)
        report[f"{name}_95ci"] = bootstrap_interval(metric, labels, probabilities, resamples=resamples, seed=seed)
    bins = calibration_bins(labels, probabilities)
    report["bins"] = {k: np.asarray(v).tolist() for k, v in bins.items()}
    return report


def ood_report(in_scores, out_scores, resamples=1000, seed=0):
    """AUROC (with a 95% interval) and AUPR of each score, OOD inputs the positives.

    Args:
        in_scores: ``{name: [N_in]}``.
        out_scores: ``{name: [N_out]}``, the same names.
        resamples: bootstrap resamples (the two groups resampled independently).
        seed: the bootstrap's seed.

    Returns:
        ``{name: {"auroc", "auroc_95ci", "aupr"}}``.
    """
    report = {}
    for name in in_scores:
        inside, outside = in_scores[name], out_scores[name]
        report[name] = {
            "auroc": ood_auroc(inside, outside),
            "auroc_95ci": bootstrap_interval(ood_auroc, inside, outside, paired=False, resamples=resamples, seed=seed),
            "aupr": ood_aupr(inside, outside),
        }
    return report
