"""Lab 1 part 2 settings: the folk-tune models (`MusicConfig`) and song generation (`GenerationConfig`).

The defaults are the course's hyperparameters (``MusicConfig.from_preset("lab")``, an
LSTM); ``MusicConfig.from_preset("quick")`` is an LSTM small enough to train in about 5
minutes on 2 CPU cores; ``MusicConfig.from_preset("lab-aligned")`` is the course's LSTM
trained on windows of which half start at a tune's ``X:`` line. The
transformer (lecture 2's attention as a decoder-only character model) has
its own presets, ``MusicConfig.transformer("quick")`` and ``("full")``.

Examples:
    >>> MusicConfig.from_preset("quick").rnn_units
    256
    >>> MusicConfig.from_preset("lab", sequence_length=200).sequence_length
    200
    >>> MusicConfig.transformer("full").sequence_length
    512
    >>> GenerationConfig(songs=0)
    Traceback (most recent call last):
    ...
    mit_dl.errors.ConfigError: songs must be a positive number, received 0.
"""

import dataclasses
from typing import Optional

from mit_dl.config import RunConfig, at_least, check_choices, in_range, option, positive
from mit_dl.errors import ConfigError
from mit_dl.music.songs import SECONDS_PER_SONG

HEADER_CHOICES = ("musical", "all")
MODELS = ("lstm", "transformer")
DECAYS = ("none", "cosine")
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


# Fields only one model reads: a resume of the other model's run does not compare them.
LSTM_FIELDS = ("embedding_dim", "rnn_units")
TRANSFORMER_FIELDS = ("d_model", "num_heads", "num_layers", "ff_dim", "dropout", "tie_embeddings")

# The transformer's presets. Both use AdamW with a warm-up and a cosine decay,
# and half of the training windows start at a tune's X: line.
_TRANSFORMER_COMMON = {
    "model": "transformer",
    "aligned_share": 0.5,
    "warmup_steps": 200,
    "decay": "cosine",
    "weight_decay": 0.01,
}
TRANSFORMER_PRESETS = {
    "quick": {
        **_TRANSFORMER_COMMON,
        "sequence_length": 256,
        "d_model": 128,
        "num_heads": 4,
        "num_layers": 3,
        "ff_dim": 512,
        "dropout": 0.1,
        "batch_size": 16,
        "learning_rate": 3e-3,
        "steps": 1500,
    },
    "full": {
        **_TRANSFORMER_COMMON,
        "sequence_length": 512,
        "d_model": 256,
        "num_heads": 4,
        "num_layers": 4,
        "ff_dim": 1024,
        "dropout": 0.1,
        "batch_size": 16,
        "learning_rate": 2e-3,
        "steps": 1600,
        "eval_every": 200,
        "checkpoint_every": 200,
    },
}


