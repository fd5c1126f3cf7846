"""The FCN and the U-Net: shapes for any size, the lecture's structure, saving, and learning to segment."""

import keras
import numpy as np
import pytest

from mit_dl.training import Trainer
from mit_dl.vision import data as vision_data
from mit_dl.vision import metrics
from mit_dl.vision import model as vision_model
from mit_dl.vision.config import VisionConfig
from mit_dl.vision.scenes import make_scenes


@pytest.mark.parametrize("build", [vision_model.fcn, vision_model.unet])
@pytest.mark.parametrize("size", [(128, 128), (127, 93), (33, 65), (17, 17)])
def test_scores_for_every_pixel_at_any_size(build, size):
    model = build(width=4)
    logits = model(np.random.default_rng(0).random((2, *size, 1)).astype(np.float32))
    assert tuple(logits.shape) == (2, *size, vision_model.SEGMENT_CLASSES)
    assert logits.dtype == "float32"


def test_the_fcn_upsamples_by_transposed_convolution_and_the_unet_joins_skips():
    fcn, unet = vision_model.fcn(width=4), vision_model.unet(width=4, depth=3)
    transposed = [layer for layer in fcn.layers if isinstance(layer, keras.layers.Conv2DTranspose)]
    assert len(transposed) == 4 and all(layer.strides == (2, 2) for layer in transposed)
    assert not any(isinstance(layer, keras.layers.Concatenate) for layer in fcn.layers)
    joins = [layer for layer in unet.layers if isinstance(layer, keras.layers.Concatenate)]
    assert len(joins) == 3
    # Each join takes the upsampled map (cropped) and the encoder's map of its level (after its second conv).
    for join in joins:
        level = join.name.removeprefix("skip")
        producers = [tensor._keras_history.operation for tensor in join.input]
        assert producers[0].name == f"crop{level}"
        normalised = producers[1].input._keras_history.operation
        assert normalised.name == f"down{level}b_norm"


def test_a_saved_unet_reloads_with_the_same_scores(tmp_path):
    model = vision_model.unet(width=4)
    images = np.random.default_rng(1).random((2, 45, 61, 1)).astype(np.float32)
    model.save(tmp_path / "unet.keras")
    loaded = keras.models.load_model(tmp_path / "unet.keras")
    np.testing.assert_allclose(loaded(images), model(images), atol=1e-5)


def test_the_pixel_loss_weights_object_pixels_and_matches_keras_at_weight_one():
    rng = np.random.default_rng(2)
    masks = rng.integers(0, vision_model.SEGMENT_CLASSES, size=(3, 5, 7)).astype(np.int32)
    masks[0] = 0  # a scene of background only
    logits = rng.normal(size=(3, 5, 7, vision_model.SEGMENT_CLASSES)).astype(np.float32)
    plain = keras.losses.SparseCategoricalCrossentropy(from_logits=True, reduction=None)(masks, logits)
    np.testing.assert_allclose(vision_model.PixelCrossEntropy(1.0).call(masks, logits), plain, rtol=1e-5)
    weighted = np.asarray(vision_model.PixelCrossEntropy(4.0).call(masks, logits))
    np.testing.assert_allclose(weighted, np.where(masks > 0, 4.0, 1.0) * plain, rtol=1e-5)
    np.testing.assert_allclose(weighted[0], np.asarray(plain)[0], rtol=1e-6)  # background pixels keep weight 1
    # The compiled segmenter carries the config's weight, and it survives saving.
    model = vision_model.build_model(VisionConfig(model="fcn", width=4, object_weight=4.0))
    assert model.loss.get_config()["object_weight"] == 4.0
    assert keras.losses.deserialize(keras.losses.serialize(model.loss)).object_weight == 4.0


def shape_sources(count=40):
    """Class 0: filled squares; class 1: hollow square frames (the classes differ inside, not at the edge)."""
    rng = np.random.default_rng(0)
    images, labels = np.zeros((count, 28, 28), np.uint8), np.arange(count) % 2
    for image, label in zip(images, labels, strict=True):
        top, left = rng.integers(2, 6, size=2)
        size = rng.integers(18, 22)
        image[top : top + size, left : left + size] = 255
        if label == 1:
            image[top + 4 : top + size - 4, left + 4 : left + size - 4] = 0
    return images, labels


def test_short_training_segments_far_better_than_a_constant_prediction():
    images, labels = shape_sources()
    # Small canvases keep the test fast; the networks take any size.
    train = make_scenes(images, labels, 400, seed=0, max_objects=3, canvas_size=64)
    test = make_scenes(images, labels, 40, seed=1, max_objects=3, canvas_size=64)
    # 6e-3: at 3e-3 seed 0 stalled at mIoU 0.59 on an AVX2 machine (0.85 and 0.80 for seeds 1 and 2);
    # at 6e-3 seeds 0, 1, 2 reach 0.88, 0.89, 0.88 there, in the same 200 steps.
    config = VisionConfig(model="unet", width=8, steps=200, learning_rate=6e-3)
    keras.utils.set_random_seed(0)
    model = vision_model.build_model(config)
    model.fit(train.images[..., None] / 255.0, train.masks.astype(np.int32), batch_size=8, epochs=4, verbose=0)
    names = ["square", "frame"] + [str(k) for k in range(8)]
    report = metrics.segmentation_report(test.masks, vision_model.predict_masks(model, test.images), names)
    assert report["constant_miou"] < 0.35
    assert report["miou"] > 0.75 and report["class_iou"]["frame"] > 0.5, report


def test_short_training_teaches_the_detector_to_find_and_name_objects():
    images, labels = shape_sources()
    train = make_scenes(images, labels, 400, seed=0, max_objects=3, canvas_size=64)
    test = make_scenes(images, labels, 40, seed=1, max_objects=3, canvas_size=64)
    keras.utils.set_random_seed(0)
    model = vision_model.CenterDetector(width=8)
    model.compile(optimizer=keras.optimizers.Adam(3e-3))
    data = vision_data.detection_dataset(train, batch_size=8, shuffle=True, seed=0)
    history = Trainer(model, verbose=False).fit(data, steps=150, steps_per_epoch=50)
    assert history["heatmap"][-1] < 0.5 * history["heatmap"][0], history
    found = model.detect(test.images[..., None] / 255.0)
    detections = [
        (found["boxes"][i, :c].numpy(), found["scores"][i, :c].numpy(), found["classes"][i, :c].numpy())
        for i, c in enumerate(found["count"].numpy())
    ]
    result = metrics.mean_average_precision(detections, [test.objects(i) for i in range(len(test))], num_classes=10)
    assert result["map_50"] > 0.6, result
