"""Lab 2 part 2 settings: the face detector, its data and its schedule.

Four models train on the same biased data: the course's standard CNN
(``cnn``), the DB-VAE built on it (``dbvae``, with the course's ``max`` or
the paper's ``product`` rule), the CNN drawing every face group equally
often from the group labels (``reweighted``), and the CNN trained on a
balanced training set of the same size (``oracle``, the upper reference).

The DB-VAE's hyperparameters are the course's (batch 32, 100 latent
dimensions, Adam at 5e-4, KL weight 0.005), except that the learning rate
decays to zero by a cosine (``schedule``; the course's constant rate left
the last step's per-group accuracies to chance); the image counts and step
schedules are this project's for the synthetic benchmark: ``full`` (the
default, the docs page's comparison) and ``quick`` (a smoke run).

Examples:
    >>> FacesConfig.from_preset("quick").steps
    600
    >>> FacesConfig(data="faces.zip")
    Traceback (most recent call last):
    ...
    mit_dl.errors.ConfigError: data must be 'synthetic', 'lfw' or the path of the course's train_face.h5 ...
"""

import dataclasses

from mit_dl.config import RunConfig, at_least, in_range, option, positive
from mit_dl.errors import ConfigError

MODELS = ("cnn", "dbvae", "reweighted", "oracle")
# The models that need the synthetic benchmark's group labels (reweighting) or its balanced split (oracle).
LABEL_AWARE = ("reweighted", "oracle")
COMBINE_RULES = ("product", "max")
SCHEDULES = ("constant", "cosine")

# The presets as release 0.1.0 defined them, for run directories that recorded only a preset's name.
_PRESETS_0_1 = {
    "quick": {"train_count": 4000, "test_count": 1200, "steps": 600, "warmup_steps": 200, "resample_every": 100},
    "full": {"train_count": 8000, "test_count": 2400, "steps": 1500, "warmup_steps": 500, "resample_every": 250},
}


@dataclasses.dataclass(frozen=True)
class FacesConfig(RunConfig):
    """One face-detector run: model, data, the DB-VAE's hyperparameters and the resampling schedule."""

    PRESETS = {
        "full": {},
        "quick": {"train_count": 4000, "test_count": 1200, "steps": 600, "warmup_steps": 200, "resample_every": 100},
    }
    # What each preset is for, as `mit-dl <lab> train --help` shows it.
    PRESET_HELP = {
        "full": "20,000 synthetic images, 4,000 steps, resampling every 500 after 1,000: the docs page's comparison",
        "quick": "4,000 synthetic images, 600 steps: under a minute per model on 2 CPU cores; a smoke run, "
        "not the comparison",
    }

    preset: str = option("full", "the preset the other values came from (a label)", resume="free")
    model: str = option(
        "dbvae",
        "cnn: the course's standard face CNN; dbvae: the debiasing VAE built on it; reweighted: the CNN drawing "
        "every face group equally often (uses the group labels); oracle: the CNN trained on a balanced training set",
        choices=MODELS,
    )
    data: str = option(
        "synthetic",
        "synthetic (the benchmark with hidden groups), lfw (scikit-image's 100 real "
        "faces and 100 non-faces), or the path of the course's train_face.h5",
    )
    train_count: int = option(20000, "synthetic training images (half faces)")
    test_count: int = option(4800, "synthetic test images, balanced over every group")
    held_out_fraction: float = option(0.3, "share of real data (lfw, h5) held out for testing, per label")
    steps: int = option(4000, "training steps (a resumed run may extend them)", resume="free")
    warmup_steps: int = option(1000, "DB-VAE steps with uniform face sampling before the first resampling")
    resample_every: int = option(500, "DB-VAE steps between recomputing the faces' sampling probabilities")
    combine: str = option(
        "max",
        "how the DB-VAE joins latent dimensions: max (the course's) or product (the paper's)",
        choices=COMBINE_RULES,
    )
    batch_size: int = option(32, "images per step, half faces and half non-faces")
    latent_dim: int = option(100, "latent dimensions of the DB-VAE")
    learning_rate: float = option(5e-4, "Adam's learning rate")
    schedule: str = option(
        "cosine",
        "the learning rate over the steps: cosine (decayed to zero at the last step) or constant (the course's); "
        "real data (lfw, h5) always decays",
        choices=SCHEDULES,
        absent="constant",
    )
    kl_weight: float = option(0.005, "weight of the KL term in the DB-VAE's loss")
    steps_per_epoch: int = option(250, "steps between the history's entries", resume="free")

    def __post_init__(self):
        super().__post_init__()
        if self.data not in ("synthetic", "lfw") and not str(self.data).endswith((".h5", ".hdf5")):
            raise ConfigError(
                "data",
                f"must be 'synthetic', 'lfw' or the path of the course's train_face.h5 file, received {self.data!r}",
            )
        positive(
            self,
            "train_count",
            "test_count",
            "steps",
            "resample_every",
            "batch_size",
            "latent_dim",
            "learning_rate",
            "steps_per_epoch",
        )
        at_least(self, "warmup_steps", 0)
        at_least(self, "kl_weight", 0)
        in_range(self, "held_out_fraction", 0.0, 1.0)
        if self.model in LABEL_AWARE and self.data != "synthetic":
            raise ConfigError(
                "model",
                f"{self.model!r} needs the synthetic benchmark's face groups; real data ({self.data!r}) has none: "
                "train cnn or dbvae on it",
            )
        if self.batch_size < 2:
            raise ConfigError("batch_size", f"must be at least 2 (a face and a non-face), received {self.batch_size}")

    def unused_fields(self):
        """The DB-VAE's fields for the CNN-based models, which neither encode nor resample.

        Returns:
            A tuple of field names.
        """
        if self.model == "dbvae":
            return ()
        return ("warmup_steps", "resample_every", "combine", "latent_dim", "kl_weight")

    @property
    def decays(self):
        """True when the learning rate decays to zero by a cosine: the ``cosine`` schedule, or real data."""
        return self.schedule == "cosine" or self.real_data

    @property
    def real_data(self):
        """True for lfw and h5 data: small real sets train with augmentation and a cosine-decayed rate."""
        return self.data != "synthetic"

    @classmethod
    def settings_from_legacy(cls, recorded):
        """Translate a release-0.1 settings.json (model, data, preset name, seed, combine) into config values.

        Args:
            recorded: the settings.json dict 0.1 wrote.

        Returns:
            ``{"config": values, "derived": {}}`` in today's format, with the values the preset had in 0.1.
        """
        values = {
            **_PRESETS_0_1[recorded["preset"]],
            "preset": recorded["preset"],
            "model": recorded["model"],
            "data": recorded["data"],
            "seed": recorded["seed"],
            "precision": recorded.get("precision", "float32"),
        }
        values["combine"] = recorded["combine"] or "max"  # the CNN recorded None: it does not resample
        values["schedule"] = "constant"  # 0.1 decayed the rate only on real data
        return {"config": values, "derived": {}}
