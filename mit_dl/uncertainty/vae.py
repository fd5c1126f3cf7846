"""A VAE beside the model: how badly it reconstructs an input is a novelty (epistemic) score.

Lecture 5: an autoencoder trained on the training inputs reconstructs
inputs like them well and unfamiliar inputs badly, so the reconstruction
error flags inputs the model has not learned about, whatever the model's
own confidence. The wrapper trains lecture 4's convolutional VAE
(`mit_dl.generative.vae.VAE`, its loss `mit_dl.generative.losses.vae_loss`)
on the wrapped model's inputs, alongside the model: the two share no
weights, so one step on the sum of their losses is two independent steps.

A measured trap (Nalisnick et al. 2019): generative models trained on
Fashion-MNIST reconstruct MNIST digits (mostly black, simple strokes)
*better* than many clothes, so this score can rank the out-of-distribution
set as more typical. The uncertainty lab's docs page reports what it does
and an input-complexity correction (`mit_dl.uncertainty.bias`).
"""

import keras
import tensorflow as tf

from mit_dl.errors import ConfigError
from mit_dl.generative import VAE, vae_loss
from mit_dl.uncertainty.wrapper import UncertaintyWrapper, task_loss


class VAEWrapper(UncertaintyWrapper):
    """Wrap an image model with a VAE on its inputs; add ``reconstruction_error`` to its predictions.

    Args:
        model: a built Keras model of images in [0, 1] ``[N, H, W, C]`` (28x28 or 64x64), returning
            logits (classification) or predictions (regression).
        latent_dim: the VAE's latent dimensions.
        beta: the weight of its KL term.
        seed: seed of the VAE's sampling noise.
        task: ``"classification"`` or ``"regression"``.
        **kwargs: `keras.Model`'s.

    Call arguments:
        inputs: images in [0, 1].
        training: passed to the model and the VAE.

    Returns:
        Classification: ``{"probabilities", "entropy", "reconstruction_error",
        "reconstruction_divergence"}``; regression: ``{"prediction", ...}`` and the same two.
        ``reconstruction_error`` is the Bernoulli negative log-likelihood of the input under the
        decoded latent mean, summed over pixels (nats per image): higher means less like the
        training images. ``reconstruction_divergence`` subtracts what no reconstruction can
        remove, each grey pixel's own entropy: mid-grey clothes otherwise pay more than
        near-binary digits for the same quality of reconstruction.

    Raises:
        ConfigError: the model's inputs are not 28x28 or 64x64 images.
    """

    def __init__(self, model, latent_dim=16, beta=1.0, seed=None, task="classification", **kwargs):
        kwargs.setdefault("name", "vae_novelty")
        super().__init__(task=task, **kwargs)
        shape = tuple(model.inputs[0].shape[1:]) if getattr(model, "inputs", None) else None
        if shape is None or len(shape) != 3 or shape[0] != shape[1] or shape[0] not in (28, 64):
            raise ConfigError(
                "model",
                f"({model.name}) must take images [N, 28, 28, C] or [N, 64, 64, C] (the VAE's sizes); its inputs "
                f"are {shape}",
            )
        self.model = model
        self.vae = VAE(shape, latent_dim=latent_dim, beta=beta, seed=seed, name="input_vae")

    def latent_means(self, inputs):
        """The VAE encoder's means (the representation `HistogramWrapper` can score).

        Args:
            inputs: images in [0, 1].

        Returns:
            ``[N, latent_dim]``.
        """
        return self.vae.encode(inputs, training=False)[0]

    def reconstruction_error(self, inputs, training=False):
        """How badly the VAE reconstructs each input.

        Args:
            inputs: images in [0, 1].
            training: passed to the encoder and decoder.

        Returns:
            ``[N]``: ``-log p(x | z = mu(x))`` summed over pixels (Bernoulli decoder), in nats.
        """
        return self.reconstruction_scores(inputs, training)[0]

    def reconstruction_scores(self, inputs, training=False):
        """The reconstruction error and its part above the pixels' own entropy, from one reconstruction.

        Args:
            inputs: images in [0, 1].
            training: passed to the encoder and decoder.

        Returns:
            ``(error [N], divergence [N])`` in nats: `reconstruction_error`, and the error less each pixel's
            entropy (zero for a perfect reconstruction).
        """
        mean, _ = self.vae.encode(inputs, training=training)
        logits = tf.cast(self.vae.decoder(mean, training=training), tf.float32)
        images = tf.cast(inputs, tf.float32)
        per_pixel = tf.nn.softplus(logits) - images * logits  # BCE with logits, exact for x in [0, 1]
        # A grey pixel cannot be reconstructed below its own entropy H(x): subtracting it leaves the
        # divergence KL(Bernoulli(x) || Bernoulli(x_hat)), zero for a perfect reconstruction.
        own = -(tf.math.xlogy(images, images) + tf.math.xlogy(1.0 - images, 1.0 - images))
        flat = lambda t: tf.reduce_sum(tf.reshape(t, [tf.shape(t)[0], -1]), axis=-1)  # noqa: E731
        error = flat(per_pixel)
        return error, error - flat(own)

    def call(self, inputs, training=False):
        outputs = tf.cast(self.model(inputs, training=training), tf.float32)
        error, divergence = self.reconstruction_scores(inputs, training)
        novelty = {"reconstruction_error": error, "reconstruction_divergence": divergence}
        if self.task == "regression":
            return {"prediction": outputs, **novelty}
        probabilities = tf.nn.softmax(outputs)
        entropy = -tf.reduce_sum(tf.math.xlogy(probabilities, probabilities), axis=-1)
        return {"probabilities": probabilities, "entropy": entropy, **novelty}

    def training_losses(self, inputs, targets):
        """The model's task loss plus the VAE's loss (reconstruction + beta KL) per example.

        Args:
            inputs: a batch of inputs.
            targets: their targets.

        Returns:
            ``(losses [N], parts)``: one loss per example, and ``{name: [N]}`` parts to log.
        """
        model_loss = task_loss(self.task, targets, self.model(inputs, training=True))
        mean, log_variance = self.vae.encode(inputs, training=True)
        logits = self.vae.decoder(self.vae.sampling([mean, log_variance]), training=True)
        vae_total, reconstruction, kl = vae_loss(inputs, logits, mean, log_variance, self.vae.beta)
        parts = {"model_loss": model_loss, "reconstruction": reconstruction, "vae_kl": kl}
        return model_loss + keras.ops.cast(vae_total, "float32"), parts
