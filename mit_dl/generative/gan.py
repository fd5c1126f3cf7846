"""GANs of lecture 4 ("distribution transformers": noise in, images out), each owning its two-optimizer step.

- `GAN`: the DCGAN (Radford et al. 2016), or with ``num_classes`` the
  conditional GAN (Mirza and Osindero 2014). One step updates the
  discriminator on a real and a generated batch, then the generator on fresh
  noise (`losses.discriminator_loss`, `losses.generator_loss`). A
  conditional GAN's fakes are drawn for the real batch's labels, so both
  players see the classes in the data's proportions.
- `WGANGP`: the Wasserstein GAN with gradient penalty (Gulrajani et al.
  2017): ``n_critic`` critic updates, each on its own real batch, per
  generator update. Its training batches hold ``n_critic`` real batches
  stacked (``batch_size * n_critic`` images), so one Trainer step is one
  generator step.

Both keep their optimizers as ``generator_optimizer`` and
``discriminator_optimizer`` (`compile`); `optimizers` names them for the
Trainer, which checkpoints both.
"""

import keras
import tensorflow as tf
from keras import ops

from mit_dl.generative import losses, networks
from mit_dl.training.precision import with_loss_scaling


class GAN(keras.Model):
    """Generator and discriminator of a DCGAN or conditional GAN, and their alternating update.

    ``call(noise)`` (``call([noise, labels])`` when conditional) is the
    generator. Compile with both optimizers, then train with
    ``Trainer(model, optimizer=model.optimizers, train_step=model.train_step)``.
    It keeps its own step, unlike the models that state their losses to the
    engine's (`mit_dl.training.trainer.losses_step`): a GAN's step is two
    updates by two optimizers, each on its own player's loss.

    Args:
        image_shape: ``(H, W, C)`` of the images (28x28 or 64x64).
        latent_dim: noise dimensions.
        num_classes: for a conditional GAN, the number of classes.
        generator_loss: ``"non-saturating"`` (default) or ``"minimax"``.
        seed: seed of the noise the training step draws.
        discriminator_loss_fn: replaces `losses.discriminator_loss` in `train_step`:
            ``fn(real_logits, fake_logits) -> [B]`` (the lab notebook passes the learner's). Not saved.
        generator_loss_fn: replaces `losses.generator_loss`: ``fn(fake_logits, kind) -> [B]``. Not saved.
        **kwargs: base `keras.Model` arguments.
    """

    critic_normalization = "batch"

    def __init__(
        self,
        image_shape,
        latent_dim=64,
        num_classes=None,
        generator_loss="non-saturating",
        seed=None,
        discriminator_loss_fn=None,
        generator_loss_fn=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.discriminator_loss_fn = discriminator_loss_fn or losses.discriminator_loss
        self.generator_loss_fn = generator_loss_fn or losses.generator_loss
        losses.generator_loss(ops.zeros((1, 1)), generator_loss)  # an unknown kind fails here
        self.image_shape = tuple(image_shape)
        self.latent_dim = latent_dim
        self.num_classes = num_classes
        self.generator_loss_kind = generator_loss
        self.generator = networks.generator(self.image_shape, latent_dim, num_classes)
        self.discriminator = networks.discriminator(
            self.image_shape,
            num_classes,
            normalization=self.critic_normalization,
            name="critic" if self.critic_normalization == "layer" else "discriminator",
        )
        self.noise = keras.random.SeedGenerator(seed)
        self.generator_optimizer = None
        self.discriminator_optimizer = None
        self.built = True  # its networks are functional models, built on creation

    @property
    def conditional(self):
        """True when the model takes class labels."""
        return bool(self.num_classes)

    def compile(self, generator_optimizer, discriminator_optimizer, **kwargs):
        """Keep both optimizers (wrapped for loss scaling under ``mixed_float16``) and build their slots.

        Args:
            generator_optimizer: a Keras optimizer for the generator.
            discriminator_optimizer: one for the discriminator (critic).
            **kwargs: `keras.Model.compile` arguments.
        """
        super().compile(**kwargs)
        self.generator_optimizer = with_loss_scaling(generator_optimizer)
        self.discriminator_optimizer = with_loss_scaling(discriminator_optimizer)
        self.generator_optimizer.build(self.generator.trainable_variables)
        self.discriminator_optimizer.build(self.discriminator.trainable_variables)

    @property
    def optimizers(self):
        """``{"generator_optimizer", "discriminator_optimizer"}``, as the Trainer checkpoints them."""
        return {
            "generator_optimizer": self.generator_optimizer,
            "discriminator_optimizer": self.discriminator_optimizer,
        }

    def _with_labels(self, x, labels):
        if not self.conditional:
            return x
        if labels is None:
            raise ValueError("this conditional GAN needs class labels; pass labels=.")
        return [ops.convert_to_tensor(x), ops.cast(labels, "int32")]

    def generate(self, count, labels=None, noise=None, training=False):
        """Images from noise ``z ~ N(0, I)``.

        Args:
            count: number of images.
            labels: class ids to draw (conditional GAN only), ``[count]``.
            noise: the noise vectors to use instead of fresh draws.
            training: passed to the generator (BatchNorm).

        Returns:
            Images in [0, 1].
        """
        if noise is None:
            noise = keras.random.normal((count, self.latent_dim), seed=self.noise)
        return self.generator(self._with_labels(noise, labels), training=training)

    def generate_from(self, z, labels=None):
        """Images from given noise vectors (inference mode): the function the exports and the figures use.

        Args:
            z: ``[B, latent_dim]``.
            labels: class ids (conditional GAN only).

        Returns:
            Images in [0, 1].
        """
        return self.generator(self._with_labels(z, labels), training=False)

    def criticise(self, images, labels=None, training=False):
        """The discriminator's logits (a critic's scores).

        Args:
            images: images in [0, 1].
            labels: class ids (conditional GAN only).
            training: passed to the discriminator.

        Returns:
            ``[B, 1]``.
        """
        return self.discriminator(self._with_labels(images, labels), training=training)

    def call(self, inputs, training=False):
        noise, labels = (inputs[0], inputs[1]) if isinstance(inputs, (list, tuple)) else (inputs, None)
        return self.generator(self._with_labels(noise, labels), training=training)

    def _apply(self, optimizer, loss, tape, variables):
        gradients = tape.gradient(loss, variables)
        optimizer.apply_gradients(zip(gradients, variables))

    def _generator_update(self, count, labels):
        """One generator update on fresh noise; returns its per-example loss."""
        noise = keras.random.normal((count, self.latent_dim), seed=self.noise)
        with tf.GradientTape() as tape:
            fake = self.generate(count, labels, noise, training=True)
            scores = self.criticise(fake, labels, training=True)
            per_example = self._generator_objective(scores)
            scaled = self.generator_optimizer.scale_loss(tf.nn.compute_average_loss(per_example))
        self._apply(self.generator_optimizer, scaled, tape, self.generator.trainable_variables)
        return per_example

    def _generator_objective(self, scores):
        return self.generator_loss_fn(scores, self.generator_loss_kind)

    def train_step(self, batch):
        """One discriminator update, then one generator update, on ``(images in [0, 1], labels)``.

        Returns:
            The batch's mean ``discriminator_loss`` and ``generator_loss``, and
            ``real_probability`` / ``fake_probability``: the discriminator's mean
            ``D(x)`` on real and generated images (0.5 and 0.5 at equilibrium).
        """
        images, labels = batch
        labels = labels if self.conditional else None
        count = tf.shape(images)[0]
        noise = keras.random.normal((count, self.latent_dim), seed=self.noise)
        with tf.GradientTape() as tape:
            fake = self.generate(count, labels, noise, training=True)
            real_logits = self.criticise(images, labels, training=True)
            fake_logits = self.criticise(fake, labels, training=True)
            d_loss = self.discriminator_loss_fn(real_logits, fake_logits)
            scaled = self.discriminator_optimizer.scale_loss(tf.nn.compute_average_loss(d_loss))
        self._apply(self.discriminator_optimizer, scaled, tape, self.discriminator.trainable_variables)
        g_loss = self._generator_update(count, labels)
        return {
            "discriminator_loss": tf.reduce_mean(d_loss),
            "generator_loss": tf.reduce_mean(g_loss),
            "real_probability": tf.reduce_mean(tf.sigmoid(real_logits)),
            "fake_probability": tf.reduce_mean(tf.sigmoid(fake_logits)),
        }

    def get_config(self):
        return {
            **super().get_config(),
            "image_shape": self.image_shape,
            "latent_dim": self.latent_dim,
            "num_classes": self.num_classes,
            "generator_loss": self.generator_loss_kind,
        }


class WGANGP(GAN):
    """The WGAN-GP: a LayerNorm critic without sigmoid, the gradient penalty, ``n_critic`` critic steps per step.

    Args:
        image_shape: ``(H, W, C)`` of the images.
        latent_dim: noise dimensions.
        n_critic: critic updates per generator update (the paper's 5).
        penalty_weight: lambda, the gradient penalty's weight (the paper's 10).
        seed: seed of the noise and of the interpolation weights.
        **kwargs: base `keras.Model` arguments.
    """

    critic_normalization = "layer"

    def __init__(self, image_shape, latent_dim=64, n_critic=5, penalty_weight=10.0, seed=None, **kwargs):
        if isinstance(n_critic, bool) or not isinstance(n_critic, int) or n_critic < 1:
            raise ValueError(f"n_critic must be a whole number of critic steps >= 1, received {n_critic!r}.")
        super().__init__(image_shape, latent_dim, seed=seed, **kwargs)
        self.n_critic = n_critic
        self.penalty_weight = float(penalty_weight)
        self.interpolation = keras.random.SeedGenerator(None if seed is None else seed + 1)

    def _generator_objective(self, scores):
        return losses.wasserstein_generator_loss(scores)

    def train_step(self, batch):
        """``n_critic`` critic updates (one per stacked real batch), then one generator update.

        Returns:
            The means of the last critic update's ``critic_loss`` (with the
            penalty), ``gradient_penalty`` and ``wasserstein_estimate`` (the
            critic's ``f(x) - f(G(z))``, an estimate of the distance up to
            the critic's scale), and the ``generator_loss``.
        """
        images, _ = batch
        count = tf.shape(images)[0] // self.n_critic
        for index in range(self.n_critic):
            real = images[index * count : (index + 1) * count]
            noise = keras.random.normal((count, self.latent_dim), seed=self.noise)
            fake = self.generate(count, noise=noise, training=True)
            epsilon = losses.interpolation_weights(count, seed=self.interpolation)
            with tf.GradientTape() as tape:
                real_scores = self.criticise(real, training=True)
                fake_scores = self.criticise(fake, training=True)
                distance = losses.critic_loss(real_scores, fake_scores)
                penalty = losses.gradient_penalty(self.discriminator, real, fake, epsilon)
                c_loss = distance + self.penalty_weight * penalty
                scaled = self.discriminator_optimizer.scale_loss(tf.nn.compute_average_loss(c_loss))
            self._apply(self.discriminator_optimizer, scaled, tape, self.discriminator.trainable_variables)
        g_loss = self._generator_update(count, None)
        return {
            "critic_loss": tf.reduce_mean(c_loss),
            "gradient_penalty": tf.reduce_mean(penalty),
            "wasserstein_estimate": -tf.reduce_mean(distance),
            "generator_loss": tf.reduce_mean(g_loss),
        }

    def get_config(self):
        config = super().get_config()
        config.pop("num_classes")
        config.pop("generator_loss")
        return {**config, "n_critic": self.n_critic, "penalty_weight": self.penalty_weight}
