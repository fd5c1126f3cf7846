"""The labs, in course order, and what each declares: the one list every composing module reads.

A lab is one package, ``mit_dl/<name>/``, whose ``lab.py`` holds a `Lab`:
its commands (built into ``mit-dl <name> <action>``), its demo part, its
docs-asset builder, its notebooks and graders, its export kinds and how to
rebuild a model from one of its run directories. ``cli.py``, ``demo.py``,
``docs/build_assets.py``, the lab contract test and the tables of labs in
the README, ``labs/README.md`` and the docs' home read the labs from here,
so adding a lab is one package plus one line in `LAB_PACKAGES`.

``lab.py`` stays light: it imports the lab's config classes and its
``commands`` module, never TensorFlow (``mit-dl --help`` answers in a tenth
of a second). The heavy parts are named as ``"module:attribute"`` strings
and imported when used (`resolve`).

Examples:
    >>> from mit_dl import registry
    >>> names = [lab.name for lab in registry.labs()]
    >>> names[0], names[1]
    ('foundations', 'music')
    >>> registry.lab("rl").course
    'Lecture 6'
"""

import contextlib
import dataclasses
import importlib
from collections.abc import Callable, Mapping

# The labs in the course's order: lecture 1 from scratch, MIT 6.S191's labs 1-2, lecture 3 (vision, architectures),
# lab 3, lectures 4-6.
LAB_PACKAGES = (
    "foundations",
    "music",
    "images",
    "faces",
    "vision",
    "architectures",
    "llm",
    "generative",
    "uncertainty",
    "rl",
)


@dataclasses.dataclass(frozen=True)
class Command:
    """One action of a lab's command, ``mit-dl <lab> <name>``.

    Args:
        name: the action (``train``, ``evaluate``, ``compare``, ...).
        help: one sentence for ``mit-dl <lab> --help`` and the action's own.
        run: ``run(args) -> exit status or None``; ``args.config`` holds the config the options ask for
            when ``config`` is given, ``args.out`` the ``--out`` folder or None.
        config: the config dataclass whose fields become the options, or None.
        options: ``options(parser)`` adds the action's other arguments.
        out: the help of the action's ``--out`` folder (its default in words), or None for no ``--out``.
        exclude: config fields that get no option.
        presets: the presets ``--preset`` offers (default the config's own; the first is the default).
        preset_help: ``preset -> sentence`` for presets whose help is not their classmethod's docstring.
        shown_presets: presets whose values the options' help quotes (default all of ``presets``).
    """

    name: str
    help: str
    run: Callable
    config: type | None = None
    options: Callable | None = None
    out: str | None = None
    exclude: tuple = ()
    presets: tuple | None = None
    preset_help: Mapping = dataclasses.field(default_factory=dict)
    shown_presets: tuple | None = None

    def preset_names(self):
        """The presets ``--preset`` offers: the command's own list, else its config's, else none.

        Returns:
            A tuple of names (the first is the default).
        """
        if self.presets:
            return tuple(self.presets)
        return self.config.preset_names() if hasattr(self.config, "preset_names") else ()


@dataclasses.dataclass(frozen=True)
class DemoPart:
    """A lab's part of ``mit-dl demo``.

    Args:
        run: ``"module:function"`` (or the function); ``function(out_dir, steps, seed, log, earlier)``
            returns the part's figures (``earlier``: the figures of the parts run before it, by lab name).
        seconds: what the part takes at the default 500 steps on a slow (AVX2) 2-core machine (measured
            on the fast AVX-512 kind, times 4); the demo's time budget is spent on parts in registry order.
        describe: one line for the demo's list of parts.
    """

    run: str
    seconds: float
    describe: str


