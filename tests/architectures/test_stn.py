"""The spatial transformer: the distortions, a transformer that starts as the identity, and a short comparison run."""

import json

import numpy as np
from support import shared_data

from mit_dl.architectures import stn
from mit_dl.architectures.config import SpatialConfig


def test_no_distortion_leaves_the_digits_and_a_rotation_moves_them():
    images = np.random.default_rng(0).integers(0, 256, (4, 28, 28, 1)).astype(np.uint8)
    np.testing.assert_array_equal(stn.distort(images, 0.0, 0.0, 0.0, seed=0), images)
    rotated = stn.distort(images, 60.0, 0.0, 0.0, seed=0)
    assert rotated.dtype == np.uint8 and np.abs(rotated.astype(int) - images).mean() > 20


def test_the_affine_maps_rotate_scale_and_shift_within_their_bounds():
    theta = stn.random_affine(500, 30.0, 0.25, 0.1, seed=0)
    linear = theta[:, :, :2]
    sizes = 1 / np.sqrt(np.abs(np.linalg.det(linear)))  # reading at 1/size draws the digit size times larger
    assert sizes.min() >= 0.75 - 1e-5 and sizes.max() <= 1.25 + 1e-5
    angles = np.degrees(np.arctan2(linear[:, 1, 0], linear[:, 0, 0]))
    assert np.abs(angles).max() <= 30 + 1e-4 and np.abs(theta[:, :, 2]).max() <= 0.2 + 1e-6


def test_the_transformer_starts_as_the_identity_and_learns_from_the_classifier_alone(tmp_path):
    images = np.random.default_rng(0).random((2, 28, 28, 1)).astype(np.float32)
    model, transformer = stn.build_classifier(True)
    np.testing.assert_allclose(transformer(images), images, atol=1e-5)
    config = SpatialConfig(epochs=1, train_images=2000, data=str(shared_data("mnist")))
    metrics = stn.train(config, tmp_path, log=lambda line: None)
    assert set(metrics["test_accuracy"]) == {"cnn", "stn"} and metrics["test_images"] == 8000
    assert min(metrics["test_accuracy"].values()) > 0.3  # 10 classes: chance is 0.1
    assert (tmp_path / "rectified.png").stat().st_size > 3000
    assert json.loads((tmp_path / "metrics.json").read_text()) == metrics
