"""The `mit-dl` command: `--version`, `info`, `demo`, `<lab> train|...` for every lab, `labs check`.

The lab commands' options are built from the labs' config dataclasses: one
flag per field (``rnn_units`` -> ``--rnn-units``) with the field's
documentation as help, its choices, and the preset's value as default, so
the command line and the library cannot drift apart. The library raises
errors in terms of its own parameter names; this module shows them as
flags. Only the project's expected errors (`mit_dl.errors.MitDLError`) become
one line; anything else is a bug and keeps its traceback.

The labs come from `mit_dl.registry`: each lab's ``lab.py`` declares its
commands (``mit_dl/<lab>/commands.py`` runs them and prints their reports);
this module only builds the parser, turns the options into the lab's
config, calls the command and shows expected errors. The commands import
their lab's modules when they run: ``mit-dl --help`` and ``mit-dl --version``
then answer without loading TensorFlow (measured on 2 CPU cores: 0.1 s,
against 4.1 s with three labs' training modules imported).
"""

import argparse
import dataclasses
import datetime
import importlib
import os
import pathlib
import re
import sys

import mit_dl
from mit_dl import progress, registry
from mit_dl.config import field_type
from mit_dl.environment import quiet_tensorflow_startup
from mit_dl.errors import ConfigError, MitDLError, RunMismatch, TrainingInterrupted

INTERRUPTED = 130


def default_run_dir(name):
    """Where a command writes when ``--out`` is not given: ``runs/<name>-<date>-<time>``.

    Args:
        name: what the run is (``"images-mnist-cnn"``).

    Returns:
        A `pathlib.Path`.
    """
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    return pathlib.Path("runs") / f"{name}-{stamp}"


def out_dir(args, name):
    """The command's ``--out`` folder, or `default_run_dir` of ``name``.

    Args:
        args: the parsed arguments.
        name: the default folder's name.

    Returns:
        A `pathlib.Path`.
    """
    return pathlib.Path(args.out) if getattr(args, "out", None) else default_run_dir(name)


def train_with(module, run_name):
    """A ``train`` command's run: ``module.train(args.config, --out or runs/<run_name(config)>-<time>)``.

    Args:
        module: the lab's ``train`` module, imported when the command runs (``"mit_dl.rl.train"``).
        run_name: ``run_name(config) -> str``, the default run directory's name.

    Returns:
        ``run(args)`` for a `mit_dl.registry.Command`.
    """

    def run(args):
        importlib.import_module(module).train(args.config, out_dir(args, run_name(args.config)))

    return run


def flag(name):
    """A parameter's command-line spelling.

    Args:
        name: a config field's name.

    Returns:
        The flag: ``rnn_units`` -> ``--rnn-units``.
    """
    return "--" + name.replace("_", "-")


def _default_text(config_class, name, presets):
    """``"1024"``, or ``"256 in quick, 1024 in lab"`` when the presets differ."""
    if presets:
        shown = {preset: getattr(config_class.from_preset(preset), name) for preset in presets}
    else:
        shown = {"": getattr(config_class(), name)}
    if len(set(map(repr, shown.values()))) == 1:
        value = next(iter(shown.values()))
        return "none" if value is None else str(value)
    return ", ".join(f"{value} in {preset}" for preset, value in shown.items())


_METAVARS = {int: "N", float: "X", str: "TEXT"}


