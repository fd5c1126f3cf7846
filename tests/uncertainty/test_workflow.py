"""The uncertainty lab end to end on small slices of the real data: every method trains, measures and exports.

The slices (600 Fashion-MNIST training images, 300 test images, 300 MNIST
test digits) keep each run to seconds; the figures of the docs page come
from `python -m docs.build_assets --only uncertainty` on the full sets.
"""

import json

import numpy as np
import pytest
from support import mit_dl_in_process, run_fresh_python, run_mit_dl, shared_data, write_idx

from mit_dl.data import mnist
from mit_dl.errors import ConfigError, DataError, ExportError
from mit_dl.uncertainty import bias, evaluate, train
from mit_dl.uncertainty.config import UncertaintyConfig
from mit_dl.uncertainty.data import regression_batches

TINY = {"epochs": 1, "validation": 100, "samples": 3, "members": 2, "resamples": 20, "latent_dim": 4}


@pytest.fixture(scope="module")
def slices(tmp_path_factory):
    """IDX slices of the real Fashion-MNIST (train 700, test 300) and MNIST (test 300) in one data folder."""
    root = tmp_path_factory.mktemp("data")
    parts = [
        ("fashion-mnist", "fashion_mnist", "train", "train", 700),
        ("fashion-mnist", "fashion_mnist", "test", "t10k", 300),
    ]
    parts.append(("mnist", "mnist", "test", "t10k", 300))
    for folder, name, split, prefix, count in parts:
        images, labels, _ = mnist.load_arrays(name, split, shared_data(folder), download=False)
        (root / folder).mkdir(exist_ok=True)
        write_idx(root / folder / f"{prefix}-images-idx3-ubyte.gz", images[:count])
        write_idx(root / folder / f"{prefix}-labels-idx1-ubyte.gz", labels[:count])
    return root


def _train(method, slices, out, **changes):
    config = UncertaintyConfig.from_preset(
        "quick", method=method, task="fashion_mnist", data=str(slices), **{**TINY, **changes}
    )
    return train.train(config, out, log=lambda _: None)


@pytest.mark.parametrize("method", ["deterministic", "dropout", "bayes", "vae"])
def test_each_method_measures_calibration_and_ood_and_exports(method, slices, tmp_path):
    metrics = _train(method, slices, tmp_path / method)
    calibration = metrics["calibration"]
    assert 0.3 < calibration["accuracy"] <= 1 and 0 < calibration["nll"] and 0 < calibration["brier"] < 2
    low, high = calibration["ece_95ci"]
    # (The bootstrap ECE is biased upwards, so its percentile interval need not contain the estimate.)
    assert 0 <= low < high <= 1 and sum(calibration["bins"]["count"]) == 300
    expected = {"max_softmax", "entropy"} | {
        "deterministic": {"feature_rarity"},
        "dropout": {"epistemic"},
        "bayes": {"epistemic"},
        "vae": {"reconstruction_error", "reconstruction_divergence", "complexity_corrected", "latent_rarity"},
    }.get(method, set())
    assert set(metrics["ood"]) == expected
    for row in metrics["ood"].values():
        assert 0 <= row["auroc_95ci"][0] < row["auroc_95ci"][1] <= 1 and 0 < row["aupr"] <= 1
    assert metrics["temperature"] > 0 and set(metrics["temperature_scaled"]) == {"calibration", "ood"}
    for name in ("reliability.png", "ood_scores.png", "saved_model/saved_model.pb", "metrics.json"):
        assert (tmp_path / method / name).is_file(), name


@pytest.fixture(scope="module")
def ensemble_run(slices, tmp_path_factory):
    out = tmp_path_factory.mktemp("ensemble")
    return out, _train("ensemble", slices, out)


