"""The detector's targets, losses and decoding: encode true boxes, decode them back, score them."""

import numpy as np
import pytest
import tensorflow as tf

from mit_dl.vision import detector, metrics
from mit_dl.vision.scenes import make_scenes


def digit_like_sources(count=40, seed=0):
    rng = np.random.default_rng(seed)
    images = np.zeros((count, 28, 28), np.uint8)
    for image in images:
        top, left = rng.integers(1, 8, size=2)
        image[top : top + rng.integers(14, 22), left : left + rng.integers(6, 20)] = 255
    return images, np.arange(count) % 10


def perfect_maps(targets):
    """Logits whose sigmoid is the target heatmap, and the true sizes and offsets."""
    heat = np.clip(targets["heatmap"], 1e-6, 1 - 1e-6)
    return np.log(heat / (1 - heat)), targets["size"], targets["offset"]


def test_targets_put_a_peak_of_one_at_each_centre_with_its_size_and_offset():
    boxes = np.array([[[10, 20, 40, 36], [0, 0, 0, 0]]], np.float32)
    targets = detector.center_targets(boxes, np.array([[3, -1]]), np.array([1]))
    assert targets["heatmap"].shape == (1, 32, 32, 10)
    # Centre (25, 28) pixels = (6.25, 7.0) cells: cell (6, 7), offset (0.25, 0).
    assert targets["heatmap"][0, 6, 7, 3] == 1.0 and targets["heatmap"].sum(axis=(1, 2))[0, 3] > 1
    assert targets["heatmap"][0, :, :, [0, 1, 2, 4]].max() == 0
    np.testing.assert_allclose(targets["size"][0, 6, 7], [30, 16])
    np.testing.assert_allclose(targets["offset"][0, 6, 7], [0.25, 0.0])
    assert targets["centers"].sum() == 1 and targets["centers"][0, 6, 7] == 1
    with pytest.raises(ValueError, match="multiple of stride"):
        detector.center_targets(boxes, np.array([[3, -1]]), np.array([1]), image_size=130)


def test_decoding_perfect_maps_gives_back_the_true_boxes():
    images, labels = digit_like_sources()
    scenes = make_scenes(images, labels, 40, seed=0)
    targets = detector.center_targets(scenes.boxes, scenes.classes, scenes.counts)
    found = detector.decode(*perfect_maps(targets))
    assert found["boxes"].shape == (40, 100, 4) and found["count"].dtype == tf.int32
    detections = [
        (found["boxes"][i, :c].numpy(), found["scores"][i, :c].numpy(), found["classes"][i, :c].numpy())
        for i, c in enumerate(found["count"].numpy())
    ]
    truths = [scenes.objects(i) for i in range(len(scenes))]
    result = metrics.mean_average_precision(detections, truths, num_classes=10)
    # Only two objects of one class sharing a centre cell, or overlapping past the NMS threshold, can be lost.
    assert result["map_50"] > 0.97 and result["map"] > 0.95, result
    exact = sum(
        np.allclose(np.sort(d[0], axis=0), np.sort(t[0], axis=0), atol=1e-3) for d, t in zip(detections, truths)
    )
    assert exact >= 36, f"{exact} of 40 scenes decoded exactly"


def test_focal_loss_against_numpy():
    rng = np.random.default_rng(0)
    target = rng.random((2, 4, 4, 3)).astype(np.float32) * 0.9
    target[0, 1, 2, 0] = target[1, 3, 3, 2] = target[1, 0, 0, 1] = 1.0
    logits = rng.normal(size=target.shape).astype(np.float32)
    p = 1 / (1 + np.exp(-logits))
    center = target == 1
    expected = np.where(center, -((1 - p) ** 2) * np.log(p), -((1 - target) ** 4) * p**2 * np.log(1 - p))
    expected = expected.sum(axis=(1, 2, 3)) / np.array([1, 2])
    np.testing.assert_allclose(detector.focal_loss(target, logits), expected, rtol=1e-5)
    # Confident right answers cost (almost) nothing; the same confidence in the wrong places costs a lot.
    good = detector.focal_loss(target, np.where(center, 9.0, -9.0))
    bad = detector.focal_loss(target, np.where(center, -9.0, 9.0))
    assert float(tf.reduce_max(good)) < 1e-3 and float(tf.reduce_min(bad)) > 1.0


def test_masked_l1_counts_centre_cells_only():
    target = np.zeros((2, 4, 4, 2), np.float32)
    predicted = np.ones_like(target)
    centers = np.zeros((2, 4, 4), np.float32)
    centers[0, 1, 1] = centers[0, 2, 2] = 1
    predicted[0, 1, 1] = (3.0, 1.0)  # error 4 at one centre, 2 at the other
    np.testing.assert_allclose(detector.masked_l1(target, predicted, centers), [3.0, 0.0])


def test_the_pipeline_targets_equal_the_numpy_reference():
    images, labels = digit_like_sources()
    scenes = make_scenes(images, labels, 30, seed=2)
    expected = detector.center_targets(scenes.boxes, scenes.classes, scenes.counts)
    for index in range(len(scenes)):
        made = detector.scene_targets(scenes.boxes[index], scenes.classes[index], scenes.counts[index])
        for name, value in expected.items():
            np.testing.assert_allclose(made[name], value[index], atol=1e-5, err_msg=f"scene {index}: {name}")
    # Two objects sharing a centre cell: the later one's size and offset.
    boxes = np.array([[0, 0, 20, 20], [2, 2, 18, 18], [0, 0, 0, 0]], np.float32)
    made = detector.scene_targets(boxes, np.array([1, 4, -1]), 2)
    reference = detector.center_targets(boxes[None], np.array([[1, 4, -1]]), np.array([2]))
    np.testing.assert_allclose(made["size"][2, 2], [16, 16])
    np.testing.assert_allclose(made["size"], reference["size"][0])
