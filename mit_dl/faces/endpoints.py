"""The faces lab's export signatures: ``detect`` (a face detector) and ``decode`` (the DB-VAE's decoder)."""

import tensorflow as tf

from mit_dl.export import IMAGE_REFUSED_DTYPES, Endpoint, as_uint8, image_classifier_endpoint


def face_detector_endpoint(model, size=64):
    """``detect(images uint8 [N, size, size, 3])`` -> ``{"probability": [N], "is_face": [N]}``.

    Args:
        model: maps images in [0, 1] to one face logit (the face CNN or a DB-VAE).
        size: the images' height and width.

    Returns:
        An `Endpoint`, with the same input checks as `image_classifier_endpoint`.
    """
    inner = image_classifier_endpoint(model, size, size, 3, output="sigmoid")

    def detect(images):
        out = inner.fn(images)
        return {"probability": out["probabilities"][:, 0], "is_face": out["class_ids"]}

    return Endpoint(detect, inner.input_signature, refused_dtypes=IMAGE_REFUSED_DTYPES)


def decoder_endpoint(decoder, latent_dim):
    """``decode(z float32 [N, latent_dim])`` -> ``{"images": uint8 [N, H, W, 3]}`` from a [0, 1] decoder.

    Args:
        decoder: maps latent vectors to images in [0, 1].
        latent_dim: the latent size.

    Returns:
        An `Endpoint` taking ``z``.
    """

    def decode(z):
        images = decoder(z, training=False)
        return {"images": as_uint8(images)}

    return Endpoint(decode, [tf.TensorSpec([None, latent_dim], tf.float32, name="z")])
