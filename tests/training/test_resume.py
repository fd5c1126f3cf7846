"""Exact resume: SIGKILL in the middle of an epoch, restart the same command."""

import os
import pathlib
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

JOB = pathlib.Path(__file__).with_name("resume_job.py")
STEPS = 36  # 3 epochs of 12 steps


def _run(directory, data_position, sleep="0"):
    extra = [] if data_position == "checkpointed" else ["skip-data"]
    return subprocess.Popen(
        [
            sys.executable,
            str(JOB),
            str(directory / "ckpt"),
            str(directory / "log"),
            str(directory / "w.npz"),
            sleep,
            *extra,
        ],
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES=""),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _log(directory):
    path = directory / "log"
    if not path.exists():
        return []
    return [tuple(line.split()) for line in path.read_text().splitlines() if line.strip()]


@pytest.mark.parametrize("data_position", ["checkpointed", "skipped"])
def test_killed_run_resumes_to_the_same_weights(tmp_path, data_position):
    reference, resumed = tmp_path / "reference", tmp_path / "resumed"
    reference.mkdir(), resumed.mkdir()
    job = _run(reference, data_position)
    _, err = job.communicate(timeout=600)
    assert job.returncode == 0, err[-3000:]

    job = _run(resumed, data_position, sleep="0.1")
    deadline = time.time() + 300
    while len(_log(resumed)) < 17 and time.time() < deadline:  # step 17: inside epoch 2
        time.sleep(0.02)
    job.send_signal(signal.SIGKILL)
    job.wait(timeout=60)
    assert job.returncode == -signal.SIGKILL
    killed_at = len(_log(resumed))
    assert 12 < killed_at < STEPS, "the kill must land in the middle of training"

    job = _run(resumed, data_position)
    out, err = job.communicate(timeout=600)
    assert job.returncode == 0, err[-3000:]

    expected = np.load(reference / "w.npz")
    got = np.load(resumed / "w.npz")
    for key in expected.files:
        np.testing.assert_allclose(got[key], expected[key], atol=1e-6, rtol=0)

    # Every step ran with the same batch and weights as in the uninterrupted
    # run (same loss). A step is logged just before its checkpoint is saved, so
    # a kill in between repeats at most that one step, with the same loss.
    reference_log = dict(_log(reference))
    seen = {}
    for step, loss in _log(resumed):
        assert reference_log[step] == loss, f"step {step} differs after resume"
        seen[step] = seen.get(step, 0) + 1
    assert sorted(seen, key=int) == [str(s) for s in range(1, STEPS + 1)]
    assert sum(seen.values()) - STEPS <= 1
