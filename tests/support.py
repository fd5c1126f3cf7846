"""Helpers for the test-suite: fresh Python processes and numeric checks."""

import os
import subprocess
import sys
import textwrap

import numpy as np
import tensorflow as tf


def run_fresh_python(code, timeout=600):
    """Run ``code`` in a new interpreter and return its stdout.

    The child gets a clean environment apart from PATH/HOME, so nothing leaks
    from this process (no imported modules, no dtype policy).
    """
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", "/tmp"),
        "TF_CPP_MIN_LOG_LEVEL": "3",
        "CUDA_VISIBLE_DEVICES": "",
    }
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )
    assert result.returncode == 0, (
        f"fresh python failed ({result.returncode}):\n{result.stdout}\n{result.stderr[-4000:]}"
    )
    return result.stdout


def gradient_error(function, values):
    """Largest |analytic - numeric| Jacobian entry of ``function`` at ``values``.

    Use float64 values: finite differences in float32 are too coarse.
    """
    analytic, numeric = tf.test.compute_gradient(function, values, delta=1e-6)
    return max(float(np.max(np.abs(a - n))) for a, n in zip(analytic, numeric))


def rng(seed=0):
    return np.random.default_rng(seed)


SHARED_DATA = __import__("pathlib").Path(__file__).resolve().parents[1].parent / "shared" / "data"
# Small run directories and files written by earlier releases, which the current one must still read.
FIXTURES = __import__("pathlib").Path(__file__).resolve().parent / "fixtures"


def shared_data(name):
    """Folder ``../shared/data/<name>``: skip where it is missing (a user's clone), fail under CI."""
    folder = SHARED_DATA / name
    if not folder.is_dir():
        skip_outside_ci(f"real data not present at {folder}")
    return folder


def skip_outside_ci(reason):
    """Skip on a user's machine that lacks an optional resource; fail under CI, which must provide it."""
    import pytest

    if os.environ.get("CI", "").lower() in ("", "0", "false"):
        pytest.skip(reason)
    pytest.fail(f"CI must provide this: {reason}")


def write_idx(path, array, compress=True):
    """Write ``array`` (uint8) as an IDX file, gzipped unless ``compress=False``; return the raw bytes."""
    import gzip

    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    raw = header + np.asarray(array).astype(np.uint8).tobytes()
    path.write_bytes(gzip.compress(raw) if compress else raw)
    return raw


def run_mit_dl(*args, timeout=600, env=None):
    """Run the `mit-dl` console script installed beside this interpreter (the venv's bin/)."""
    import pathlib
    import shutil

    import pytest

    beside = pathlib.Path(sys.executable).parent / "mit-dl"
    exe = str(beside) if beside.exists() else shutil.which("mit-dl")
    if exe is None:
        pytest.fail("the `mit-dl` console script is not installed; run pip install -e .")
    return subprocess.run(
        [exe, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **(env or {})},
    )


def mit_dl_in_process(*args):
    """Run ``mit-dl ARGS`` through `mit_dl.cli.main` in this process: ``.returncode``, ``.stdout``, ``.stderr``.

    For expected errors, whose message does not depend on the process: no TensorFlow start-up (4 s a
    process). That a fresh `mit-dl` prints them as one clean line is what `run_mit_dl` tests show.
    """
    import contextlib
    import io
    import types

    from mit_dl import cli

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = cli.main([str(a) for a in args])
        except SystemExit as exit:  # argparse's own errors
            code = exit.code
    return types.SimpleNamespace(returncode=code, stdout=out.getvalue(), stderr=err.getvalue())


def failed(result, *fragments):
    """Assert a lab checker's `CheckResult` failed and its message contains every fragment; return it."""
    assert not result.passed, result
    for fragment in fragments:
        assert fragment in result.message, result.message
    return result


def todo(*args, **kwargs):
    """An exercise the learner has not written yet, as the exercise notebooks ship it."""
    raise NotImplementedError("Not implemented yet: write it. Replace this line with your code.")


def interrupted_mit_dl(args, signal_number, after_seconds):
    """Start `mit-dl ARGS`, send ``signal_number`` ``after_seconds`` after training starts; ``(code, stderr)``."""
    import pathlib
    import time

    command = [str(pathlib.Path(sys.executable).parent / "mit-dl"), *args]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for line in process.stdout:
        if line.startswith("training from step 0"):
            break
    time.sleep(after_seconds)
    process.send_signal(signal_number)
    _, stderr = process.communicate(timeout=300)
    return process.returncode, stderr


def start_script(script, *args):
    """Start ``python script *args`` quietly on the CPU; returns the `subprocess.Popen` (text pipes)."""
    return subprocess.Popen(
        [sys.executable, str(script), *map(str, args)],
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES=""),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def kill_then_resume(script, directory, kill_once, not_yet):
    """Run ``script directory``, SIGKILL it once the file ``kill_once`` exists, then run it again to the end.

    Args:
        script: a training job that resumes from the checkpoints in ``directory``.
        directory: its run directory (the job's only argument).
        kill_once: a file that appears mid-training (a checkpoint's index).
        not_yet: a file that must not exist when the kill lands (the last checkpoint's index).
    """
    import signal
    import time

    job = start_script(script, directory)
    deadline = time.time() + 300
    while not kill_once.exists() and time.time() < deadline:
        time.sleep(0.01)
    job.send_signal(signal.SIGKILL)
    job.wait(timeout=60)
    assert not not_yet.exists(), "the kill must land in the middle of training"
    job = start_script(script, directory)
    assert job.wait(timeout=600) == 0, job.stderr.read()[-3000:]
