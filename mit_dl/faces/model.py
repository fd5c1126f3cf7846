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
resampling needs. The DB-VAE states its losses (`DBVAE.training_losses`) and the engine's step trains it:
the loss above, averaged over the global batch, loss scaling under
``mixed_float16``, and the logs the Trainer reports. `build_model` builds
either detector compiled with its loss and optimiser.
"""

import keras
import tensorflow as tf
from keras import ops

from mit_dl.layers import Sampling, kl_divergence_to_standard_normal

FILTERS = 12  # the course's n_filters


def face_classifier(outputs=1, image_size=64, name="face_classifier"):
    """The course's standard CNN, ``images in [0, 1] -> outputs`` logits.

    Args:
        outputs: logits out (1 for the detector; ``2 * latent + 1`` for the DB-VAE's encoder).
        image_size: height and width of the images.
        name: the model's name.

    Returns:
        A `keras.Sequential` (its output layer in float32 under mixed precision).
    """
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
    """``z -> image`` mirroring the encoder; sigmoid output in [0, 1].

    Args:
        latent_dim: the latent size.
        image_size: height and width of the images.

    Returns:
        A `keras.Sequential`.
    """
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
    """Encoder (the face CNN with ``2 * latent_dim + 1`` outputs), `Sampling`, decoder, and its training step.

    ``call(images)`` returns the face logit ``[N, 1]`` (what the detector
    uses); `encode` gives ``(logit, mu, log_variance)``; ``reconstruct``
    samples ``z`` and decodes it. Compile it with an optimizer and the
    shared `Trainer` trains on `training_losses`.

    Args:
        latent_dim: latent dimensions (the course's 100).
        image_size: side of the square RGB input images.
        seed: seed of the `Sampling` noise.
        kl_weight: weight of the KL term in `dbvae_losses`.
        loss_fn: replaces `dbvae_losses` in `training_losses`:
            ``loss_fn(x, x_recon, y, y_logit, mu, logvar) -> [N]`` (the
            course's signature; the lab notebook passes the learner's own).
            Not saved with the model.
    """

    def __init__(self, latent_dim=100, image_size=64, seed=None, kl_weight=0.005, loss_fn=None, **kwargs):
        super().__init__(**kwargs)
        self.latent_dim = latent_dim
        self.image_size = image_size
        self.kl_weight = kl_weight
        self.loss_fn = loss_fn
        self.encoder = face_classifier(2 * latent_dim + 1, image_size, name="encoder")
        self.decoder = face_decoder(latent_dim, image_size)
        self.sampling = Sampling(seed=seed)

    def build(self, input_shape=None):
        # Encoder and decoder are Sequential models with Input layers: built on creation.
        self.built = True

    def encode(self, images, training=False):
        """The encoder's three outputs.

        Args:
            images: float images in [0, 1].
            training: BatchNorm in training mode.

        Returns:
            ``(logit [B, 1], mean [B, D], log_variance [B, D])``.
        """
        out = self.encoder(images, training=training)
        logit = out[:, :1]
        mean = out[:, 1 : 1 + self.latent_dim]
        log_variance = out[:, 1 + self.latent_dim :]
        return logit, mean, log_variance

    def reconstruct(self, images, training=False):
        """Encode, sample ``z`` with the reparameterisation trick, decode.

        Args:
            images: float images in [0, 1].
            training: BatchNorm in training mode.

        Returns:
            Reconstructions in [0, 1].
        """
        _, mean, log_variance = self.encode(images, training=training)
        return self.decoder(self.sampling([mean, log_variance], training=training), training=training)

    def call(self, images, training=False):
        return self.encode(images, training=training)[0]

    def training_losses(self, images, labels):
        """The DB-VAE's loss of each example, and what to log; the engine's `losses_step` trains on it.

        Args:
            images: a batch of images in [0, 1].
            labels: 1 for a face, 0 for a non-face.

        Returns:
            ``(total [N], parts)``: the per-example loss (``loss_fn``'s when given), and the classification
            loss and the VAE loss of the faces (a masked mean) to log.
        """
        logit, mean, log_variance = self.encode(images, training=True)
        reconstruction = self.decoder(self.sampling([mean, log_variance], training=True), training=True)
        if self.loss_fn is not None:
            return self.loss_fn(images, reconstruction, tf.cast(labels, tf.float32), logit, mean, log_variance), {}
        total, classification, vae = dbvae_losses(
            images, labels, logit, mean, log_variance, reconstruction, self.kl_weight
        )
        is_face = tf.cast(labels, vae.dtype)
        vae_faces = tf.reduce_sum(vae * is_face) / tf.maximum(tf.reduce_sum(is_face), 1.0)
        return total, {"classification": classification, "vae_faces": vae_faces}

    def get_config(self):
        return {
            **super().get_config(),
            "latent_dim": self.latent_dim,
            "image_size": self.image_size,
            "kl_weight": self.kl_weight,
        }


def dbvae_losses(images, labels, logit, mean, log_variance, reconstruction, kl_weight=0.005):
    """Per-example ``(total, classification, vae)`` losses of the DB-VAE (module docstring).

    Args:
        images: the batch's images in [0, 1].
        labels: 1 for faces, 0 for non-faces.
        logit: the face logit ``[B, 1]``.
        mean: latent means ``[B, D]``.
        log_variance: latent log-variances ``[B, D]``.
        reconstruction: decoded images in [0, 1].
        kl_weight: the KL term's weight.

    Returns:
        ``(total, classification, vae)``, each ``[B]``; the VAE term counts for faces only.
    """
    labels = ops.cast(ops.reshape(labels, (-1, 1)), logit.dtype)
    # Sigmoid cross-entropy from the logit, in its overflow-free form.
    classification = ops.mean(ops.maximum(logit, 0) - logit * labels + ops.log1p(ops.exp(-ops.abs(logit))), axis=-1)
    kl = kl_divergence_to_standard_normal(mean, log_variance)
    reconstruction_error = ops.mean(ops.abs(images - reconstruction), axis=(1, 2, 3))
    vae = kl_weight * kl + reconstruction_error
    total = classification + ops.reshape(labels, (-1,)) * vae
    return total, classification, vae


def build_model(config, steps=None):
    """The detector a `FacesConfig` names, compiled with Adam at ``config.learning_rate``.

    The CNN trains with the default step on the sigmoid cross-entropy of its
    logit; the DB-VAE with its own losses (`DBVAE.training_losses`). The ``cosine``
    schedule and small real sets (``config.decays``) decay the rate to zero
    by a cosine over ``steps``.

    Args:
        config: the run's `FacesConfig`.
        steps: the cosine's length (default ``config.steps``).

    Returns:
        The compiled model, ready for `Trainer(model)`.
    """
    learning_rate = config.learning_rate
    if config.decays:  # cosine to zero: the last steps settle instead of stopping at a noisy point
        learning_rate = keras.optimizers.schedules.CosineDecay(learning_rate, steps or config.steps)
    if config.model != "dbvae":  # cnn, reweighted, oracle: the same network
        model = face_classifier()
        model.compile(
            optimizer=keras.optimizers.Adam(learning_rate), loss=keras.losses.BinaryCrossentropy(from_logits=True)
        )
    else:
        model = DBVAE(latent_dim=config.latent_dim, seed=config.seed, kl_weight=config.kl_weight)
        model.compile(optimizer=keras.optimizers.Adam(learning_rate))
    return model