@dataclasses.dataclass(frozen=True)
class MusicConfig(RunConfig):
    """Data, model and schedule of a music run: the lab's LSTM or a decoder-only transformer.

    ``model="lstm"``: ``Embedding -> LSTM -> Dense``, the course's; its presets
    are ``lab``, ``quick`` and ``lab-aligned``. ``model="transformer"``:
    ``Embedding + positions -> TransformerBlock x num_layers -> LayerNorm ->
    logits`` with a context of ``sequence_length`` characters; its presets are
    ``quick`` and ``full`` (``MusicConfig.transformer(name)``).
    """

    PRESETS = {
        # The course's hyperparameters (times: `mit_dl.music.lab.TRAIN_MINUTES`).
        "lab": {},
        # LSTM(256) at batch 32 (batch 8 runs only 1.3 times faster, so batch 32 sees 3x more text per second).
        "quick": {"rnn_units": 256, "batch_size": 32, "steps": 1000},
        # The course's model and optimiser; half of the windows start at a tune's X: line.
        "lab-aligned": {"aligned_share": 0.5},
    }
    # What each preset is for, as `mit-dl <lab> train --help` shows it.
    PRESET_HELP = {
        "lab": "the course's recipe: embedding 256, LSTM(1024), batch 8 x 100, Adam 5e-3, 3,000 steps",
        "quick": "an LSTM(256) at batch 32 for 1,000 steps",
        "lab-aligned": "the course's LSTM and optimiser, half of the training windows starting at a tune's X: line",
    }

    preset: str = option("lab", "the preset the other values came from (a label)", resume="free")
    model: str = option(
        "lstm", "lstm (the course's Embedding -> LSTM -> Dense) or transformer (decoder-only)", choices=MODELS
    )
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
    embedding_dim: int = option(256, "lstm: size of each character's embedding vector")
    rnn_units: int = option(1024, "lstm: units of the LSTM")
    d_model: int = option(256, "transformer: width of the embeddings and of every block")
    num_heads: int = option(4, "transformer: attention heads per block (must divide d_model)")
    num_layers: int = option(4, "transformer: transformer blocks")
    ff_dim: int = option(1024, "transformer: width of each block's feed-forward layer")
    dropout: float = option(0.1, "transformer: dropout on the embeddings and on every block's residual branches")
    tie_embeddings: bool = option(False, "transformer: compute the logits with the (transposed) input embedding matrix")
    sequence_length: int = option(
        100, "characters per training window text[i:i+L]; the transformer's context (longest input it reads)"
    )
    aligned_share: float = option(
        0.0, "share of training windows that start at a tune's X: line (the rest start anywhere)"
    )
    batch_size: int = option(8, "training windows per step")
    learning_rate: float = option(5e-3, "Adam's learning rate (the peak rate with a warm-up or decay)")
    warmup_steps: int = option(0, "steps over which the learning rate rises linearly from 0")
    decay: str = option("none", "learning-rate decay after the warm-up: none or cosine (to 0 at steps)", choices=DECAYS)
    weight_decay: float = option(0.0, "AdamW's decoupled weight decay (0: Adam, the course's)")
    steps: int = option(3000, "training steps (a resumed run may extend them)", resume="free")
    eval_every: int = option(500, "steps between passes over the held-out tunes", resume="free")
    checkpoint_every: int = option(500, "steps between checkpoints", resume="free")

    def __post_init__(self):
        super().__post_init__()
        positive(
            self,
            "embedding_dim",
            "rnn_units",
            "d_model",
            "num_heads",
            "num_layers",
            "ff_dim",
            "sequence_length",
            "batch_size",
            "learning_rate",
            "steps",
            "eval_every",
            "checkpoint_every",
        )
        in_range(self, "validation_fraction", 0.0, 1.0)
        at_least(self, "warmup_steps", 0)
        at_least(self, "weight_decay", 0)
        if not 0.0 <= self.aligned_share <= 1.0:
            raise ConfigError("aligned_share", f"must be in [0, 1], received {self.aligned_share!r}")
        if not 0.0 <= self.dropout < 1.0:
            raise ConfigError("dropout", f"must be in [0, 1), received {self.dropout!r}")
        if self.d_model % self.num_heads:
            raise ConfigError(
                "num_heads",
                f"must divide d_model ({self.d_model}), received {self.num_heads}; e.g. d_model = num_heads * 32",
            )

    def unused_fields(self):
        """The other model's fields (a transformer has no LSTM units).

        Returns:
            The names of the fields this config's ``model`` does not read.
        """
        return TRANSFORMER_FIELDS if self.model == "lstm" else LSTM_FIELDS

    @classmethod
    def preset_values(cls, name, changes):
        """The values of preset ``name`` for the model in ``changes`` (default the LSTM).

        Args:
            name: ``lab``, ``quick`` or ``lab-aligned`` for the LSTM; ``quick`` or ``full`` for the transformer.
            changes: the other values given; its ``model`` picks the presets.

        Returns:
            ``{field: value}``.

        Raises:
            ConfigError: the model has no preset of that name.
        """
        model = changes.get("model", "lstm")
        presets = TRANSFORMER_PRESETS if model == "transformer" else cls.PRESETS
        if name not in presets:
            raise ConfigError("preset", f"of the {model} must be one of {', '.join(presets)}, received {name!r}")
        return presets[name]

    @classmethod
    def transformer(cls, preset="quick", **changes):
        """A decoder-only transformer preset: ``quick`` (context 256, 3 blocks of width 128) or ``full``
        (context 512, 4 blocks of width 256).

        Args:
            preset: ``"quick"`` or ``"full"``.
            **changes: field values that replace the preset's.

        Returns:
            The config.
        """
        return cls.from_preset(preset, model="transformer", **changes)

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
    """How `mit_dl.music.generate.generate` samples and judges songs from an exported generator."""

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
    song_seconds: float = option(
        SECONDS_PER_SONG, "seconds music21 may spend on one song; a slower song counts as invalid"
    )

    def __post_init__(self):
        check_choices(self)
        positive(self, "songs", "temperature", "batch", "song_seconds")
        positive(self, "length", allow_none=True)
        if self.seed_text is not None and not self.seed_text:
            raise ConfigError("seed_text", "is empty; give at least one character, e.g. 'X:'")
