"""The vision lab's networks: the lecture's FCN and the U-Net, compiled with their per-pixel loss.

Both map a scene (float ``[N, H, W, 1]`` in [0, 1]) to class scores for
every pixel (``[N, H, W, 1 + classes]`` logits, class 0 the background), for
any ``H`` and ``W``: where a size is not a multiple of the total stride, the
upsampled maps are cropped to the size they are joined with.

- `fcn` (lecture 3's picture of semantic segmentation): ``depth`` levels of
  a stride-2 convolution and a 3x3 convolution (filters doubling), then as
  many ``Conv2DTranspose`` of stride 2 back to the input's size, and a 1x1
  convolution to the class scores. Every pixel's class is decided from the
  1/2^depth map alone, so object outlines come out coarse.
- `unet` (Ronneberger et al. 2015): two 3x3 convolutions per level, max
  pooling down; up by a 2x2 stride-2 transposed convolution, joined
  (concatenated) with the encoder's map of the same level, two 3x3
  convolutions. The skips carry the fine detail the coarse levels lost.

`build_model` compiles the config's network with the pixel-wise cross-entropy
(`PixelCrossEntropy`: object pixels weighted against the background) and
Adam on a cosine schedule, so the shared `Trainer` trains it as it is.
"""

import keras
import numpy as np
import tensorflow as tf

from mit_dl.training.optimizers import build_optimizer
from mit_dl.vision import detector
from mit_dl.vision.detector import STRIDE
from mit_dl.vision.scenes import NUM_CLASSES

SEGMENT_CLASSES = NUM_CLASSES + 1  # the background and the ten object classes


@keras.saving.register_keras_serializable(package="mit_dl")
class CropToMatch(keras.layers.Layer):
    """Crop a feature map's height and width to a reference map's (upsampling can overshoot odd sizes by one).

    Call arguments:
        inputs: ``[tensor [N, H', W', C], reference [N, H, W, C']]`` with ``H' >= H`` and ``W' >= W``.

    Returns:
        ``tensor[:, :H, :W, :]``.
    """

    def call(self, inputs):
        tensor, reference = inputs
        shape = keras.ops.shape(reference)
        return tensor[:, : shape[1], : shape[2], :]

    def compute_output_shape(self, input_shapes):
        tensor, reference = input_shapes
        return (tensor[0], reference[1], reference[2], tensor[3])


def _conv(x, filters, strides=1, name=None):
    x = keras.layers.Conv2D(filters, 3, strides=strides, padding="same", use_bias=False, name=name)(x)
    # Momentum 0.9 (PyTorch's default): with Keras' 0.99 the statistics used at inference lagged the
    # training batches' for hundreds of steps (a 300-step U-Net: test mIoU 0.55 against 0.86 in training mode).
    x = keras.layers.BatchNormalization(momentum=0.9, name=f"{name}_norm" if name else None)(x)
    return keras.layers.Activation("relu")(x)


def fcn(width=16, depth=4, classes=SEGMENT_CLASSES):
    """The lecture's fully convolutional network: strided convolutions down, transposed convolutions up.

    Args:
        width: filters of the first level (level ``i`` has ``width * 2**i``).
        depth: stride-2 levels (the coarsest map is 1/2^depth of the image).
        classes: scores per pixel.

    Returns:
        A `keras.Model` from ``[N, H, W, 1]`` images to ``[N, H, W, classes]`` float32 logits.
    """
    images = keras.Input((None, None, 1), name="images")
    x = images
    for level in range(depth):
        x = _conv(x, width * 2**level, strides=2, name=f"down{level}_stride")
        x = _conv(x, width * 2**level, name=f"down{level}")
    for level in reversed(range(depth)):
        x = keras.layers.Conv2DTranspose(
            width * 2 ** max(level - 1, 0), 3, strides=2, padding="same", activation="relu", name=f"up{level}"
        )(x)
    x = CropToMatch(name="crop")([x, images])
    logits = keras.layers.Conv2D(classes, 1, dtype="float32", name="logits")(x)  # float32 under mixed precision
    return keras.Model(images, logits, name="fcn")


