"""The learner notebooks: built from their sources, solutions run clean in quick mode, exercises fail clearly."""

import ast
import json
import pathlib
import re
import sys

import nbformat
import pytest
from support import run_mit_dl, shared_data

from mit_dl import registry
from mit_dl.labs import notebooks, runner

LABS = pathlib.Path(__file__).resolve().parents[2] / "labs"
# The notebooks the registered labs declare, in the registry's order.
SOURCES = [LABS / f"{source}.py" for lab in registry.labs() for source in lab.notebooks]
IDS = [f"{s.parent.name}/{s.stem}" for s in SOURCES]
# Tests run every solution notebook in quick mode; learners get the same with `mit-dl labs check`.
NOTEBOOK_TIMEOUT = 900


def test_the_notebooks_are_those_the_labs_declare():
    assert sorted(SOURCES) == notebooks.sources(LABS)


@pytest.mark.parametrize("source", SOURCES, ids=IDS)
def test_notebooks_are_up_to_date_with_their_source(source):
    for kind in notebooks.KINDS:
        path = notebooks.notebook_path(source, kind)
        assert path.read_text() == notebooks.render(notebooks.build(source, kind)), (
            f"{path.name} is stale: run python -m mit_dl.labs.notebooks labs"
        )


@pytest.mark.parametrize("source", SOURCES, ids=IDS)
def test_exercises_have_a_clear_todo_for_every_solution(source):
    todos = len(re.findall(r"# TODO: .+\n\s*### BEGIN SOLUTION", source.read_text()))
    assert todos >= 3
    exercise = nbformat.read(notebooks.notebook_path(source, "exercise"), as_version=4)
    solution = nbformat.read(notebooks.notebook_path(source, "solution"), as_version=4)
    for notebook in (exercise, solution):
        nbformat.validate(notebook)
        code = "\n".join(c.source for c in notebook.cells if c.cell_type == "code")
        ast.parse(code)  # every cell is valid Python
        # Runs anywhere: no shell escapes, no Colab imports, no GPU requirement.
        assert not re.search(r"^\s*!|google\.colab|assert .*GPU|%tensorflow_version", code, re.MULTILINE)
        assert len(runner.expected_checks(notebook)) >= 3
    exercise_code = "\n".join(c.source for c in exercise.cells)
    assert len(re.findall(r"raise NotImplementedError\(['\"]Not implemented yet: ", exercise_code)) == todos
    assert "### BEGIN SOLUTION" not in exercise_code
    assert "NotImplementedError" not in "\n".join(c.source for c in solution.cells if c.cell_type == "code")


def test_render_code_turns_solutions_into_todos():
    code = "def f(x):\n    # TODO: double x\n    ### BEGIN SOLUTION\n    y = 2 * x\n    ### END SOLUTION\n    return y"
    assert notebooks.render_code(code, "solution") == "def f(x):\n    # double x\n    y = 2 * x\n    return y"
    exercise = notebooks.render_code(code, "exercise")
    assert "y = 2 * x" not in exercise
    namespace = {}
    exec(exercise, namespace)
    with pytest.raises(NotImplementedError, match="Not implemented yet: double x. Replace this line"):
        namespace["f"](1)
    with pytest.raises(notebooks.SourceError, match="no '### END SOLUTION'"):
        notebooks.render_code("# TODO: a\n### BEGIN SOLUTION\nx = 1", "exercise")
    with pytest.raises(notebooks.SourceError, match="must follow"):
        notebooks.render_code("### BEGIN SOLUTION\nx = 1\n### END SOLUTION", "exercise")


def data_environment(monkeypatch, source):
    """The real MNIST and Fashion-MNIST files for the notebooks that read them (the kernel inherits the variable)."""
    monkeypatch.setenv("MIT_DL_DATA", str(shared_data("mnist").parent))


@pytest.mark.parametrize("source", SOURCES, ids=IDS)
def test_solution_notebook_runs_top_to_bottom_and_passes_every_check(source, tmp_path, monkeypatch):
    data_environment(monkeypatch, source)
    report = runner.run_notebook(
        notebooks.notebook_path(source, "solution"), quick=True, workdir=tmp_path, timeout=NOTEBOOK_TIMEOUT
    )
    assert report.errors == [], report.summary()
    assert len(report.results) >= 3 and all(r.passed for r in report.results), report.summary()
    assert report.passed
    first_code = next(cell for cell in report.notebook.cells if cell.cell_type == "code")
    # TensorFlow's C++ start-up lines ("Could not find cuda drivers", ...) stay out of the learner's view.
    assert [o for o in first_code.outputs if o.get("name") == "stderr"] == [], first_code.outputs


def names_defined(cell_source):
    """Names a cell binds at top level (assignments, defs, classes, imports, loop targets)."""
    names = set()
    for node in ast.walk(ast.parse(cell_source)):
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
    return names


