"""The vision lab's export signature ``explain``: attribution maps of uint8 images, with the checks inside."""

import tensorflow as tf

from mit_dl.export import IMAGE_REFUSED_DTYPES, Endpoint, check_labels, scaled_images


def image_explainer_endpoint(explain, height, width, channels, num_classes):
    """``explain(images uint8, classes int)`` -> ``{"maps": float32 [N, H, W]}``: attribution maps, checks inside.

    The images are checked and scaled by `scaled_images`; a class id outside
    ``0 .. num_classes - 1`` or a class count other than the image count
    fails with a message saying so.

    Args:
        explain: ``(float images in [0, 1], int32 classes [N]) -> [N, H, W] maps`` in TF ops.
        height: the images' height.
        width: the images' width.
        channels: the images' channel count.
        num_classes: the model's classes.

    Returns:
        An `Endpoint` taking ``images`` (uint8) and ``classes`` (int32; int64 converted).
    """

    def explain_images(images, classes):
        scaled = scaled_images(images, height, width, channels, "explain")
        same_count = tf.debugging.Assert(
            tf.equal(tf.shape(classes)[0], tf.shape(scaled)[0]),
            ["explain: one class per image; received classes and images", tf.shape(classes)[0], tf.shape(scaled)[0]],
        )
        with tf.control_dependencies([same_count, check_labels(classes, num_classes, "explain")]):
            classes = tf.identity(classes)
        return {"maps": tf.cast(explain(scaled, classes), tf.float32)}

    return Endpoint(
        explain_images,
        [tf.TensorSpec(None, tf.uint8, name="images"), tf.TensorSpec([None], tf.int32, name="classes")],
        refused_dtypes=IMAGE_REFUSED_DTYPES,
        converted_dtypes={"classes": (tf.int64,)},
    )
