"""Classification metrics: accuracy, per-class accuracy, confusion matrix, confidence intervals."""

import math

import numpy as np


def confusion_matrix(labels, predictions, num_classes):
    """``C[i, j]`` = number of examples of true class ``i`` predicted as ``j``."""
    labels = np.asarray(labels, dtype=np.int64)
    predictions = np.asarray(predictions, dtype=np.int64)
    if labels.shape != predictions.shape:
        raise ValueError(f"{labels.shape[0]} labels but {predictions.shape[0]} predictions; they must match.")
    return np.bincount(labels * num_classes + predictions, minlength=num_classes**2).reshape(num_classes, num_classes)


def wilson_interval(successes, total, z=1.959964):
    """95% Wilson score interval of a proportion (sensible also near 0 and 1)."""
    if total == 0:
        return (float("nan"), float("nan"))
    p = successes / total
    denominator = 1 + z**2 / total
    centre = (p + z**2 / (2 * total)) / denominator
    half = z * math.sqrt(p * (1 - p) / total + z**2 / (4 * total**2)) / denominator
    return (centre - half, centre + half)


def classification_report(labels, probabilities, class_names):
    """Accuracy (with a 95% interval), per-class accuracy and the confusion matrix."""
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