def test_the_ensemble_export_predicts_with_every_member_in_a_process_without_mit_dl(ensemble_run, slices):
    out, metrics = ensemble_run
    images = mnist.load_arrays("fashion_mnist", "test", slices / "fashion-mnist")[0][:8]
    np.save(out / "probe.npy", images)
    code = f"""
        import json, sys
        import numpy as np, tensorflow as tf
        served = tf.saved_model.load({str(out / "saved_model")!r})
        images = np.load({str(out / "probe.npy")!r})
        result = {{k: v.numpy().tolist() for k, v in served.predict(images).items()}}
        errors = []
        for bad in (images[:, :20, :20], images.astype(np.float32)):
            try:
                served.predict(bad)
            except Exception as error:
                errors.append(str(error)[:3000])
        print(json.dumps({{"out": result, "errors": errors, "mit_dl": "mit_dl" in sys.modules}}))
    """
    served = json.loads(run_fresh_python(code).strip().splitlines()[-1])
    assert served["mit_dl"] is False
    assert set(served["out"]) == {"probabilities", "entropy", "aleatoric", "epistemic", "variance"}
    predict = evaluate.compiled_predictor(_reloaded_ensemble(out))
    np.testing.assert_allclose(served["out"]["probabilities"], predict(images)["probabilities"].numpy(), atol=1e-5)
    assert "predict expects uint8 images [N, 28, 28, 1] or [N, 28, 28]" in served["errors"][0]
    assert "predict expects uint8 inputs; received float32" in served["errors"][1]  # not cast to uint8 zeros
    recorded = json.loads((out / "saved_model" / "metadata.json").read_text())
    assert recorded["method"] == "ensemble" and recorded["temperature"] == metrics["temperature"]


def _reloaded_ensemble(out):
    """The trained ensemble rebuilt and restored from the run's checkpoint (the resume path)."""
    import tensorflow as tf

    from mit_dl.training import Trainer
    from mit_dl.uncertainty.model import build_model

    config = UncertaintyConfig(**json.loads((out / "settings.json").read_text())["config"])
    model = build_model(config, 600, 10)
    trainer = Trainer(model, checkpoint_dir=out / "checkpoints", verbose=0)
    trainer.restore()
    assert int(trainer.step.numpy()) == 10  # 600 images, batches of 64, one epoch
    assert isinstance(model.members[0](tf.zeros((1, 28, 28, 1))), tf.Tensor)
    return model


def test_evaluate_reproduces_the_runs_figures_from_the_export_alone(ensemble_run, slices, tmp_path):
    out, metrics = ensemble_run
    report = evaluate.evaluate(out / "saved_model", out=tmp_path, data_dir=slices, resamples=20)
    assert report["calibration"]["accuracy"] == metrics["calibration"]["accuracy"]
    assert np.isclose(report["calibration"]["ece"], metrics["calibration"]["ece"], atol=1e-6)
    for name in metrics["ood"]:
        assert np.isclose(report["ood"][name]["auroc"], metrics["ood"][name]["auroc"], atol=1e-6)
    assert (tmp_path / "evaluation.json").is_file() and (tmp_path / "reliability.png").is_file()
    import keras

    from mit_dl.export import export_savedmodel

    other = export_savedmodel(keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)]), tmp_path / "other")
    with pytest.raises(ExportError, match="is not an uncertainty classifier export"):
        evaluate.evaluate(other, data_dir=slices)


def test_a_run_stopped_by_sigterm_resumes_to_the_figures_of_an_uninterrupted_run(slices, tmp_path):
    import re
    import signal

    from support import interrupted_mit_dl

    def args(out):
        flags = ["--method", "deterministic", "--task", "fashion_mnist", "--epochs", "12", "--data", str(slices)]
        return ["uncertainty", "train", *flags, "--validation", "100", "--resamples", "20", "--out", str(out)]

    returncode, stderr = interrupted_mit_dl(args(tmp_path / "run"), signal.SIGTERM, after_seconds=1.0)
    found = re.search(r"training interrupted \(SIGTERM\) at step (\d+); checkpoint saved", stderr)
    assert returncode == 130 and found, stderr[-3000:]
    step = int(found.group(1))
    assert 0 < step < 120
    rerun = run_mit_dl(*args(tmp_path / "run"))
    assert rerun.returncode == 0 and f"resuming from its checkpoint at step {step}" in rerun.stdout, rerun.stderr
    straight = run_mit_dl(*args(tmp_path / "straight"))
    assert straight.returncode == 0, straight.stderr
    resumed, uninterrupted = (json.loads((tmp_path / d / "metrics.json").read_text()) for d in ("run", "straight"))
    assert resumed["calibration"]["nll"] == pytest.approx(uninterrupted["calibration"]["nll"], rel=1e-5)
    assert resumed["history"]["loss"][-1] == pytest.approx(uninterrupted["history"]["loss"][-1], rel=1e-5)


