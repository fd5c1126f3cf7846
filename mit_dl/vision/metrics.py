"""How well a model segments and detects: IoU of boxes and masks, non-maximum suppression, COCO-style mAP.

Lecture 3 scores segmentation per pixel and detection per box; these are
the definitions used by PASCAL VOC and COCO, written in NumPy so that they
can be read line by line and checked by hand (the tests do, and compare
mAP with ``pycocotools`` when it is installed).

- ``box_iou``: intersection over union of two sets of boxes,
  ``IoU(A, B) = |A ∩ B| / (|A| + |B| - |A ∩ B|)``.
- ``non_max_suppression``: greedy NMS, the reference for
  ``tf.image.non_max_suppression`` (which the exported detector runs).
- ``detection_average_precision``: COCO's AP for one class at one IoU
  threshold, and ``mean_average_precision``: its mean over classes at 0.5
  and over the thresholds 0.5, 0.55, ..., 0.95 (mAP@[0.5:0.95]).
- ``segmentation_confusion``, ``class_iou`` and ``mean_iou``: per-class IoU
  from a confusion matrix accumulated over all test pixels, PASCAL's mIoU.

Boxes are ``(y_min, x_min, y_max, x_max)``, in pixels, ends exclusive (as
`mit_dl.vision.scenes` and ``tf.image`` order them): a box's area is
``(y_max - y_min) * (x_max - x_min)``.
"""

import numpy as np

COCO_THRESHOLDS = tuple(np.round(np.arange(0.5, 0.951, 0.05), 2))
# COCO's precision is read at 101 recall levels 0, 0.01, ..., 1.
RECALL_LEVELS = np.linspace(0.0, 1.0, 101)


def box_iou(boxes_a, boxes_b):
    """Intersection over union of every box of ``boxes_a`` with every box of ``boxes_b``.

    Args:
        boxes_a: ``[N, 4]`` boxes ``(y_min, x_min, y_max, x_max)``.
        boxes_b: ``[M, 4]`` boxes.

    Returns:
        float64 ``[N, M]``: ``|A ∩ B| / |A ∪ B|``, 0 where the union is empty.

    Examples:
        >>> box_iou([[0, 0, 2, 2]], [[1, 1, 3, 3], [0, 0, 2, 2]]).round(4).tolist()
        [[0.1429, 1.0]]
    """
    a = np.asarray(boxes_a, np.float64).reshape(-1, 4)
    b = np.asarray(boxes_b, np.float64).reshape(-1, 4)
    top = np.maximum(a[:, None, 0], b[None, :, 0])
    left = np.maximum(a[:, None, 1], b[None, :, 1])
    bottom = np.minimum(a[:, None, 2], b[None, :, 2])
    right = np.minimum(a[:, None, 3], b[None, :, 3])
    intersection = np.clip(bottom - top, 0, None) * np.clip(right - left, 0, None)
    union = _area(a)[:, None] + _area(b)[None, :] - intersection
    return np.divide(intersection, union, out=np.zeros_like(intersection), where=union > 0)


def _area(boxes):
    return np.clip(boxes[:, 2] - boxes[:, 0], 0, None) * np.clip(boxes[:, 3] - boxes[:, 1], 0, None)


def non_max_suppression(boxes, scores, iou_threshold=0.5, max_outputs=100, score_threshold=-np.inf):
    """Greedy NMS: keep the best-scoring box, drop the boxes that overlap it more than ``iou_threshold``, repeat.

    Args:
        boxes: ``[N, 4]`` candidate boxes.
        scores: ``[N]`` their scores.
        iou_threshold: a box whose IoU with a kept box is *above* this is suppressed.
        max_outputs: keep at most this many boxes.
        score_threshold: boxes scoring below this are never kept.

    Returns:
        int64 indices of the kept boxes, best score first (ties: the lower index first, as TensorFlow's).

    Examples:
        >>> non_max_suppression([[0, 0, 10, 10], [1, 1, 10, 10], [20, 20, 30, 30]], [0.9, 0.8, 0.7]).tolist()
        [0, 2]
    """
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    scores = np.asarray(scores, np.float64).reshape(-1)
    order = np.argsort(-scores, kind="stable")
    order = order[scores[order] >= score_threshold]
    iou = box_iou(boxes, boxes)
    kept = []
    suppressed = np.zeros(len(boxes), bool)
    for index in order:
        if len(kept) == max_outputs:
            break
        if suppressed[index]:
            continue
        kept.append(index)
        suppressed |= iou[index] > iou_threshold
    return np.array(kept, np.int64)


