"""Lab 2 part 1 settings: which dataset, which classifier, which optimiser recipe, how long.

The defaults are the course's: the CNN on Fashion-MNIST for 5 epochs of
batch 64 with Adam at 1e-3 (the dense network: SGD at 0.1).

Examples:
    >>> config = ImagesConfig(model="dense")
    >>> config.optimizer_settings()
    {'optimizer': 'SGD', 'learning_rate': 0.1, 'schedule': 'constant'}
    >>> ImagesConfig(split_test=8000, validation=5000)
    Traceback (most recent call last):
    ...
    mit_dl.errors.ConfigError: validation cannot be combined with split_test; choose one.
"""

import dataclasses
from typing import Optional

from mit_dl.config import RunConfig, at_least, option, positive
from mit_dl.errors import ConfigError

DATASETS = ("mnist", "fashion_mnist")
MODELS = ("dense", "cnn")
# "course": the lab's recipes, constant learning rates (dense: SGD 0.1, CNN: Adam 1e-3). "cosine": the
# same optimisers, model, batch size and epochs, with the peak rate doubled (dense) or multiplied by 5
# (CNN) and decayed to zero by a cosine over the run. Chosen on a validation split of the training
# images (validation=5000), never on the test set; the images lab's docs page has the numbers.
RECIPES = {
    "course": {
        "dense": {"optimizer": "SGD", "learning_rate": 0.1, "schedule": "constant"},
        "cnn": {"optimizer": "Adam", "learning_rate": 1e-3, "schedule": "constant"},
    },
    "cosine": {
        "dense": {"optimizer": "SGD", "learning_rate": 0.2, "schedule": "cosine"},
        "cnn": {"optimizer": "Adam", "learning_rate": 5e-3, "schedule": "cosine"},
    },
}


@dataclasses.dataclass(frozen=True)
class ImagesConfig(RunConfig):
    """Data, classifier and optimiser of one image-classification run."""

    PRESETS = {"course": {}}

    dataset: str = option("fashion_mnist", "the images to classify", choices=DATASETS)
    model: str = option(
        "cnn", "dense: Flatten-Dense(128)-Dense(10); cnn: the lab's two-convolution network", choices=MODELS
    )
    recipe: str = option(
        "course",
        "course: the lab's constant learning rates; cosine: a higher peak rate "
        "decayed to zero over the run (+1.4 points for the CNN on Fashion-MNIST)",
        choices=tuple(RECIPES),
    )
    learning_rate: Optional[float] = option(None, "replace the recipe's (peak) learning rate")
    epochs: int = option(5, "passes over the training images (a resumed run may add some)", resume="free")
    batch_size: int = option(64, "images per training step")
    data: Optional[str] = option(
        None, "folder with the IDX files (default: $MIT_DL_DATA, the caches, a download)", resume="free"
    )
    split_test: Optional[int] = option(
        None,
        "train on this many images of the test split and test on the rest (real MNIST offline has only its test split)",
    )
    validation: Optional[int] = option(
        None,
        "hold this many training images out and report accuracy on them instead of the test set (to choose a recipe)",
    )
    adversarial_epsilon: float = option(
        0.0,
        "train on PGD adversarial examples at most this many pixel units (of 0-255) from each image, "
        "e.g. 25.5 (0.1 of the range); 0: standard training",
    )
    adversarial_steps: int = option(7, "PGD steps per batch when training adversarially")

    def __post_init__(self):
        super().__post_init__()
        positive(self, "epochs", "batch_size", "adversarial_steps")
        at_least(self, "adversarial_epsilon", 0)
        positive(self, "learning_rate", "split_test", "validation", allow_none=True)
        if self.split_test and self.validation:
            raise ConfigError("validation", "cannot be combined with split_test; choose one")

    def optimizer_settings(self):
        """The recipe's optimiser, (peak) learning rate and schedule for this model.

        Returns:
            ``{"optimizer": Keras class name, "learning_rate": float, "schedule": "constant" or "cosine"}``;
            ``learning_rate`` replaces the recipe's when set.
        """
        settings = dict(RECIPES[self.recipe][self.model])
        if self.learning_rate is not None:
            settings["learning_rate"] = self.learning_rate
        return settings

    @property
    def evaluated_on(self):
        """The split the reported accuracy comes from: ``"validation"`` or ``"test"``."""
        return "validation" if self.validation else "test"

    @classmethod
    def settings_from_legacy(cls, recorded):
        """Translate a release-0.1 settings.json: the same fields, without ``format`` (precision only when mixed).

        Args:
            recorded: the settings.json dict 0.1 wrote.

        Returns:
            ``{"config": values, "derived": {}}`` in today's format.
        """
        names = ("dataset", "model", "recipe", "learning_rate", "batch_size", "seed", "split_test", "validation")
        values = {name: recorded[name] for name in names}
        return {"config": {**values, "precision": recorded.get("precision", "float32")}, "derived": {}}
