"""Build each lab's exercise and solution notebooks from one source file.

A source (``labs/music/part1_intro.py``) is Python in the percent format:
``# %% [markdown]`` starts a text cell (its lines without the leading
``# ``), ``# %%`` a code cell. In code, an exercise is marked as

    # TODO: compute z = x W + b, then apply the activation
    ### BEGIN SOLUTION
    z = ...
    ### END SOLUTION

The solution notebook keeps the code (the comment without ``TODO:``); the
exercise notebook replaces it with ``raise NotImplementedError("Not
implemented yet: ...")``, so a learner who runs it gets that sentence, not
a cryptic error. Rebuild after editing a source:

    python -m mit_dl.labs.notebooks labs          # writes *_exercise.ipynb and *_solution.ipynb
    python -m mit_dl.labs.notebooks labs --check  # fails if a notebook is out of date
"""

import argparse
import pathlib
import re
import sys

import nbformat

from mit_dl.labs.grading import NOT_IMPLEMENTED

TODO = re.compile(r"^(?P<indent>\s*)# TODO: (?P<hint>.+)$")
BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
KINDS = ("exercise", "solution")


class SourceError(ValueError):
    """A lab source file is malformed."""


def parse(text, name="source"):
    """The cells of a percent-format source (``# %%`` / ``# %% [markdown]``).

    Args:
        text: the source file's text.
        name: the file's name in error messages.

    Returns:
        ``[(kind, text)]``, kind ``"markdown"`` or ``"code"``.
    """
    cells, kind, lines = [], None, []

    def flush():
        if kind is not None:
            body = "\n".join(lines).strip("\n")
            if body:
                cells.append((kind, body))

    for line in text.splitlines():
        if line.startswith("# %%"):
            flush()
            kind, lines = ("markdown" if "[markdown]" in line else "code"), []
        elif kind == "markdown":
            lines.append(line[2:] if line.startswith("# ") else line.lstrip("#"))
        elif kind is not None:
            lines.append(line)
    flush()
    if not cells:
        raise SourceError(f"{name} has no cells; start each cell with '# %%' or '# %% [markdown]'.")
    return cells


def render_code(code, kind, name="source"):
    """The code cell as the ``"exercise"`` or the ``"solution"`` notebook shows it.

    Args:
        code: the source cell, with ``# TODO`` / ``### BEGIN SOLUTION`` / ``### END SOLUTION`` marks.
        kind: ``"exercise"`` (the solution becomes ``raise NotImplementedError(...)``) or ``"solution"``.
        name: the file's name in error messages.

    Returns:
        The cell's code.

    Raises:
        SourceError: a solution block is not closed.
    """
    out, lines, i = [], code.splitlines(), 0
    while i < len(lines):
        todo = TODO.match(lines[i])
        if todo and i + 1 < len(lines) and lines[i + 1].strip() == BEGIN:
            try:
                end = next(j for j in range(i + 2, len(lines)) if lines[j].strip() == END)
            except StopIteration:
                raise SourceError(f"{name}: '{BEGIN}' after '{lines[i].strip()}' has no '{END}'.") from None
            indent, hint = todo["indent"], todo["hint"].strip()
            if kind == "exercise":
                message = f"{NOT_IMPLEMENTED}: {hint.rstrip('.')}. Replace this line with your code."
                out += [lines[i], f"{indent}raise NotImplementedError({message!r})"]
            else:
                out += [f"{indent}# {hint}"] + lines[i + 2 : end]
            i = end + 1
            continue
        if lines[i].strip() in (BEGIN, END):
            raise SourceError(f"{name}: '{lines[i].strip()}' must follow a '# TODO: ...' line.")
        out.append(lines[i])
        i += 1
    return "\n".join(out)


KERNELSPEC = {"display_name": "Python (mit_dl)", "language": "python", "name": "mit_dl"}


def build(source_path, kind):
    """The ``nbformat`` notebook of ``kind`` (``"exercise"`` or ``"solution"``) from a source file."""
    source_path = pathlib.Path(source_path)
    notebook = nbformat.v4.new_notebook()
    notebook.metadata = {
        # The kernel `python -m ipykernel install --user --name mit_dl` registers for the project's venv.
        "kernelspec": KERNELSPEC,
        "language_info": {"name": "python"},
        "mit_dl": {"source": source_path.name, "kind": kind},
    }
    for index, (cell_kind, text) in enumerate(parse(source_path.read_text(), source_path.name)):
        if cell_kind == "markdown":
            cell = nbformat.v4.new_markdown_cell(text)
        else:
            cell = nbformat.v4.new_code_cell(render_code(text, kind, source_path.name))
        cell.id = f"cell-{index:03d}"  # stable ids: rebuilding an unchanged source changes nothing
        notebook.cells.append(cell)
    nbformat.validate(notebook)
    return notebook


def notebook_path(source_path, kind):
    """Where the notebook of ``kind`` built from a source goes.

    Args:
        source_path: ``labs/<lab>/<part>.py``.
        kind: ``"exercise"`` or ``"solution"``.

    Returns:
        ``labs/<lab>/<part>_<kind>.ipynb``.
    """
    source_path = pathlib.Path(source_path)
    return source_path.with_name(f"{source_path.stem}_{kind}.ipynb")


def sources(root):
    """Every notebook source under ``root`` (``labs/<lab>/*.py``, one folder per lab package).

    Args:
        root: the ``labs`` folder.

    Returns:
        The sorted paths.
    """
    return sorted(pathlib.Path(root).glob("*/*.py"))


def render(notebook):
    """A notebook as the text written to its file.

    Args:
        notebook: an ``nbformat`` notebook.

    Returns:
        The JSON text.
    """
    return nbformat.writes(notebook) + "\n"


def main(argv=None):
    """Build (or, with ``--check``, only report stale) notebooks: ``python -m mit_dl.labs.notebooks labs``.

    Args:
        argv: command-line arguments.

    Returns:
        The exit status: 1 when ``--check`` finds stale notebooks.
    """
    parser = argparse.ArgumentParser(description="Build the lab notebooks from their sources.")
    parser.add_argument("root", nargs="?", default="labs")
    parser.add_argument("--check", action="store_true", help="only report notebooks that are out of date")
    args = parser.parse_args(argv)
    stale = []
    for source in sources(args.root):
        for kind in KINDS:
            path, text = notebook_path(source, kind), render(build(source, kind))
            if path.exists() and path.read_text() == text:
                continue
            stale.append(path)
            if not args.check:
                path.write_text(text)
                print(f"wrote {path}")
    if args.check and stale:
        print("out of date (run python -m mit_dl.labs.notebooks): " + ", ".join(map(str, stale)))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
