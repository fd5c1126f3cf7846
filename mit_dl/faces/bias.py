"""Measuring a face detector's bias: accuracy per attribute group, the worst face group, latent correlates.

The lab's measure of bias is the accuracy of the worst *face* group (for
example dark-skinned faces in dim light wearing a hat) on a test set that is
balanced over every group; `mit_dl.evaluation.group_report` computes the
per-group accuracies with 95% intervals.
"""

import numpy as np
import tensorflow as tf

from mit_dl import evaluation
from mit_dl.faces import synthetic


def face_probabilities(model, images, batch_size=512):
    """``P(face)`` of uint8 images from a detector mapping [0, 1] images to one logit.

    Args:
        model: the face CNN or a DB-VAE.
        images: uint8 ``[N, 64, 64, 3]``.
        batch_size: images per compiled call.

    Returns:
        ``[N]`` probabilities.
    """
    predict = tf.function(lambda x: tf.sigmoid(model(tf.cast(x, tf.float32) / 255.0, training=False))[:, 0])
    return np.concatenate([predict(images[i : i + batch_size]).numpy() for i in range(0, len(images), batch_size)])


def summarise(report):
    """Add the worst *face* group (the lab's measure of bias) to a `group_report`.

    Args:
        report: `mit_dl.evaluation.group_report` of a detector.

    Returns:
        The report with ``worst_face_group``, ``worst_face_group_accuracy``,
        ``best_face_group``, ``best_face_group_accuracy`` and ``face_gap``
        (best minus worst face group).
    """
    faces = {name: g["accuracy"] for name, g in report["groups"].items() if name.split("/")[0] == "face"}
    worst, best = min(faces, key=faces.get), max(faces, key=faces.get)
    return {
        **report,
        "worst_face_group": worst,
        "worst_face_group_accuracy": faces[worst],
        "best_face_group": best,
        "best_face_group_accuracy": faces[best],
        "face_gap": faces[best] - faces[worst],
    }


def evaluate(model, test):
    """Per-group report of a detector on a `FaceData` split (groups from its hidden attributes).

    Args:
        model: the detector.
        test: the `FaceData` to evaluate on.

    Returns:
        The group report, with the worst face group (`summarise`).
    """
    return summarise(evaluation.group_report(test.labels, face_probabilities(model, test.images), test.group_names()))


def attribute_indicators(data):
    """One boolean column per attribute value except each attribute's first (the reference value).

    Args:
        data: a synthetic `FaceData` split.

    Returns:
        ``{"skin=dark": bool [N], ...}``.
    """
    return {
        f"{name}={value}": data.attributes[name] == i
        for name, values in synthetic.ATTRIBUTES.items()
        if name in data.attributes
        for i, value in enumerate(values)
        if i > 0
    }


def rare_values():
    """The attribute values that are rare among the training faces (5% or less): ``["skin=dark", "accessory=hat"]``.

    Returns:
        ``"name=value"`` strings.
    """
    return [
        f"{name}={value}"
        for name, table in synthetic.TRAIN_FACE_FREQUENCIES.items()
        for value, share in table.items()
        if share <= synthetic.RARE
    ]


def effective_faces(probabilities):
    """How many faces a sampler effectively draws from: Kish's effective sample size ``1 / sum_x p(x)^2``.

    ``N`` for uniform draws over ``N`` faces, 1 when one face gets all the
    probability. A sampler that favours rare faces lowers it; one that puts
    its mass on a handful of faces (the product rule over 100 latent
    dimensions) takes it near 1, and a detector then sees the same few faces
    in every batch.

    Args:
        probabilities: ``[faces]`` draw probabilities summing to 1.

    Returns:
        A float between 1 and the number of faces.

    Examples:
        >>> effective_faces([0.25, 0.25, 0.25, 0.25]), effective_faces([0.5, 0.5, 0.0, 0.0])
        (4.0, 2.0)
    """
    p = np.asarray(probabilities, np.float64).reshape(-1)
    return float(1.0 / np.sum(np.square(p / p.sum())))


def resampling_recall(probabilities, train, top=0.1):
    """How well a face sampler finds the rare faces: their share among the most-drawn faces vs in the data.

    For the ``top`` share of training faces with the highest draw probability,
    the share that has each rare attribute value (and any of them), beside
    that share among all training faces. A sampler blind to the groups gives
    equal shares; one that finds them gives a larger share at the top. The
    sampler's `effective_faces` comes with it, out of ``faces``.

    Args:
        probabilities: ``[faces]`` draw probabilities, in the order of the training faces.
        train: the training `FaceData` (synthetic, with attributes).
        top: the share of faces counted as most drawn.

    Returns:
        ``{"top": top, "faces": N, "effective_faces": n, "any rare": {"top": s, "data": s}, "skin=dark": {...}, ...}``.
    """
    faces = train.labels == 1
    probabilities = np.asarray(probabilities).reshape(-1)
    indicators = attribute_indicators(train)
    chosen = np.argsort(-probabilities, kind="stable")[: max(1, int(round(top * len(probabilities))))]
    columns = {value: indicators[value][faces] for value in rare_values()}
    columns["any rare"] = np.any(list(columns.values()), axis=0)
    recall = {"top": top, "faces": len(probabilities), "effective_faces": effective_faces(probabilities)}
    for value, member in columns.items():
        recall[value] = {"top": float(member[chosen].mean()), "data": float(member.mean())}
    return recall


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
