"""What every lab's config shares: documented fields, validation that names the field, presets.

A lab's ``config.py`` holds frozen dataclasses whose fields are declared with
`option`: the default is the course's value, ``help`` is the sentence the
command line shows for the field's flag, ``choices`` the allowed values, and
``resume="free"`` marks a field a resumed run may change (a step budget, not
the model). `RunConfig` adds the fields every training run has (seed,
precision, distribution). Presets are named instances::

    config = MusicConfig.from_preset("quick")                       # a preset
    config = MusicConfig.from_preset("quick", sequence_length=200)  # a preset with changes
    config = dataclasses.replace(config, steps=50)   # any variant

Validation runs in ``__post_init__`` and raises `mit_dl.errors.ConfigError`
naming the field.

Examples:
    >>> import dataclasses
    >>> @dataclasses.dataclass(frozen=True)
    ... class Toy(RunConfig):
    ...     PRESETS = {"small": {"units": 8}}
    ...     units: int = option(64, "hidden units")
    ...     def __post_init__(self):
    ...         super().__post_init__()
    ...         positive(self, "units")
    >>> Toy.from_preset("small").units
    8
    >>> Toy(units=0)
    Traceback (most recent call last):
    ...
    mit_dl.errors.ConfigError: units must be a positive number, received 0.
"""

import dataclasses
import typing

import numpy as np

from mit_dl.errors import ConfigError

PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16")
DISTRIBUTIONS = ("none", "mirrored", "multi-worker")


def option(default, help, *, choices=None, resume="same", absent=dataclasses.MISSING):
    """A config field with its documentation, allowed values and resume rule.

    Args:
        default: the field's default value (the course's, where it has one).
        help: the sentence the command line shows for the field's flag.
        choices: the allowed values, or ``None`` for any.
        resume: ``"same"`` (a resumed run must repeat the value) or ``"free"``
            (a resume may change it, e.g. more steps).
        absent: what the code did before the field existed, when that differs
            from ``default``: a run directory whose settings lack the field
            is read as having this value (see `absent_values`).

    Returns:
        A `dataclasses.field` carrying those in its metadata.

    Raises:
        ValueError: ``resume`` is neither ``"same"`` nor ``"free"`` (a bug in the config).
    """
    if resume not in ("same", "free"):
        raise ValueError(f"resume must be 'same' or 'free', received {resume!r}")
    metadata = {"help": help, "choices": tuple(choices) if choices else None, "resume": resume}
    if absent is not dataclasses.MISSING:
        metadata["absent"] = absent
    return dataclasses.field(default=default, metadata=metadata)


def positive(config, *names, allow_none=False):
    """Raise `ConfigError` unless each named field is a number above 0.

    Args:
        config: the config to check.
        *names: the fields to check.
        allow_none: accept ``None`` as well.
    """
    for name in names:
        value = getattr(config, name)
        if value is None and allow_none:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
            raise ConfigError(name, f"must be a positive number, received {value!r}")


def at_least(config, name, low):
    """Raise `ConfigError` unless the field ``name`` is a number ``>= low``.

    Args:
        config: the config to check.
        name: the field to check.
        low: the smallest value allowed.
    """
    value = getattr(config, name)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < low:
        raise ConfigError(name, f"must be at least {low}, received {value!r}")


def in_range(config, name, low, high):
    """Raise `ConfigError` unless the field ``name`` holds a number strictly between ``low`` and ``high``.

    Args:
        config: the config to check.
        name: the field to check.
        low: the bound below (excluded).
        high: the bound above (excluded).
    """
    value = getattr(config, name)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low < value < high:
        raise ConfigError(name, f"must be between {low} and {high}, received {value!r}")


def distinct_seeds(seeds, name="seeds"):
    """Check a list of seeds to run (a comparison over seeds): non-empty, whole, non-negative, no repeats.

    Args:
        seeds: the seeds.
        name: the setting's name in the error.

    Returns:
        The seeds as a tuple of ints, in the given order.

    Raises:
        ConfigError: no seeds, a seed that is not a whole number, a negative seed, or a seed given twice.

    Examples:
        >>> distinct_seeds([0, 2, 1])
        (0, 2, 1)
        >>> distinct_seeds([0, 1, 1])
        Traceback (most recent call last):
        ...
        mit_dl.errors.ConfigError: seeds lists 1 more than once; give each seed once, e.g. 0 1 2 3 4.
    """
    seeds = list(seeds)
    if not seeds:
        raise ConfigError(name, "needs at least one seed, e.g. 0 1 2 3 4")
    for seed in seeds:
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
            raise ConfigError(name, f"must be whole numbers, received {seed!r}")
        if seed < 0:
            raise ConfigError(name, f"must be non-negative, received {seed}")
    repeated = sorted({seed for seed in seeds if seeds.count(seed) > 1})
    if repeated:
        raise ConfigError(
            name, f"lists {', '.join(map(str, repeated))} more than once; give each seed once, e.g. 0 1 2 3 4"
        )
    return tuple(int(seed) for seed in seeds)