def match_detections(detected_boxes, detected_scores, true_boxes, iou_threshold):
    """COCO's greedy matching in one image: each detection, best score first, takes the best unmatched truth.

    Args:
        detected_boxes: ``[D, 4]``.
        detected_scores: ``[D]``.
        true_boxes: ``[T, 4]``.
        iou_threshold: a match needs IoU at least this.

    Returns:
        bool ``[D]``: whether each detection (in the given order) is a true positive.
    """
    detected_boxes = np.asarray(detected_boxes, np.float64).reshape(-1, 4)
    hits = np.zeros(len(detected_boxes), bool)
    if len(detected_boxes) == 0 or len(true_boxes) == 0:
        return hits
    iou = box_iou(detected_boxes, true_boxes)
    taken = np.zeros(iou.shape[1], bool)
    for index in np.argsort(-np.asarray(detected_scores, np.float64), kind="stable"):
        candidates = np.where(taken, -1.0, iou[index])
        best = int(np.argmax(candidates))
        if candidates[best] >= iou_threshold:
            taken[best] = True
            hits[index] = True
    return hits


def average_precision(scores, hits, true_count):
    """The area under the precision-recall curve as COCO reads it: interpolated precision at 101 recall levels.

    Args:
        scores: ``[D]`` every detection's score, over all images.
        hits: bool ``[D]``, whether each is a true positive.
        true_count: how many true objects there are.

    Returns:
        AP in [0, 1]; NaN when ``true_count`` is 0 (COCO leaves such a class out of the mean).

    Examples:
        >>> round(average_precision([0.9, 0.8], [True, False], true_count=2), 4)  # 51 of 101 levels at precision 1
        0.505
    """
    if true_count == 0:
        return float("nan")
    if len(hits) == 0:
        return 0.0
    order = np.argsort(-np.asarray(scores, np.float64), kind="stable")
    hits = np.asarray(hits, bool)[order]
    true_positives = np.cumsum(hits)
    recall = true_positives / true_count
    precision = true_positives / np.arange(1, len(hits) + 1)
    # Interpolate: the precision at recall r is the best precision at any recall >= r.
    precision = np.maximum.accumulate(precision[::-1])[::-1]
    at_levels = np.searchsorted(recall, RECALL_LEVELS, side="left")
    sampled = np.where(at_levels < len(precision), precision[np.minimum(at_levels, len(precision) - 1)], 0.0)
    return float(sampled.mean())


def detection_average_precision(detections, truths, label, iou_threshold=0.5, max_detections=100):
    """COCO AP of one class at one IoU threshold over a set of images.

    Args:
        detections: per image, ``(boxes [D, 4], scores [D], classes [D])``.
        truths: per image, ``(boxes [T, 4], classes [T])``.
        label: the class scored.
        iou_threshold: the IoU a detection needs with an unmatched true box of its class.
        max_detections: per image, only the best-scoring this many detections of ``label`` count (COCO's 100).

    Returns:
        AP in [0, 1], NaN when no image holds an object of ``label``.
    """
    scores, hits, true_count = [], [], 0
    for (boxes, image_scores, classes), (true_boxes, true_classes) in zip(detections, truths, strict=True):
        boxes, image_scores = _best_of_class(boxes, image_scores, classes, label, max_detections)
        true_own = np.asarray(true_boxes, np.float64).reshape(-1, 4)[np.asarray(true_classes).reshape(-1) == label]
        true_count += len(true_own)
        scores.append(image_scores)
        hits.append(match_detections(boxes, image_scores, true_own, iou_threshold))
    return average_precision(np.concatenate(scores), np.concatenate(hits), true_count)


def _best_of_class(boxes, scores, classes, label, limit):
    own = np.asarray(classes).reshape(-1) == label
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)[own]
    scores = np.asarray(scores, np.float64).reshape(-1)[own]
    order = np.argsort(-scores, kind="stable")[:limit]
    return boxes[order], scores[order]


def mean_average_precision(detections, truths, num_classes, thresholds=COCO_THRESHOLDS, max_detections=100):
    """COCO-style mAP: AP per class and threshold, averaged over the classes present.

    Args:
        detections: per image, ``(boxes [D, 4], scores [D], classes [D])``.
        truths: per image, ``(boxes [T, 4], classes [T])``.
        num_classes: classes ``0 .. num_classes - 1``.
        thresholds: IoU thresholds; COCO's mAP is the mean over 0.5, 0.55, ..., 0.95.
        max_detections: detections per image and class that count.

    Returns:
        ``{"map": mean over classes and thresholds, "map_50": mean over classes at 0.5 (when 0.5 is a
        threshold), "per_class_50": [AP at 0.5 per class, NaN for an absent class], "thresholds": [...]}``.

    Raises:
        ValueError: ``detections`` and ``truths`` do not hold the same number of images.
    """
    detections, truths = list(detections), list(truths)
    if len(detections) != len(truths):
        raise ValueError(f"{len(detections)} images of detections against {len(truths)} of truths; pass one each.")
    table = np.array(
        [
            [detection_average_precision(detections, truths, label, t, max_detections) for label in range(num_classes)]
            for t in thresholds
        ]
    )
    present = ~np.isnan(table[0])
    result = {"map": float(table[:, present].mean()) if present.any() else float("nan")}
    thresholds = [float(t) for t in thresholds]
    if 0.5 in thresholds:
        at_half = table[thresholds.index(0.5)]
        result["map_50"] = float(at_half[present].mean()) if present.any() else float("nan")
        result["per_class_50"] = at_half.tolist()
    result["thresholds"] = thresholds
    return result


