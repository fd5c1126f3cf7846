"""The run record: a run directory remembers the config it was started with; a resume must repeat it."""

import dataclasses
import json
import typing

import pytest

from mit_dl.config import RunConfig, option, positive
from mit_dl.errors import ConfigError, RunDirectoryError, RunMismatch
from mit_dl.training.distribute import make_strategy
from mit_dl.training.runs import METRICS_FILE, SETTINGS_FILE, Run


@dataclasses.dataclass(frozen=True)
class ToyConfig(RunConfig):
    PRESETS: typing.ClassVar[dict] = {"small": {"units": 4}, "big": {}}

    preset: str = option("big", "label", resume="free")
    units: int = option(16, "hidden units")
    headers: str = option("musical", "which header lines", choices=("musical", "all"))
    steps: int = option(100, "training steps", resume="free")

    def __post_init__(self):
        super().__post_init__()
        positive(self, "units", "steps")

    @classmethod
    def settings_from_legacy(cls, recorded):
        units = {"small": 4, "big": 16}[recorded["preset"]]  # what the name meant when it was written
        return {
            "config": {"units": units, "seed": recorded["seed"], "headers": recorded["headers"]},
            "derived": {"vocabulary": recorded["vocabulary"]},
        }


def quiet(_):
    pass


def test_first_start_records_the_values_and_a_matching_start_resumes(tmp_path):
    lines = []
    Run.start(
        tmp_path / "run",
        ToyConfig.from_preset("small"),
        lab="toy",
        derived={"vocabulary": ("a", "b")},
        log=lines.append,
    )
    recorded = json.loads((tmp_path / "run" / SETTINGS_FILE).read_text())
    assert recorded["format"] == 2 and recorded["lab"] == "toy"
    assert recorded["config"] == {
        "preset": "small",
        "seed": 0,
        "precision": "float32",
        "distribute": "none",
        "units": 4,
        "headers": "musical",
        "steps": 100,
    }
    assert recorded["derived"] == {"vocabulary": ["a", "b"]}
    assert "(a new run; training again into this folder resumes it)" in lines[0]
    # Fields a resume may change (steps) may differ; the preset is a label.
    Run.start(
        tmp_path / "run", ToyConfig(units=4, steps=500), lab="toy", derived={"vocabulary": ["a", "b"]}, log=lines.append
    )
    assert "holds no checkpoint yet: training starts from step 0" in lines[1]
    assert json.loads((tmp_path / "run" / SETTINGS_FILE).read_text())["config"]["steps"] == 500


def test_other_values_are_refused_naming_every_difference(tmp_path):
    Run.start(tmp_path, ToyConfig.from_preset("small"), lab="toy", log=quiet)
    with pytest.raises(RunMismatch) as error:
        Run.start(tmp_path, ToyConfig(units=8, headers="all", seed=2), lab="toy", derived={"new": 1}, log=quiet)
    message = str(error.value)
    assert "(headers: 'musical' then, 'all' now; new: None then, 1 now; seed: 0 then, 2 now; units: 4 then, 8 now)" in (
        message
    )
    assert "preset" not in message and "steps" not in message and "choose another run directory" in message
    assert [field for field, _, _ in error.value.differences] == ["headers", "new", "seed", "units"]
    shown = str(error.value.with_names(lambda name: "--" + name))  # how the command line names them
    assert "--units: 4 then, 8 now" in shown
    assert json.loads((tmp_path / SETTINGS_FILE).read_text())["config"]["units"] == 4  # unchanged


def test_a_file_or_another_labs_run_directory_is_refused_before_anything_is_written(tmp_path):
    afile = tmp_path / "README.md"
    afile.write_text("notes")
    with pytest.raises(RunDirectoryError, match=f"^{afile} is a file; give a folder for the run"):
        Run.start(afile, ToyConfig(), lab="toy", log=quiet)
    Run.start(tmp_path / "music-run", ToyConfig(), lab="music", log=quiet)
    with pytest.raises(RunDirectoryError, match="is the run directory of a music run, not a toy one; give another"):
        Run.start(tmp_path / "music-run", ToyConfig(), lab="toy", log=quiet)
    assert json.loads((tmp_path / "music-run" / SETTINGS_FILE).read_text())["lab"] == "music"  # unchanged
    assert afile.read_text() == "notes"