def test_the_regression_run_scores_its_bands_and_exports_them(tmp_path):
    config = UncertaintyConfig.from_preset(
        "quick", method="ensemble", task="regression", members=2, steps=400, train_count=500
    )
    metrics = train.train(config, tmp_path / "run", log=lambda _: None)
    report = metrics["regression"]
    assert {"rmse_to_truth", "sigma_relative_rms_error", "epistemic_gap_ratio", "epistemic_outside_ratio"} <= set(
        report
    )
    assert report["epistemic_outside_ratio"] > 1  # wider beyond the data
    assert (tmp_path / "run" / "regression.png").is_file()
    code = f"""
        import json, numpy as np, tensorflow as tf
        served = tf.saved_model.load({str(tmp_path / "run" / "saved_model")!r})
        out = served.predict(np.array([[-3.0], [0.0], [3.0]], np.float32))
        try:
            served.predict(np.array([[np.nan]], np.float32))
            error = None
        except Exception as caught:
            error = str(caught)
        print(json.dumps({{"prediction": out["prediction"].numpy()[:, 0].tolist(), "keys": sorted(out),
                           "nan": "NaN" in (error or "")}}))
    """
    served = json.loads(run_fresh_python(code).strip().splitlines()[-1])
    assert served["keys"] == ["aleatoric", "epistemic", "prediction"] and served["nan"]
    assert served["prediction"][0] < served["prediction"][1] < served["prediction"][2]  # y = x^3 rises


def test_bad_settings_and_data_fail_in_one_sentence(tmp_path):
    with pytest.raises(ConfigError, match=r"^method mve predicts a regression variance: use it with task regression"):
        UncertaintyConfig(method="mve", task="fashion_mnist")
    with pytest.raises(ConfigError, match=r"^method vae scores images"):
        UncertaintyConfig(method="vae", task="regression")
    with pytest.raises(ConfigError, match=r"^samples must be a positive number, received 0"):
        UncertaintyConfig(samples=0)
    with pytest.raises(DataError, match=r"regression targets hold NaN or infinite values at rows \[1\] \(1 rows\)"):
        regression_batches(np.zeros((3, 1)), np.array([[0.0], [np.nan], [1.0]]), 2)


def test_cli_errors_are_one_line(tmp_path):
    result = run_mit_dl("uncertainty", "train", "--method", "mve", "--task", "fashion_mnist", "--out", str(tmp_path))
    assert result.returncode == 2 and result.stderr.strip().splitlines()[-1] == (
        "mit-dl: error: --method mve predicts a regression variance: use it with task regression."
    ), result.stderr
    result = mit_dl_in_process("uncertainty", "train", "--rate", "1.5", "--out", str(tmp_path))
    assert result.returncode == 2 and "--rate must be a dropout rate strictly between 0 and 1" in result.stderr
    result = mit_dl_in_process("uncertainty", "evaluate", "--model", str(tmp_path))
    assert result.returncode == 2 and "is not a SavedModel export" in result.stderr


def test_the_bias_scores_rank_every_training_face_from_one_reconstruction_each(tmp_path):
    from mit_dl.uncertainty.config import BiasConfig

    metrics = bias.bias(BiasConfig(count=400, steps=10, batch_size=32, latent_dim=8), tmp_path, log=lambda *_: None)
    report = metrics["bias"]
    assert report["faces"] == 200 and set(report["auroc"]) == {
        "reconstruction_error",
        "reconstruction_divergence",
        "latent_rarity",
        "feature_rarity",
    }
    for row in report["auroc"].values():
        assert set(row) == {"dark skin or hat", "dark skin", "hat"} and all(0 <= v <= 1 for v in row.values())
    assert 0 < report["rare_share"]["dark skin"] < report["rare_share"]["dark skin or hat"] < 0.5
    assert (tmp_path / "bias_scores.png").stat().st_size > 1000 and (tmp_path / "metrics.json").is_file()