def unet(width=16, depth=4, classes=SEGMENT_CLASSES):
    """U-Net: the encoder's maps joined to the decoder's at every level.

    Args:
        width: filters of the first level (level ``i`` has ``width * 2**i``; the bottleneck ``width * 2**depth``).
        depth: pooling levels.
        classes: scores per pixel.

    Returns:
        A `keras.Model` from ``[N, H, W, 1]`` images to ``[N, H, W, classes]`` float32 logits.
    """
    images = keras.Input((None, None, 1), name="images")
    x, skips = images, []
    for level in range(depth):
        x = _conv(_conv(x, width * 2**level, name=f"down{level}a"), width * 2**level, name=f"down{level}b")
        skips.append(x)
        x = keras.layers.MaxPooling2D(2, padding="same", name=f"pool{level}")(x)
    x = _conv(_conv(x, width * 2**depth, name="bottom_a"), width * 2**depth, name="bottom_b")
    for level in reversed(range(depth)):
        x = keras.layers.Conv2DTranspose(width * 2**level, 2, strides=2, name=f"up{level}")(x)
        x = keras.layers.Concatenate(name=f"skip{level}")(
            [CropToMatch(name=f"crop{level}")([x, skips[level]]), skips[level]]
        )
        x = _conv(_conv(x, width * 2**level, name=f"up{level}a"), width * 2**level, name=f"up{level}b")
    logits = keras.layers.Conv2D(classes, 1, dtype="float32", name="logits")(x)
    return keras.Model(images, logits, name="unet")


BUILDERS = {"fcn": fcn, "unet": unet}


@keras.saving.register_keras_serializable(package="mit_dl")
class PixelCrossEntropy(keras.losses.Loss):
    """Per-pixel cross-entropy with the object pixels weighted against the background.

    For pixel ``p`` with true class ``y_p`` (0 the background) and logits ``z_p``:

        loss_p = w(y_p) * (logsumexp(z_p) - z_p[y_p]),   w(0) = 1,   w(k > 0) = object_weight

    and a scene's loss is the mean of ``loss_p`` over its pixels. The scenes are
    about 96% background, so with ``object_weight = 1`` the objects' pixels carry
    a twenty-fifth of the gradient: the FCN settles on "background everywhere"
    and the U-Net finds objects long before it names them (`docs/labs/vision.md`).
    Keras' twin is ``SparseCategoricalCrossentropy(from_logits=True)`` with a
    per-pixel ``sample_weight``; this one carries its weights itself, so the
    shared `Trainer` needs no weights in the data.

    Args:
        object_weight: the weight of a pixel of any object class (the background's is 1).
        **kwargs: `keras.losses.Loss` arguments (``name``, ``reduction``).

    Examples:
        >>> loss = PixelCrossEntropy(object_weight=5.0)
        >>> masks = np.array([[[0, 3]]])                      # one scene of 1x2 pixels
        >>> logits = np.zeros((1, 1, 2, 11), "float32")      # uniform over 11 classes
        >>> round(float(loss(masks, logits)), 4)             # (1 + 5) / 2 * log(11)
        7.1937
    """

    def __init__(self, object_weight=1.0, name="pixel_cross_entropy", **kwargs):
        super().__init__(name=name, **kwargs)
        self.object_weight = float(object_weight)

    def call(self, y_true, y_pred):
        labels = tf.cast(y_true, tf.int32)
        values = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=tf.cast(y_pred, tf.float32))
        if self.object_weight == 1.0:
            return values
        return values * tf.where(labels > 0, self.object_weight, 1.0)

    def get_config(self):
        return {**super().get_config(), "object_weight": self.object_weight}