def test_the_command_line_says_it_in_one_line(tmp_path):
    from support import mit_dl_in_process

    afile = tmp_path / "README.md"
    afile.write_text("notes")
    args = ("uncertainty", "train", "--method", "mve", "--task", "regression", "--steps", "2")
    refused = mit_dl_in_process(*args, "--out", afile)
    assert refused.returncode == 2
    assert refused.stderr.splitlines() == [
        f"mit-dl: error: {afile} is a file; give a folder for the run (a new folder starts a run)."
    ]
    assert "training from step" not in refused.stdout
    inside = mit_dl_in_process(*args, "--out", afile / "run")
    assert inside.returncode == 2 and inside.stderr.splitlines() == [
        f"mit-dl: error: cannot write the run directory {afile / 'run'} (Not a directory); "
        "give a folder you can write to."
    ]
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "settings.json").write_text("{")
    corrupt = mit_dl_in_process(*args, "--out", tmp_path / "run")
    assert corrupt.returncode == 2 and len(corrupt.stderr.splitlines()) == 1
    assert f"{tmp_path / 'run' / 'settings.json'} cannot be read" in corrupt.stderr


def test_a_long_list_is_shown_by_its_length(tmp_path):
    Run.start(tmp_path, ToyConfig(), lab="toy", derived={"vocabulary": list("abcdefghij")}, log=quiet)
    with pytest.raises(RunMismatch, match="vocabulary: 10 entries then, 11 entries now"):
        Run.start(tmp_path, ToyConfig(), lab="toy", derived={"vocabulary": list("abcdefghijk")}, log=quiet)


def test_a_field_added_after_the_run_started_counts_as_its_default_then(tmp_path):
    Run.start(tmp_path, ToyConfig(), lab="toy", log=quiet)
    settings = json.loads((tmp_path / SETTINGS_FILE).read_text())
    del settings["config"]["headers"]
    (tmp_path / SETTINGS_FILE).write_text(json.dumps(settings))
    Run.start(tmp_path, ToyConfig(), lab="toy", log=quiet)  # headers was at its default, "musical"
    with pytest.raises(RunMismatch, match="headers: 'musical' then, 'all' now"):
        Run.start(tmp_path, ToyConfig(headers="all"), lab="toy", log=quiet)


@dataclasses.dataclass(frozen=True)
class ToyWithSchedule(ToyConfig):
    # The code decayed nothing before this field existed; new runs decay by default.
    schedule: str = option("cosine", "learning rate", choices=("constant", "cosine"), absent="constant")


def test_a_field_added_with_an_absent_value_counts_as_that_value_then(tmp_path):
    from mit_dl.config import absent_values

    assert absent_values(ToyWithSchedule)["schedule"] == "constant"
    assert absent_values(ToyWithSchedule)["headers"] == "musical"  # no absent value: the default
    Run.start(tmp_path, ToyWithSchedule(), lab="toy", log=quiet)
    settings = json.loads((tmp_path / SETTINGS_FILE).read_text())
    del settings["config"]["schedule"]
    (tmp_path / SETTINGS_FILE).write_text(json.dumps(settings))
    with pytest.raises(RunMismatch, match="schedule: 'constant' then, 'cosine' now"):
        Run.start(tmp_path, ToyWithSchedule(), lab="toy", log=quiet)
    Run.start(tmp_path, ToyWithSchedule(schedule="constant"), lab="toy", log=quiet)
    # Its metrics, written before the field existed, belong to the absent value too.
    from mit_dl.training.runs import finished_metrics

    (tmp_path / METRICS_FILE).write_text(json.dumps({"config": settings["config"], "accuracy": 0.5}))
    assert finished_metrics(tmp_path, ToyWithSchedule(schedule="constant"))["accuracy"] == 0.5
    assert finished_metrics(tmp_path, ToyWithSchedule()) is None


