"""The model a `GenerativeConfig` names, built and compiled with its optimisers, ready for the Trainer.

`build_model` returns a `VAE` (compiled with one Adam), a `GAN` or a
`WGANGP` (compiled with one Adam per player); `trainer_arguments` gives what
`mit_dl.training.Trainer` needs to run a GAN's own two-optimizer step.
"""

import keras

from mit_dl.generative.gan import GAN, WGANGP
from mit_dl.generative.vae import VAE


def _adam(settings):
    return keras.optimizers.Adam(settings["learning_rate"], beta_1=settings["beta_1"], beta_2=settings["beta_2"])


def build_model(config, image_shape, num_classes):
    """Build and compile the config's model.

    Args:
        config: the run's `GenerativeConfig`.
        image_shape: ``(H, W, C)`` of the images.
        num_classes: the dataset's classes (used by the conditional models).

    Returns:
        The compiled `VAE`, `GAN` or `WGANGP`.
    """
    settings = config.optimizer_settings()
    classes = num_classes if config.conditional else None
    if config.is_vae:
        model = VAE(image_shape, config.latent_size, config.kl_weight, classes, seed=config.seed, name=config.model)
        model.compile(optimizer=_adam(settings))
        model.optimizer.build(model.trainable_variables)
        return model
    if config.model == "wgan-gp":
        model = WGANGP(
            image_shape, config.latent_size, config.n_critic, config.gradient_penalty, seed=config.seed, name="wgan_gp"
        )
    else:
        model = GAN(image_shape, config.latent_size, classes, config.gan_loss, seed=config.seed, name=config.model)
    model.compile(generator_optimizer=_adam(settings), discriminator_optimizer=_adam(settings))
    return model


def trainer_arguments(model):
    """The `Trainer` arguments of a generative model: a GAN's own step with both optimizers checkpointed.

    A VAE needs none: it states its losses (`VAE.training_losses`) and the engine's step trains it.

    Args:
        model: a compiled `VAE`, `GAN` or `WGANGP`.

    Returns:
        ``{"optimizer": ..., "train_step": model.train_step}`` for a GAN, ``{}`` for a VAE.
    """
    if not isinstance(model, GAN):
        return {}
    return {"optimizer": model.optimizers, "train_step": model.train_step}
