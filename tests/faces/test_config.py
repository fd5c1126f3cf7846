"""`FacesConfig`: presets, validation naming the field, and run directories of release 0.1.0."""

import json
import shutil

import pytest
from support import FIXTURES

from mit_dl.errors import ConfigError, RunMismatch
from mit_dl.faces import FacesConfig
from mit_dl.training.runs import Run


def test_presets_and_validation_name_the_field():
    quick = FacesConfig.from_preset("quick")
    assert (quick.train_count, quick.steps, quick.warmup_steps, quick.resample_every) == (4000, 600, 200, 100)
    full = FacesConfig.from_preset("full")
    assert (full.train_count, full.test_count, full.steps, full.warmup_steps) == (20000, 4800, 4000, 1000)
    assert FacesConfig().latent_dim == 100  # the course's
    with pytest.raises(ConfigError, match="^combine must be one of product, max, received 'mean'.$"):
        FacesConfig(combine="mean")
    with pytest.raises(ConfigError, match="^batch_size must be at least 2"):
        FacesConfig(batch_size=1)
    assert FacesConfig(data="course/train_face.h5").real_data and not FacesConfig().real_data


def test_a_release_0_1_faces_run_directory_is_read_with_the_values_its_preset_had(tmp_path):
    out = tmp_path / "run"
    shutil.copytree(FIXTURES / "runs-0.1.0" / "faces-dbvae", out)  # quick preset, combine product, seed 0
    # Release 0.1 kept the learning rate constant on synthetic data: today's cosine default differs too.
    with pytest.raises(
        RunMismatch, match=r"\(combine: 'product' then, 'max' now; schedule: 'constant' then, 'cosine' now\)"
    ):
        Run.start(out, FacesConfig.from_preset("quick"), lab="faces", log=lambda _: None)
    with pytest.raises(RunMismatch, match="resample_every: 100 then, 500 now"):
        Run.start(
            out,
            FacesConfig.from_preset("full", combine="product", steps=600, schedule="constant"),
            lab="faces",
            log=print,
        )
    Run.start(
        out, FacesConfig.from_preset("quick", combine="product", schedule="constant"), lab="faces", log=lambda _: None
    )
    recorded = json.loads((out / "settings.json").read_text())["config"]
    assert (recorded["combine"], recorded["schedule"]) == ("product", "constant")