@dataclasses.dataclass(frozen=True)
class Lab:
    """What a lab is and what it offers; see the module docstring.

    Args:
        name: the package, command, docs page (``docs/labs/<name>.md``) and reference page name.
        title: what the lab is about, as the tables show it.
        course: where the course teaches it: ``"Lab 1"``, ``"Lecture 4"``, ...
        summary: the command's help line.
        lectures: the lectures and course sections it covers.
        commands: its `Command` s, ``train`` first.
        configs: its config classes.
        demo: its `DemoPart`, or None.
        assets: ``"module:function"`` (or the function) that rebuilds its figures for the docs
            (``function(work, site)``).
        graders: modules of its notebook checkers (``mit_dl.labs.<module>``).
        notebooks: its notebook sources under ``labs/``, without ``.py``.
        exports: the kinds of export it writes (``metadata.json``'s ``kind``).
        rebuild: ``"module:function"`` that rebuilds the trained model of one of its run directories
            (``function(run_dir, values) -> (model, config)``), or None.
        benchmark: its benchmark module under ``benchmarks/``, or None.
        full_preset_args: what ``train --preset full`` also needs (``("--model", "transformer")``);
            ``python -m benchmarks --device gpu`` times a few steps of it.
        train_minutes: the measured minutes of ``train`` runs, ``{what: (fast, slow)}`` on the two
            2-core machine kinds (AVX-512 and AVX2), ``what`` a preset or a preset with flags
            (``"quick --model transformer"``); the one source of the times ``--help``, the README and the
            docs state (`stated_minutes`; tests check that they agree).
    """

    name: str
    title: str
    course: str
    summary: str
    lectures: tuple
    commands: tuple
    configs: tuple = ()
    demo: DemoPart | None = None
    assets: str | None = None
    graders: tuple = ()
    notebooks: tuple = ()
    exports: tuple = ()
    rebuild: str | None = None
    benchmark: str | None = None
    full_preset_args: tuple = ()
    train_minutes: Mapping = dataclasses.field(default_factory=dict)

    def stated_minutes(self, what):
        """How long a ``train`` run takes, as every page says it.

        Args:
            what: a key of ``train_minutes``.

        Returns:
            ``"about 3 minutes on a fast 2-core CPU (AVX-512), 10 on a slow one (AVX2)"``.
        """
        return minutes_text(*self.train_minutes[what])

    def command(self, name):
        """The lab's command ``name``.

        Args:
            name: the action.

        Returns:
            The `Command`.

        Raises:
            KeyError: the lab has no such command.
        """
        for command in self.commands:
            if command.name == name:
                return command
        raise KeyError(f"the {self.name} lab has no {name!r} command")


def minutes_text(fast, slow):
    """A run's time on both machine kinds, in the words every page uses.

    Args:
        fast: minutes on a 2-core AVX-512 machine.
        slow: minutes on a 2-core AVX2 machine.

    Returns:
        ``"about 3 minutes on a fast 2-core CPU (AVX-512), 10 on a slow one (AVX2)"``.
    """
    return f"about {fast:g} minutes on a fast 2-core CPU (AVX-512), {slow:g} on a slow one (AVX2)"


_added = []


def labs():
    """Every registered lab, in course order (then labs registered at run time).

    Returns:
        A tuple of `Lab`.
    """
    return tuple(importlib.import_module(f"mit_dl.{name}.lab").LAB for name in LAB_PACKAGES) + tuple(_added)


def lab(name):
    """The registered lab called ``name``.

    Args:
        name: a lab's name (``"music"``).

    Returns:
        The `Lab`.

    Raises:
        KeyError: no lab has that name.
    """
    for found in labs():
        if found.name == name:
            return found
    raise KeyError(f"no lab is called {name!r}; the labs are {', '.join(lab.name for lab in labs())}")


@contextlib.contextmanager
def registered(extra):
    """Register ``extra`` (a `Lab` defined outside ``mit_dl``, e.g. a test's) while the block runs.

    Args:
        extra: the `Lab`.

    Yields:
        ``extra``.
    """
    _added.append(extra)
    try:
        yield extra
    finally:
        _added.remove(extra)


def resolve(reference):
    """The object a ``"module:attribute"`` reference names, imported now.

    Args:
        reference: e.g. ``"mit_dl.music.demo:run"``; a callable is returned as it is.

    Returns:
        The object.
    """
    if callable(reference):
        return reference
    module, _, attribute = reference.partition(":")
    return getattr(importlib.import_module(module), attribute)