def check_choices(config):
    """Raise `ConfigError` for any field whose value is not among its declared ``choices``.

    Args:
        config: the config to check.
    """
    for field in dataclasses.fields(config):
        choices = field.metadata.get("choices")
        value = getattr(config, field.name)
        if choices and value not in choices:
            raise ConfigError(field.name, f"must be one of {', '.join(map(str, choices))}, received {value!r}")


def values(config):
    """The config's field values as JSON-able data (tuples become lists).

    Args:
        config: a config dataclass instance.

    Returns:
        ``{field name: value}``.
    """
    return {field.name: _jsonable(getattr(config, field.name)) for field in dataclasses.fields(config)}


def resume_fields(config_class):
    """Names of the fields a resumed run must repeat.

    Args:
        config_class: a config dataclass.

    Returns:
        The names of its fields declared with ``resume="same"``.
    """
    return [f.name for f in dataclasses.fields(config_class) if f.metadata.get("resume", "same") == "same"]


def absent_values(config_class):
    """What a run recorded before a field existed meant: the field's ``absent`` value, else its default.

    Args:
        config_class: a config dataclass.

    Returns:
        ``{name: value}`` for every field.
    """
    defaults = values(config_class())
    return {f.name: f.metadata.get("absent", defaults[f.name]) for f in dataclasses.fields(config_class)}


def field_help(config_class, name):
    """The documentation sentence of a field (what the command line shows).

    Args:
        config_class: a config dataclass.
        name: one of its fields.

    Returns:
        The field's ``help`` text.
    """
    return {f.name: f.metadata.get("help", "") for f in dataclasses.fields(config_class)}[name]


def field_type(config_class, name):
    """The Python type a field's value has (``int``, ``float``, ``str``, ``bool``), whether ``None`` is allowed or not.

    Args:
        config_class: a config dataclass.
        name: one of its fields.

    Returns:
        The type (for ``Optional[int]``, ``int``).
    """
    hints = typing.get_type_hints(config_class)
    hint = hints[name]
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    return args[0] if args else hint


def _jsonable(value):
    if isinstance(value, tuple):
        return [_jsonable(v) for v in value]
    return value


@dataclasses.dataclass(frozen=True)
class RunConfig:
    """Fields every training run has; lab configs derive from it and add theirs.

    ``PRESETS`` (a class attribute) maps a preset's name to the fields it
    changes from the defaults, ``PRESET_HELP`` to the sentence the command
    line shows for it; ``preset`` names the preset a config came from (a
    label: a resume compares the values, not the name).
    """

    PRESETS: typing.ClassVar[dict] = {}
    PRESET_HELP: typing.ClassVar[dict] = {}

    preset: str = option("course", "the preset the other values came from (a label)", resume="free")
    seed: int = option(0, "random seed of the weights, the data order and the sampling")
    precision: str = option(
        "float32",
        "float32, or mixed_float16 on NVIDIA GPUs / mixed_bfloat16 on TPUs and recent CPUs",
        choices=PRECISIONS,
    )
    distribute: str = option(
        "none",
        "train on one device (none), on every GPU of this machine (mirrored), or on several machines "
        "described by $TF_CONFIG (multi-worker)",
        choices=DISTRIBUTIONS,
    )

    def __post_init__(self):
        check_choices(self)
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ConfigError("seed", f"must be a whole number >= 0, received {self.seed!r}")

    @classmethod
    def preset_names(cls):
        """The names of the presets, in the order they are declared.

        Returns:
            A tuple of names (``from_preset`` takes each).
        """
        return tuple(cls.PRESETS)

    @classmethod
    def from_preset(cls, name, **changes):
        """The preset ``name`` with ``changes`` applied.

        Args:
            name: one of `preset_names`.
            **changes: field values that replace the preset's.

        Returns:
            The validated config.

        Raises:
            ConfigError: an unknown preset or field name, or an invalid value.
        """
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise ConfigError(unknown[0], f"is not a setting of {cls.__name__}; its settings are {sorted(known)}")
        return cls(**{"preset": name, **cls.preset_values(name, changes), **changes})

    @classmethod
    def preset_values(cls, name, changes):
        """The field values preset ``name`` sets (a lab whose presets depend on another field overrides this).

        Args:
            name: the preset's name.
            changes: the values given beside it (e.g. the model the preset is for).

        Returns:
            ``{field: value}``.

        Raises:
            ConfigError: an unknown preset.
        """
        if name not in cls.PRESETS:
            raise ConfigError("preset", f"must be one of {', '.join(cls.PRESETS)}, received {name!r}")
        return cls.PRESETS[name]

    def unused_fields(self):
        """Fields this config's choices make irrelevant (an LSTM's attention heads): a resume does not compare them.

        Returns:
            A collection of field names (none by default).
        """
        return ()

    def replace(self, **changes):
        """A copy with ``changes``, validated again.

        Args:
            **changes: new field values; ``None`` leaves a field as it is (so
                unset command-line flags change nothing).

        Returns:
            The new config.
        """
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})
