"""The vision lab's settings: which task and model, on which scenes, for how long.

Segmentation models (``task="segmentation"``):

- ``fcn``: the lecture's fully convolutional network, strided convolutions
  down to 1/16 of the image, ``Conv2DTranspose`` back up to a class score
  per pixel;
- ``unet``: the same path down and up with skip connections: each upsampled
  map is joined to the encoder's map of the same size before it is refined.

Detection (``task="detection"``): ``detector``, a single-shot detector in
the manner of CenterNet (`mit_dl.vision.detector`) on a U-Net-style network.

Presets: ``quick`` (minutes on 2 CPU cores, each model with its own number
of steps, `QUICK_STEPS`; the docs page states the measured times) and
``full`` (20,000 scenes, 4x the filters, twice the batch, 20,000 steps:
written for a GPU, runs unchanged on a CPU).

Examples:
    >>> VisionConfig.from_preset("full").train_scenes
    20000
    >>> VisionConfig(model="fcn").steps, VisionConfig(task="detection").steps
    (8000, 6000)
    >>> VisionConfig(max_objects=6)
    Traceback (most recent call last):
    ...
    mit_dl.errors.ConfigError: max_objects must be between 1 and 5, received 6.
"""

import dataclasses
from typing import Optional

from mit_dl.config import RunConfig, at_least, option, positive
from mit_dl.errors import ConfigError
from mit_dl.vision.scenes import MAX_OBJECTS

TASKS = ("segmentation", "detection")
MODELS = ("fcn", "unet", "detector")
TASK_MODELS = {"segmentation": ("fcn", "unet"), "detection": ("detector",)}
DATASETS = ("mnist", "fashion_mnist")
# What the CNN looks at (`mit_dl.vision.attribution`, `mit_dl.vision.adversarial`).
EXPLAIN_METHODS = ("saliency", "smoothgrad", "gradcam", "ig", "occlusion")
ATTACK_EPSILONS = (0, 2, 4, 8, 12.75, 16, 25.5, 38.25)  # pixel units of 0-255; 25.5 is 0.1 of the range
# The quick schedule of each model (`steps` left unset), chosen on a 2-core AVX-512 CPU
# (docs/labs/vision.md has the measured times). The FCN's step is the cheapest: it strides down at once.
QUICK_STEPS = {"fcn": 8000, "unet": 6000, "detector": 6000}
# Warm-up by default for the U-Net only: without it, one of three seeds sat on a plateau for 2,000 steps
# (test mIoU 0.36 against 0.76 with 500 warm-up steps); the FCN's and the detector's seeds did not need it.
WARMUP_STEPS = {"fcn": 0, "unet": 500, "detector": 0}


@dataclasses.dataclass(frozen=True)
class VisionConfig(RunConfig):
    """One vision run: task, model, scenes, sizes and schedule."""

    PRESETS = {
        "quick": {},
        "full": {"train_scenes": 20000, "width": 32, "batch_size": 16, "steps": 20000, "eval_every": 2000},
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
    train_scenes: int = option(8000, "training scenes, composed once from the seed")
    test_scenes: int = option(1000, "test scenes, from the test source images", resume="free")
    max_objects: int = option(MAX_OBJECTS, f"objects per scene: 1 to this many (at most {MAX_OBJECTS})")
    width: int = option(8, "filters of the first level; each level down doubles them")
    batch_size: int = option(8, "scenes per training step")
    object_weight: float = option(
        5.0,
        "segmentation: the loss weight of an object's pixel against a background pixel's 1 "
        "(the scenes are about 96 percent background)",
        absent=1.0,
    )
    learning_rate: float = option(5e-3, "Adam's peak learning rate, decayed to zero by a cosine")
    warmup_steps: Optional[int] = option(
        None,
        "steps over which the learning rate first rises from 0 to its peak, at most a tenth of the steps "
        "(default: " + ", ".join(f"{name} {steps}" for name, steps in WARMUP_STEPS.items()) + ")",
        absent=0,
    )
    steps: Optional[int] = option(
        None,
        "training steps (default: the model's quick schedule, "
        + ", ".join(f"{name} {steps}" for name, steps in QUICK_STEPS.items())
        + "; a resumed run may extend them)",
        resume="free",
    )
    eval_every: int = option(1000, "steps between evaluations on the test scenes", resume="free")

    def __post_init__(self):
        if self.model is None and self.task in TASK_MODELS:  # the task's default model (frozen: set it directly)
            object.__setattr__(self, "model", TASK_MODELS[self.task][-1])
        if self.steps is None and self.model in QUICK_STEPS:
            object.__setattr__(self, "steps", QUICK_STEPS[self.model])
        if self.warmup_steps is None and self.model in WARMUP_STEPS:
            object.__setattr__(self, "warmup_steps", WARMUP_STEPS[self.model])
        super().__post_init__()
        positive(
            self,
            "train_scenes",
            "test_scenes",
            "width",
            "batch_size",
            "object_weight",
            "learning_rate",
            "steps",
            "eval_every",
        )
        at_least(self, "warmup_steps", 0)
        if (
            isinstance(self.max_objects, bool)
            or not isinstance(self.max_objects, int)
            or not 1 <= self.max_objects <= MAX_OBJECTS
        ):
            raise ConfigError("max_objects", f"must be between 1 and {MAX_OBJECTS}, received {self.max_objects!r}")
        if self.model not in TASK_MODELS[self.task]:
            allowed = " or ".join(TASK_MODELS[self.task])
            raise ConfigError("model", f"must be {allowed} for {self.task}, received {self.model!r}")

    def unused_fields(self):
        """``object_weight`` for a detector, whose focal loss weighs no pixels.

        Returns:
            A tuple of field names: a resume does not compare them.
        """
        return ("object_weight",) if self.task == "detection" else ()

    def optimizer_settings(self):
        """Adam on a cosine schedule with the run's peak and warm-up (`training.optimizers.build_optimizer` builds it).

        Returns:
            ``{"optimizer", "learning_rate", "schedule", "warmup_steps"}``; the warm-up is at most a tenth
            of the steps.
        """
        return {
            "optimizer": "Adam",
            "learning_rate": self.learning_rate,
            "schedule": "cosine",
            "warmup_steps": min(self.warmup_steps, self.steps // 10),
        }