def test_a_legacy_settings_file_is_read_through_the_config_and_rewritten(tmp_path):
    legacy = {"preset": "small", "seed": 0, "headers": "musical", "vocabulary": ["a", "b"]}
    (tmp_path / SETTINGS_FILE).write_text(json.dumps(legacy))
    with pytest.raises(RunMismatch, match=r"\(units: 4 then, 16 now\)"):
        Run.start(tmp_path, ToyConfig(), lab="toy", derived={"vocabulary": ["a", "b"]}, log=quiet)
    assert json.loads((tmp_path / SETTINGS_FILE).read_text()) == legacy  # a refusal rewrites nothing
    Run.start(tmp_path, ToyConfig(units=4), lab="toy", derived={"vocabulary": ["a", "b"]}, log=quiet)
    assert json.loads((tmp_path / SETTINGS_FILE).read_text())["format"] == 2


def test_metrics_and_export_metadata_come_from_the_same_record(tmp_path):
    run = Run.start(tmp_path, ToyConfig(seed=3), lab="toy", derived={"data": "x.abc", "vocabulary": ["a"]}, log=quiet)
    metrics = run.write_metrics({"loss": 0.5})
    assert json.loads((tmp_path / METRICS_FILE).read_text()) == metrics
    assert metrics["config"]["seed"] == 3 and metrics["loss"] == 0.5 and metrics["data"] == "x.abc"
    assert "vocabulary" not in metrics and set(metrics["versions"]) == {"mit_dl", "tensorflow", "keras"}
    metadata = run.export_metadata({"kind": "toy"})
    assert metadata["config"] == metrics["config"] and metadata["kind"] == "toy"


def test_the_run_seeds_and_sets_the_precision_inside_its_scope(tmp_path):
    import keras
    import numpy as np

    draws = []
    for _ in range(2):
        run = Run.start(
            tmp_path / f"r{len(draws)}", ToyConfig(seed=7, precision="mixed_bfloat16"), lab="toy", log=quiet
        )
        with run.scope():
            assert keras.config.dtype_policy().name == "mixed_bfloat16"
            layer = keras.layers.Dense(3)
            layer.build((None, 2))
            draws.append((np.random.rand(), layer.kernel.numpy()))
        assert keras.config.dtype_policy().name == "float32"
    assert draws[0][0] == draws[1][0]
    np.testing.assert_array_equal(draws[0][1], draws[1][1])


def test_configs_name_the_field_in_their_errors():
    with pytest.raises(ConfigError, match="^units must be a positive number, received 0.$") as error:
        ToyConfig(units=0)
    assert error.value.field == "units"
    with pytest.raises(ConfigError, match="^headers must be one of musical, all, received 'some'.$"):
        ToyConfig(headers="some")
    with pytest.raises(ConfigError, match="^preset must be one of small, big, received 'huge'.$"):
        ToyConfig.from_preset("huge")
    with pytest.raises(ConfigError, match="^colour is not a setting of ToyConfig"):
        ToyConfig.from_preset("small", colour="red")
    assert ToyConfig.from_preset("small", units=5).units == 5


def test_strategies_from_the_distribute_setting(monkeypatch):
    import tensorflow as tf

    assert make_strategy("none") is None
    assert isinstance(make_strategy("mirrored"), tf.distribute.MirroredStrategy)
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(ConfigError, match="^distribute is multi-worker but \\$TF_CONFIG is not set"):
        make_strategy("multi-worker")
    monkeypatch.setenv("TF_CONFIG", "{not json")
    with pytest.raises(ConfigError, match="not valid JSON"):
        make_strategy("multi-worker")


def test_finished_metrics_reads_back_a_run_of_exactly_these_values(tmp_path):
    from mit_dl.training.runs import finished_metrics

    config = ToyConfig.from_preset("small")
    assert finished_metrics(tmp_path / "run", config) is None  # nothing there
    run = Run.start(tmp_path / "run", config, lab="toy", log=quiet)
    assert finished_metrics(tmp_path / "run", config) is None  # started, not finished
    run.write_metrics({"accuracy": 0.75})
    assert finished_metrics(tmp_path / "run", config)["accuracy"] == 0.75
    # A free field (the step budget) and a compared one both count: the run did not finish with these values.
    assert finished_metrics(tmp_path / "run", config.replace(steps=200)) is None
    assert finished_metrics(tmp_path / "run", config.replace(units=8)) is None
