"""The VAE, β-VAE and conditional VAE of lecture 4: each states its losses, the engine's step trains it.

    encoder:  x (, y)  ->  mu, log sigma^2
    sample:   z = mu + sigma * eps,  eps ~ N(0, I)      (`mit_dl.layers.Sampling`)
    decoder:  z (, y)  ->  logits,  x_hat = sigmoid(logits)
    loss:     sum_pixels BCE(x, x_hat) + beta * KL(N(mu, sigma^2) || N(0, I))

``beta = 1`` is the VAE; ``beta > 1`` the β-VAE (Higgins et al. 2017), which
pays more for information in the latent code and so favours codes whose
dimensions vary independently: disentanglement, measured on the sprites by
`mit_dl.generative.metrics.mutual_information_gap`. A conditional VAE
(``num_classes``) is told the class, so its latent code is free to describe
everything else (style), and `generate` can draw a requested class.
"""

import keras
from keras import ops

from mit_dl.generative import losses, networks
from mit_dl.layers import Sampling


class VAE(keras.Model):
    """A convolutional (conditional) VAE; ``call`` reconstructs, `training_losses` gives `losses.vae_loss`.

    Args:
        image_shape: ``(H, W, C)`` of the images (28x28 or 64x64).
        latent_dim: latent dimensions.
        beta: the KL term's weight (1: VAE, above 1: β-VAE).
        num_classes: for a conditional VAE, the number of classes.
        seed: seed of the `Sampling` noise and of `generate`'s draws.
        loss_fn: replaces `losses.vae_loss` in `training_losses`:
            ``loss_fn(images, logits, mean, log_variance, beta) -> [B]`` (the
            lab notebook passes the learner's). Not saved with the model.
        **kwargs: base `keras.Model` arguments.
    """

    def __init__(self, image_shape, latent_dim=16, beta=1.0, num_classes=None, seed=None, loss_fn=None, **kwargs):
        super().__init__(**kwargs)
        self.image_shape = tuple(image_shape)
        self.latent_dim = latent_dim
        self.beta = float(beta)
        self.num_classes = num_classes
        self.loss_fn = loss_fn
        self.encoder = networks.encoder(self.image_shape, latent_dim, num_classes)
        self.decoder = networks.decoder(self.image_shape, latent_dim, num_classes)
        self.sampling = Sampling(seed=seed)
        self.noise = keras.random.SeedGenerator(None if seed is None else seed + 1)
        self.built = True  # its networks are functional models, built on creation

    @property
    def conditional(self):
        """True when the model takes class labels."""
        return bool(self.num_classes)

    def _with_labels(self, x, labels):
        if not self.conditional:
            return x
        if labels is None:
            raise ValueError("this conditional VAE needs the class labels of the images; pass labels=.")
        return [ops.convert_to_tensor(x), ops.cast(labels, "int32")]

    def encode(self, images, labels=None, training=False):
        """The latent Gaussian of each image.

        Args:
            images: float images in [0, 1].
            labels: class ids (conditional VAE only).
            training: passed to the encoder.

        Returns:
            ``(mean, log_variance)``, each ``[B, latent_dim]``.
        """
        out = self.encoder(self._with_labels(images, labels), training=training)
        return out[:, : self.latent_dim], out[:, self.latent_dim :]

    def decode(self, z, labels=None, training=False):
        """Images from latent vectors.

        Args:
            z: ``[B, latent_dim]``.
            labels: class ids (conditional VAE only).
            training: passed to the decoder.

        Returns:
            ``x_hat`` in [0, 1], ``[B, H, W, C]``.
        """
        return ops.sigmoid(self.decoder(self._with_labels(z, labels), training=training))

    def generate(self, count, labels=None, z=None):
        """Images decoded from ``z ~ N(0, I)`` (the prior).

        Args:
            count: number of images.
            labels: class ids to draw (conditional VAE only), ``[count]``.
            z: the latent vectors to decode instead of fresh draws.

        Returns:
            Images in [0, 1].
        """
        if z is None:
            z = keras.random.normal((count, self.latent_dim), seed=self.noise)
        return self.decode(z, labels)

    def generate_from(self, z, labels=None):
        """Decode given latent vectors (inference mode): the function the exports and the figures use.

        Args:
            z: ``[B, latent_dim]``.
            labels: class ids (conditional VAE only).

        Returns:
            Images in [0, 1].
        """
        return self.decode(z, labels)

    def call(self, inputs, training=False):
        images, labels = (inputs[0], inputs[1]) if isinstance(inputs, (list, tuple)) else (inputs, None)
        mean, log_variance = self.encode(images, labels, training=training)
        return self.decode(self.sampling([mean, log_variance]), labels, training=training)

    def training_losses(self, images, labels):
        """The VAE's loss of each image (nats) and its two terms; the engine's `losses_step` trains on it.

        Args:
            images: a batch of images in [0, 1].
            labels: their classes (read by a conditional VAE only).

        Returns:
            ``(total [N], parts)``: the per-example loss (``loss_fn``'s when given) and, with the lecture's
            loss, ``{"reconstruction", "kl"}`` to log.
        """
        mean, log_variance = self.encode(images, labels, training=True)
        z = self.sampling([mean, log_variance])
        logits = self.decoder(self._with_labels(z, labels), training=True)
        if self.loss_fn is not None:
            return self.loss_fn(images, logits, mean, log_variance, self.beta), {}
        total, reconstruction, kl = losses.vae_loss(images, logits, mean, log_variance, self.beta)
        return total, {"reconstruction": reconstruction, "kl": kl}

    def get_config(self):
        return {
            **super().get_config(),
            "image_shape": self.image_shape,
            "latent_dim": self.latent_dim,
            "beta": self.beta,
            "num_classes": self.num_classes,
        }
