"""Classification metrics: accuracy, per-class accuracy, confusion matrix, confidence intervals."""

import math

import numpy as np


def confusion_matrix(labels, predictions, num_classes):
    """The confusion matrix: ``C[i, j]`` counts the examples of true class ``i`` predicted as ``j``.

    Args:
        labels: true class ids ``[N]``.
        predictions: predicted class ids ``[N]``.
        num_classes: number of classes.

    Returns:
        An int64 ``[num_classes, num_classes]`` array.

    Example:
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


def latent_correlations(latent, indicators, top=3):
    """Which latent dimensions track which attribute: Pearson ``r`` of every dimension with each indicator.

    A constant dimension or indicator has ``r = 0``.

    Args:
        latent: ``[N, D]`` latent means.
        indicators: ``{attribute name: bool [N]}``.
        top: how many dimensions to keep per attribute.

    Returns:
        ``{name: [{"dimension", "r"}, ...]}``, the ``top`` dimensions by ``|r|`` first.
    """
    z = np.asarray(latent, np.float64)
    z = z - z.mean(0)
    z_norm = np.sqrt((z**2).sum(0))
    result = {}
    for name, indicator in indicators.items():
        a = np.asarray(indicator, np.float64).reshape(-1)
        if len(a) != len(z):
            raise ValueError(f"indicator {name!r} has {len(a)} values for {len(z)} latent vectors; they must match.")
        a = a - a.mean()
        denominator = z_norm * np.sqrt((a**2).sum())
        r = np.divide(a @ z, denominator, out=np.zeros(z.shape[1]), where=denominator > 0)
        order = np.argsort(-np.abs(r))[:top]
        result[name] = [{"dimension": int(d), "r": float(r[d])} for d in order]
    return result
