"""Faults a run must survive: epoch-boundary checkpoints, damaged or missing checkpoint files, corrupt records,
a second writer, a kill in the middle of an export (docs/design.md, section 9)."""

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from mit_dl.errors import CorruptFile, RunDirectoryError
from mit_dl.export import export_savedmodel, load_savedmodel, recover_export
from mit_dl.music.config import MusicConfig
from mit_dl.training import Trainer, enable_determinism
from mit_dl.training import history as history_io
from mit_dl.training.checkpoints import UNREADABLE, found
from mit_dl.training.runs import LOCK_FILE, SETTINGS_FILE, Run, finished_metrics, read_settings

STEPS_PER_EPOCH = 4


def _data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 3)).astype("float32")
    y = (x.sum(1) > 0).astype("int32")
    return tf.data.Dataset.from_tensor_slices((x, y)).shuffle(64, seed=1).batch(16)


def _trainer(checkpoint_dir, checkpoint_every=STEPS_PER_EPOCH):
    enable_determinism(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, activation="relu"), keras.layers.Dense(2)])
    return Trainer(
        model,
        keras.optimizers.Adam(1e-2),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        checkpoint_dir=checkpoint_dir,
        checkpoint_every=checkpoint_every,
        verbose=False,
        steps_per_execution=1,
    )


def _fit(checkpoint_dir, steps, checkpoint_every=STEPS_PER_EPOCH):
    trainer = _trainer(checkpoint_dir, checkpoint_every)
    history = trainer.fit(_data(), steps=steps, steps_per_epoch=STEPS_PER_EPOCH)
    return trainer, history


def test_a_checkpoint_at_an_epoch_boundary_records_that_epoch_as_the_music_labs_defaults_write_it(tmp_path):
    config = MusicConfig()
    assert config.eval_every == config.checkpoint_every  # the lab's epochs end where its checkpoints are written
    reference, whole = _fit(tmp_path / "reference", 12)
    # A run that finished (its process then killed while exporting) is rerun: nothing to train, same history.
    _fit(tmp_path / "run", 8)
    again, history = _fit(tmp_path / "run", 8)
    assert int(again.step.numpy()) == 8 and len(history["loss"]) == 2
    assert history["loss"] == whole["loss"][:2]
    # Extended from 8 to 12 steps: epoch 2 stays in the history and the curve is the uninterrupted run's.
    extended, history = _fit(tmp_path / "run", 12)
    assert history["loss"] == whole["loss"]
    for got, expected in zip(extended.model.get_weights(), reference.model.get_weights()):
        np.testing.assert_array_equal(got, expected)


def test_a_truncated_newest_checkpoint_is_named_moved_aside_and_the_previous_one_resumes(tmp_path, capsys):
    checkpoints = tmp_path / "ckpt"
    _fit(checkpoints, 12)
    newest = checkpoints / "ckpt-12.data-00000-of-00001"
    newest.write_bytes(newest.read_bytes()[:40])
    trainer, history = _fit(checkpoints, 12)
    said = capsys.readouterr().err
    assert f"checkpoint {checkpoints / 'ckpt-12'} cannot be read" in said and "resumed from" in said
    assert str(checkpoints / "ckpt-8") in said
    assert int(trainer.step.numpy()) == 12 and len(history["loss"]) == 3  # epoch 3 trained again
    assert sorted(p.name for p in (checkpoints / UNREADABLE).iterdir())[0].startswith("ckpt-12.")
    assert [step for step, _ in found(checkpoints)] == [12, 8, 4]  # the retrained ckpt-12 is back in the list
    assert 'model_checkpoint_path: "ckpt-12"' in (checkpoints / "checkpoint").read_text()


def test_every_checkpoint_unreadable_is_one_sentence_naming_the_folder_to_delete(tmp_path):
    checkpoints = tmp_path / "ckpt"
    _fit(checkpoints, 4)
    for path in checkpoints.glob("ckpt-4.*"):
        path.write_bytes(b"not a checkpoint")
    with pytest.raises(CorruptFile, match=r"no checkpoint in .* can be read .*; delete the folder .* from step 0\."):
        _fit(checkpoints, 8)


def test_a_missing_state_file_resumes_from_the_newest_checkpoint_files(tmp_path, capsys):
    checkpoints = tmp_path / "ckpt"
    _, whole = _fit(tmp_path / "reference", 12)
    _fit(checkpoints, 8)
    (checkpoints / "checkpoint").unlink()
    trainer, history = _fit(checkpoints, 12)
    assert "is missing; found the checkpoints by their files (newest: " in capsys.readouterr().err
    assert history["loss"] == whole["loss"]  # resumed at step 8, not restarted from 0
    assert [step for step, _ in found(checkpoints)] == [12, 8, 4]  # the older ones are still managed, not lost


