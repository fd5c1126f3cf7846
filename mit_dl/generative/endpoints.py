"""The generative lab's export signatures: ``generate``, ``generate_class``, ``encode`` and ``decode``."""

import tensorflow as tf

from mit_dl.export import IMAGE_REFUSED_DTYPES, Endpoint, as_uint8, check_labels, scaled_images


def _noise(count, latent_dim, seed):
    return tf.random.stateless_normal(tf.stack([count, latent_dim]), seed=tf.stack([seed, tf.constant(0, tf.int64)]))


def generate_endpoint(generate, latent_dim, num_classes=None):
    """``generate(count, seed)`` -> ``{"images": uint8}`` (and ``"labels"``, drawn uniformly, for conditional models).

    The noise is ``tf.random.stateless_normal`` of the seed: the same
    ``(count, seed)`` gives the same images in any process.

    Args:
        generate: ``generate(z)`` (``generate(z, labels)`` with ``num_classes``) -> images in [0, 1].
        latent_dim: the noise (latent) size.
        num_classes: for a conditional model, the number of classes.

    Returns:
        An `Endpoint` taking ``count`` (int32 scalar, >= 1) and ``seed`` (int64 scalar).
    """

    def fn(count, seed):
        check = tf.debugging.Assert(count > 0, ["generate: count must be at least 1; received", count])
        with tf.control_dependencies([check]):
            z = _noise(count, latent_dim, seed)
        if not num_classes:
            return {"images": as_uint8(generate(z))}
        labels = tf.random.stateless_uniform(
            tf.reshape(count, [1]), seed=tf.stack([seed, tf.constant(1, tf.int64)]), maxval=num_classes, dtype=tf.int32
        )
        return {"images": as_uint8(generate(z, labels)), "labels": labels}

    return Endpoint(fn, [tf.TensorSpec([], tf.int32, name="count"), tf.TensorSpec([], tf.int64, name="seed")])


def generate_class_endpoint(generate, latent_dim, num_classes):
    """``generate_class(labels, seed)`` -> ``{"images": uint8}``: one image of each requested class.

    Args:
        generate: ``generate(z, labels)`` -> images in [0, 1].
        latent_dim: the noise (latent) size.
        num_classes: the number of classes (labels outside 0..num_classes-1 fail with a message).

    Returns:
        An `Endpoint` taking ``labels`` (int32 ``[N]``) and ``seed`` (int64 scalar).
    """

    def fn(labels, seed):
        with tf.control_dependencies([check_labels(labels, num_classes, "generate_class")]):
            z = _noise(tf.shape(labels)[0], latent_dim, seed)
        return {"images": as_uint8(generate(z, labels))}

    return Endpoint(fn, [tf.TensorSpec([None], tf.int32, name="labels"), tf.TensorSpec([], tf.int64, name="seed")])


def encode_endpoint(encode, image_shape, num_classes=None):
    """``encode(images uint8 [N, H, W, C]` (, labels)) -> ``{"mean", "log_variance"}``: a VAE's encoder.

    The images are checked and scaled by `mit_dl.export.scaled_images` (grey images may also come as
    ``[N, H, W]``); float images are refused.

    Args:
        encode: ``encode(images in [0, 1] (, labels)) -> (mean, log_variance)``.
        image_shape: ``(H, W, C)``.
        num_classes: for a conditional VAE, the number of classes.

    Returns:
        An `Endpoint` taking ``images`` (and ``labels``), with the shape checked inside.
    """
    height, width, channels = image_shape

    def prepared(images):  # checked before the reshape, with a message naming encode
        return scaled_images(images, height, width, channels, "encode")

    def named(out):
        return {"mean": tf.cast(out[0], tf.float32), "log_variance": tf.cast(out[1], tf.float32)}

    image_spec = tf.TensorSpec(None, tf.uint8, name="images")
    if not num_classes:
        return Endpoint(lambda images: named(encode(prepared(images))), [image_spec], IMAGE_REFUSED_DTYPES)

    def fn(images, labels):
        with tf.control_dependencies([check_labels(labels, num_classes, "encode")]):
            return named(encode(prepared(images), labels))

    return Endpoint(fn, [image_spec, tf.TensorSpec([None], tf.int32, name="labels")], IMAGE_REFUSED_DTYPES)


def decode_endpoint(decode, latent_dim, num_classes=None):
    """``decode(z float32 [N, latent_dim]` (, labels)) -> ``{"images": uint8}``: a VAE's decoder.

    Args:
        decode: ``decode(z (, labels)) -> images in [0, 1]``.
        latent_dim: the latent size.
        num_classes: for a conditional VAE, the number of classes.

    Returns:
        An `Endpoint` taking ``z`` (and ``labels``).
    """
    z_spec = tf.TensorSpec([None, latent_dim], tf.float32, name="z")
    if not num_classes:
        return Endpoint(lambda z: {"images": as_uint8(decode(z))}, [z_spec])

    def fn(z, labels):
        with tf.control_dependencies([check_labels(labels, num_classes, "decode")]):
            return {"images": as_uint8(decode(z, labels))}

    return Endpoint(fn, [z_spec, tf.TensorSpec([None], tf.int32, name="labels")])