def add_config_options(parser, config_class, exclude=(), presets=None):
    """Add one option per field of ``config_class`` to ``parser`` (see the module docstring).

    Args:
        parser: an `argparse` (sub)parser.
        config_class: a config dataclass; each field's ``help`` becomes the option's help.
        exclude: fields that get no option.
        presets: preset names for ``--preset`` (default the class's own).

    Returns:
        ``{field: flag}`` of the options added.
    """
    if presets is None:
        presets = config_class.preset_names() if hasattr(config_class, "preset_names") else ()
    flags = {}
    for field in dataclasses.fields(config_class):
        if field.name in exclude or field.name == "preset":
            continue
        kind = field_type(config_class, field.name)
        help_text = field.metadata["help"]
        if not re.search(r"\bdefault\b", help_text):  # a help that states its own default keeps it alone
            help_text += f" (default: {_default_text(config_class, field.name, presets)})"
        help_text = _literal(help_text)
        if kind is bool:
            parser.add_argument(
                flag(field.name), dest=field.name, action=argparse.BooleanOptionalAction, default=None, help=help_text
            )
        else:
            parser.add_argument(
                flag(field.name),
                dest=field.name,
                type=kind,
                default=None,
                choices=field.metadata.get("choices"),
                help=help_text,
                metavar=None if field.metadata.get("choices") else _metavar(kind, field.name),
            )
        flags[field.name] = flag(field.name)
    return flags


def config_from(args, config_class, **fixed):
    """The config the options ask for: the chosen preset with every given option applied.

    Args:
        args: the parsed `argparse` namespace (its ``flags`` name the config options).
        config_class: the lab's config dataclass.
        **fixed: values the command sets itself (e.g. ``model``).

    Returns:
        The validated config.
    """
    given = {name: getattr(args, name) for name in args.flags if getattr(args, name) is not None}
    if not hasattr(config_class, "from_preset"):
        return config_class(**given, **fixed)
    preset = getattr(args, "preset", None) or config_class.preset_names()[0]
    return config_class.from_preset(preset, **given, **fixed)


def _cmd_info(args):
    from mit_dl import environment

    print(environment.report())


def _cmd_demo(args):
    from mit_dl import demo

    out = out_dir(args, "demo")
    print(f"mit_dl {mit_dl.__version__} demo: lecture layers on real Irish folk tunes")
    demo.run(out, steps=args.steps, seed=args.seed, labs=args.labs)
    print(f"run directory: {out.resolve()}")


def _cmd_labs_check(args):
    import nbformat

    from mit_dl.labs import runner

    targets = {path: _executed_path(args.save_executed, path, len(args.notebooks)) for path in args.notebooks}
    failed = 0
    for path in args.notebooks:  # every one checked before the first runs
        if not pathlib.Path(path).is_file():
            raise runner.NotebookError(f"{path} does not exist; give the path of a .ipynb notebook.")
    for path in args.notebooks:
        print(f"running {path} ({'full' if args.full else 'quick'} mode) ...", flush=True)
        report = runner.run_notebook(path, quick=not args.full, workdir=args.workdir, timeout=args.timeout)
        print(report.summary(), flush=True)
        if targets[path] is not None:
            nbformat.write(report.notebook, targets[path])
            print(f"executed notebook: {targets[path]}")
        failed += not report.passed
    return 1 if failed else 0


def _executed_path(save_executed, notebook, count):
    """Where ``--save-executed`` writes ``notebook``, checked writable before any notebook runs."""
    if not save_executed:
        return None
    out = pathlib.Path(save_executed)
    if out.is_dir() or count > 1:
        folder, out = out, out / pathlib.Path(notebook).name
    else:
        folder = out.parent
    if not folder.is_dir() or not os.access(folder, os.W_OK) or (out.exists() and not os.access(out, os.W_OK)):
        raise ConfigError(
            "save_executed",
            f"is {save_executed}, where the executed notebook cannot be written; give a file or "
            "an existing folder you can write to",
        )
    return out


