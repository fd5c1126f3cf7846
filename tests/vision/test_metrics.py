"""IoU, NMS, AP and mIoU against hand-computed cases, TensorFlow's NMS and (when installed) pycocotools."""

import numpy as np
import pytest
import tensorflow as tf

from mit_dl.vision import metrics


def test_box_iou_by_hand():
    a = [[0, 0, 10, 10], [0, 0, 0, 5]]  # the second box is empty
    b = [[5, 5, 15, 15], [0, 0, 10, 10], [20, 20, 30, 30], [0, 0, 10, 5]]
    iou = metrics.box_iou(a, b)
    np.testing.assert_allclose(iou[0], [25 / 175, 1.0, 0.0, 0.5])
    np.testing.assert_array_equal(iou[1], [0, 0, 0, 0])


def test_nms_matches_tensorflow():
    rng = np.random.default_rng(0)
    for _ in range(20):
        corners = rng.uniform(0, 100, (60, 2))
        boxes = np.concatenate([corners, corners + rng.uniform(5, 40, (60, 2))], axis=1)
        scores = rng.random(60)
        for threshold in (0.3, 0.5, 0.7):
            ours = metrics.non_max_suppression(boxes, scores, threshold, max_outputs=25)
            theirs = tf.image.non_max_suppression(boxes, scores, 25, iou_threshold=threshold).numpy()
            np.testing.assert_array_equal(ours, theirs)


def test_nms_by_hand():
    boxes = [[0, 0, 10, 10], [0, 1, 10, 11], [0, 20, 10, 30], [0, 21, 10, 31]]
    scores = [0.6, 0.9, 0.8, 0.1]
    assert metrics.non_max_suppression(boxes, scores, 0.5).tolist() == [1, 2]
    assert metrics.non_max_suppression(boxes, scores, 0.95).tolist() == [1, 2, 0, 3]
    assert metrics.non_max_suppression(boxes, scores, 0.5, score_threshold=0.85).tolist() == [1]
    assert metrics.non_max_suppression(boxes, scores, 0.5, max_outputs=1).tolist() == [1]


def test_average_precision_by_hand():
    # Two objects; detections by score: hit, miss, hit. Precision 1 up to recall 0.5, then 2/3 up to recall 1.
    ap = metrics.average_precision([0.9, 0.8, 0.7], [True, False, True], true_count=2)
    assert ap == pytest.approx((51 * 1.0 + 50 * 2 / 3) / 101)
    assert metrics.average_precision([0.9, 0.8], [True, True], true_count=2) == 1.0
    assert metrics.average_precision([0.9], [False], true_count=1) == 0.0
    assert metrics.average_precision([], [], true_count=3) == 0.0
    assert np.isnan(metrics.average_precision([0.5], [False], true_count=0))
    # Interpolation: a later, higher precision lifts the earlier recall levels.
    ap = metrics.average_precision([0.9, 0.8, 0.7, 0.6], [False, True, True, True], true_count=3)
    assert ap == pytest.approx(0.75)


def test_matching_takes_the_best_unmatched_truth_in_score_order():
    truths = np.array([[0, 0, 10, 10], [0, 2, 10, 12]], float)
    detections = np.array([[0, 1, 10, 11], [0, 0, 10, 10]], float)
    # The 0.9 detection overlaps both truths equally: it takes the first; the 0.8 one takes what is left.
    hits = metrics.match_detections(detections, [0.9, 0.8], truths, 0.5)
    assert hits.tolist() == [True, True]
    # A duplicate detection of one object is a false positive.
    hits = metrics.match_detections([[0, 0, 10, 10], [0, 0, 10, 10]], [0.9, 0.8], truths[:1], 0.5)
    assert hits.tolist() == [True, False]


def test_mean_average_precision_by_hand():
    truths = [
        (np.array([[0, 0, 10, 10], [20, 20, 30, 30]]), np.array([0, 1])),
        (np.array([[0, 0, 8, 8]]), np.array([0])),
    ]
    perfect = [(boxes, np.ones(len(boxes)), classes) for boxes, classes in truths]
    result = metrics.mean_average_precision(perfect, truths, num_classes=3)
    assert result["map"] == result["map_50"] == 1.0
    assert result["per_class_50"][:2] == [1.0, 1.0] and np.isnan(result["per_class_50"][2])
    # Class 1's box shifted by 2 pixels: IoU 64/136 = 0.47 misses at 0.5; class 0 stays perfect.
    shifted = [
        (np.array([[0, 0, 10, 10], [22, 22, 32, 32]]), np.array([0.9, 0.8]), np.array([0, 1])),
        perfect[1],
    ]
    result = metrics.mean_average_precision(shifted, truths, num_classes=3)
    assert result["per_class_50"][:2] == [1.0, 0.0] and result["map_50"] == 0.5
    # IoU 0.47 also misses every higher threshold; class 0 hits all ten.
    assert result["map"] == pytest.approx(0.5)
    with pytest.raises(ValueError, match="one each"):
        metrics.mean_average_precision(shifted, truths[:1], num_classes=3)