def build_model(config):
    """The config's network, compiled with Adam (cosine decay): a segmenter with `PixelCrossEntropy`, or the detector.

    Args:
        config: the run's `VisionConfig`.

    Returns:
        The compiled model, ready for `Trainer(model)` (the detector states its own losses).
    """
    optimizer = build_optimizer(config.optimizer_settings(), config.steps)
    if config.task == "detection":
        model = CenterDetector(width=config.width)
        model.compile(optimizer=optimizer)
        return model
    model = BUILDERS[config.model](width=config.width)
    model.compile(optimizer=optimizer, loss=PixelCrossEntropy(config.object_weight))
    return model


def predict_masks(model, images, batch_size=64):
    """The most likely class of every pixel.

    Args:
        model: a segmentation network (float images in [0, 1] -> logits).
        images: uint8 ``[N, H, W]``.
        batch_size: images per forward pass.

    Returns:
        uint8 ``[N, H, W]``: 0 the background, ``1 + k`` class ``k``.
    """
    masks = []
    for start in range(0, len(images), batch_size):
        batch = tf.cast(images[start : start + batch_size, ..., None], tf.float32) / 255.0
        masks.append(tf.argmax(model(batch, training=False), axis=-1, output_type=tf.int32).numpy().astype(np.uint8))
    return np.concatenate(masks)


def detector_network(width=8, classes=NUM_CLASSES, stride=STRIDE):
    """The detector's network: a U-Net encoder to 1/16, a decoder with skips back to 1/``stride``, three heads.

    Args:
        width: filters of the first level.
        classes: heatmap channels.
        stride: the output grid's stride (4: a 32x32 grid for 128x128 scenes).

    Returns:
        A `keras.Model` from ``[N, H, W, 1]`` images to ``{"heatmap": [N, H/s, W/s, classes] logits,
        "size": [N, H/s, W/s, 2], "offset": [N, H/s, W/s, 2]}`` (float32), ``H`` and ``W`` multiples of 16.
    """
    depth, kept = 4, int(np.log2(stride))
    images = keras.Input((None, None, 1), name="images")
    x, skips = images, []
    for level in range(depth):
        x = _conv(_conv(x, width * 2**level, name=f"down{level}a"), width * 2**level, name=f"down{level}b")
        skips.append(x)
        x = keras.layers.MaxPooling2D(2, name=f"pool{level}")(x)
    x = _conv(x, width * 2**depth, name="bottom")
    for level in reversed(range(kept, depth)):
        x = keras.layers.Conv2DTranspose(width * 2**level, 2, strides=2, name=f"up{level}")(x)
        x = keras.layers.Concatenate(name=f"skip{level}")([x, skips[level]])
        x = _conv(x, width * 2**level, name=f"up{level}a")
    heads = {}
    for name, channels in (("heatmap", classes), ("size", 2), ("offset", 2)):
        hidden = keras.layers.Conv2D(width * 4, 3, padding="same", activation="relu", name=f"{name}_hidden")(x)
        # The heatmap starts at a score of 0.1 everywhere (bias -2.19), as CenterNet: the focal loss
        # of a start at 0.5 swamps the first steps.
        bias = keras.initializers.Constant(-2.19) if name == "heatmap" else "zeros"
        heads[name] = keras.layers.Conv2D(channels, 1, bias_initializer=bias, dtype="float32", name=name)(hidden)
    return keras.Model(images, heads, name="center_detector")


