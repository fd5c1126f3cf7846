"""Lecture 4 lab settings: which generative model, on which images, with which losses and schedule.

One `GenerativeConfig` describes every model of the lab:

- ``vae`` and ``beta-vae``: the convolutional VAE, loss ``reconstruction +
  beta * KL`` (beta 1 and 4 unless ``beta`` says otherwise);
- ``cvae``: the VAE with the class label joined to the encoder's features and
  to the decoder's input;
- ``dcgan``: the DCGAN, minimax or non-saturating generator loss;
- ``cgan``: the DCGAN with the label embedded and joined to the noise and to
  the discriminator's input;
- ``wgan-gp``: the Wasserstein GAN with gradient penalty, ``n_critic`` critic
  steps per generator step.

The optimisers are the papers' recipes (`OPTIMIZERS`): Adam 1e-3 for the
VAEs, Adam 2e-4 with beta_1 = 0.5 for the DCGANs (Radford et al. 2016), Adam
1e-4 with betas (0.5, 0.9) for WGAN-GP (Gulrajani et al. 2017 use beta_1 = 0;
0.5 trained more steadily here). Presets: ``quick`` (minutes on 2 CPU cores) and
``full`` (the docs page's figures; written for a GPU, runs on a CPU).

Examples:
    >>> GenerativeConfig.from_preset("quick", model="beta-vae").kl_weight
    4.0
    >>> GenerativeConfig(model="wgan-gp", n_critic=0)
    Traceback (most recent call last):
    ...
    mit_dl.errors.ConfigError: n_critic must be at least 1, received 0.
"""

import dataclasses
from typing import Optional

from mit_dl.config import RunConfig, at_least, option, positive
from mit_dl.errors import ConfigError

MODELS = ("vae", "beta-vae", "cvae", "dcgan", "cgan", "wgan-gp")
VAES = ("vae", "beta-vae", "cvae")
GANS = ("dcgan", "cgan", "wgan-gp")
CONDITIONAL = ("cvae", "cgan")
DATASETS = ("fashion_mnist", "mnist", "sprites")
GAN_LOSSES = ("non-saturating", "minimax")
# (learning rate, beta_1, beta_2) of Adam per model family.
# Quick-preset steps (full: four times as many): WGAN-GP's step holds n_critic critic updates with a
# double backward pass, about 7x a DCGAN step (683 vs 100 ms on 2 CPU cores).
DEFAULT_STEPS = {"other": 3000, "wgan-gp": 750}
OPTIMIZERS = {"vae": (1e-3, 0.9, 0.999), "gan": (2e-4, 0.5, 0.999), "wgan-gp": (1e-4, 0.5, 0.9)}