def segmentation_confusion(true_masks, predicted_masks, num_classes):
    """Pixel counts of (true class, predicted class) over all masks.

    Args:
        true_masks: int ``[..., H, W]`` true class per pixel, ``0 .. num_classes - 1``.
        predicted_masks: int, the same shape.
        num_classes: classes, background included.

    Returns:
        int64 ``[num_classes, num_classes]``, rows true, columns predicted.

    Raises:
        ValueError: the shapes differ, or a value lies outside the classes.
    """
    true_masks, predicted_masks = np.asarray(true_masks), np.asarray(predicted_masks)
    if true_masks.shape != predicted_masks.shape:
        raise ValueError(f"masks of shape {true_masks.shape} against predictions of {predicted_masks.shape}.")
    for name, masks in (("true", true_masks), ("predicted", predicted_masks)):
        if masks.size and (masks.min() < 0 or masks.max() >= num_classes):
            raise ValueError(f"{name} masks hold values outside 0-{num_classes - 1}.")
    flat = true_masks.astype(np.int64).ravel() * num_classes + predicted_masks.astype(np.int64).ravel()
    return np.bincount(flat, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


def class_iou(confusion):
    """Per-class IoU from a confusion matrix: ``TP / (TP + FP + FN)``.

    Args:
        confusion: ``[C, C]`` from `segmentation_confusion`.

    Returns:
        float64 ``[C]``; NaN for a class neither present nor predicted.

    Examples:
        >>> class_iou(np.array([[3, 1], [0, 2]])).round(3).tolist()
        [0.75, 0.667]
    """
    confusion = np.asarray(confusion, np.float64)
    true_positives = np.diag(confusion)
    union = confusion.sum(axis=0) + confusion.sum(axis=1) - true_positives
    return np.divide(true_positives, union, out=np.full_like(true_positives, np.nan), where=union > 0)


def mean_iou(confusion, include_background=True):
    """PASCAL's mIoU: the mean of the per-class IoUs, classes absent from truth and prediction left out.

    Args:
        confusion: ``[C, C]`` from `segmentation_confusion`, class 0 the background.
        include_background: count class 0 in the mean (PASCAL does).

    Returns:
        The mean IoU, NaN when no class counts.
    """
    ious = class_iou(confusion)
    ious = ious if include_background else ious[1:]
    return float(np.nanmean(ious)) if not np.all(np.isnan(ious)) else float("nan")


def segmentation_report(true_masks, predicted_masks, class_names):
    """Per-class IoU, mIoU (with and without the background), pixel accuracy, and the all-background baseline.

    Args:
        true_masks: int ``[N, H, W]``, 0 the background, ``k`` the class ``class_names[k - 1]``.
        predicted_masks: int, the same shape and coding.
        class_names: the ``C - 1`` object classes' names.

    Returns:
        ``{"miou", "miou_objects", "pixel_accuracy", "class_iou": {name: IoU}, "background_iou",
        "constant_miou": the mIoU of predicting the background everywhere, "object_iou": IoU of "any object"
        against the background (where the objects are, whatever their class), "object_class_accuracy": the
        share of true object pixels predicted as an object of their class among the object pixels predicted
        as objects, "pixels"}``.
    """
    classes = len(class_names) + 1
    confusion = segmentation_confusion(true_masks, predicted_masks, classes)
    objects_found = confusion[1:, 1:]
    ious = class_iou(confusion)
    constant = np.zeros_like(confusion)
    constant[:, 0] = confusion.sum(axis=1)  # every pixel predicted background
    return {
        "miou": mean_iou(confusion),
        "miou_objects": mean_iou(confusion, include_background=False),
        "pixel_accuracy": float(np.trace(confusion) / max(confusion.sum(), 1)),
        "background_iou": float(ious[0]),
        "class_iou": {name: float(iou) for name, iou in zip(class_names, ious[1:], strict=True)},
        "constant_miou": mean_iou(constant),
        "object_iou": float(objects_found.sum() / max(confusion.sum() - confusion[0, 0], 1)),
        "object_class_accuracy": float(np.trace(objects_found) / max(objects_found.sum(), 1)),
        "pixels": int(confusion.sum()),
    }


def detection_report(detections, truths, class_names):
    """COCO-style mAP@0.5 and mAP@[0.5:0.95], AP@0.5 per class, and detection counts.

    Args:
        detections: per scene, ``(boxes [D, 4], scores [D], classes [D])``.
        truths: per scene, ``(boxes [T, 4], classes [T])``.
        class_names: the classes' names.

    Returns:
        ``{"map_50", "map", "class_ap_50": {name: AP}, "objects", "detections"}``.
    """
    result = mean_average_precision(detections, truths, len(class_names))
    return {
        "map_50": result["map_50"],
        "map": result["map"],
        "class_ap_50": {name: ap for name, ap in zip(class_names, result["per_class_50"], strict=True)},
        "objects": int(sum(len(t[0]) for t in truths)),
        "detections": int(sum(len(d[0]) for d in detections)),
    }