def test_corrupt_run_records_are_one_sentence_naming_the_file(tmp_path):
    run = tmp_path / "run"
    Run.start(run, MusicConfig(), lab="music", log=lambda line: None)
    (run / SETTINGS_FILE).write_text('{"format": 2, "lab": "mus')
    with pytest.raises(CorruptFile, match=r"settings.json cannot be read .*delete the run directory"):
        Run.start(run, MusicConfig(), lab="music", log=lambda line: None)
    with pytest.raises(CorruptFile, match="settings.json cannot be read"):
        read_settings(run)
    (run / "metrics.json").write_text("[1, 2")
    with pytest.raises(CorruptFile, match="metrics.json cannot be read .*run the command again"):
        finished_metrics(run, MusicConfig())
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "history.json").write_bytes(b"\x00\x00")
    with pytest.raises(CorruptFile, match="history.json cannot be read .* delete it"):
        history_io.read(tmp_path / "logs")


def test_a_folder_that_cannot_be_written_is_refused_in_one_sentence(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(RunDirectoryError, match=r"cannot write the run directory .* give a folder you can write"):
        Run.start(tmp_path / "file" / "run", MusicConfig(), lab="music", log=lambda line: None)
    if os.geteuid() != 0:  # root writes anywhere
        locked = tmp_path / "read-only"
        locked.mkdir(mode=0o500)
        with pytest.raises(RunDirectoryError, match="Permission denied"):
            Run.start(locked / "run", MusicConfig(), lab="music", log=lambda line: None)


HOLD_RUN = """
import sys, time
from mit_dl.music.config import MusicConfig
from mit_dl.training.runs import Run
run = Run.start(sys.argv[1], MusicConfig(), lab="music", log=lambda line: None)  # held while it lives
print("started", flush=True)
time.sleep(60)
"""


def test_a_second_writer_is_refused_naming_the_process_and_a_dead_ones_lock_is_taken_over(tmp_path):
    run = tmp_path / "run"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_RUN, str(run)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "started"
        with pytest.raises(RunDirectoryError, match=rf"is being written by process {holder.pid} on .*wait until"):
            Run.start(run, MusicConfig(), lab="music", log=lambda line: None)
    finally:
        holder.kill()
        holder.wait()
    # The killed writer's lock file is still there, naming it: its lock died with it.
    assert f"process {holder.pid}" in (run / LOCK_FILE).read_text()
    Run.start(run, MusicConfig(), lab="music", log=lambda line: None)
    assert f"process {os.getpid()}" in (run / LOCK_FILE).read_text()
    Run.start(run, MusicConfig(), lab="music", log=lambda line: None)  # the same process may start it again


def _export(model, directory, version):
    return export_savedmodel(model, directory, metadata={"version": version})


def test_an_export_killed_between_its_steps_leaves_a_whole_export(tmp_path):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    target = tmp_path / "model"
    _export(model, target, 1)
    # The fallback path (systems without an atomic swap): the old export renamed aside, the new one not yet
    # moved in, the process killed there.
    staging = tmp_path / ".model.partial"
    _export(model, tmp_path / "next", 2).rename(staging)
    target.rename(tmp_path / ".model.previous")
    loaded, metadata = load_savedmodel(target)  # put back, whole
    assert metadata["version"] == 1 and not (tmp_path / ".model.previous").exists()
    # Killed after the new one was in place but before the old one was removed: the new one stays.
    (tmp_path / ".model.previous").mkdir()
    assert not recover_export(target) and not (tmp_path / ".model.previous").exists()
    _export(model, target, 3)  # a stale staging folder of a killed export is replaced
    assert load_savedmodel(target)[1]["version"] == 3 and not staging.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]


def test_damaged_exports_are_one_sentence_naming_what_to_do(tmp_path):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    target = _export(model, tmp_path / "model", 1)
    (target / "metadata.json").write_text("{")
    with pytest.raises(CorruptFile, match=r"metadata.json cannot be read .*; export it again"):
        load_savedmodel(target)
    target = _export(model, tmp_path / "model", 1)
    pb = target / "saved_model.pb"
    pb.write_bytes(pb.read_bytes()[: len(pb.read_bytes()) // 2])
    with pytest.raises(CorruptFile, match=r"saved_model.pb or variables/ are damaged .*export it again"):
        load_savedmodel(target)
    target = _export(model, tmp_path / "model", 1)
    for path in (target / "variables").iterdir():
        path.write_bytes(b"")
    with pytest.raises(CorruptFile, match="are damaged"):
        load_savedmodel(target)


def test_json_records_are_written_to_disk_before_they_replace_the_old_ones(tmp_path, monkeypatch):
    from mit_dl.training import runs

    synced = []
    monkeypatch.setattr(runs.os, "fsync", lambda fd: synced.append(fd))
    runs.write_json(tmp_path / "a.json", {"a": 1})
    assert len(synced) == 1 and json.loads((tmp_path / "a.json").read_text()) == {"a": 1}
