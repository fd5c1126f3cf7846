"""Lecture 1 lab settings: one classifier trained with the from-scratch pieces, and the experiments' budgets.

`FoundationsConfig` is one training run on Fashion-MNIST: which network
(``mlp``: ``depth`` hidden layers of ``width`` units; ``cnn``: the course's
two-convolution network), which of the lab's own optimizers, initialisation
scheme and normalisation layer, and which regulariser (an L2 penalty,
dropout, augmentation, early stopping on held-out training images). Every
experiment (``mit-dl foundations optimizers|init|norm|regularise``) trains
several of these, changing one setting at a time.

``validation`` training images are held out (drawn with the seed): the
curves, early stopping and every choice an experiment makes (the best
learning rate of a sweep) use them, never the test set, which is scored
once at the end.

Examples:
    >>> config = FoundationsConfig(optimizer="adamw")
    >>> config.rate(), config.decay()
    (0.001, 0.004)
    >>> FoundationsConfig.from_preset("quick").train_images
    5000
    >>> FoundationsConfig(norm="group", width=30, groups=4)
    Traceback (most recent call last):
    ...
    mit_dl.errors.ConfigError: groups (4) must divide every normalised layer's channels (width 30, the CNN's 24 and 36).
"""

import dataclasses
from typing import Optional

from mit_dl.config import RunConfig, at_least, option, positive
from mit_dl.errors import ConfigError

MODELS = ("mlp", "cnn")
OPTIMIZERS = ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw")
# Each optimizer's usual learning rate, the one a run uses unless told otherwise (the sweeps try others).
LEARNING_RATES = {
    "sgd": 0.1,
    "momentum": 0.01,
    "nesterov": 0.01,
    "adagrad": 0.01,
    "rmsprop": 1e-3,
    "adam": 1e-3,
    "adamw": 1e-3,
}
INITIALISATIONS = ("zeros", "small", "normal", "xavier", "he")
NORMS = ("none", "batch", "layer", "group")
ACTIVATIONS = ("relu", "tanh", "sigmoid")
CNN_CHANNELS = (24, 36)


@dataclasses.dataclass(frozen=True)
class FoundationsConfig(RunConfig):
    """Network, optimizer, initialisation, normalisation, regularisation and budget of one run."""

    PRESETS = {
        "quick": {"train_images": 5000, "epochs": 3},
        "full": {},
    }
    PRESET_HELP = {
        "quick": "5,000 training images, 3 epochs (under a minute for the MLP on 2 CPU cores)",
        "full": "all 55,000 training images (5,000 held out), 5 epochs",
    }

    preset: str = option("quick", "the preset the other values came from (a label)", resume="free")
    model: str = option("mlp", "mlp: depth x Dense(width); cnn: the course's two-convolution network", choices=MODELS)
    depth: int = option(2, "hidden layers of the MLP")
    width: int = option(128, "units per hidden layer of the MLP")
    activation: str = option("relu", "the hidden layers' activation", choices=ACTIVATIONS)
    optimizer: str = option("adam", "the lab's own optimizer (mit_dl.foundations.optimizers)", choices=OPTIMIZERS)
    learning_rate: Optional[float] = option(None, "the learning rate (default: the optimizer's usual one)")
    weight_decay: Optional[float] = option(None, "AdamW's decoupled weight decay lambda (default: 0.004, Keras' own)")
    l2: float = option(0.0, "an L2 penalty l2 * sum(w^2) on the kernels, added to the loss")
    init: str = option("he", "how the kernels are drawn (mit_dl.foundations.initialisation)", choices=INITIALISATIONS)
    norm: str = option("none", "the normalisation after each hidden layer, before its activation", choices=NORMS)
    groups: int = option(4, "GroupNorm's group count (it must divide every normalised layer's channels)")
    dropout: float = option(0.0, "inverted dropout's rate before the output layer")
    augment: bool = option(False, "shift each training image by up to 2 pixels and flip it left-right")
    patience: Optional[int] = option(None, "stop when the validation loss has not improved for this many epochs")
    train_images: Optional[int] = option(None, "train on this many training images (default: all but validation)")
    validation: int = option(5000, "training images held out for the curves, early stopping and every choice")
    epochs: int = option(5, "passes over the training images (a resumed run may add some)", resume="free")
    batch_size: int = option(64, "images per training step")
    data: Optional[str] = option(
        None, "folder with the IDX files (default: $MIT_DL_DATA, the caches, a download)", resume="free"
    )

    def __post_init__(self):
        super().__post_init__()
        positive(self, "depth", "width", "groups", "epochs", "batch_size", "validation")
        positive(self, "learning_rate", "patience", "train_images", allow_none=True)
        if self.weight_decay is not None:
            at_least(self, "weight_decay", 0)
        at_least(self, "l2", 0)
        at_least(self, "dropout", 0)
        if self.dropout >= 1:
            raise ConfigError("dropout", f"must be below 1 (the rate of units dropped), received {self.dropout!r}")
        if self.weight_decay is not None and self.optimizer != "adamw":
            raise ConfigError("weight_decay", f"is AdamW's; use optimizer adamw (or l2 with {self.optimizer})")
        if self.norm == "group" and any(c % self.groups for c in (self.width, *CNN_CHANNELS)):
            raise ConfigError(
                "groups",
                f"({self.groups}) must divide every normalised layer's channels (width {self.width}, the CNN's "
                f"{CNN_CHANNELS[0]} and {CNN_CHANNELS[1]})",
            )

    def rate(self):
        """The learning rate this run uses.

        Returns:
            ``learning_rate``, or the optimizer's usual one (`LEARNING_RATES`).
        """
        return self.learning_rate if self.learning_rate is not None else LEARNING_RATES[self.optimizer]

    def decay(self):
        """AdamW's decoupled weight decay.

        Returns:
            ``weight_decay``, or 0.004 (Keras' AdamW default) for AdamW; 0 for the other optimizers.
        """
        if self.optimizer != "adamw":
            return 0.0
        return self.weight_decay if self.weight_decay is not None else 0.004

    def unused_fields(self):
        """What this run's choices make irrelevant (a resume does not compare them).

        Returns:
            A set of field names.
        """
        unused = {"depth", "width", "activation"} if self.model == "cnn" else set()
        return unused | ({"groups"} if self.norm != "group" else set())
