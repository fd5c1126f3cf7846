"""Attribution maps: completeness of integrated gradients, Grad-CAM on a quadrant model, the sanity check's pieces."""

import keras
import numpy as np
import pytest
import scipy.stats
import tensorflow as tf

from mit_dl.errors import ConfigError
from mit_dl.vision import attribution
from mit_dl.vision.config import VisionConfig
from mit_dl.vision.model import build_model


class TopLeftOnly(keras.layers.Layer):
    """Zeroes every pixel outside the top-left quadrant: a model behind it can only look there."""

    def call(self, x):
        height, width = x.shape[1] // 2, x.shape[2] // 2
        mask = np.zeros((1, x.shape[1], x.shape[2], 1), np.float32)
        mask[:, :height, :width] = 1.0
        return x * mask


def quadrant_model():
    keras.utils.set_random_seed(3)
    return keras.Sequential(
        [
            keras.Input((16, 16, 1)),
            TopLeftOnly(),
            keras.layers.Conv2D(6, 3, padding="same", use_bias=False, activation="relu", name="early"),
            keras.layers.Conv2D(8, 3, padding="same", use_bias=False, activation="relu", name="late"),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(3),
        ]
    )


def small_cnn(classes=4, size=12):
    keras.utils.set_random_seed(1)
    return keras.Sequential(
        [
            keras.Input((size, size, 1)),
            keras.layers.Conv2D(5, 3, activation="relu"),
            keras.layers.MaxPooling2D(2),
            keras.layers.Conv2D(6, 3, activation="tanh"),
            keras.layers.Flatten(),
            keras.layers.Dense(classes),
        ]
    )


def images(count=4, size=12, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (count, size, size), dtype=np.uint8)


def inside_share(maps, margin=2):
    """The share of each map's mass inside the top-left quadrant (plus the convolutions' reach)."""
    half = maps.shape[1] // 2 + margin
    return maps[:, :half, :half].sum(axis=(1, 2)) / maps.sum(axis=(1, 2))


def test_grad_cam_saliency_and_occlusion_point_at_the_only_quadrant_the_model_sees():
    model = quadrant_model()
    pictures = images(6, 16)
    predicted = model(attribution.as_images(pictures)).numpy().argmax(-1)
    for layer in (None, "early"):  # the last convolution found automatically, and one named
        cam = attribution.grad_cam(model, pictures, predicted, layer=layer)
        assert cam.shape == (6, 16, 16) and cam.min() >= 0
        lit = cam.sum(axis=(1, 2)) > 0
        assert lit.sum() >= 3  # the predicted class has positive evidence in most images
        np.testing.assert_array_less(0.95, inside_share(cam[lit]))
    assert attribution.last_conv_layer(model).name == "late"
    gradient = attribution.saliency(model, pictures, predicted)
    assert np.all(gradient[:, 8:, :] == 0) and np.all(gradient[:, :, 8:] == 0) and gradient[:, :8, :8].sum() > 0
    dropped = np.abs(attribution.occlusion(model, pictures, predicted, patch=3, stride=1))
    np.testing.assert_array_less(0.99, inside_share(dropped, margin=2))


def test_integrated_gradients_are_complete_to_one_percent_batched_as_in_a_loop():
    model = small_cnn()
    pictures, classes = images(5), [0, 1, 2, 3, 1]
    signed = attribution.integrated_gradients(model, pictures, classes)
    assert signed.shape == (5, 12, 12, 1)
    gap = attribution.completeness_gap(model, pictures, classes, signed)
    np.testing.assert_array_less(np.abs(gap), 0.01)
    looped = attribution.integrated_gradients(model, pictures[:2], classes[:2], steps=16, batched=False)
    batched = attribution.integrated_gradients(model, pictures[:2], classes[:2], steps=16)
    np.testing.assert_allclose(looped, batched, rtol=1e-4, atol=1e-6)
    # Another baseline (white): scores barely differ from it, so the relative gap needs a finer path.
    grey = np.full((12, 12), 255, np.uint8)
    from_grey = attribution.integrated_gradients(model, pictures, classes, baseline=grey, steps=2048)
    np.testing.assert_array_less(
        np.abs(attribution.completeness_gap(model, pictures, classes, from_grey, baseline=grey)), 0.01
    )