def random_detection_problem(seed):
    rng = np.random.default_rng(seed)
    detections, truths = [], []
    for _ in range(15):
        count = rng.integers(0, 5)
        corners = rng.uniform(0, 90, (count, 2))
        boxes = np.concatenate([corners, corners + rng.uniform(8, 30, (count, 2))], axis=1).round()
        classes = rng.integers(0, 3, count)
        truths.append((boxes, classes))
        noisy = np.concatenate([boxes + rng.normal(0, 3, boxes.shape), rng.uniform(0, 100, (3, 4))]).round()
        noisy[:, 2:] = np.maximum(noisy[:, 2:], noisy[:, :2] + 1)
        detections.append((noisy, rng.random(len(noisy)), np.concatenate([classes, rng.integers(0, 3, 3)])))
    return detections, truths


def test_mean_average_precision_matches_pycocotools():
    coco_module = pytest.importorskip("pycocotools.coco", reason="pycocotools is in the test extra")
    from pycocotools.cocoeval import COCOeval

    for seed in range(3):
        detections, truths = random_detection_problem(seed)
        ours = metrics.mean_average_precision(detections, truths, num_classes=3)
        ground, found = _coco_json(detections, truths)
        coco = coco_module.COCO()
        coco.dataset = ground
        coco.createIndex()
        evaluation = COCOeval(coco, coco.loadRes(found), "bbox")
        evaluation.params.areaRng = [[0, 1e10]]
        evaluation.params.areaRngLbl = ["all"]
        evaluation.evaluate()
        evaluation.accumulate()
        precision = evaluation.eval["precision"][:, :, :, 0, -1]  # thresholds x recall levels x classes
        present = (precision > -1).all(axis=(0, 1))
        assert ours["map"] == pytest.approx(precision[:, :, present].mean(), abs=1e-9)
        assert ours["map_50"] == pytest.approx(precision[0][:, present].mean(), abs=1e-9)


def _coco_json(detections, truths):
    images, annotations, results = [], [], []
    for image_id, ((boxes, scores, classes), (true_boxes, true_classes)) in enumerate(zip(detections, truths)):
        images.append({"id": image_id, "width": 128, "height": 128})
        for (y0, x0, y1, x1), label in zip(true_boxes, true_classes):
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "image_id": image_id,
                    "category_id": int(label),
                    "bbox": [float(x0), float(y0), float(x1 - x0), float(y1 - y0)],
                    "area": float((x1 - x0) * (y1 - y0)),
                    "iscrowd": 0,
                }
            )
        for (y0, x0, y1, x1), score, label in zip(boxes, scores, classes):
            results.append(
                {
                    "image_id": image_id,
                    "category_id": int(label),
                    "bbox": [float(x0), float(y0), float(x1 - x0), float(y1 - y0)],
                    "score": float(score),
                }
            )
    categories = [{"id": label} for label in range(3)]
    return {"images": images, "annotations": annotations, "categories": categories}, results


def test_segmentation_iou_by_hand():
    truth = np.array([[0, 0, 1], [1, 2, 2]])
    predicted = np.array([[0, 1, 1], [1, 2, 0]])
    confusion = metrics.segmentation_confusion(truth, predicted, num_classes=4)
    assert confusion[:3, :3].tolist() == [[1, 1, 0], [0, 2, 0], [1, 0, 1]]
    ious = metrics.class_iou(confusion)
    np.testing.assert_allclose(ious[:3], [1 / 3, 2 / 3, 1 / 2])
    assert np.isnan(ious[3])
    assert metrics.mean_iou(confusion) == pytest.approx((1 / 3 + 2 / 3 + 1 / 2) / 3)
    assert metrics.mean_iou(confusion, include_background=False) == pytest.approx((2 / 3 + 1 / 2) / 2)
    with pytest.raises(ValueError, match="outside 0-3"):
        metrics.segmentation_confusion(truth, predicted + 2, num_classes=4)
    with pytest.raises(ValueError, match="against predictions"):
        metrics.segmentation_confusion(truth, predicted[:1], num_classes=4)


def test_the_segmentation_report_separates_finding_objects_from_naming_them():
    truth = np.array([[0, 1, 1, 2], [0, 0, 2, 2]])
    # Every object pixel found, one named wrongly, one background pixel taken for an object.
    predicted = np.array([[0, 1, 2, 2], [3, 0, 2, 2]])
    report = metrics.segmentation_report(truth, predicted, ["a", "b", "c"])
    assert report["object_iou"] == pytest.approx(5 / 6)
    assert report["object_class_accuracy"] == pytest.approx(4 / 5)
    assert report["pixel_accuracy"] == pytest.approx(6 / 8)
    constant = metrics.segmentation_report(truth, np.zeros_like(truth), ["a", "b", "c"])
    assert constant["object_iou"] == 0 and constant["miou"] == constant["constant_miou"]
