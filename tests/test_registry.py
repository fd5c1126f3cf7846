"""The registry: every lab keeps the contract, a new lab appears everywhere, and no other file lists the labs."""

import ast
import contextlib
import importlib.util
import io
import json
import pathlib
import re

import lab_contract
import pytest
import toy_lab.lab
import yaml

from mit_dl import cli, demo, registry

ROOT = pathlib.Path(__file__).resolve().parents[1]
LABS = registry.labs()
NAMES = [lab.name for lab in LABS]


def build_assets():
    """``docs/build_assets.py`` as a module (``docs`` is a folder of the repository, not a package)."""
    spec = importlib.util.spec_from_file_location("build_assets", ROOT / "docs" / "build_assets.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def top_help():
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.suppress(SystemExit):
        cli.build_parser().parse_args(["--help"])
    return out.getvalue()


@pytest.mark.parametrize("lab", LABS, ids=NAMES)
def test_every_lab_keeps_the_contract(lab):
    assert lab_contract.problems(lab) == []


def test_the_labs_are_in_course_order_with_unique_names():
    assert NAMES == list(registry.LAB_PACKAGES) and len(set(NAMES)) == len(NAMES)
    numbers = [(kind, int(number)) for kind, number in (lab.course.split() for lab in LABS)]
    # Lecture n comes before Lab n (lecture 1 precedes the first lab), and Lab n before Lecture n + 1.
    assert numbers == sorted(numbers, key=lambda k: k[1] + (0.5 if k[0] == "Lab" else 0))
    assert registry.lab("vision").rebuild and registry.lab("images").rebuild
    with pytest.raises(KeyError, match="no lab is called 'nope'; the labs are foundations, music, images"):
        registry.lab("nope")


def test_a_toy_lab_appears_in_the_cli_the_demo_the_assets_and_the_contract(tmp_path, capsys):
    toy = toy_lab.lab.LAB
    assert "toy" not in top_help()
    with registry.registered(toy):
        assert "    toy" in top_help() and "lecture 99: a lab that only counts" in top_help()
        assert cli.main(["toy", "train", "--preset", "full", "--out", str(tmp_path)]) == 0
        assert json.loads((tmp_path / "metrics.json").read_text()) == {"total": sum(range(20))}
        assert cli.main(["toy", "train", "--steps", "0", "--out", str(tmp_path)]) == 2
        assert "mit-dl: error: --steps must be a positive number" in capsys.readouterr().err
        chosen, left_out = demo.parts(None)
        assert toy in chosen + left_out
        assert demo.parts(("toy",)) == ((toy,), ())
        assert registry.resolve(toy.demo.run)(tmp_path, 1, 0, print, {}) == {"total": 3}
        assert "toy" in build_assets().parts()
        # The contract sees it at once, and names what a real lab would still need.
        assert lab_contract.problems(toy) == [
            "toy: no docs page docs/labs/toy.md",
            "toy: no reference page docs/reference/toy.md",
            "toy: mkdocs.yml's navigation lacks labs/toy.md",
            "toy: mkdocs.yml's navigation lacks reference/toy.md",
            "toy: no notebooks",
            "toy: no benchmark benchmarks/toy.py",
            "toy: no export of kind 'toy count' in its package",
        ]
    assert "toy" not in top_help() and "toy" not in build_assets().parts()


def test_the_demo_keeps_to_its_budget_and_refuses_unknown_labs():
    chosen, left_out = demo.parts(None)
    assert sorted(chosen + left_out, key=LABS.index) == [lab for lab in LABS if lab.demo]
    assert list(chosen) == sorted(chosen, key=LABS.index)  # in course order
    spent = demo.LAYERS_SECONDS + sum(lab.demo.seconds for lab in chosen)
    assert spent <= demo.BUDGET_SECONDS
    assert all(spent + lab.demo.seconds > demo.BUDGET_SECONDS for lab in left_out)  # none would still fit
    assert demo.parts("all") == (tuple(lab for lab in LABS if lab.demo), ())
    # Fewer steps, shorter parts: the budget holds more of them.
    assert len(demo.parts(None, steps=50)[0]) >= len(chosen)
    with pytest.raises(Exception, match="names no lab with a demo part: nope"):
        demo.parts(("nope",))


def _listed_lab_names(node):
    """The lab names a literal tuple, list, set or dict (its keys) of strings holds."""
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        items = node.elts
    elif isinstance(node, ast.Dict):
        items = [key for key in node.keys if key is not None]
    else:
        return set()
    return {item.value for item in items if isinstance(item, ast.Constant) and item.value in NAMES}


def test_no_file_but_the_registry_lists_the_labs():
    listed = []
    for folder in ("mit_dl", "tests", "docs", "benchmarks"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            if path == ROOT / "mit_dl" / "registry.py":
                continue
            for node in ast.walk(ast.parse(path.read_text())):
                names = _listed_lab_names(node)
                if len(names) >= 3:
                    listed.append(f"{path.relative_to(ROOT)}:{node.lineno} {sorted(names)}")
    assert not listed, "lists of the labs outside mit_dl/registry.py: " + "; ".join(listed)


def _table_rows(text, marker):
    return [line for line in text.splitlines() if line.startswith("| ") and marker in line]


def test_the_readme_and_the_docs_home_list_the_labs_as_the_registry_does():
    readme = _table_rows((ROOT / "README.md").read_text(), "(docs/labs/")
    assert [re.search(r"docs/labs/(\w+)\.md", row)[1] for row in readme] == NAMES
    for row, lab in zip(readme, LABS):
        assert row.startswith(f"| {lab.course}: ") and f"(`mit_dl.{lab.name}`)" in row, row
    home = _table_rows((ROOT / "docs" / "index.md").read_text(), "(labs/")
    assert [re.search(r"\(labs/(\w+)\.md\)", row)[1] for row in home] == NAMES
    for row, lab in zip(home, LABS):
        assert row.startswith(f"| [{lab.title}](labs/{lab.name}.md) | "), row


def test_the_site_navigation_lists_the_labs_and_notebooks_as_the_registry_does():
    nav = {
        next(iter(entry)): entry[next(iter(entry))]
        for entry in yaml.safe_load((ROOT / "mkdocs.yml").read_text())["nav"]
    }
    labs = [next(iter(entry.values())) for entry in nav["Labs"]]
    assert labs == [f"labs/{name}.md" for name in NAMES]
    for entry, lab in zip(nav["Labs"], LABS):
        assert next(iter(entry)) == f"{lab.course}: {lab.title[0].lower()}{lab.title[1:]}", entry
    notebooks = [next(iter(entry.values())) for entry in nav["Learner notebooks"] if isinstance(entry, dict)]
    assert notebooks == [f"notebooks/{source.replace('/', '_')}.ipynb" for lab in LABS for source in lab.notebooks]
    references = [page for page in nav["API reference"] if page.removeprefix("reference/").removesuffix(".md") in NAMES]
    assert references == [f"reference/{name}.md" for name in NAMES]


def test_the_notebook_tables_list_every_notebook_in_registry_order():
    sources = [source for lab in LABS for source in lab.notebooks]
    assert sorted(sources) == sorted(
        str(p.relative_to(ROOT / "labs").with_suffix("")) for p in (ROOT / "labs").glob("*/*.py")
    ), "a notebook source under labs/ that no lab declares (or the reverse)"
    labs_readme = _table_rows((ROOT / "labs" / "README.md").read_text(), "_{exercise,solution}.ipynb`")
    assert [re.search(r"`([\w/]+)_\{exercise", row)[1] for row in labs_readme] == sources
    site = _table_rows((ROOT / "docs" / "notebooks" / "index.md").read_text(), ".ipynb)")
    assert [re.search(r"\]\(([\w]+)\.ipynb\)", row)[1] for row in site] == [s.replace("/", "_") for s in sources]


def _lab_of(path):
    parts = path.relative_to(ROOT / "mit_dl").parts
    return parts[0] if len(parts) > 1 and parts[0] in NAMES else None


def test_labs_import_each_other_only_through_their_public_api_and_without_cycles():
    wrong, edges = [], set()
    for path in sorted((ROOT / "mit_dl").rglob("*.py")):
        importer = _lab_of(path)
        if importer is None:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            modules = [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module:
                modules = [node.module]
            for module in modules:
                parts = module.split(".")
                if parts[0] != "mit_dl" or len(parts) < 2 or parts[1] not in NAMES or parts[1] == importer:
                    continue
                edges.add((importer, parts[1]))
                public = importlib.import_module(f"mit_dl.{parts[1]}").__all__
                names = [alias.name for alias in node.names] if isinstance(node, ast.ImportFrom) else []
                if len(parts) > 2 or not names or any(name not in public for name in names):
                    wrong.append(f"{path.relative_to(ROOT)}:{node.lineno} imports {module} {names}")
    assert not wrong, "imports of another lab's internals (use its package's __all__): " + "; ".join(wrong)
    # No cycle: repeatedly remove labs that import no remaining lab.
    remaining = set(NAMES)
    while remaining:
        free = {lab for lab in remaining if not any(a == lab and b in remaining for a, b in edges)}
        assert free, f"the labs {sorted(remaining)} import each other in a cycle: {sorted(edges)}"
        remaining -= free


SHARED = ("plots", "export", "evaluation", "networks/cnn", "training/optimizers", "training/adversarial")
# Shared names one lab uses, kept shared because they are generic by definition.
GENERIC = {
    "confusion_matrix": "a textbook metric and its figure",
    "classification_report": "a textbook metric (accuracy per class)",
    "wilson_interval": "a textbook interval",
    "grouped_wilson_interval": "a textbook interval",
    "group_report": "accuracy per group, with intervals: a textbook fairness measure",
    "seed_interval": "a textbook interval (Student's t over seeds)",
    "negative_log_likelihood": "a textbook calibration metric",
    "brier_score": "a textbook calibration metric",
    "calibration_bins": "a textbook calibration metric",
    "expected_calibration_error": "a textbook calibration metric",
    "temperature_scaled": "a textbook calibration method",
    "fit_temperature": "a textbook calibration method",
    "calibration_report": "the textbook calibration metrics together",
    "ood_auroc": "a textbook detection metric",
    "ood_aupr": "a textbook detection metric",
    "ood_report": "the textbook detection metrics together",
    "bootstrap_interval": "a textbook interval",
    "image_grid": "a plot primitive",
    "metric_bars": "a plot primitive",
    "save_gif": "a plot primitive (an animation file)",
    "default_endpoint": "the export machinery",
    "library_versions": "the export machinery (the run record states them too)",
    "scaled_images": "the export machinery's input check",
    "recover_export": "the export machinery (undoing a killed export's half-done swap)",
    "PIXEL": "a unit",
    "EVALUATED_SPLITS": "the training-curve figure's split names",
    "METADATA_FILE": "the export format's file name",
    "checked_epsilon": "the adversarial-training machinery",
    "loss_gradient": "the adversarial-training machinery",
    "pgd_tensors": "the adversarial-training machinery",
}


def shared_names_and_users():
    """``{module: {public name: [labs using it]}}`` for the shared modules (a lab's notebooks count as the lab)."""
    texts = {
        lab.name: "\n".join(p.read_text() for p in (ROOT / "mit_dl" / lab.name).rglob("*.py"))
        + "\n".join((ROOT / "labs" / f"{source}.py").read_text() for source in lab.notebooks)
        for lab in LABS
    }
    table = {}
    for module in SHARED:
        tree = ast.parse((ROOT / "mit_dl" / f"{module}.py").read_text())
        names = [n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))]
        names += [t.id for n in tree.body if isinstance(n, ast.Assign) for t in n.targets if isinstance(t, ast.Name)]
        table[module] = {
            name: [lab for lab, text in texts.items() if re.search(rf"\b{name}\b", text)]
            for name in names
            if not name.startswith("_")
        }
    return table


def test_shared_modules_hold_only_what_several_labs_use_or_what_is_generic(capsys):
    table = shared_names_and_users()
    with capsys.disabled():
        print("\nshared public names and the labs that use them:")
        for module, names in table.items():
            for name, users in names.items():
                print(f"  {module}.{name}: {', '.join(users) or '-'}")
    one_lab = [f"{m}.{n} ({', '.join(u) or 'no lab'})" for m, ns in table.items() for n, u in ns.items() if len(u) < 2]
    assert [name for name in one_lab if name.split(".")[-1].split(" ")[0] not in GENERIC] == []
