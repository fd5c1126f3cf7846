"""Run a lab notebook and collect every checker's result (``mit-dl labs check NOTEBOOK.ipynb``).

The notebook runs top to bottom in a fresh Jupyter kernel (nbclient) in
quick mode, continuing after errors so that every checker gets its chance.
The kernel runs this interpreter (the one that has ``mit_dl``), whatever
kernelspec named ``python3`` the machine has; a kernel that dies (a crash in
native code, running out of memory) is reported as the error of its cell.
Checkers append their results to a report file the kernel finds in
``$MIT_DL_LABS_REPORT``; a checker the notebook calls but that never
reported is "not run", with the error of the cell that stopped it.
"""

import dataclasses
import json
import os
import pathlib
import re
import sys
import tempfile
import time

import nbformat

from mit_dl.errors import MitDLError
from mit_dl.labs.grading import NOT_IMPLEMENTED, QUICK_VARIABLE, REPORT_VARIABLE, CheckResult, todo_hint

GRADER_IMPORT = re.compile(r"^from mit_dl\.labs import ([\w ,]+)$", re.MULTILINE)  # the notebook's grader modules


def _check_call(notebook):
    """The pattern of a ``<grader module>.check_...(`` call, for the names the notebook imports from mit_dl.labs."""
    code = "\n".join(c.source for c in notebook.cells if c.cell_type == "code")
    names = {"checks"}
    for imported in GRADER_IMPORT.findall(code):
        names |= {item.split(" as ")[-1].strip() for item in imported.split(",") if item.strip()}
    return re.compile(rf"\b(?:{'|'.join(sorted(names))})\.(check_\w+)\s*\(")


class NotebookError(MitDLError, ValueError):
    """The file is not a notebook that can be run."""


@dataclasses.dataclass
class CellError:
    """A cell that raised while the notebook ran: its 1-based position, the exception's name and message."""

    cell: int  # 1-based position among all cells
    name: str
    value: str

    def __str__(self):
        return f"cell {self.cell} raised {self.name}: {self.value}"


@dataclasses.dataclass
class NotebookReport:
    """What running a notebook gave: each expected checker's result, the cells that raised, the time, the notebook."""

    path: str
    results: list  # CheckResult per expected check, in notebook order ("not run" ones failed)
    errors: list  # CellError of every cell that raised
    seconds: float
    notebook: object = None  # the executed nbformat notebook

    @property
    def passed(self):
        """Whether every expected checker passed and no cell raised."""
        return bool(self.results) and all(r.passed for r in self.results) and not self.errors

    def summary(self):
        """The report as the lines `mit-dl labs check` prints.

        Returns:
            The text.
        """
        passed = sum(r.passed for r in self.results)
        lines = [
            f"{self.path}: {passed}/{len(self.results)} checks passed, {len(self.errors)} cell errors "
            f"({self.seconds:.0f} s)"
        ]
        lines += [f"  {r}" for r in self.results]
        lines += [f"  error: {e}" for e in self.errors]
        return "\n".join(lines)


def read_notebook(path):
    """Read a notebook file.

    Args:
        path: the ``.ipynb`` file.

    Returns:
        The ``nbformat`` notebook.

    Raises:
        NotebookError: the file is missing or not a readable notebook.
    """
    path = pathlib.Path(path)
    if not path.is_file():
        raise NotebookError(f"{path} does not exist; give the path of a .ipynb notebook.")
    try:
        return nbformat.read(path, as_version=4)
    except Exception as error:  # nbformat raises several unrelated types for unreadable files
        raise NotebookError(f"{path} is not a readable Jupyter notebook ({error}); give a .ipynb file.") from None


def expected_checks(notebook):
    """Checker names the notebook's code calls, in order, each once.

    Args:
        notebook: an ``nbformat`` notebook.

    Returns:
        The names.
    """
    names, pattern = [], _check_call(notebook)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            names += [n for n in pattern.findall(cell.source) if n not in names]
    return names


def cell_errors(notebook):
    """Every cell of an executed notebook whose outputs hold an error.

    Args:
        notebook: an executed ``nbformat`` notebook.

    Returns:
        A list of `CellError`.
    """
    errors = []
    for index, cell in enumerate(notebook.cells, start=1):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                errors.append(CellError(index, output["ename"], _message(output["evalue"])))
    return errors


