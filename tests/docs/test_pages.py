"""The README and the documentation's sources: short, true to the pages, complete, current."""

import json
import pathlib
import re

import nbformat

from mit_dl import registry

ROOT = pathlib.Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
README = (ROOT / "README.md").read_text()
SET_UP = (
    "python3 -m venv .venv && .venv/bin/pip install -e . && .venv/bin/mit-dl demo",
    'python3 -m venv .venv && .venv/bin/pip install -e ".[test]" && .venv/bin/python -m pytest -q -n 2 --dist loadfile',
)


def test_the_readme_fits_on_two_screens_with_the_two_set_up_commands_first():
    assert len(README.splitlines()) <= 150
    commands = re.findall(r"```bash\n(.*?)\n```", README, re.S)
    assert tuple(commands[:2]) == SET_UP, commands[:2]
    ci = (ROOT / ".ci" / "run").read_text().strip().splitlines()
    assert ci[-1] == SET_UP[1], "the last line of .ci/run must be the README's test command"


def test_every_headline_figure_of_the_readme_is_on_the_page_it_links_to():
    rows = [line for line in README.splitlines() if line.startswith("| ") and "](docs/" in line]
    measured = 0
    for row in rows:
        page = re.search(r"\]\((docs/[^)]+)\)", row)[1]
        text = (ROOT / page).read_text()
        headline = row.rsplit("|", 2)[-2]
        figures = re.findall(r"\+?\d+(?:\.\d+)?(?:%|x)?", headline)
        measured += any(re.search(r"[.%x]", figure) for figure in figures)
        missing = [figure for figure in figures if figure not in text]
        assert not missing, f"{page} does not state {missing} (README row: {row})"
    assert measured >= 6, "the README's table should give a measured figure for most rows"


def public_modules():
    """Every module of the package that is not private, as a dotted name."""
    names = []
    for path in sorted((ROOT / "mit_dl").rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        if any(part.startswith("_") and part != "__init__" for part in parts):
            continue
        names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def test_the_api_reference_covers_every_public_module():
    referenced = set()
    for page in (DOCS / "reference").glob("*.md"):
        referenced |= set(re.findall(r"^::: ([\w.]+)$", page.read_text(), re.M))
    missing = sorted(set(public_modules()) - referenced)
    assert not missing, f"modules missing from docs/reference/: {missing}"
    assert not referenced - set(public_modules()), "the reference names modules that do not exist"


def test_the_rendered_notebooks_are_the_current_solutions_executed():
    solutions = [ROOT / "labs" / f"{source}_solution.ipynb" for lab in registry.labs() for source in lab.notebooks]
    assert len(solutions) == len(list((ROOT / "labs").glob("*/*_solution.ipynb"))) == 11
    for solution in solutions:
        name = f"{solution.parent.name}_{solution.stem.removesuffix('_solution')}.ipynb"
        rendered = nbformat.read(DOCS / "notebooks" / name, as_version=4)
        source = nbformat.read(solution, as_version=4)
        code = [cell.source for cell in source.cells if cell.cell_type == "code"]
        shown = [cell for cell in rendered.cells if cell.cell_type == "code"]
        assert [cell.source for cell in shown] == code, (
            f"docs/notebooks/{name} is not the current {solution.name}: "
            "run python -m docs.build_assets --only notebooks"
        )
        assert all(cell.execution_count for cell in shown), f"{name} has cells that were not executed"
        errors = [o for cell in shown for o in cell.outputs if o.output_type == "error"]
        assert not errors, f"{name} shows errors: {errors[:1]}"


def test_the_assets_are_listed_with_what_made_them_and_stay_small():
    manifest = json.loads((DOCS / "assets" / "manifest.json").read_text())
    assert set(manifest) == {lab.name for lab in registry.labs() if lab.assets} | {"notebooks"}
    for part, entry in manifest.items():
        assert entry["command"] and entry["date"] and entry["machine"] and entry["commit"], part
        for name in entry.get("files", []):
            assert (DOCS / "assets" / name).stat().st_size > 0, name
    committed = [*(DOCS / "assets").rglob("*"), *(DOCS / "notebooks").glob("*.ipynb")]
    total = sum(path.stat().st_size for path in committed if path.is_file())
    assert total < 5_500_000, f"the site's assets weigh {total / 1e6:.1f} MB"


def test_every_image_and_audio_file_a_page_names_exists():
    for page in DOCS.rglob("*.md"):
        text = page.read_text()
        for target in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text):
            assert (page.parent / target).resolve().is_file(), f"{page.relative_to(ROOT)}: {target}"
        for target in re.findall(r'<audio[^>]* src="([^"]+)"', text):
            # Raw HTML is not rewritten: the page is served as <page>/index.html, one folder deeper.
            assert (page.parent / target.removeprefix("../")).resolve().is_file(), f"{page.relative_to(ROOT)}: {target}"


def _pages_and_readmes():
    return [ROOT / "README.md", ROOT / "labs" / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def test_every_stated_train_time_is_the_registrys():
    """``--help``, README and docs state a preset's time from `Lab.train_minutes`, on both machine kinds."""
    import contextlib
    import io

    from mit_dl import cli

    timed = [lab for lab in registry.labs() if lab.train_minutes]
    assert timed, "no lab states its train times in the registry"
    for lab in timed:
        shown = io.StringIO()
        with contextlib.redirect_stdout(shown), contextlib.suppress(SystemExit):
            cli.build_parser().parse_args([lab.name, "train", "--help"])
        help_text = " ".join(shown.getvalue().split())
        for what in lab.train_minutes:
            assert lab.stated_minutes(what) in help_text, (lab.name, what)
        for page in _pages_and_readmes():
            for line in page.read_text(encoding="utf-8").splitlines():
                found = re.search(rf"mit-dl {lab.name} train --preset (\S+)(.*?)#\s*(.*minutes.*)", line)
                if not found:
                    continue
                flags = " ".join(re.findall(r"--model \S+", found.group(2)))
                what = f"{found.group(1)} {flags}".strip()
                assert what in lab.train_minutes, f"{page.name}: a time for {what!r}, which the registry has not"
                assert lab.stated_minutes(what) in found.group(3), f"{page.name}: {line.strip()}"


def test_every_export_kind_is_in_the_export_table_once():
    kinds = [kind for lab in registry.labs() for kind in lab.exports]
    table = (ROOT / "docs" / "export.md").read_text(encoding="utf-8")
    rows = [
        line.split(" | ")[1]
        for line in table.splitlines()
        if line.startswith("| ") and "`RUN/" in line or "`--export" in line
    ]
    assert sorted(rows) == sorted(kinds)


def test_the_notebook_tables_state_the_measured_times():
    """labs/README.md and the docs' notebook page give each notebook the time docs/assets/manifest.json holds."""
    measured = json.loads((ROOT / "docs" / "assets" / "manifest.json").read_text())["notebooks"]
    for page, marker in (
        (ROOT / "labs" / "README.md", "{exercise,solution}"),
        (ROOT / "docs" / "notebooks" / "index.md", ".ipynb)"),
    ):
        text = page.read_text(encoding="utf-8")
        assert f"quick mode, 2-core CPU ({measured['date']}" in text, page
        rows = [line for line in text.splitlines() if line.startswith("| ") and marker in line]
        assert len(rows) == len(measured["seconds"]), page
        for row in rows:
            name = next(n for n in measured["seconds"] if n.split("_", 1)[1].removesuffix(".ipynb") in row)
            assert row.rstrip(" |").endswith(f"{round(measured['seconds'][name])} s"), (page.name, name, row[-40:])
