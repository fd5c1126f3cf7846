"""The vision lab's settings: which task and model, on which scenes, for how long.

Segmentation models (``task="segmentation"``):

- ``fcn``: the lecture's fully convolutional network, strided convolutions
  down to 1/16 of the image, ``Conv2DTranspose`` back up to a class score
  per pixel;
- ``unet``: the same path down and up with skip connections: each upsampled
  map is joined to the encoder's map of the same size before it is refined.

Detection (``task="detection"``): ``detector``, a single-shot detector in
the manner of CenterNet (`mit_dl.vision.detector`) on a U-Net-style network.

Presets: ``quick`` (a first look on 2 CPU cores; the docs page states its
measured time) and ``full`` (20,000 scenes, 4x the filters, twice the
batch, 8x the steps: written for a GPU, runs unchanged on a CPU).

Example:
    >>> VisionConfig.from_preset("full").train_scenes
    20000
    >>> VisionConfig(max_objects=6)
    Traceback (most recent call last):
    ...
    mit_dl.errors.ConfigError: max_objects must be between 1 and 5, received 6.
"""

import dataclasses
from typing import Optional

from mit_dl.config import RunConfig, option, positive
from mit_dl.errors import ConfigError
from mit_dl.vision.scenes import MAX_OBJECTS

TASKS = ("segmentation", "detection")
MODELS = ("fcn", "unet", "detector")
TASK_MODELS = {"segmentation": ("fcn", "unet"), "detection": ("detector",)}
DATASETS = ("mnist", "fashion_mnist")
# What the CNN looks at (`mit_dl.vision.attribution`, `mit_dl.vision.adversarial`).
EXPLAIN_METHODS = ("saliency", "smoothgrad", "gradcam", "ig", "occlusion")
ATTACK_EPSILONS = (0, 2, 4, 8, 12.75, 16, 25.5, 38.25)  # pixel units of 0-255; 25.5 is 0.1 of the range


@dataclasses.dataclass(frozen=True)
class VisionConfig(RunConfig):
    """One vision run: task, model, scenes, sizes and schedule."""

    PRESETS = {
        "quick": {},
        "full": {"train_scenes": 20000, "width": 32, "batch_size": 16, "steps": 8000},
    }

    preset: str = option("quick", "the preset the other values came from (a label)", resume="free")
    task: str = option(
        "segmentation",
        "segmentation (a class for every pixel) or detection (a box and a class per object)",
        choices=TASKS,
    )
    model: Optional[str] = option(
        None,
        "segmentation: fcn (strided convolutions down, transposed convolutions up) or unet (with skips); "
        "detection: detector (centres, sizes and offsets on a 1/4 grid) (default: unet / detector)",
        choices=MODELS,
    )
    dataset: str = option(
        "mnist",
        "the objects: mnist digits (its 10,000 test images split 8,000 / 2,000 between training and test "
        "scenes) or fashion_mnist items (its train / test images)",
        choices=DATASETS,
    )
    data: Optional[str] = option(
        None, "folder with the IDX files (default: $MIT_DL_DATA, the caches, a download)", resume="free"
    )
    train_scenes: int = option(4000, "training scenes, composed once from the seed")
    test_scenes: int = option(1000, "test scenes, from the test source images", resume="free")
    max_objects: int = option(MAX_OBJECTS, f"objects per scene: 1 to this many (at most {MAX_OBJECTS})")
    width: int = option(8, "filters of the first level; each level down doubles them")
    batch_size: int = option(8, "scenes per training step")
    learning_rate: float = option(2e-3, "Adam's peak learning rate, decayed to zero by a cosine")
    steps: int = option(1000, "training steps (a resumed run may extend them)", resume="free")
    eval_every: int = option(500, "steps between evaluations on the test scenes", resume="free")

    def __post_init__(self):
        if self.model is None and self.task in TASK_MODELS:  # the task's default model (frozen: set it directly)
            object.__setattr__(self, "model", TASK_MODELS[self.task][-1])
        super().__post_init__()
        positive(self, "train_scenes", "test_scenes", "width", "batch_size", "learning_rate", "steps", "eval_every")
        if (
            isinstance(self.max_objects, bool)
            or not isinstance(self.max_objects, int)
            or not 1 <= self.max_objects <= MAX_OBJECTS
        ):
            raise ConfigError("max_objects", f"must be between 1 and {MAX_OBJECTS}, received {self.max_objects!r}")
        if self.model not in TASK_MODELS[self.task]:
            allowed = " or ".join(TASK_MODELS[self.task])
            raise ConfigError("model", f"must be {allowed} for {self.task}, received {self.model!r}")
