"""`python -m benchmarks`: every benchmark in one table, built from the registry; no timing runs here."""

import importlib
import json
import math
import pathlib
import subprocess
import sys

import pytest

from benchmarks import __main__ as bench
from mit_dl import registry

ROOT = pathlib.Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"


def test_the_benchmarks_are_the_shared_ones_and_every_registered_labs_once():
    names = bench.benchmark_names()
    assert names[: len(bench.SHARED)] == list(bench.SHARED) and len(names) == len(set(names))
    assert {lab.benchmark for lab in registry.labs()} <= set(names)
    assert sorted(names) == sorted(p.stem for p in (ROOT / "benchmarks").glob("*.py") if hasattr_headline(p.stem))


def hasattr_headline(name):
    return not name.startswith("_") and hasattr(importlib.import_module(f"benchmarks.{name}"), "headline")


@pytest.mark.parametrize("name", bench.benchmark_names())
def test_each_benchmark_has_quick_arguments_and_a_headline_of_its_documented_results(name):
    module = importlib.import_module(f"benchmarks.{name}")
    assert module.QUICK and all(isinstance(arg, str) for arg in module.QUICK)
    rows = module.headline(json.loads((RESULTS / f"{name}.json").read_text()))
    assert rows
    for row in rows:
        assert row["ours"] and row["baseline"] and row["ours"] != row["baseline"] and row["unit"]
        assert row["ours_value"] > 0 and row["baseline_value"] > 0 and math.isfinite(row["ratio"])
        faster = row["baseline_value"] / row["ours_value"]
        assert row["ratio"] == pytest.approx(1 / faster if "/s" in row["unit"] else faster)


def test_quick_arguments_are_accepted_by_each_benchmarks_parser():
    for name in bench.benchmark_names():
        module = importlib.import_module(f"benchmarks.{name}")
        source = pathlib.Path(module.__file__).read_text()
        for flag in (arg for arg in module.QUICK if arg.startswith("--")):
            assert f'"{flag}"' in source, f"{name}: QUICK passes {flag}, which its parser does not define"


def test_every_lab_with_a_full_preset_has_a_field_that_counts_its_training():
    for lab in registry.labs():
        train = lab.command("train")
        field, amount = bench.step_field(train.config)
        assert field in {f.name for f in __import__("dataclasses").fields(train.config)} and amount > 0


def test_the_table_puts_ours_beside_the_baseline_and_names_failures():
    summary = {
        "mode": "quick",
        "machine": {"date": "2026-12-07", "cpu": "x86_64 2 cores", "tensorflow": "2.21.0", "keras": "3.15.1"}
        | {"python": "3.11.7", "gpu": "NVIDIA H100"},
        "benchmarks": [
            {
                "name": "rl",
                "seconds": 9.0,
                "rows": importlib.import_module("benchmarks.rl").headline(
                    {
                        "envs": 16,
                        "env_steps_per_second": {
                            "TensorFlow CartPole, tf.function": 200.0,
                            "gymnasium SyncVectorEnv": 50.0,
                        },
                        "reinforce_iteration_seconds": {"compiled (tf.function)": 0.01, "eager": 0.5},
                    }
                ),
            },
            {"name": "music", "seconds": 3.0, "error": "exited with status 1"},
        ],
        "full_presets": [
            {"lab": "vision", "field": "steps", "amount": 20, "seconds_per_unit": 0.0125},
            {"lab": "images", "error": "fashion_mnist (train) not found locally"},
        ],
    }
    table = bench.markdown(summary)
    assert table.startswith("Benchmarks (quick), 2026-12-07: x86_64 2 cores, NVIDIA H100, TensorFlow 2.21.0")
    assert "| rl | CartPole environment steps (16 environments) | TensorFlow CartPole, tf.function | " in table
    assert "| 200 | 50 | 4.00x |" in table and "| 0.01 | 0.5 | 50.00x |" in table
    assert "| music | failed: exited with status 1 |" in table
    assert "| vision | step | 0.0125 |" in table and "| images | failed: fashion_mnist (train) not found" in table


def run_bench(*args):
    env = {"PATH": "/usr/bin:/bin", "CUDA_VISIBLE_DEVICES": "", "TF_CPP_MIN_LOG_LEVEL": "3", "HOME": "/tmp"}
    return subprocess.run(
        [sys.executable, "-m", "benchmarks", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )


def test_gpu_mode_without_a_gpu_and_an_unknown_benchmark_are_one_sentence():
    refused = run_bench("--device", "gpu", "--only", "layers")
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert refused.stderr.strip().endswith("--device gpu but TensorFlow sees no GPU; run it on a GPU machine")
    unknown = run_bench("--only", "layers,nope")
    assert unknown.returncode == 1 and "unknown benchmarks ['nope']; choose among layers, training" in unknown.stderr