def add_command(actions, command):
    """Add a lab's `mit_dl.registry.Command` to ``actions``: its config's options, ``--preset``, its own.

    Args:
        actions: the lab's `argparse` sub-parsers.
        command: the `Command`.

    Returns:
        The command's parser.
    """
    # argparse %-formats help texts (a sub-command's, an option's) but prints a description as it is.
    parser = actions.add_parser(command.name, help=_literal(command.help), description=command.help)
    flags = {}
    config_class = command.config
    if config_class is not None:
        names = command.preset_names()
        if len(names) > 1:
            helps = {**config_class.PRESET_HELP, **command.preset_help}
            described = "; ".join(f"{p}: {helps[p]}" if p in helps else p for p in names)
            parser.add_argument(
                "--preset",
                choices=names,
                default=names[0],
                help=_literal(f"the values the other options start from ({described}; default {names[0]})"),
            )
        flags = add_config_options(parser, config_class, command.exclude, command.shown_presets or names)
    parser.set_defaults(handler=command.run, flags=flags, config_class=config_class)
    if command.options is not None:
        command.options(parser)
        named = parser.get_default("flags")  # options may name flags of their own for error messages
        if named is not flags:
            parser.set_defaults(flags={**flags, **named})
    if command.out is not None:
        parser.add_argument("--out", help=_literal(command.out))
    add_quiet(parser)
    return parser


QUIET_HELP = "no progress bars or progress lines (the results and one line per epoch are still printed)"


def add_quiet(parser):
    """``--quiet``, accepted after any command as well as before it (`mit_dl.progress.set_quiet`).

    Args:
        parser: a command's parser.
    """
    parser.add_argument("--quiet", action="store_true", default=argparse.SUPPRESS, help=QUIET_HELP)


def _literal(text):
    """``text`` as argparse prints it: its per cent signs are not format codes ("95% intervals")."""
    return text.replace("%", "%%")


def add_lab(commands, lab):
    """Add ``mit-dl <lab> <action>`` for each of a lab's commands.

    Args:
        commands: the top-level `argparse` sub-parsers.
        lab: a `mit_dl.registry.Lab`.
    """
    parser = commands.add_parser(lab.name, help=_literal(f"{lab.course.lower()}: {lab.summary}"))
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    for command in lab.commands:
        add_command(actions, command)


def build_parser():
    """The `mit-dl` command's parser: one sub-command per lab action, options built from the configs.

    Returns:
        An `argparse.ArgumentParser`.
    """
    parser = argparse.ArgumentParser(
        prog="mit-dl", description="MIT 6.S191 companion: lecture layers, labs, training, export."
    )
    parser.add_argument("--version", action="version", version=f"mit_dl {mit_dl.__version__}")
    parser.add_argument("--quiet", action="store_true", help=QUIET_HELP)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    info = commands.add_parser("info", help="versions, devices and where data is looked for")
    info.set_defaults(handler=_cmd_info, flags={})

    demo = commands.add_parser("demo", help="a short end-to-end run on data available offline")
    demo.add_argument("--out", help="run directory (default: runs/demo-<time>)")
    demo.add_argument("--steps", type=int, default=500, help="training steps per model (default 500)")
    demo.add_argument("--seed", type=int, default=0, help="random seed of every model and sample (default 0)")
    demo.add_argument(
        "--labs",
        type=_lab_names,
        help="comma-separated labs whose parts run, or all (default: the parts within 4 minutes on a slow 2-core "
        f"machine; the labs: {', '.join(lab.name for lab in registry.labs() if lab.demo)})",
    )
    add_quiet(demo)
    demo.set_defaults(handler=_cmd_demo, flags={})

    for lab in registry.labs():
        add_lab(commands, lab)

    labs = commands.add_parser("labs", help="the learner notebooks in labs/ and their graders")
    lab_actions = labs.add_subparsers(dest="action", metavar="ACTION", required=True)
    check = lab_actions.add_parser(
        "check", help="run notebooks top to bottom and report every checker (exit status 1 unless all pass)"
    )
    check.add_argument("notebooks", nargs="+", metavar="NOTEBOOK.ipynb")
    check.add_argument("--full", action="store_true", help="the course's settings instead of quick mode")
    check.add_argument("--workdir", help="run the notebook here, keeping its outputs (default: a temporary folder)")
    check.add_argument("--save-executed", metavar="PATH", help="write the executed notebook (a file or a folder)")
    check.add_argument("--timeout", type=int, default=1800, help="seconds allowed per cell (default 1800)")
    check.set_defaults(handler=_cmd_labs_check, flags={"save_executed": "--save-executed"})
    tidy_options(parser)
    return parser