@pytest.mark.parametrize("source", SOURCES, ids=IDS)
def test_exercise_notebook_reports_todos_as_not_implemented(source, tmp_path, monkeypatch):
    data_environment(monkeypatch, source)
    report = runner.run_notebook(
        notebooks.notebook_path(source, "exercise"), quick=True, workdir=tmp_path, timeout=NOTEBOOK_TIMEOUT
    )
    assert not report.passed
    for result in report.results:
        assert not result.passed and "is not implemented yet" in result.message, result
    # Every error is an exercise's own "Not implemented yet", or a later cell missing a name that a cell
    # which stopped at a TODO would have defined: never a cryptic error from inside the libraries.
    cells = report.notebook.cells
    missing = set()
    for error in report.errors:
        if error.name == "NotImplementedError":
            assert error.value.startswith("Not implemented yet: "), error
        else:
            assert error.name == "NameError", error
            name = re.search(r"name '(\w+)' is not defined", error.value).group(1)
            assert name in missing, f"{error}: not downstream of a TODO"
        missing |= names_defined(cells[error.cell - 1].source)
    assert any(e.name == "NotImplementedError" for e in report.errors)


def test_labs_check_command_reports_each_exercise(tmp_path):
    exercise = nbformat.read(LABS / "music" / "part1_intro_exercise.ipynb", as_version=4)
    for cell in exercise.cells:  # a learner who solved one exercise
        if "def func(a, b):" in cell.source:
            cell.source = re.sub(r"raise NotImplementedError\(.*\)", "e = (a + b) * (b - 1)", cell.source)
    learner = tmp_path / "my_part1_intro.ipynb"
    nbformat.write(exercise, learner)
    result = run_mit_dl(
        "labs", "check", str(learner), "--save-executed", str(tmp_path / "executed.ipynb"), timeout=NOTEBOOK_TIMEOUT
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "1/7 checks passed" in result.stdout
    assert "[PASSED] check_computation_graph" in result.stdout
    assert re.search(
        r"\[NOT YET\] check_dense_layer: OurDenseLayer\(3\)\.build\(.*\) is not implemented yet "
        r"\(create self\.W",
        result.stdout,
    ), result.stdout
    assert (tmp_path / "executed.ipynb").exists()
    assert "absl" not in result.stderr and "Kernel is running" not in result.stderr  # no start-up chatter


def test_labs_check_command_rejects_a_missing_notebook(tmp_path):
    result = run_mit_dl("labs", "check", str(tmp_path / "nothing.ipynb"))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"mit-dl: error: {tmp_path / 'nothing.ipynb'} does not exist; give the path of a .ipynb notebook."
    ]


def _tiny_notebook(folder, *sources):
    path = folder / "tiny.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources]), path)
    return path


def test_the_kernel_is_this_interpreter_even_when_jupyters_python3_is_another(tmp_path, monkeypatch):
    # A `python3` kernelspec from another environment, found first on Jupyter's path, cannot start.
    foreign = tmp_path / "jupyter" / "kernels" / "python3"
    foreign.mkdir(parents=True)
    (foreign / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [sys.executable, "-c", "raise SystemExit('not the environment that has mit_dl')"],
                "display_name": "foreign",
                "language": "python",
            }
        )
    )
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    path = _tiny_notebook(tmp_path, "import sys, mit_dl\nprint(sys.executable)")
    report = runner.run_notebook(path, workdir=tmp_path / "run", timeout=120)
    assert report.errors == []
    assert report.notebook.cells[0].outputs[0]["text"].strip() == sys.executable


def test_a_dying_kernel_is_reported_as_the_error_of_its_cell(tmp_path):
    path = _tiny_notebook(
        tmp_path,
        "print('first')",
        "import os\nos.write(2, b'native library: out of device memory\\n')\nos._exit(1)",
        "from mit_dl.labs import music as checks\nchecks.check_tensors(None)",
    )
    report = runner.run_notebook(path, workdir=tmp_path / "run", timeout=120)
    assert not report.passed
    assert [(e.cell, e.name) for e in report.errors] == [(2, "DeadKernelError")]
    assert "the kernel died while running this cell" in report.errors[0].value
    # What the dying cell wrote to stderr, not the kernel's start-up chatter before it.
    assert report.errors[0].value.endswith("; the kernel's last stderr lines: native library: out of device memory")
    assert [(r.check, r.passed) for r in report.results] == [("check_tensors", False)]
    assert "not run: cell 2 raised DeadKernelError" in report.results[0].message
    assert report.notebook.cells[0].outputs[0]["text"] == "first\n"
    assert report.notebook.cells[2].get("execution_count") is None


def test_labs_check_refuses_an_unwritable_save_path_and_a_missing_notebook_before_running_any(tmp_path):
    from support import mit_dl_in_process

    notebook = next(iter(sorted(LABS.rglob("*.ipynb"))))
    refused = mit_dl_in_process("labs", "check", str(notebook), "--save-executed", str(tmp_path / "no" / "x.ipynb"))
    assert refused.returncode == 2 and refused.stderr.startswith("mit-dl: error: --save-executed is ")
    assert "running" not in refused.stdout  # refused before the notebook ran
    missing = mit_dl_in_process("labs", "check", str(notebook), str(tmp_path / "missing.ipynb"))
    assert (
        missing.returncode == 2 and "missing.ipynb does not exist" in missing.stderr and "running" not in missing.stdout
    )
