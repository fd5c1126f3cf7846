"""Progress while a person waits: lines every few seconds off a terminal, nothing with --quiet."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from mit_dl import progress
from mit_dl.training import Trainer


@pytest.fixture
def every_call(monkeypatch):
    monkeypatch.setattr(progress, "LINE_SECONDS", 0.0)
    monkeypatch.setenv("MIT_DL_QUIET", "0")  # recorded, so whatever a test sets is undone after it


def _fit(verbose, steps=None):
    x = np.random.default_rng(0).normal(size=(64, 3)).astype("float32")
    data = tf.data.Dataset.from_tensor_slices((x, (x[:, 0] > 0).astype("int32"))).batch(8)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    trainer = Trainer(
        model,
        keras.optimizers.Adam(),
        keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        verbose=verbose,
        steps_per_execution=1,
    )
    trainer.fit(data, epochs=None if steps else 1, steps=steps)


def test_off_a_terminal_a_plain_line_tells_the_step_rate_time_left_and_losses(every_call, capsys):
    _fit("auto")
    lines = capsys.readouterr().out.splitlines()
    ticks = [line for line in lines if line.startswith("  epoch 1: step ")]
    assert len(ticks) >= 2 and all("/8 (" in line and ": loss " in line for line in ticks), lines
    assert all("/s, about " in line for line in ticks[1:])  # the first call's time is tracing, not a rate
    assert lines[-1].startswith("epoch 1 (step 8): loss ")


def test_quiet_keeps_the_epoch_line_and_drops_the_progress(every_call, capsys, monkeypatch):
    progress.set_quiet()
    _fit("auto")
    lines = capsys.readouterr().out.splitlines()
    assert not [line for line in lines if line.startswith("  epoch")] and lines[-1].startswith("epoch 1 (step 8)")


def test_counts_read_as_counts():
    assert [progress.format_value(v) for v in (44.0, 2234.5, 0.431234, 1.5e-05)] == [
        "44",
        "2234.5",
        "0.4312",
        "1.5e-05",
    ]


def test_the_command_line_takes_quiet_before_or_after_the_command():
    from mit_dl.cli import build_parser

    parser = build_parser()
    assert parser.parse_args(["--quiet", "images", "train"]).quiet
    assert parser.parse_args(["images", "train", "--quiet"]).quiet
    assert not parser.parse_args(["images", "train"]).quiet


def test_a_budget_that_ends_the_epoch_early_is_the_total_shown(every_call, capsys):
    _fit("auto", steps=5)  # 5 of the epoch's 8 steps
    ticks = [line for line in capsys.readouterr().out.splitlines() if line.startswith("  epoch 1: step ")]
    assert ticks and all("/5 (" in line for line in ticks), ticks
