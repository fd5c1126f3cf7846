"""Trainer under tf.distribute: MirroredStrategy on 2 logical CPUs, and two
MultiWorkerMirroredStrategy workers on loopback."""

import json
import os
import pathlib
import socket
import subprocess
import sys

import numpy as np

JOB = pathlib.Path(__file__).with_name("distributed_job.py")


def _env(**extra):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="")
    env.update(extra)
    return env


def test_mirrored_strategy_matches_single_device(tmp_path):
    out = tmp_path / "curves.json"
    result = subprocess.run(
        [sys.executable, str(JOB), "mirrored", str(out)], env=_env(), capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stderr[-3000:]
    curves = json.loads(out.read_text())
    assert curves["replicas"] == 2
    np.testing.assert_allclose(curves["mirrored"], curves["single"], rtol=1e-5, atol=1e-6)
    assert curves["single"][-1] < 0.5 * curves["single"][0]


def test_a_lab_trains_the_same_under_distribute_mirrored_on_two_devices(tmp_path):
    """The images lab's workflow with ``distribute="mirrored"`` over 2 logical CPUs: 2 replicas, one
    device's loss curve (every lab builds its strategy the same way, through the run record)."""
    from support import shared_data

    out = tmp_path / "histories.json"
    command = [sys.executable, str(JOB), "lab_mirrored", str(out), str(shared_data("mnist")), str(tmp_path)]
    result = subprocess.run(command, env=_env(), capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    histories = json.loads(out.read_text())
    assert histories["replicas"] == 2
    for key in ("loss", "accuracy", "test_loss", "test_accuracy"):
        np.testing.assert_allclose(histories["mirrored"][key], histories["none"][key], rtol=1e-4, atol=1e-5)
    assert histories["none"]["test_loss"][-1] < histories["none"]["test_loss"][0]


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_multi_worker_mirrored_workers_end_identical(tmp_path):
    ports = [_free_port(), _free_port()]
    cluster = {"worker": [f"127.0.0.1:{p}" for p in ports]}
    workers = []
    for index in range(2):
        tf_config = json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})
        workers.append(
            subprocess.Popen(
                [sys.executable, str(JOB), "worker", str(tmp_path / f"worker{index}.npz")],
                env=_env(TF_CONFIG=tf_config),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    try:
        outputs = [w.communicate(timeout=600) for w in workers]
    finally:
        for w in workers:
            w.kill()
    for w, (_, err) in zip(workers, outputs):
        assert w.returncode == 0, err[-3000:]
    first, second = (np.load(tmp_path / f"worker{i}.npz") for i in range(2))
    assert int(first["replicas"]) == 2
    weights = [k for k in first.files if k.startswith("arr_")]
    for key in weights:
        np.testing.assert_array_equal(first[key], second[key])
    assert first["losses"][-1] < 0.5 * first["losses"][0]


def test_mirrored_run_resumes_from_its_checkpoint_to_the_same_weights(tmp_path):
    """10 steps, stop, rerun the same command to 20 == 20 steps in one go (dropout, shuffled data)."""

    def run(out, steps, checkpoints):
        result = subprocess.run(
            [
                sys.executable,
                str(JOB),
                "mirrored_checkpointed",
                str(tmp_path / out),
                str(steps),
                str(tmp_path / checkpoints),
            ],
            env=_env(),
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert result.returncode == 0, result.stderr[-3000:]
        return np.load(tmp_path / out)

    straight = run("straight.npz", 20, "ckpt_straight")
    run("first_half.npz", 10, "ckpt_resumed")
    resumed = run("resumed.npz", 20, "ckpt_resumed")
    for key in straight.files:
        np.testing.assert_allclose(resumed[key], straight[key], atol=1e-6, rtol=0)
