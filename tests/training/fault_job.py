"""Fault injection for the whole life of a run (run as a script): SIGKILL at seeded random moments, then rerun.

usage: python fault_job.py ROOT SEED KILLS

A small run goes through every stage a lab's ``train`` has: `Run.start`
(settings, lock), `Trainer.fit` (4-step epochs, a checkpoint every 3 steps,
so checkpoints fall inside and at the end of epochs), the final evaluation,
``metrics.json`` and the SavedModel export. Two uninterrupted references are
run first: a new run of 16 steps, and that run extended to 24 steps (a
resumed run that replaces an existing export).

Then ``KILLS`` trials: each copies the start of one reference (nothing, or
the finished 16-step run), starts the run, SIGKILLs it at a seeded random
moment, checks that the export left behind (if any) loads, reruns the same
run to completion and compares its weights, ``history.json`` and
``metrics.json`` with the reference's. The moment is drawn inside one of the
stages (training, a checkpoint write, the final evaluation, the export): the
parent waits until the run's own timeline reaches a seeded occurrence of that
stage, then a seeded fraction of the stage's length in the reference, so
every stage is hit whatever the machine's speed or load.

Every run is a child forked from this process, which imports TensorFlow but
never runs an operation (so forking is safe and each run costs its work, not
a TensorFlow start-up). One JSON line per trial, then a summary, goes to
stdout.
"""

import dataclasses
import json
import os
import pathlib
import random
import shutil
import signal
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from mit_dl.config import RunConfig, option  # noqa: E402
from mit_dl.export import export_savedmodel, load_savedmodel  # noqa: E402
from mit_dl.training import Callback, Run, Trainer, enable_determinism  # noqa: E402

STEPS = {"new": 16, "extended": 24}
STAGES = ("training", "checkpoint", "evaluation", "export")


@dataclasses.dataclass(frozen=True)
class FaultConfig(RunConfig):
    steps: int = option(16, "training steps", resume="free")


class Timeline(Callback):
    """Appends ``stage time`` lines to the run's timeline file (read by the parent to place the kills)."""

    def __init__(self, path):
        self.path = path

    def on_step_end(self, trainer, step, logs):
        mark(self.path, "checkpoint" if step % 3 == 0 or step % 4 == 0 else "training")


def mark(path, stage):
    with open(path, "a") as file:
        file.write(f"{stage} {time.monotonic():.6f}\n")


def run(directory, steps, timeline):
    """The run: the same stages as a lab's ``train``, written into ``directory``."""
    mark(timeline, "training")
    run = Run.start(directory, FaultConfig(steps=steps), lab="faults", log=lambda line: None)
    enable_determinism(0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4096, 8)).astype("float32")
    y = (x[:, :4].sum(1) > 0).astype("int32")
    train = tf.data.Dataset.from_tensor_slices((x[:512], y[:512])).shuffle(512, seed=1).batch(32)
    test = tf.data.Dataset.from_tensor_slices((x[512:], y[512:])).batch(64)
    model = keras.Sequential(
        [keras.Input((8,)), keras.layers.Dense(32, activation="relu"), keras.layers.Dropout(0.2), keras.layers.Dense(2)]
    )
    trainer = Trainer(
        model,
        keras.optimizers.Adam(1e-2),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
        checkpoint_dir=run.checkpoints,
        checkpoint_every=3,
        log_dir=run.logs,
        verbose=False,
        steps_per_execution=1,
    )
    history = trainer.fit(train, steps=steps, steps_per_epoch=4, callbacks=[Timeline(timeline)])
    mark(timeline, "evaluation")
    results = trainer.evaluate(test)
    run.write_metrics({"test": results, "history": history})
    mark(timeline, "export")
    export_savedmodel(model, run.path / "model", metadata=run.export_metadata({"test": results}))
    np.savez(run.path / "weights.npz", *model.get_weights())
    mark(timeline, "done")


def in_child(function, *args, log=None):
    """Fork a child that runs ``function(*args)`` and exits; returns its pid."""
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            if log is not None:
                fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
                os.dup2(fd, 1), os.dup2(fd, 2)
            function(*args)
            code = 0
        except BaseException:
            import traceback

            traceback.print_exc()
        finally:
            sys.stdout.flush(), sys.stderr.flush()
            os._exit(code)
    return pid


def finished(pid):
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def check_export(directory):
    """The export the kill left (if any) loads and answers (in a child: the parent runs no TensorFlow)."""
    if (directory / "model").exists() or (directory / ".model.previous").exists():
        loaded, _ = load_savedmodel(directory / "model")
        loaded.serve(tf.zeros((1, 8)))


