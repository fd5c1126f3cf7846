"""Lab 1 part 2 settings: the folk-tune LSTM (`MusicConfig`) and song generation (`GenerationConfig`).

The defaults are the course's hyperparameters (``MusicConfig.lab()``);
``MusicConfig.quick()`` is a model small enough to train in about 5 minutes
on 2 CPU cores.

Example:
    >>> MusicConfig.quick().rnn_units
    256
    >>> MusicConfig.lab(sequence_length=200).sequence_length
    200
    >>> GenerationConfig(songs=0)
    Traceback (most recent call last):
    ...
    mit_dl.errors.ConfigError: songs must be a positive number, received 0.
"""

import dataclasses
from typing import Optional

from mit_dl.config import RunConfig, check_choices, in_range, option, positive
from mit_dl.errors import ConfigError

HEADER_CHOICES = ("musical", "all")
DEFAULT_CORPUS = "oneills1850"
SEED_TEXT = "X:"
# Songs per batched sampler call: for the lab model on 2 CPU cores 5-7x faster per song than one
# call per song, and 100 per call was no faster per song than 50.
GENERATION_BATCH = 50

# The presets as release 0.1.0 defined them, for run directories that recorded only a preset's name.
_PRESETS_0_1 = {
    "lab": {
        "embedding_dim": 256,
        "rnn_units": 1024,
        "sequence_length": 100,
        "batch_size": 8,
        "learning_rate": 5e-3,
        "steps": 3000,
    },
    "quick": {
        "embedding_dim": 256,
        "rnn_units": 256,
        "sequence_length": 100,
        "batch_size": 32,
        "learning_rate": 5e-3,
        "steps": 1000,
    },
}


@dataclasses.dataclass(frozen=True)
class MusicConfig(RunConfig):
    """Data, model and schedule of the music lab's LSTM ``Embedding -> LSTM -> Dense``."""

    PRESETS = {
        # The course's hyperparameters (~1.9 steps/s on a 2-core AVX-512 CPU: 30 minutes).
        "lab": {},
        # About 5 minutes on 2 CPU cores: LSTM(256) at batch 32 runs ~3.3 steps/s there
        # (batch 8 runs 4.3 steps/s, so batch 32 sees 3x more text per second).
        "quick": {"rnn_units": 256, "batch_size": 32, "steps": 1000},
    }

    preset: str = option("lab", "the preset the other values came from (a label)", resume="free")
    data: Optional[str] = option(
        None, "an .abc file or a folder of them (default: O'Neill's 1850 tunes from music21's corpus)", resume="free"
    )
    headers: str = option(
        "musical",
        "tune header lines to train on: 'musical' drops book, notes, transcriber "
        "and other bibliographic lines (B: N: Z: ...), 'all' keeps them",
        choices=HEADER_CHOICES,
    )
    validation_fraction: float = option(0.1, "share of the tunes held out (whole tunes) to measure the loss on")
    embedding_dim: int = option(256, "size of each character's embedding vector")
    rnn_units: int = option(1024, "units of the LSTM")
    sequence_length: int = option(100, "characters per training window text[i:i+L]")
    batch_size: int = option(8, "training windows per step")
    learning_rate: float = option(5e-3, "Adam's learning rate")
    steps: int = option(3000, "training steps (a resumed run may extend them)", resume="free")
    eval_every: int = option(500, "steps between passes over the held-out tunes", resume="free")
    checkpoint_every: int = option(500, "steps between checkpoints", resume="free")

    def __post_init__(self):
        super().__post_init__()
        positive(
            self,
            "embedding_dim",
            "rnn_units",
            "sequence_length",
            "batch_size",
            "learning_rate",
            "steps",
            "eval_every",
            "checkpoint_every",
        )
        in_range(self, "validation_fraction", 0.0, 1.0)

    @classmethod
    def lab(cls, **changes):
        """The course's recipe: embedding 256, LSTM(1024), batch 8 x 100, Adam 5e-3, 3,000 steps.

        Args:
            **changes: field values that replace the preset's.

        Returns:
            The config.
        """
        return cls.from_preset("lab", **changes)

    @classmethod
    def quick(cls, **changes):
        """An LSTM(256) at batch 32 for 1,000 steps: about 3 minutes on 2 CPU cores.

        Args:
            **changes: field values that replace the preset's.

        Returns:
            The config.
        """
        return cls.from_preset("quick", **changes)

    @classmethod
    def settings_from_legacy(cls, recorded):
        """Translate a release-0.1 settings.json (a preset's name and the departures from it) into config values.

        Args:
            recorded: the settings.json dict 0.1 wrote.

        Returns:
            ``{"config": values, "derived": {"data", "vocabulary"}}`` in today's format, with the
            values the preset had in 0.1.
        """
        values = dict(_PRESETS_0_1[recorded["preset"]])
        values.update({k: recorded[k] for k in ("sequence_length", "batch_size") if k in recorded})
        values.update(
            preset=recorded["preset"],
            seed=recorded["seed"],
            headers=recorded["headers"],
            precision=recorded.get("precision", "float32"),
            validation_fraction=0.1,
        )
        return {"config": values, "derived": {"data": recorded["data"], "vocabulary": recorded["vocabulary"]}}


@dataclasses.dataclass(frozen=True)
class GenerationConfig:
    """How `mit_dl.music.workflow.generate` samples and judges songs from an exported generator."""

    songs: int = option(10, "samples to draw; the first complete song of each is judged")
    temperature: float = option(1.0, "divides the logits before each draw: below 1 safer, above 1 wilder")
    seed: int = option(0, "random seed of the samples (sample i depends on (seed, i) only)")
    seed_text: Optional[str] = option(None, "text every sample starts from (default: the export's, 'X:')")
    length: Optional[int] = option(None, "characters per sample (default: twice a long training tune)")
    batch: int = option(GENERATION_BATCH, "songs per compiled sampler call (larger batches suit a GPU)")
    soundfont: Optional[str] = option(
        "auto",
        "a .sf2 file, 'auto' (a system General MIDI soundfont if one is found) or 'none' for the built-in synthesiser",
    )
    every_song: bool = option(False, "also judge each sample's later complete songs (the course plays them all)")
    baseline: bool = option(True, "also judge the held-out real tunes the same way (cached per export)")

    def __post_init__(self):
        check_choices(self)
        positive(self, "songs", "temperature", "batch")
        positive(self, "length", allow_none=True)
        if self.seed_text is not None and not self.seed_text:
            raise ConfigError("seed_text", "is empty; give at least one character, e.g. 'X:'")
