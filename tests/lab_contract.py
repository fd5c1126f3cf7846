"""The lab contract: what every registered lab must have, as a list of the problems found.

Like `layer_cases.py` for the lecture layers: `problems(lab)` is checked for
every lab in `tests/test_registry.py`, and a toy lab registered by a test
shows that a new lab is held to it the moment it is registered.
"""

import argparse
import ast
import contextlib
import importlib
import io
import pathlib
import re

import yaml

from mit_dl import cli, registry

ROOT = pathlib.Path(__file__).resolve().parents[1]
PACKAGE_FILES = ("config.py", "data.py", "model.py", "train.py")
# The modules of a lab's actions (`train.py`, `evaluate.py`, ...): short functions, one action each.
ACTION_MODULES = ("train", "evaluate", "compare", "generate", "inspect", "bias")
LONGEST_FUNCTION = 60


def package_folder(lab):
    """The lab's package folder: ``mit_dl/<name>/``, or the folder of a toy lab's ``train`` command."""
    folder = ROOT / "mit_dl" / lab.name
    if folder.is_dir():
        return folder
    return pathlib.Path(importlib.import_module(lab.command("train").run.__module__).__file__).parent


def nav_pages():
    """Every page mkdocs.yml's navigation lists."""
    nav = yaml.safe_load((ROOT / "mkdocs.yml").read_text())["nav"]
    pages = []

    def walk(entry):
        if isinstance(entry, str):
            pages.append(entry)
        elif isinstance(entry, dict):
            for value in entry.values():
                walk(value)
        else:
            for item in entry:
                walk(item)

    walk(nav)
    return pages


def help_problems(lab):
    """Each command's ``--help`` prints, and each of its options has a help text."""
    found = []
    parser = cli.build_parser()
    for command in lab.commands:
        if not command.help:
            found.append(f"{lab.name} {command.name} has no help")
        out = io.StringIO()
        try:
            with contextlib.redirect_stdout(out), contextlib.suppress(SystemExit):
                parser.parse_args([lab.name, command.name, "--help"])
        except Exception as error:  # a help text argparse cannot format
            found.append(f"{lab.name} {command.name} --help fails: {error!r}")
            continue
        if f"usage: mit-dl {lab.name} {command.name}" not in out.getvalue():
            found.append(f"{lab.name} {command.name} --help printed no usage")
        sub = _subparser(parser, lab.name, command.name)
        for action in sub._actions:
            name = f"{lab.name} {command.name} {'/'.join(action.option_strings)}"
            if not isinstance(action, argparse._HelpAction) and not action.help:
                found.append(f"{name} has no help")
                continue
            found += _option_spelling(name, action)
    return found


METAVARS = {"N", "X", "PATH", "TEXT"}


def _option_spelling(name, action):
    """One spelling across the CLI: metavars from `METAVARS`, the default said once as ``(default: ...)``."""
    if not action.option_strings or action.nargs == 0 or action.help == argparse.SUPPRESS:
        return []
    found = []
    if not action.choices and action.metavar not in METAVARS:
        found.append(f"{name}: metavar {action.metavar!r}, not one of {sorted(METAVARS)}")
    help_text = action.help.replace("%%", "%")
    if re.search(r"\(default [^:]", help_text) or len(re.findall(r"\bdefault\b", help_text)) > 1:
        found.append(f"{name}: says its default twice or not as '(default: ...)': {help_text!r}")
    has_default = action.default not in (None, False, "", argparse.SUPPRESS)
    if has_default and not action.required and "default" not in help_text:
        found.append(f"{name}: has the default {action.default!r} but its help does not say it")
    return found


def long_functions(lab, folder):
    """Functions of the lab's action modules longer than `LONGEST_FUNCTION` lines."""
    found = []
    for name in ACTION_MODULES:
        path = folder / f"{name}.py"
        if not path.is_file():
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            length = getattr(node, "end_lineno", 0) - getattr(node, "lineno", 0) + 1
            if isinstance(node, ast.FunctionDef) and length > LONGEST_FUNCTION:
                found.append(
                    f"{lab.name}: {name}.{node.name} has {length} lines; split it (at most {LONGEST_FUNCTION})"
                )
    return found


