"""Lab 2 part 2: the standard face CNN and the debiasing VAE (DB-VAE) built from it.

Standard classifier (the course's): four stride-2 ReLU convolutions with 12,
24, 48 and 72 filters (kernels 5, 5, 3, 3), each followed by BatchNorm, then
Dense 512 and one logit ``P(face) = sigmoid(logit)``.

DB-VAE (Amini et al., AIES 2019): the same network with ``2 * latent_dim + 1``
outputs is the encoder, ``[logit, mu, log sigma^2]``; ``z = mu + exp(0.5 log
sigma^2) * eps`` (`mit_dl.layers.Sampling`); a decoder mirrors the encoder,
its last layer a sigmoid so reconstructions stay in the image range [0, 1].
Loss per example (lecture 4):

    L = CE(y, logit) + 1[y = face] * (kl_weight * KL(q(z|x) || N(0, I)) + mean |x - x_hat|)

Only faces train the VAE: the latent space describes faces, which is what the
resampling needs.
"""

import keras
from keras import ops

from mit_dl.layers import Sampling, kl_divergence_to_standard_normal

FILTERS = 12  # the course's n_filters


def face_classifier(outputs=1, image_size=64, name="face_classifier"):
    """The course's standard CNN, ``images in [0, 1] -> outputs`` logits."""
    return keras.Sequential(
        [
            keras.Input((image_size, image_size, 3), name="images"),
            keras.layers.Conv2D(FILTERS, 5, strides=2, padding="same", activation="relu"),
            keras.layers.BatchNormalization(),
            keras.layers.Conv2D(2 * FILTERS, 5, strides=2, padding="same", activation="relu"),
            keras.layers.BatchNormalization(),
            keras.layers.Conv2D(4 * FILTERS, 3, strides=2, padding="same", activation="relu"),
            keras.layers.BatchNormalization(),
            keras.layers.Conv2D(6 * FILTERS, 3, strides=2, padding="same", activation="relu"),
            keras.layers.BatchNormalization(),
            keras.layers.Flatten(),
            keras.layers.Dense(512, activation="relu"),
            # float32 under a mixed policy: the logit, the latent means and the KL stay exact.
            keras.layers.Dense(outputs, dtype="float32"),
        ],
        name=name,
    )


def face_decoder(latent_dim, image_size=64):
    """``z -> image`` mirroring the encoder; sigmoid output in [0, 1]."""
    side = image_size // 16
    return keras.Sequential(
        [
            keras.Input((latent_dim,), name="z"),
            keras.layers.Dense(side * side * 6 * FILTERS, activation="relu"),
            keras.layers.Reshape((side, side, 6 * FILTERS)),
            keras.layers.Conv2DTranspose(4 * FILTERS, 3, strides=2, padding="same", activation="relu"),
            keras.layers.Conv2DTranspose(2 * FILTERS, 3, strides=2, padding="same", activation="relu"),
            keras.layers.Conv2DTranspose(FILTERS, 5, strides=2, padding="same", activation="relu"),
            keras.layers.Conv2DTranspose(3, 5, strides=2, padding="same", activation="sigmoid", dtype="float32"),
        ],
        name="face_decoder",
    )


class DBVAE(keras.Model):
    """Encoder (the face CNN with ``2 * latent_dim + 1`` outputs), `Sampling`, decoder.

    ``call(images)`` returns the face logit ``[N, 1]`` (what the detector
    uses); `encode` gives ``(logit, mu, log_variance)``; ``reconstruct``
    samples ``z`` and decodes it.
    """

    def __init__(self, latent_dim=100, image_size=64, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.latent_dim = latent_dim
        self.image_size = image_size
        self.encoder = face_classifier(2 * latent_dim + 1, image_size, name="encoder")
        self.decoder = face_decoder(latent_dim, image_size)
        self.sampling = Sampling(seed=seed)

    def build(self, input_shape=None):
        # Encoder and decoder are Sequential models with Input layers: built on creation.
        self.built = True

    def encode(self, images, training=False):
        out = self.encoder(images, training=training)
        logit = out[:, :1]
        mean = out[:, 1 : 1 + self.latent_dim]
        log_variance = out[:, 1 + self.latent_dim :]
        return logit, mean, log_variance

    def reconstruct(self, images, training=False):
        _, mean, log_variance = self.encode(images, training=training)
        return self.decoder(self.sampling([mean, log_variance], training=training), training=training)

    def call(self, images, training=False):
        return self.encode(images, training=training)[0]

    def get_config(self):
        return {**super().get_config(), "latent_dim": self.latent_dim, "image_size": self.image_size}


def dbvae_losses(images, labels, logit, mean, log_variance, reconstruction, kl_weight=0.005):
    """Per-example ``(total, classification, vae)`` losses of the DB-VAE (module docstring).

    ``labels``: 1 for faces, 0 for non-faces; ``images`` and
    ``reconstruction`` in [0, 1].
    """
    labels = ops.cast(ops.reshape(labels, (-1, 1)), logit.dtype)
    # Sigmoid cross-entropy from the logit, in its overflow-free form.
    classification = ops.mean(ops.maximum(logit, 0) - logit * labels + ops.log1p(ops.exp(-ops.abs(logit))), axis=-1)
    kl = kl_divergence_to_standard_normal(mean, log_variance)
    reconstruction_error = ops.mean(ops.abs(images - reconstruction), axis=(1, 2, 3))
    vae = kl_weight * kl + reconstruction_error
    total = classification + ops.reshape(labels, (-1,)) * vae
    return total, classification, vae