def stages(timeline):
    """``{stage: [(start, end)]}`` of a finished run's timeline, in seconds from its start."""
    lines = [line.split() for line in pathlib.Path(timeline).read_text().splitlines()]
    times = [(stage, float(t)) for stage, t in lines]
    origin = times[0][1]
    windows = {}
    for (stage, start), (_, end) in zip(times, times[1:]):
        if stage == "checkpoint":  # the save follows the step's callbacks: a short window after the mark
            end = start + min(end - start, 0.05)
        windows.setdefault(stage, []).append((start - origin, end - origin))
    return windows


def wait_for(timeline, stage, occurrence, pid):
    """Wait until the run's timeline marks ``stage`` for the ``occurrence``-th time.

    Returns:
        ``None``, or the run's exit code when it ended first.
    """
    while True:
        marks = []
        if timeline.exists():
            marks = [line.split()[0] for line in timeline.read_text().splitlines() if line.strip()]
        if sum(mark == stage for mark in marks) > occurrence:
            return None
        reaped, status = os.waitpid(pid, os.WNOHANG)
        if reaped:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.002)


def stage_at(timeline, offset):
    """The stage a run was in ``offset`` seconds after its start (from its own timeline)."""
    lines = [line.split() for line in pathlib.Path(timeline).read_text().splitlines()] if timeline.exists() else []
    if not lines:
        return "starting"
    origin, reached = float(lines[0][1]), "starting"
    for stage, t in lines:
        if float(t) - origin <= offset:
            reached = stage
    return reached


def comparable(directory):
    metrics = json.loads((directory / "metrics.json").read_text())
    metrics.pop("started_at")
    weights = np.load(directory / "weights.npz")
    return {
        "metrics": metrics,
        "history": json.loads((directory / "logs" / "history.json").read_text()),
        "weights": [weights[k] for k in weights.files],
    }


def same(a, b):
    return (
        a["metrics"] == b["metrics"]
        and a["history"] == b["history"]
        and all(np.array_equal(x, y) for x, y in zip(a["weights"], b["weights"], strict=True))
    )


def main(root, seed, kills):
    root = pathlib.Path(root)
    references, windows = {}, {}
    for kind, start_from in (("new", None), ("extended", "new")):
        directory = root / f"reference-{kind}"
        if start_from:
            shutil.copytree(root / f"reference-{start_from}", directory)
        timeline = root / f"reference-{kind}.timeline"
        assert finished(in_child(run, directory, STEPS[kind], timeline, log=root / f"reference-{kind}.log")) == 0
        references[kind], windows[kind] = comparable(directory), stages(timeline)
    rng = random.Random(seed)
    results = []
    for trial in range(kills):
        kind = ("new", "extended")[trial % 2]
        stage = STAGES[(trial // 2) % len(STAGES)]
        occurrence = rng.randrange(len(windows[kind][stage]))
        start, end = windows[kind][stage][occurrence]
        into = rng.uniform(0.0, end - start)
        directory, timeline = root / f"trial-{trial}", root / f"trial-{trial}.timeline"
        if kind == "extended":
            shutil.copytree(root / "reference-new", directory, ignore=shutil.ignore_patterns("*.timeline"))
        log = root / f"trial-{trial}.log"
        pid = in_child(run, directory, STEPS[kind], timeline, log=log)
        began = time.monotonic()
        # Aimed at the run's own progress, not at the reference's clock: a loaded machine slows both.
        status = wait_for(timeline, stage, occurrence, pid)
        if status is None:
            time.sleep(into)
            os.kill(pid, signal.SIGKILL)
            status = finished(pid)
        offset = time.monotonic() - began
        killed = status == -signal.SIGKILL
        landed = stage_at(timeline, offset) if killed else "done"
        export_loads = finished(in_child(check_export, directory, log=log)) == 0
        timeline.unlink(missing_ok=True)
        completed = finished(in_child(run, directory, STEPS[kind], timeline, log=log)) == 0
        equal = completed and same(comparable(directory), references[kind])
        result = dict(
            trial=trial,
            run=kind,
            aimed_at=stage,
            offset=round(offset, 3),
            landed_in=landed,
            killed=killed,
            export_loads_after_kill=export_loads,
            completed=completed,
            equal=equal,
        )
        results.append(result)
        print(json.dumps(result), flush=True)
        if not equal:
            print(log.read_text()[-3000:], file=sys.stderr)
    print(json.dumps({"summary": True, "trials": len(results), "equal": sum(r["equal"] for r in results)}))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