def _subparser(parser, *names):
    for name in names:
        action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        parser = action.choices[name]
    return parser


def problems(lab):
    """Everything the lab lacks of the contract, one sentence each (empty when it keeps it).

    Args:
        lab: a `mit_dl.registry.Lab`.

    Returns:
        A list of strings.
    """
    found = []
    folder = package_folder(lab)
    found += [f"{lab.name}: no {name} in {folder}" for name in PACKAGE_FILES if not (folder / name).is_file()]
    if (folder / "workflow.py").is_file():
        found.append(f"{lab.name}: a catch-all workflow.py; split it into train.py, evaluate.py, compare.py")
    found += long_functions(lab, folder)
    if not lab.commands or lab.commands[0].name != "train":
        found.append(f"{lab.name}: its first command must be train")
    if not lab.configs or (lab.commands and lab.commands[0].config not in lab.configs):
        found.append(f"{lab.name}: train's config is not among the lab's configs")
    found += help_problems(lab)
    page = ROOT / "docs" / "labs" / f"{lab.name}.md"
    if not page.is_file():
        found.append(f"{lab.name}: no docs page docs/labs/{lab.name}.md")
    elif not re.search(r"^\|[-| :]+\|$", page.read_text(), re.M):
        found.append(f"{lab.name}: docs/labs/{lab.name}.md has no results table")
    reference = ROOT / "docs" / "reference" / f"{lab.name}.md"
    if not reference.is_file():
        found.append(f"{lab.name}: no reference page docs/reference/{lab.name}.md")
    pages = nav_pages()
    for wanted in (f"labs/{lab.name}.md", f"reference/{lab.name}.md"):
        if wanted not in pages:
            found.append(f"{lab.name}: mkdocs.yml's navigation lacks {wanted}")
    if not lab.notebooks:
        found.append(f"{lab.name}: no notebooks")
    for source in lab.notebooks:
        for suffix in (".py", "_exercise.ipynb", "_solution.ipynb"):
            if not (ROOT / "labs" / f"{source}{suffix}").is_file():
                found.append(f"{lab.name}: no labs/{source}{suffix}")
        rendered = f"notebooks/{source.replace('/', '_')}.ipynb"
        if rendered not in pages:
            found.append(f"{lab.name}: mkdocs.yml's navigation lacks {rendered}")
    if not lab.graders:
        found.append(f"{lab.name}: no graders")
    for graders in lab.graders:
        try:
            module = importlib.import_module(f"mit_dl.labs.{graders}")
        except ImportError:
            found.append(f"{lab.name}: no graders module mit_dl.labs.{graders}")
            continue
        if not [name for name in dir(module) if name.startswith("check_")]:
            found.append(f"{lab.name}: mit_dl.labs.{graders} has no check_ functions")
    for name, reference in (("demo part", lab.demo and lab.demo.run), ("docs-asset builder", lab.assets)):
        if reference is None:
            found.append(f"{lab.name}: no {name}")
        elif not callable(registry.resolve(reference)):
            found.append(f"{lab.name}: its {name} {reference} is not a function")
    if lab.demo is not None and not (lab.demo.seconds > 0 and lab.demo.describe):
        found.append(f"{lab.name}: its demo part states no time or description")
    if lab.benchmark is None or not (ROOT / "benchmarks" / f"{lab.benchmark}.py").is_file():
        found.append(f"{lab.name}: no benchmark benchmarks/{lab.benchmark}.py")
    if not lab.exports:
        found.append(f"{lab.name}: no export kinds")
    source = "\n".join(path.read_text() for path in folder.glob("*.py") if path.name != "lab.py")
    found += [f"{lab.name}: no export of kind {kind!r} in its package" for kind in lab.exports if kind not in source]
    if lab.rebuild is not None and not callable(registry.resolve(lab.rebuild)):
        found.append(f"{lab.name}: its rebuild {lab.rebuild} is not a function")
    return found
