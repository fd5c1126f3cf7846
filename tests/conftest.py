"""Shared pytest set-up: quiet TensorFlow logs, a clean dtype policy per test."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture(scope="session", autouse=True)
def shared_cache(tmp_path_factory):
    """One mit_dl cache folder for the whole run, shared by both workers and every `mit-dl` they start.

    What mit_dl computes once per machine (the synthetic faces, the generative lab's feature
    classifiers) is then computed once per test run, and the user's own cache is left alone.
    """
    root = tmp_path_factory.getbasetemp()
    root = root.parent if root.name.startswith("popen-gw") else root  # xdist: one folder per worker below it
    os.environ["MIT_DL_CACHE"] = str(root / "mit_dl_cache")
    yield


@pytest.fixture(autouse=True)
def float32_policy_and_seed():
    """Every test starts with the float32 policy and seeded random weights."""
    keras.config.set_dtype_policy("float32")
    keras.utils.set_random_seed(1234)
    yield
    keras.config.set_dtype_policy("float32")


def suite_times(reports):
    """Seconds of test time per part of the suite (``tests/<lab>/``, a file at the top, the doctests) and per file.

    Args:
        reports: pytest's test reports (setup, call and teardown of every test).

    Returns:
        ``(per_part, per_file)``: two ``{name: seconds}`` dicts, largest first.
    """
    per_part, per_file = {}, {}
    for report in reports:
        path = report.nodeid.split("::")[0]
        parts = path.split("/")
        part = parts[1] if len(parts) > 2 and parts[0] == "tests" else path
        part = "doctests (mit_dl/)" if parts[0] == "mit_dl" else part
        per_part[part] = per_part.get(part, 0.0) + report.duration
        per_file[path] = per_file.get(path, 0.0) + report.duration
    ordered = lambda times: dict(sorted(times.items(), key=lambda item: -item[1]))  # noqa: E731
    return ordered(per_part), ordered(per_file)


def pytest_terminal_summary(terminalreporter):
    """Print the suite's time per lab and its slowest files (the budget: docs/design.md, section 8)."""
    reports = [r for kind in ("passed", "failed", "error", "skipped") for r in terminalreporter.stats.get(kind, [])]
    reports = [r for r in reports if getattr(r, "duration", None) is not None and hasattr(r, "nodeid")]
    if not reports:
        return
    per_part, per_file = suite_times(reports)
    terminalreporter.write_sep("=", "test time per part of the suite (seconds, summed over workers)")
    for name, seconds in per_part.items():
        terminalreporter.write_line(f"{seconds:8.1f}  {name}")
    terminalreporter.write_sep("-", "slowest files")
    for name, seconds in list(per_file.items())[:10]:
        terminalreporter.write_line(f"{seconds:8.1f}  {name}")
