"""Modern CNNs lab settings: which network, which data, which recipe, how long.

`ArchitecturesConfig` is one classifier trained on Fashion-MNIST (28x28x1)
or CIFAR-10 (32x32x3, through tensorflow-datasets): VGG, Inception, a
CIFAR-style ResNet or its plain twin at 8, 20 or 56 layers, DenseNet-BC or
a small vision transformer. The convolutional networks train with the
ResNet paper's recipe (SGD with Nesterov momentum 0.9 from a peak rate of
0.1, weight decay 5e-4, batch 128), on a cosine schedule with a short
warm-up; the transformer with AdamW (peak 1e-3, decay 0.05). The
degradation experiment trains plain and residual networks with this one
recipe.

Examples:
    >>> config = ArchitecturesConfig(model="resnet20")
    >>> config.optimizer_settings()["optimizer"], config.depth
    ('SGD', 20)
    >>> ArchitecturesConfig(model="vit").optimizer_settings()["optimizer"]
    'AdamW'
    >>> ArchitecturesConfig.from_preset("quick").train_images
    10000
"""

import dataclasses
from typing import Optional

from mit_dl.config import RunConfig, at_least, option, positive

DATASETS = ("fashion_mnist", "cifar10")
# The networks `mit-dl architectures train --model` offers (mit_dl.architectures.model.NETWORKS builds them).
MODELS = ("vgg", "inception", "resnet8", "resnet20", "resnet56", "plain8", "plain20", "plain56", "densenet", "vit")
# The networks `mit-dl architectures compare` trains side by side by default.
SIDE_BY_SIDE = ("vgg", "inception", "resnet20", "resnet56", "densenet", "vit")
RECIPES = {
    "sgd": {"optimizer": "SGD", "learning_rate": 0.1, "weight_decay": 5e-4, "momentum": 0.9},
    "adamw": {"optimizer": "AdamW", "learning_rate": 1e-3, "weight_decay": 0.05},
}
# Parameters no recipe decays: BatchNorm's and LayerNorm's scales and shifts, biases, the ViT's tokens.
NO_DECAY = ("gamma", "beta", "bias", "class_token", "positions")


@dataclasses.dataclass(frozen=True)
class ArchitecturesConfig(RunConfig):
    """Network, data, recipe and budget of one classifier run."""

    PRESETS = {
        "quick": {"train_images": 10000, "epochs": 3},
        "full": {"epochs": 60, "augment": True},
        "degradation": {"width": 8, "train_images": 2048, "test_images": 1000, "batch_size": 64, "epochs": 3},
    }
    PRESET_HELP = {
        "quick": "10,000 training images, 3 epochs, no augmentation (CPU minutes)",
        "full": "all 60,000 (50,000) training images, 60 epochs, shifts and flips (written for a GPU)",
        "degradation": "the degradation experiment on a CPU: 8 channels first, 2,048 training images in batches "
        "of 64, 3 epochs (96 steps), 1,000 test images",
    }

    preset: str = option("quick", "the preset the other values came from (a label)", resume="free")
    model: str = option("resnet20", "the network (see the lab's docs page for each)", choices=MODELS)
    dataset: str = option(
        "fashion_mnist",
        "fashion_mnist: 28x28x1, offline; cifar10: 32x32x3 through tensorflow-datasets (needs internet once)",
        choices=DATASETS,
    )
    width: int = option(16, "channels of a ResNet's (or plain network's) first stage; the stages double it")
    recipe: str = option(
        "auto", "the optimiser recipe; auto: sgd for the CNNs, adamw for the ViT", choices=("auto", *RECIPES)
    )
    learning_rate: Optional[float] = option(None, "replace the recipe's peak learning rate")
    weight_decay: Optional[float] = option(None, "replace the recipe's decoupled weight decay")
    warmup: float = option(0.05, "fraction of the steps over which the learning rate rises from 0 to its peak")
    train_images: Optional[int] = option(None, "train on this many training images (default: all)")
    test_images: Optional[int] = option(None, "evaluate on the first this many test images (default: all)")
    validation: Optional[int] = option(
        None, "hold this many training images out and report accuracy on them instead of the test set"
    )
    augment: bool = option(False, "shift each batch by up to 4 pixels and flip it left-right")
    jit_compile: bool = option(
        True,
        "XLA-compile the training step (the documented runs used it; off gives slightly different numbers)",
        resume="free",
    )
    epochs: int = option(5, "passes over the training images (a resumed run may add some)", resume="free")
    batch_size: int = option(128, "images per training step")
    data: Optional[str] = option(
        None, "folder with the IDX files (default: $MIT_DL_DATA, the caches, a download)", resume="free"
    )

    def __post_init__(self):
        super().__post_init__()
        positive(self, "width", "epochs", "batch_size")
        positive(self, "learning_rate", "train_images", "test_images", "validation", allow_none=True)
        if self.weight_decay is not None:
            at_least(self, "weight_decay", 0)
        at_least(self, "warmup", 0)

    @property
    def depth(self):
        """The layers of a ResNet or plain network (``resnet20`` -> 20), else None."""
        for kind in ("resnet", "plain"):
            if self.model.startswith(kind):
                return int(self.model[len(kind) :])
        return None

    @property
    def evaluated_on(self):
        """The split the reported accuracy comes from: ``"validation"`` or ``"test"``."""
        return "validation" if self.validation else "test"

    def optimizer_settings(self, steps_per_epoch=1):
        """The recipe's optimiser for `mit_dl.training.optimizers.build_optimizer`.

        Args:
            steps_per_epoch: training steps per epoch (the warm-up's length is a fraction of the run).

        Returns:
            The settings dict: optimiser, peak rate, a cosine schedule with warm-up, the decay and momentum.
        """
        name = self.recipe if self.recipe != "auto" else ("adamw" if self.model == "vit" else "sgd")
        recipe = RECIPES[name]
        arguments = {"weight_decay": self.weight_decay if self.weight_decay is not None else recipe["weight_decay"]}
        if recipe["optimizer"] == "SGD":
            arguments.update(momentum=recipe["momentum"], nesterov=True)
        return {
            "optimizer": recipe["optimizer"],
            "learning_rate": self.learning_rate or recipe["learning_rate"],
            "schedule": "cosine",
            "warmup_steps": int(self.warmup * self.epochs * steps_per_epoch),
            "arguments": arguments,
            "no_decay": list(NO_DECAY),
        }

    def unused_fields(self):
        """What this run's choices make irrelevant (a resume does not compare them).

        Returns:
            A set of field names.
        """
        return set() if self.depth else {"width"}
