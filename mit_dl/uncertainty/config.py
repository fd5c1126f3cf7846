"""Lecture 5 lab settings: which uncertainty method, on which task, how many passes or members, how long.

One `UncertaintyConfig` describes every run of the lab:

- ``method``: ``deterministic`` (the model alone: its softmax is the only
  uncertainty, the baseline), ``mve`` (regression: a predicted variance),
  ``dropout`` (MC dropout, ``samples`` passes), ``ensemble`` (``members``
  networks), ``bayes`` (Bayes by Backprop, ``samples`` weight draws) or
  ``vae`` (a VAE's reconstruction error beside the classifier);
- ``task``: ``regression`` (the lecture's ``y = x^3`` toy with a gap) or
  ``fashion_mnist`` (the images lab's CNN on real Fashion-MNIST, tested
  against real MNIST digits as out-of-distribution inputs).

On Fashion-MNIST every method trains the images lab's CNN with its cosine
recipe (Adam, peak 5e-3 decayed to zero; 91.2% alone in 5 epochs), on
55,000 training images; the other 5,000 (drawn with the seed) fit the
temperature of the calibration baseline. Bayes by Backprop replaces the
CNN's two Dense layers by variational ones (the convolutions stay
deterministic). Presets: ``quick`` (the figures of the docs page: minutes
per method on 2 CPU cores) and ``full`` (more epochs and steps).

Examples:
    >>> UncertaintyConfig.from_preset("quick", method="dropout").samples
    20
    >>> UncertaintyConfig(method="mve", task="fashion_mnist")
    Traceback (most recent call last):
    ...
    mit_dl.errors.ConfigError: method mve predicts a regression variance: use it with task regression.
"""

import dataclasses
from typing import Optional

from mit_dl.config import RunConfig, option, positive
from mit_dl.errors import ConfigError

METHODS = ("deterministic", "mve", "dropout", "ensemble", "bayes", "vae")
TASKS = ("regression", "fashion_mnist")
# Per task: (optimizer peak learning rate, batch size).
LEARNING_RATES = {"regression": 3e-3, "fashion_mnist": 5e-3}
BATCH_SIZES = {"regression": 256, "fashion_mnist": 64}


# The fields only some methods or tasks read (their help says which).
METHOD_FIELDS = {
    "samples": ("dropout", "bayes"),
    "members": ("ensemble",),
    "rate": ("dropout",),
    "latent_dim": ("vae",),
    "prior_std": ("bayes",),
}
TASK_FIELDS = {
    "epochs": ("fashion_mnist",),
    "validation": ("fashion_mnist",),
    "image_count": ("fashion_mnist",),
    "steps": ("regression",),
    "train_count": ("regression",),
}


@dataclasses.dataclass(frozen=True)
class UncertaintyConfig(RunConfig):
    """One uncertainty run: method, task, the method's sizes and the training budget."""

    PRESETS = {
        "quick": {},
        "full": {"epochs": 10, "steps": 6000},
    }
    # What each preset is for, as `mit-dl <lab> train --help` shows it.
    PRESET_HELP = {
        "quick": "Fashion-MNIST: 5 epochs (about 1.5 minutes per network on 2 CPU cores); regression: 3,000 steps",
        "full": "Fashion-MNIST: 10 epochs; regression: 6,000 steps",
    }

    preset: str = option("quick", "the preset the other values came from (a label)", resume="free")
    method: str = option("dropout", "the uncertainty method (see `mit_dl.uncertainty.config`)", choices=METHODS)
    task: str = option(
        "fashion_mnist",
        "regression (the y = x^3 toy with a gap in its inputs) or fashion_mnist (real Fashion-MNIST; "
        "real MNIST digits as out-of-distribution inputs)",
        choices=TASKS,
    )
    samples: int = option(20, "dropout and bayes: stochastic passes per prediction, T")
    members: int = option(5, "ensemble: networks in the ensemble, N")
    rate: float = option(0.1, "dropout: the rate of the dropout added after each Dense and convolution layer")
    latent_dim: int = option(16, "vae: latent dimensions of the VAE on the inputs")
    prior_std: float = option(1.0, "bayes: standard deviation of the Gaussian prior on the weights")
    epochs: int = option(5, "fashion_mnist: passes over the training images", resume="free")
    steps: int = option(3000, "regression: training steps", resume="free")
    train_count: int = option(2000, "regression: training points drawn (the gap left out)")
    validation: int = option(5000, "fashion_mnist: training images held out to fit the temperature")
    image_count: Optional[int] = option(
        None, "fashion_mnist: train on the first N images left after the validation split (default: all)"
    )
    resamples: int = option(1000, "bootstrap resamples of the 95% intervals", resume="free")
    learning_rate: Optional[float] = option(None, "Adam's (peak) learning rate (default: 3e-3 regression, 5e-3 images)")
    batch_size: Optional[int] = option(None, "examples per step (default: 256 regression, 64 images)")
    data: Optional[str] = option(
        None, "folder with the IDX files (default: $MIT_DL_DATA, the caches, a download)", resume="free"
    )

    def __post_init__(self):
        super().__post_init__()
        positive(self, "samples", "members", "latent_dim", "prior_std", "epochs", "steps", "train_count", "resamples")
        positive(self, "validation", "learning_rate", "batch_size", "image_count", allow_none=True)
        for name in ("samples", "members"):
            if not isinstance(getattr(self, name), int):
                raise ConfigError(name, f"must be an integer of at least 1, received {getattr(self, name)!r}")
        if not 0 < self.rate < 1:
            raise ConfigError("rate", f"must be a dropout rate strictly between 0 and 1, received {self.rate!r}")
        if self.method == "mve" and self.task != "regression":
            raise ConfigError("method", "mve predicts a regression variance: use it with task regression")
        if self.method == "vae" and self.task == "regression":
            raise ConfigError("method", "vae scores images by their reconstruction: use it with task fashion_mnist")

    def unused_fields(self):
        """The fields the run's method and task do not read (a dropout run has no ensemble members).

        Returns:
            A tuple of field names: a resume does not compare them.
        """
        return tuple(name for name, methods in METHOD_FIELDS.items() if self.method not in methods) + tuple(
            name for name, tasks in TASK_FIELDS.items() if self.task not in tasks
        )

    @property
    def learning_rate_value(self):
        """``learning_rate``, or the task's default."""
        return self.learning_rate if self.learning_rate is not None else LEARNING_RATES[self.task]

    @property
    def batch_size_value(self):
        """``batch_size``, or the task's default."""
        return self.batch_size if self.batch_size is not None else BATCH_SIZES[self.task]


@dataclasses.dataclass(frozen=True)
class BiasConfig(RunConfig):
    """The bias experiment: a VAE beside the face detector on the synthetic faces benchmark's training images."""

    PRESETS = {"quick": {}}

    preset: str = option("quick", "the preset the other values came from (a label)", resume="free")
    count: int = option(10000, "synthetic training images (half of them faces)")
    steps: int = option(2000, "training steps", resume="free")
    latent_dim: int = option(32, "latent dimensions of the VAE")
    bins: int = option(10, "histogram bins per latent dimension (the DB-VAE's)")
    batch_size: int = option(64, "images per step")
    learning_rate: float = option(1e-3, "Adam's learning rate")

    def __post_init__(self):
        super().__post_init__()
        positive(self, "count", "steps", "latent_dim", "bins", "batch_size", "learning_rate")