@keras.saving.register_keras_serializable(package="mit_dl")
class CenterDetector(keras.Model):
    """The single-shot detector (`mit_dl.vision.detector`): its network, its three losses and its step.

    Loss per scene: ``focal(heatmap) + size_weight * L1(size) + offset_weight * L1(offset)`` (CenterNet's
    weights 1, 0.1 and 1), averaged over the global batch.

    Args:
        width: filters of the network's first level.
        classes: object classes.
        size_weight: weight of the size loss.
        offset_weight: weight of the offset loss.
        **kwargs: `keras.Model` arguments.
    """

    def __init__(self, width=8, classes=NUM_CLASSES, size_weight=0.1, offset_weight=1.0, **kwargs):
        super().__init__(**kwargs)
        self.width, self.classes = width, classes
        self.size_weight, self.offset_weight = size_weight, offset_weight
        self.network = detector_network(width, classes)

    def call(self, images, training=False):
        return self.network(images, training=training)

    def scene_losses(self, targets, outputs):
        """The per-scene ``(total, heatmap, size, offset)`` losses.

        Args:
            targets: `detector.center_targets` of the batch (tensors).
            outputs: this model's outputs on the batch.

        Returns:
            Four float32 ``[N]`` tensors.
        """
        heatmap = detector.focal_loss(targets["heatmap"], outputs["heatmap"])
        size = detector.masked_l1(targets["size"], outputs["size"], targets["centers"])
        offset = detector.masked_l1(targets["offset"], outputs["offset"], targets["centers"])
        return heatmap + self.size_weight * size + self.offset_weight * offset, heatmap, size, offset

    def training_losses(self, images, targets):
        """Each scene's loss and its three terms; the engine's `losses_step` trains on it.

        Args:
            images: ``[N, H, W, 1]`` in [0, 1].
            targets: the scenes' targets dict (`mit_dl.vision.detector.targets`).

        Returns:
            ``(total [N], {"heatmap", "size", "offset"})``.
        """
        total, heatmap, size, offset = self.scene_losses(targets, self(images, training=True))
        return total, {"heatmap": heatmap, "size": size, "offset": offset}

    def detect(self, images, **options):
        """Detections in float images through `detector.decode`.

        Args:
            images: ``[N, H, W, 1]`` in [0, 1].
            **options: `detector.decode` arguments (``top_k``, ``iou_threshold``, ...).

        Returns:
            ``{"boxes", "classes", "scores", "count"}``.
        """
        outputs = self(images, training=False)
        return detector.decode(outputs["heatmap"], outputs["size"], outputs["offset"], **options)

    def get_config(self):
        return {
            **super().get_config(),
            "width": self.width,
            "classes": self.classes,
            "size_weight": self.size_weight,
            "offset_weight": self.offset_weight,
        }


def detections_of(model, images, batch_size=64):
    """The detector's boxes, scores and classes for uint8 scenes, one tuple per scene.

    Args:
        model: a `CenterDetector`.
        images: uint8 ``[N, H, W]``.
        batch_size: scenes per forward pass.

    Returns:
        A list of ``(boxes [D, 4], scores [D], classes [D])`` NumPy arrays, best score first.
    """
    found = []
    for start in range(0, len(images), batch_size):
        batch = model.detect(tf.cast(images[start : start + batch_size, ..., None], tf.float32) / 255.0)
        found.extend(unpadded(batch))
    return found


def unpadded(detections):
    """Padded detections (``boxes``, ``scores``, ``classes``, ``count``, as `detector.decode` returns) per scene.

    Args:
        detections: a dict of ``[N, D, ...]`` tensors or arrays and ``count [N]``.

    Returns:
        A list of ``(boxes [count, 4], scores [count], classes [count])`` NumPy arrays.
    """
    arrays = {name: np.asarray(value) for name, value in detections.items()}
    return [
        (arrays["boxes"][i, :count], arrays["scores"][i, :count], arrays["classes"][i, :count])
        for i, count in enumerate(arrays["count"])
    ]


def from_run(run_dir, values):
    """The segmenter of a vision segmentation run, built from its recorded config (the registry's ``rebuild``).

    Args:
        run_dir: the run directory (its checkpoint is restored by the caller).
        values: the config values its ``settings.json`` records.

    Returns:
        ``(model, config)``: the segmenter (float images in [0, 1] -> per-pixel logits) and the `VisionConfig`.

    Raises:
        ExportError: the run trained a detector, which has no per-pixel classes to explain.
    """
    from mit_dl.errors import ExportError
    from mit_dl.vision.config import VisionConfig

    if values.get("task") != "segmentation":
        raise ExportError(
            f"{run_dir} is a detection run; pass an images run directory (a classifier) or a vision segmentation run."
        )
    config = VisionConfig(**values)
    return build_model(config), config
