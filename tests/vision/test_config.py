"""The vision config: each task's default model, and one clear sentence for each bad value."""

import json

import numpy as np
import pytest

from mit_dl.errors import ConfigError
from mit_dl.vision.config import VisionConfig


def test_each_task_gets_its_default_model():
    assert VisionConfig().model == "unet"
    assert VisionConfig(task="detection").model == "detector"
    full = VisionConfig.from_preset("full")  # the preset's steps win; the model's warm-up still applies
    assert (full.steps, full.warmup_steps, full.model) == (20000, 500, "unet")


def test_each_model_gets_its_quick_schedule_and_the_warmup_is_capped_at_a_tenth_of_the_steps():
    assert (VisionConfig().steps, VisionConfig().warmup_steps) == (6000, 500)
    assert (VisionConfig(model="fcn").steps, VisionConfig(model="fcn").warmup_steps) == (8000, 0)
    assert VisionConfig(task="detection").optimizer_settings()["warmup_steps"] == 0
    assert VisionConfig(steps=1000).optimizer_settings()["warmup_steps"] == 100
    assert VisionConfig(steps=4).optimizer_settings() == {
        "optimizer": "Adam",
        "learning_rate": 5e-3,
        "schedule": "cosine",
        "warmup_steps": 0,
    }


@pytest.mark.parametrize(
    ("values", "sentence"),
    [
        ({"object_weight": 0}, "^object_weight must be a positive number, received 0.$"),
        ({"object_weight": -2.0}, "^object_weight must be a positive number, received -2.0.$"),
        ({"task": "detection", "model": "unet"}, "^model must be detector for detection, received 'unet'.$"),
        ({"model": "detector"}, "^model must be fcn or unet for segmentation, received 'detector'.$"),
        ({"max_objects": 0}, "^max_objects must be between 1 and 5, received 0.$"),
        ({"warmup_steps": -1}, "^warmup_steps must be at least 0, received -1.$"),
    ],
)
def test_bad_values_are_refused_with_one_sentence(values, sentence):
    with pytest.raises(ConfigError, match=sentence):
        VisionConfig(**values)


def test_a_warmup_rises_linearly_to_the_peak_then_the_cosine_decays_to_zero():
    from mit_dl.training.optimizers import build_optimizer as optimizer

    settings = {"optimizer": "Adam", "learning_rate": 4e-3, "schedule": "cosine", "warmup_steps": 100}
    adam = optimizer(settings, total_steps=500)
    rates = []
    for step in (0, 50, 100, 300, 500):
        adam.iterations.assign(step)
        rates.append(float(adam.learning_rate))
    np.testing.assert_allclose(rates, [0.0, 2e-3, 4e-3, 2e-3, 0.0], atol=1e-9)
    plain = optimizer({**settings, "warmup_steps": 0}, total_steps=500)
    plain.iterations.assign(0)
    assert float(plain.learning_rate) == pytest.approx(4e-3)


def _started_then_without(tmp_path, config, *fields):
    """A run directory of ``config`` whose settings lack ``fields``, as a release before them wrote it."""
    from mit_dl.training.runs import SETTINGS_FILE, Run

    Run.start(tmp_path, config, lab="vision", log=lambda *_: None)
    settings = json.loads((tmp_path / SETTINGS_FILE).read_text())
    for name in fields:
        del settings["config"][name]
    (tmp_path / SETTINGS_FILE).write_text(json.dumps(settings))


def test_runs_from_before_the_object_weight_and_the_warmup_resume_only_with_their_old_values(tmp_path):
    from mit_dl.errors import RunMismatch
    from mit_dl.training.runs import Run

    _started_then_without(tmp_path, VisionConfig(steps=40), "object_weight", "warmup_steps")
    with pytest.raises(RunMismatch, match=r"object_weight: 1\.0 then, 5\.0 now.*warmup_steps: 0 then, 500 now"):
        Run.start(tmp_path, VisionConfig(steps=40), lab="vision", log=lambda *_: None)
    Run.start(tmp_path, VisionConfig(steps=40, object_weight=1.0, warmup_steps=0), lab="vision", log=lambda *_: None)


def test_a_detector_resume_ignores_the_segmentation_weight():
    from mit_dl.training.runs import compared_settings

    detector = VisionConfig(task="detection")
    assert "object_weight" not in compared_settings(detector)
    assert compared_settings(detector) == compared_settings(detector.replace(object_weight=9.0))
    assert compared_settings(VisionConfig()) != compared_settings(VisionConfig(object_weight=9.0))