def run_notebook(path, quick=True, workdir=None, timeout=1800):
    """Execute a notebook in a fresh kernel of this Python and collect every checker's result.

    Args:
        path: the ``.ipynb`` file.
        quick: run in quick mode (sets ``$MIT_DL_LABS_QUICK``).
        workdir: where the notebook runs (its outputs go there); default a
            temporary folder removed afterwards.
        timeout: seconds allowed per cell.

    Returns:
        A `NotebookReport`.
    """
    from nbclient import NotebookClient
    from nbclient.exceptions import DeadKernelError

    notebook = read_notebook(path)
    start = time.monotonic()
    died = None
    sent = []  # (1-based position, size of the kernel's stderr file then) of each cell sent, in order
    with tempfile.TemporaryDirectory(prefix="mit_dl_labs_") as scratch:
        report_file = pathlib.Path(scratch) / "checks.jsonl"
        report_file.touch()
        kernel_stderr = pathlib.Path(scratch) / "kernel_stderr.txt"
        cwd = pathlib.Path(workdir) if workdir else pathlib.Path(scratch) / "run"
        cwd.mkdir(parents=True, exist_ok=True)
        saved = {k: os.environ.get(k) for k in (REPORT_VARIABLE, QUICK_VARIABLE)}
        os.environ[REPORT_VARIABLE] = str(report_file)  # the kernel inherits this process's environment
        os.environ[QUICK_VARIABLE] = "1" if quick else "0"
        try:
            # on_cell_execute runs just before a cell is sent: the execution count arrives later on
            # another channel and is lost when the kernel dies at once, so it cannot say which cell died.
            client = NotebookClient(
                notebook,
                km=_this_interpreter_kernel(scratch),
                timeout=timeout,
                allow_errors=True,
                resources={"metadata": {"path": str(cwd)}},
                on_cell_execute=lambda cell, cell_index: sent.append((cell_index + 1, kernel_stderr.stat().st_size)),
            )
            # The kernel process's own stderr is start-up chatter (TensorFlow's C++ lines, Jupyter's
            # transport warning) while cells run (their errors and warnings reach the notebook's
            # outputs), but it holds the last words of a kernel that crashes: kept in a file for that.
            # cleanup_kc: shut the kernel down afterwards although the manager is ours, not nbclient's.
            with open(kernel_stderr, "wb") as stderr:
                client.execute(cleanup_kc=True, stderr=stderr)
        except DeadKernelError:
            died, written_before = sent[-1] if sent else (1, 0)
            last_words = _last_lines(kernel_stderr, written_before)
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
        reported = {}
        for line in report_file.read_text().splitlines():
            entry = json.loads(line)
            reported[entry["check"]] = CheckResult(**entry)  # the last call of a checker counts
    errors = cell_errors(notebook)
    if died is not None:
        errors.append(
            CellError(
                died,
                "DeadKernelError",
                "the kernel died while running this cell (a crash in "
                "native code or running out of memory); the cells after it did not run"
                + (f"; the kernel's last stderr lines: {last_words}" if last_words else ""),
            )
        )
    results = [
        reported[name] if name in reported else _not_run(name, notebook, errors) for name in expected_checks(notebook)
    ]
    return NotebookReport(str(path), results, errors, time.monotonic() - start, notebook)


def _last_lines(path, start, count=3):
    """The last ``count`` non-empty lines written to a file after byte ``start``, joined with " | "."""
    with open(path, "rb") as file:
        file.seek(start)
        text = file.read().decode(errors="replace")
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return " | ".join(lines[-count:])


def _this_interpreter_kernel(folder):
    """A kernel manager whose ``python3`` kernel is ``sys.executable`` (a spec written in ``folder``).

    Jupyter's own ``python3`` kernelspec may belong to another environment
    (a conda base, ``ipython kernel install --user`` from elsewhere), where
    ``import mit_dl`` fails.
    """
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import AsyncKernelManager

    spec = pathlib.Path(folder) / "kernels" / "python3"  # named python3 so nbclient keeps IPython history in memory
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": f"Python {sys.version.split()[0]} (mit_dl)",
                "language": "python",
            }
        )
    )
    return AsyncKernelManager(
        kernel_name="python3", kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(spec.parent)])
    )


def _not_run(name, notebook, errors):
    """A failed result for a checker that never reported, naming the error of the cell that calls it
    (or the kernel's death, after which no cell ran)."""
    pattern = _check_call(notebook)
    calling = next(
        (
            i
            for i, c in enumerate(notebook.cells, start=1)
            if c.cell_type == "code" and name in pattern.findall(c.source)
        ),
        None,
    )
    cause = next((e for e in errors if e.cell == calling or e.name == "DeadKernelError"), None)
    return CheckResult(name, False, f"not run: {cause}" if cause else "not run")


def _message(text):
    """The useful line of an error value: an exercise's "Not implemented yet: <hint>" if any, else the first line."""
    hint = todo_hint(text)
    if hint is not None:
        return f"{NOT_IMPLEMENTED}: {hint}."
    lines = re.sub(r"\x1b\[[0-9;]*m", "", text or "").strip().splitlines()  # IPython colours error values
    return lines[0] if lines else ""
