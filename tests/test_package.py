"""The installed package: light import, version, the `mit-dl` command."""

import json
import math
import os
import subprocess
import sys
import textwrap

import pytest
from support import run_fresh_python, run_mit_dl

import mit_dl


def test_import_is_light_and_lazy():
    out = run_fresh_python(
        """
        import sys, time
        start = time.perf_counter()
        import mit_dl
        seconds = time.perf_counter() - start
        heavy = sorted(m for m in ("tensorflow", "keras", "music21") if m in sys.modules)
        print(mit_dl.__version__, heavy, seconds < 1.0)
        mit_dl.layers.MyDenseLayer  # first touch imports the submodule
        print("keras" in sys.modules)
        """
    )
    first, second = out.strip().splitlines()[-2:]
    assert first == f"{mit_dl.__version__} [] True"
    assert second == "True"


def test_version_matches_installed_metadata():
    import importlib.metadata

    assert importlib.metadata.version("mit_dl") == mit_dl.__version__


def test_cli_version_and_info():
    result = run_mit_dl("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"mit_dl {mit_dl.__version__}"
    info = run_mit_dl("info")
    assert info.returncode == 0, info.stderr
    assert info.stderr == ""  # TensorFlow's start-up lines (e.g. a cuInit "error" without a GPU) are muted
    for expected in ("tensorflow", "keras", "tensorflow-probability", "CPU", "MIT_DL_DATA"):
        assert expected in info.stdout


def test_the_quiet_start_leaves_stderr_empty_through_the_first_operations():
    """No C++ start-up lines, nor TensorFlow's once-per-process oneDNN "error" at the first transpose."""
    code = textwrap.dedent("""
        from mit_dl.environment import quiet_tensorflow_startup
        quiet_tensorflow_startup()
        import tensorflow as tf
        tf.transpose(tf.zeros((3, 2), tf.int32))
        tf.function(lambda x: tf.transpose(x) * 2)(tf.zeros((2, 3)))
        print("ran")
    """)
    env = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp"), "CUDA_VISIBLE_DEVICES": ""}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0 and result.stdout.strip() == "ran", result.stderr[-3000:]
    assert result.stderr == ""


def test_cli_bad_argument_is_one_clear_line():
    result = run_mit_dl("demo", "--steps", "0")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == ["mit-dl: error: --steps must be a positive number, received 0."]


def test_demo_trains_exports_and_reloads(tmp_path):
    result = run_mit_dl(
        "demo",
        "--steps",
        "60",
        "--labs",
        "all",
        "--out",
        str(tmp_path),
        env={"MIT_DL_OFFLINE": "1", "MIT_DL_DATA": "", "HOME": str(tmp_path)},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["uniform_bits_per_char"] == pytest.approx(math.log2(94), abs=1.5)
    for name, numbers in metrics["models"].items():
        # Even 60 steps must learn well below guessing uniformly among the characters.
        assert numbers["val_bits_per_char_after"] < 0.75 * metrics["uniform_bits_per_char"], name
    assert metrics["savedmodel_max_abs_error"] < 1e-5
    assert (tmp_path / "rnn_sample.abc").read_text().startswith("X:1\n")
    assert (tmp_path / "attention_char_model" / "saved_model.pb").is_file()
    # Lab 1 part 2 in brief: the lab LSTM learned something, was exported, and sampled three songs.
    assert metrics["music"]["val_bits_per_char"] < metrics["uniform_bits_per_char"]
    assert (tmp_path / "music" / "generator" / "saved_model.pb").is_file()
    summary = json.loads((tmp_path / "music" / "songs" / "summary.json").read_text())
    assert summary["attempts"] == 3 and len(list((tmp_path / "music" / "songs").glob("sample_*.txt"))) == 3
    assert f"run directory: {tmp_path}" in result.stdout
    # Lecture 1 in brief: the from-scratch engine agrees with GradientTape and lowers the loss.
    foundations = metrics["foundations"]
    assert foundations["gradient_agreement"] < 1e-10 and foundations["last_loss"] < 0.5 * foundations["first_loss"]
    assert (tmp_path / "foundations" / "quadratic.png").stat().st_size > 1000
    # No Fashion-MNIST reachable (offline, no data folder): a clear skip, not a failure.
    assert "image classification skipped: fashion_mnist (train) not found locally" in result.stdout
    assert "skipped" in metrics["images"]
    # Lab 2 part 2 in brief: both face detectors trained on the same data, compared and exported.
    faces = json.loads((tmp_path / "faces" / "comparison.json").read_text())
    assert faces["steps"] == 60 and faces["models"] == ["cnn", "dbvae-max"]
    assert metrics["faces"]["worst_face_group"]["cnn"] == faces["per_model"]["cnn"]["worst_face"]["mean"]
    for model in ("cnn", "dbvae-max"):
        assert (tmp_path / "faces" / "seed-0" / model / "detector" / "saved_model.pb").is_file()
    assert "| measure | standard CNN | DB-VAE (max) |" in result.stdout
    # Lecture 4 in brief: a beta-VAE on sprites, scored, its latent code measured, its generator exported.
    assert 0 <= metrics["generative"]["mig"] <= 1 and metrics["generative"]["fd"] > 0
    assert (tmp_path / "generative" / "generator" / "saved_model.pb").is_file()
    assert (tmp_path / "generative" / "traversals.png").stat().st_size > 1000
    assert "beta-vae; FD" in result.stdout
    # Lecture 6 in brief: REINFORCE trained on the TensorFlow CartPole, played greedily on gymnasium's.
    assert metrics["rl"]["env_steps"] >= 2400 and 8 <= metrics["rl"]["greedy_mean_return"] <= 500
    assert (tmp_path / "rl" / "policy" / "saved_model.pb").is_file() and (tmp_path / "rl" / "episode.gif").is_file()
    # Lecture 5 in brief: an ensemble's bands on the regression toy, plotted and exported.
    uncertainty = metrics["uncertainty"]
    assert uncertainty["epistemic_outside_ratio"] > 1 and uncertainty["sigma_relative_rms_error"] > 0
    assert (tmp_path / "uncertainty" / "regression.png").is_file()
    assert (tmp_path / "uncertainty" / "saved_model" / "saved_model.pb").is_file()
    # Lecture 3 beyond classification needs real MNIST digits: offline without them, a clear skip.
    assert "vision skipped: mnist (test) not found locally" in result.stdout and "skipped" in metrics["vision"]