@dataclasses.dataclass(frozen=True)
class GenerativeConfig(RunConfig):
    """One generative model's run: model, dataset, losses, sizes and schedule."""

    PRESETS = {
        "quick": {},
        "full": {"evaluation_count": 10000},
    }
    # What each preset is for, as `mit-dl <lab> train --help` shows it.
    PRESET_HELP = {
        "quick": "3,000 steps (WGAN-GP 750), 5,000 samples scored: under 10 minutes on 2 CPU cores",
        "full": "12,000 steps (WGAN-GP 3,000), 10,000 samples scored: the docs page's figures",
    }

    preset: str = option("quick", "the preset the other values came from (a label)", resume="free")
    model: str = option("vae", "the generative model (see `mit_dl.generative.config`)", choices=MODELS)
    dataset: str = option(
        "fashion_mnist",
        "fashion_mnist (60,000 train / 10,000 test), mnist (its 10,000 test images split 8,000 / 2,000) "
        "or sprites (the dSprites-like benchmark with known factors)",
        choices=DATASETS,
    )
    latent_dim: Optional[int] = option(
        None, "latent (VAE) or noise (GAN) dimensions (default: 10 on sprites, 16 for VAEs, 64 for GANs)"
    )
    beta: Optional[float] = option(None, "weight of the KL term, beta (default: 4 for beta-vae, 1 otherwise)")
    gan_loss: str = option(
        "non-saturating",
        "the generator's loss: non-saturating (-log D(G(z))) or minimax (log(1 - D(G(z))), the lecture's)",
        choices=GAN_LOSSES,
    )
    n_critic: int = option(5, "WGAN-GP: critic steps per generator step")
    gradient_penalty: float = option(10.0, "WGAN-GP: weight of the gradient penalty, lambda")
    steps: Optional[int] = option(
        None,
        "training steps, generator steps for GANs (default: quick 3,000, WGAN-GP 750; full four times as many); "
        "a resumed run may extend them",
        resume="free",
    )
    batch_size: int = option(64, "images per step (each critic step of WGAN-GP draws its own batch)")
    learning_rate: Optional[float] = option(
        None,
        "Adam's learning rate (default: "
        + ", ".join(
            f"{'VAEs' if kind == 'vae' else kind.upper()} {rate:g}" for kind, (rate, _, _) in OPTIMIZERS.items()
        )
        + ")",
    )
    train_count: Optional[int] = option(None, "train on the first N training images only (default: all)")
    sprites_count: int = option(20000, "sprites: training images generated (the test set has a quarter as many)")
    steps_per_epoch: int = option(
        500, "steps between history entries, TensorBoard sample grids and checkpoints", resume="free"
    )
    evaluation_count: int = option(
        5000, "samples scored against as many real test images (at most the test set)", resume="free"
    )
    data: Optional[str] = option(
        None, "folder with the IDX files (default: $MIT_DL_DATA, the caches, a download)", resume="free"
    )

    def __post_init__(self):
        super().__post_init__()
        positive(self, "batch_size", "steps_per_epoch", "evaluation_count", "sprites_count")
        positive(self, "steps", "latent_dim", "learning_rate", "train_count", allow_none=True)
        if self.beta is not None and (isinstance(self.beta, bool) or not self.beta > 0):
            raise ConfigError("beta", f"must be a positive weight of the KL term, received {self.beta!r}")
        at_least(self, "n_critic", 1)
        at_least(self, "gradient_penalty", 0)
        if self.batch_size < 2:
            raise ConfigError("batch_size", f"must be at least 2 (batch statistics), received {self.batch_size}")

    @property
    def is_vae(self):
        """True for the VAEs (vae, beta-vae, cvae)."""
        return self.model in VAES

    @property
    def conditional(self):
        """True for the models that take a class label (cvae, cgan)."""
        return self.model in CONDITIONAL

    @property
    def latent_size(self):
        """``latent_dim``, or the model's default."""
        if self.latent_dim is not None:
            return self.latent_dim
        if self.dataset == "sprites" and self.is_vae:
            return 10
        return 16 if self.is_vae else 64

    @property
    def kl_weight(self):
        """``beta``, or the model's default (4 for beta-vae, 1 otherwise)."""
        if self.beta is not None:
            return float(self.beta)
        return 4.0 if self.model == "beta-vae" else 1.0

    @property
    def total_steps(self):
        """``steps``, or the preset's default for the model (`DEFAULT_STEPS`)."""
        if self.steps is not None:
            return self.steps
        quick = DEFAULT_STEPS["wgan-gp" if self.model == "wgan-gp" else "other"]
        return quick * (4 if self.preset == "full" else 1)

    @property
    def batches_per_step(self):
        """Real batches one step consumes: ``n_critic`` for WGAN-GP, 1 otherwise."""
        return self.n_critic if self.model == "wgan-gp" else 1

    def optimizer_settings(self):
        """Adam's settings for this model.

        Returns:
            ``{"learning_rate", "beta_1", "beta_2"}``; ``learning_rate`` replaces the recipe's when set.
        """
        family = "vae" if self.is_vae else ("wgan-gp" if self.model == "wgan-gp" else "gan")
        rate, beta_1, beta_2 = OPTIMIZERS[family]
        return {"learning_rate": self.learning_rate or rate, "beta_1": beta_1, "beta_2": beta_2}