_PATH_OPTIONS = {"out", "model", "models", "run", "data", "export", "workdir", "save_executed", "video", "soundfont"}


def _metavar(kind, name):
    """``N``, ``X``, ``PATH`` or ``TEXT``: what an option's value is."""
    return "PATH" if name in _PATH_OPTIONS else _METAVARS.get(kind, "TEXT")


def tidy_options(parser):
    """Give every option of ``parser`` and its sub-commands one spelling: metavars and defaults.

    Options written by hand (a command's own, beside the config's) follow the generated ones: a value's
    metavar is ``N`` (whole number), ``X`` (number), ``PATH`` (a file or folder) or ``TEXT``, and the
    default is said as ``(default: ...)`` once, unless the help already says it.

    Args:
        parser: an `argparse.ArgumentParser`.
    """
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                tidy_options(sub)
            continue
        if not action.option_strings or action.help in (None, argparse.SUPPRESS) or action.nargs == 0:
            continue
        if action.metavar is None and not action.choices:
            action.metavar = _metavar(action.type, action.dest)
        action.help = re.sub(r"\(default (?!:)", "(default: ", action.help)
        shown = action.default
        if isinstance(shown, (list, tuple)):
            shown = " ".join(map(str, shown))
        if not re.search(r"\bdefault\b", action.help) and shown not in (None, argparse.SUPPRESS, False, ""):
            if not action.required:
                action.help += _literal(f" (default: {shown})")


def _lab_names(text):
    if text.strip() == "all":
        return "all"
    names = tuple(name.strip() for name in text.split(",") if name.strip())
    known = [lab.name for lab in registry.labs()]
    unknown = [name for name in names if name not in known]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"{', '.join(unknown) or 'none'} is not a lab; the labs are {', '.join(known)}"
        )
    return names


def _resume_hint(error, args):
    """How to resume an interrupted run: the same folder again (a default folder has a time stamp)."""
    folder = getattr(error, "directory", None)
    if folder is None or getattr(args, "out", None):
        return "; run the same command to resume."
    run_dir = folder.parent if folder.name == "checkpoints" else folder
    return f"; run the same command with --out {run_dir} to resume."


def error_line(error, flags):
    """An expected error as the command line shows it: parameter names as their flags.

    Args:
        error: a `mit_dl.errors.MitDLError`.
        flags: ``{field: flag}`` of the command's options.

    Returns:
        One line of text.
    """

    def shown(name):
        if name == "data_source":
            name = "data"
        return flags.get(name, flag(name) if name in _ALWAYS_FLAGS else name)

    if isinstance(error, ConfigError):
        return f"{shown(error.field)} {error.problem}."
    if isinstance(error, RunMismatch):
        return str(error.with_names(shown))
    return str(error)


# Parameters that are options of some command even where they are not config fields.
_ALWAYS_FLAGS = {"steps", "seed", "seeds", "models", "test_faces", "dataset", "data", "model", "out", "count", "label"}


def main(argv=None):
    """Run `mit-dl` with ``argv`` (default the process's arguments).

    Expected errors print one line and exit 2; an interrupted run exits 130
    after saying how to resume; bugs keep their traceback.

    Args:
        argv: the arguments after ``mit-dl``.

    Returns:
        The exit status.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    if args.quiet:
        progress.set_quiet()
    try:
        if getattr(args, "config_class", None) is not None:
            args.config = config_from(args, args.config_class)  # a bad setting fails before TensorFlow loads
        quiet_tensorflow_startup()
        code = args.handler(args)
    except TrainingInterrupted as error:
        print(f"mit-dl: {error}" + (_resume_hint(error, args) if error.saved else ""), file=sys.stderr)
        return INTERRUPTED
    except MitDLError as error:
        print(f"mit-dl: error: {error_line(error, args.flags)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("mit-dl: interrupted", file=sys.stderr)
        return INTERRUPTED
    return code or 0


if __name__ == "__main__":
    sys.exit(main())