def test_smoothgrad_without_noise_is_saliency_and_the_exported_maps_match_the_library():
    model = small_cnn()
    pictures, classes = images(3), np.array([2, 0, 3], np.int32)
    plain = attribution.saliency(model, pictures, classes)
    np.testing.assert_allclose(attribution.smoothgrad(model, pictures, classes, samples=3, noise=0), plain, rtol=1e-5)
    noisy = attribution.smoothgrad(model, pictures, classes, samples=8, noise=0.2)
    assert not np.allclose(noisy, plain)
    scaled = tf.constant(attribution.as_images(pictures))
    exported = attribution.map_function(model, "saliency")(scaled, tf.constant(classes)).numpy()
    np.testing.assert_allclose(exported, plain, rtol=1e-5, atol=1e-7)
    ig = attribution.map_function(model, "ig", steps=64)(scaled, tf.constant(classes)).numpy()
    expected = np.abs(attribution.integrated_gradients(model, pictures, classes, steps=64)).sum(-1)
    np.testing.assert_allclose(ig, expected, rtol=1e-4, atol=1e-6)
    smooth = attribution.map_function(model, "smoothgrad", samples=4)(scaled, tf.constant(classes)).numpy()
    assert smooth.shape == (3, 12, 12) and smooth.min() >= 0
    with pytest.raises(ConfigError, match="^method must be one of saliency, smoothgrad, ig for an export"):
        attribution.map_function(model, "gradcam")


def test_a_segmenters_score_is_its_class_logit_over_the_pixels_it_gives_that_class():
    logits = np.zeros((1, 2, 2, 3), np.float32)
    logits[0, 0, 0] = [0, 5, 1]  # class 1 here
    logits[0, 0, 1] = [0, 3, 1]  # and here
    logits[0, 1, :] = [4, 0, 1]  # background
    assert attribution.class_score(tf.constant(logits), tf.constant([1])).numpy().tolist() == [4.0]
    assert attribution.class_score(tf.constant(logits), tf.constant([2])).numpy().tolist() == [0.0]  # no pixel
    model = build_model(VisionConfig(model="unet", width=2))
    scene = np.zeros((1, 32, 32), np.uint8)
    scene[0, 8:20, 8:20] = 255
    cam = attribution.grad_cam(model, scene, [0], layer=attribution.last_conv_layer(model).name)
    assert cam.shape == (1, 32, 32)
    assert attribution.saliency(model, scene, [0]).shape == (1, 32, 32)


def test_grad_cam_weights_are_the_mean_gradient_of_each_feature_map():
    gradients = np.arange(2 * 2 * 2 * 3, dtype=np.float32).reshape(2, 2, 2, 3)
    weights = attribution.grad_cam_weights(None, tf.constant(gradients)).numpy()
    np.testing.assert_allclose(weights, gradients.mean(axis=(1, 2)))


def test_rank_correlation_handles_ties_as_spearman_and_a_randomised_copy_keeps_only_the_architecture():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(8, 8)), rng.normal(size=(8, 8))
    a[:4], b[:3] = 0, 0  # a shared black background
    assert attribution.rank_correlation(a, a) == pytest.approx(1.0)
    assert attribution.rank_correlation(a, -a) == pytest.approx(-1.0)
    assert attribution.rank_correlation(a, b) == pytest.approx(scipy.stats.spearmanr(a.ravel(), b.ravel())[0])
    assert attribution.rank_correlation(a, np.zeros_like(a)) == 0.0
    model = small_cnn()
    copy = attribution.randomized_copy(model)
    assert [w.shape for w in copy.weights] == [w.shape for w in model.weights]
    assert all(not np.allclose(w, v) for w, v in zip(model.get_weights(), copy.get_weights()))
    report = attribution.sanity_check(model, images(3), [0, 1, 2], "saliency")
    assert len(report["rank_correlation"]) == 3 and -1 <= report["mean"] <= 1
    same = attribution.rank_correlation(
        attribution.saliency(model, images(1), [0]), attribution.saliency(model, images(1), [0])
    )
    assert same == pytest.approx(1.0)


def test_bad_requests_fail_with_one_clear_sentence():
    model = small_cnn()
    pictures = images(2)
    with pytest.raises(
        ConfigError, match=r"^classes must be ids of the model's 4 classes \(0 to 3\), received \[0, 4\]"
    ):
        attribution.saliency(model, pictures, [0, 4])
    with pytest.raises(ConfigError, match="^classes must give one class per image"):
        attribution.saliency(model, pictures, [0, 1, 2])
    with pytest.raises(ConfigError, match="^layer must be one of sequential.*received 'conv9'"):
        attribution.grad_cam(model, pictures, [0, 1], layer="conv9")
    dense = keras.Sequential([keras.Input((12, 12, 1)), keras.layers.Flatten(), keras.layers.Dense(2)])
    with pytest.raises(ConfigError, match="has no Conv2D layer for Grad-CAM"):
        attribution.grad_cam(dense, pictures, [0, 1])
    with pytest.raises(ConfigError, match="^method must be one of saliency, smoothgrad, gradcam, ig, occlusion"):
        attribution.attribution_map(model, pictures, [0, 1], "lime")
    with pytest.raises(ConfigError, match="^images must be"):
        attribution.saliency(model, pictures[0, 0], [0])
