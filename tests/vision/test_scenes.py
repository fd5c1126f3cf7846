"""The composed scenes: determinism, masks and boxes that agree, occlusion within bounds, disjoint sources."""

import numpy as np
import pytest
import tensorflow as tf
from support import shared_data

from mit_dl.errors import DataError
from mit_dl.vision import data as vision_data
from mit_dl.vision import scenes as scene_maker


def blob_sources(count=40, seed=0):
    """Filled squares of random sizes: every pixel of an object is ink, so the masks can be checked exactly."""
    rng = np.random.default_rng(seed)
    images = np.zeros((count, 28, 28), np.uint8)
    for image in images:
        top, left = rng.integers(2, 8, size=2)
        size = rng.integers(12, 20)
        image[top : top + size, left : left + size] = 255
    return images, np.arange(count) % 10


def test_scenes_are_deterministic_and_each_depends_only_on_its_index():
    images, labels = blob_sources()
    first = scene_maker.make_scenes(images, labels, count=12, seed=3)
    again = scene_maker.make_scenes(images, labels, count=12, seed=3)
    prefix = scene_maker.make_scenes(images, labels, count=4, seed=3)
    other = scene_maker.make_scenes(images, labels, count=12, seed=4)
    for name in ("images", "masks", "boxes", "classes", "counts", "sources"):
        np.testing.assert_array_equal(getattr(first, name), getattr(again, name))
        np.testing.assert_array_equal(getattr(first, name)[:4], getattr(prefix, name))
    assert not np.array_equal(first.images, other.images)


def test_masks_boxes_and_classes_agree():
    images, labels = blob_sources()
    scenes = scene_maker.make_scenes(images, labels, count=60, seed=0)
    assert scenes.images.dtype == scenes.masks.dtype == np.uint8
    assert scenes.images.shape == scenes.masks.shape == (60, 128, 128)
    assert set(np.unique(scenes.counts)) == {1, 2, 3, 4, 5}, "1 to 5 objects, each count drawn"
    for index in range(len(scenes)):
        boxes, classes = scenes.objects(index)
        count = len(boxes)
        assert np.all(scenes.classes[index, count:] == -1) and np.all(scenes.boxes[index, count:] == 0)
        np.testing.assert_array_equal(classes, labels[scenes.sources[index, :count]])
        mask = scenes.masks[index]
        # Every labelled pixel lies in the box of an object of that class; objects on top win their pixels.
        covered = np.zeros_like(mask, bool)
        for (y0, x0, y1, x1), label in zip(boxes.astype(int), classes, strict=True):
            assert 0 <= y0 < y1 <= 128 and 0 <= x0 < x1 <= 128
            inside = np.zeros_like(covered)
            inside[y0:y1, x0:x1] = True
            covered |= inside & (mask == label + 1)
        assert np.all(covered == (mask > 0)), f"scene {index}: a mask pixel outside every box of its class"
        # The last-drawn object is fully visible: its box is its mask's tight box (the sources are filled squares).
        y0, x0, y1, x1 = boxes[-1].astype(int)
        ys, xs = np.nonzero(mask[y0:y1, x0:x1] == classes[-1] + 1)
        assert (ys.min(), xs.min(), ys.max() + 1, xs.max() + 1) == (0, 0, y1 - y0, x1 - x0)


def test_no_object_is_more_than_half_hidden():
    images, labels = blob_sources()
    scenes = scene_maker.make_scenes(images, labels, count=60, seed=1)
    for index in range(len(scenes)):
        boxes, classes = scenes.objects(index)
        for slot, ((y0, x0, y1, x1), label) in enumerate(zip(boxes.astype(int), classes, strict=True)):
            area = (y1 - y0) * (x1 - x0)  # a filled square's ink is its whole box
            visible = np.sum(scenes.masks[index, y0:y1, x0:x1] == label + 1)
            # Another object of the same class may add pixels inside this box, so count upwards only.
            assert visible >= 0.5 * area, f"scene {index}, object {slot}: {visible} of {area} visible"


def test_resize_matches_tensorflow():
    image = np.random.default_rng(0).integers(0, 256, (28, 28)).astype(np.uint8)
    for size in (21, 37, 49):
        expected = tf.image.resize(image[..., None].astype(np.float32), (size, size), method="bilinear")[..., 0]
        np.testing.assert_allclose(scene_maker.resize(image, size), expected.numpy(), atol=1e-3)


@pytest.mark.parametrize(
    ("images", "labels", "message"),
    [
        (np.zeros((5, 28, 28), np.float32), np.zeros(5), "uint8"),
        (np.zeros((5, 32, 32), np.uint8), np.zeros(5), r"\[M, 28, 28\]"),
        (np.zeros((5, 28, 28), np.uint8), np.zeros(4), "one label per image"),
        (np.zeros((5, 28, 28), np.uint8), np.full(5, 10), "classes 0-9"),
    ],
)
def test_bad_sources_are_refused(images, labels, message):
    with pytest.raises(DataError, match=message):
        scene_maker.make_scenes(images, labels, count=2)


def test_bad_counts_are_refused():
    images, labels = blob_sources()
    with pytest.raises(ValueError, match="count must be at least 1"):
        scene_maker.make_scenes(images, labels, count=0)
    with pytest.raises(ValueError, match="max_objects must be between 1 and 5"):
        scene_maker.make_scenes(images, labels, count=1, max_objects=6)


def test_real_sources_are_disjoint_and_scenes_use_their_own_split():
    folder = shared_data("mnist").parent
    train_images, _, train_source = vision_data.scene_sources("mnist", "train", folder)
    test_images, _, _ = vision_data.scene_sources("mnist", "test", folder)
    assert (len(train_images), len(test_images)) == (8000, 2000) and "[0:8000]" in train_source
    train_keys = {image.tobytes() for image in train_images}
    assert not any(image.tobytes() in train_keys for image in test_images), "a digit in both splits"
    scenes, _ = vision_data.load_scenes("mnist", "test", count=20, seed=0, data_dir=folder)
    used = scenes.sources[scenes.sources >= 0]
    assert used.max() < 2000
    fashion, _, source = vision_data.scene_sources("fashion_mnist", "test", folder)
    assert len(fashion) == 10000 and "t10k" in source
    # A real scene's labels agree with its pixels: every labelled pixel is bright ink under the noise.
    ink = scenes.images[scenes.masks > 0].astype(float)
    assert np.median(ink) > 120
    with pytest.raises(ValueError, match="unknown dataset or split"):
        vision_data.scene_sources("cifar10", "train", folder)
