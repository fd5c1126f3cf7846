"""A convolutional VAE for 64x64 RGB images (lecture 4), built on `Sampling`.

Encoder: four stride-2 convolutions -> (mu, logvar); ``z = Sampling()``;
decoder mirrors the encoder with transposed convolutions and a sigmoid
output in [0, 1]. The KL term ``KL(q(z|x) || N(0, I))`` is added with
``add_loss``, so the reconstruction loss is the only one to pass to a
trainer: total = reconstruction + kl_weight * KL.
"""

import keras
from keras import ops

from mit_dl.layers import Sampling, kl_divergence_to_standard_normal


class KLDivergenceLoss(keras.layers.Layer):
    """Adds ``kl_weight * mean_batch KL(N(mu, sigma^2) || N(0, I))`` to the model's losses."""

    def __init__(self, kl_weight=1e-3, **kwargs):
        super().__init__(**kwargs)
        self.kl_weight = float(kl_weight)

    def call(self, inputs):
        mean, log_variance = inputs
        self.add_loss(self.kl_weight * ops.mean(kl_divergence_to_standard_normal(mean, log_variance)))
        return mean

    def get_config(self):
        return {**super().get_config(), "kl_weight": self.kl_weight}


def conv_vae(image_size=64, channels=3, latent_dim=32, filters=(32, 64, 96, 128), kl_weight=1e-3, seed=None):
    """The VAE as one Keras model ``x -> reconstruction`` (KL via ``add_loss``)."""
    images = keras.Input((image_size, image_size, channels), name="images")
    x = images
    for f in filters:
        x = keras.layers.Conv2D(f, 4, strides=2, padding="same", activation="relu")(x)
    x = keras.layers.Flatten()(x)
    mean = keras.layers.Dense(latent_dim, name="z_mean")(x)
    log_variance = keras.layers.Dense(latent_dim, name="z_log_var")(x)
    mean = KLDivergenceLoss(kl_weight)([mean, log_variance])
    z = Sampling(seed=seed)([mean, log_variance])

    side = image_size // 2 ** len(filters)
    y = keras.layers.Dense(side * side * filters[-1], activation="relu")(z)
    y = keras.layers.Reshape((side, side, filters[-1]))(y)
    for f in reversed(filters[:-1]):
        y = keras.layers.Conv2DTranspose(f, 4, strides=2, padding="same", activation="relu")(y)
    reconstruction = keras.layers.Conv2DTranspose(channels, 4, strides=2, padding="same", activation="sigmoid")(y)
    return keras.Model(images, reconstruction, name="conv_vae")
