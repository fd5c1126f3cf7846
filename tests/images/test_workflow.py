"""Lab 2 part 1 end to end on real Fashion-MNIST: accuracy, plots, export, CLI.

The CNN is trained once per module with the "cosine" recipe (the course's
model, Adam, batch 64; peak rate decayed to zero) for one epoch and reused by
the export tests: 88.1% on the real test set (seed 1; the course's 5 epochs
give 91.2%, docs/labs/images.md, from the command that makes that figure).
"""

import json

import numpy as np
import pytest
from support import interrupted_mit_dl, mit_dl_in_process, run_fresh_python, run_mit_dl, shared_data

from mit_dl.data import mnist as image_data
from mit_dl.errors import ConfigError, RunMismatch
from mit_dl.images import ImagesConfig

# One epoch of the cosine recipe: 88% (a broken model, loss or pipeline stays far below 87%).
CI_RECIPE, CI_EPOCHS, CI_ACCURACY = "cosine", 1, 0.87


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    from mit_dl.images import train

    data_dir = shared_data("fashion-mnist")
    out = tmp_path_factory.mktemp("cnn_run")
    config = ImagesConfig(epochs=CI_EPOCHS, recipe=CI_RECIPE, data=str(data_dir))
    metrics = train.train(config, out, log=lambda _: None)
    return out, metrics, data_dir


def test_one_epoch_of_the_cnn_reaches_87_percent_on_the_real_fashion_mnist_test_set(trained_run):
    out, metrics, _ = trained_run
    test = metrics["test"]
    assert test["examples"] == 10000
    assert test["accuracy"] >= CI_ACCURACY, f"CNN test accuracy {test['accuracy']:.4f} < {CI_ACCURACY}"
    assert metrics["history"]["loss"][-1] < 0.25 * np.log(10)  # the epoch's mean loss, against a uniform guess
    matrix = np.array(test["confusion_matrix"])
    assert matrix.sum() == 10000 and np.trace(matrix) / 10000 == pytest.approx(test["accuracy"])
    per_class = [test["per_class_accuracy"][n] for n in image_data.CLASS_NAMES["fashion_mnist"]]
    np.testing.assert_allclose(per_class, np.diag(matrix) / matrix.sum(1))
    for name in ("predictions.png", "confusion_matrix.png", "training_curves.png", "metrics.json"):
        assert (out / name).stat().st_size > 1000, name
    assert (out / "checkpoints" / "checkpoint").is_file()


def test_exported_classify_matches_the_model_in_a_fresh_process(trained_run):
    out, _, data_dir = trained_run
    from mit_dl.images.model import build_model, predict_probabilities
    from mit_dl.training import Trainer

    # Rebuild the trained model from its checkpoint to get in-process outputs.
    model = build_model(ImagesConfig(recipe=CI_RECIPE), total_steps=1)
    Trainer(model, checkpoint_dir=out / "checkpoints").restore()
    x, _, _ = image_data.load_arrays("fashion_mnist", "test", data_dir=data_dir, download=False)
    expected = predict_probabilities(model, x[:64])
    np.save(out / "probe.npy", x[:64])
    result = run_fresh_python(f"""
        import json, sys, numpy as np, tensorflow as tf
        served = tf.saved_model.load({str(out / "saved_model")!r})
        x = np.load({str(out / "probe.npy")!r})
        rank3 = served.classify(tf.constant(x))
        rank4 = served.classify(tf.constant(x[..., None]))
        errors = {{}}
        for name, bad in (("size", np.zeros((2, 32, 32), np.uint8)), ("channels", np.zeros((2, 28, 28, 3), np.uint8)),
                          ("rank", np.zeros((28, 28), np.uint8))):
            try:
                served.classify(tf.constant(bad))
                errors[name] = "no error"
            except Exception as error:
                errors[name] = str(error)
        for name, floats in (("dtype", tf.constant(x.astype(np.float32) / 255)), ("numpy dtype", x / 255.0)):
            try:  # images in [0, 1] would be cast to uint8 zeros: refused instead
                served.classify(floats)
                errors[name] = "no error"
            except Exception as error:
                errors[name] = str(error)
        assert not any(m.startswith("mit_dl") for m in sys.modules)
        print(json.dumps({{"p3": rank3["probabilities"].numpy().tolist(), "p4": rank4["probabilities"].numpy().tolist(),
                          "ids": rank3["class_ids"].numpy().tolist(), "errors": errors}}))
    """)
    served = json.loads(result.strip().splitlines()[-1])
    np.testing.assert_allclose(served["p3"], expected, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(served["p4"], served["p3"])
    np.testing.assert_allclose(np.sum(served["p3"], 1), 1.0, rtol=1e-5)
    assert served["ids"] == np.argmax(expected, 1).tolist()
    for name in ("size", "channels", "rank"):
        assert "classify expects uint8 images [N, 28, 28, 1] or [N, 28, 28]" in served["errors"][name], served[
            "errors"
        ][name]
    for name in ("dtype", "numpy dtype"):
        assert "classify expects uint8 inputs; received float" in served["errors"][name], served["errors"][name]
    metadata = json.loads((out / "saved_model" / "metadata.json").read_text())
    assert metadata["dataset"] == "fashion_mnist" and metadata["test_accuracy"] >= CI_ACCURACY


def test_cli_evaluate_reports_accuracy_of_the_export(trained_run):
    out, metrics, data_dir = trained_run
    result = run_mit_dl("images", "evaluate", "--model", str(out / "saved_model"), "--data", str(data_dir))
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"accuracy {100 * metrics['test']['accuracy']:.2f}%" in result.stdout
    assert "Ankle boot" in result.stdout


def test_cli_errors_are_one_line(tmp_path):
    missing = run_mit_dl(
        "images",
        "train",
        "--dataset",
        "mnist",
        "--data",
        str(tmp_path),
        env={"HOME": str(tmp_path), "MIT_DL_OFFLINE": "1", "MIT_DL_DATA": ""},
    )
    assert missing.returncode == 2
    lines = missing.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        f"mit-dl: error: mnist (train) is not in {tmp_path}, the folder given"
    ), missing.stderr
    bad = run_mit_dl("images", "train", "--epochs", "0")
    assert (
        bad.returncode == 2 and bad.stderr.strip() == "mit-dl: error: --epochs must be a positive number, received 0."
    )
    bad = mit_dl_in_process("images", "train", "--validation", "-5")
    assert bad.returncode == 2
    assert bad.stderr.strip() == "mit-dl: error: --validation must be a positive number, received -5."
    bad = mit_dl_in_process("images", "train", "--learning-rate", "0")
    assert bad.returncode == 2
    assert bad.stderr.strip() == "mit-dl: error: --learning-rate must be a positive number, received 0.0."
    no_model = mit_dl_in_process("images", "evaluate", "--model", str(tmp_path))
    assert no_model.returncode == 2 and "is not a SavedModel export" in no_model.stderr
    for result in (missing, bad, no_model):
        assert "run directory" not in result.stdout and "Traceback" not in result.stderr


def _tiny_train_split(folder, n=40):
    """A training split of ``n`` IDX images whose first pixel is their index (no test split)."""
    from support import write_idx

    x = np.zeros((n, 28, 28), np.uint8)
    x[:, 0, 0] = np.arange(n)
    folder.mkdir(parents=True, exist_ok=True)
    write_idx(folder / "train-images-idx3-ubyte.gz", x)
    write_idx(folder / "train-labels-idx1-ubyte.gz", np.arange(n) % 10)
    return folder


def test_validation_split_holds_training_images_out_without_reading_the_test_set(tmp_path, monkeypatch):
    from mit_dl.images import train
    from mit_dl.images.data import load_data

    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("MIT_DL_OFFLINE", "1")
    folder = _tiny_train_split(tmp_path / "data")  # no test files: reading them would fail
    (train_x, _), (val_x, val_y), source = load_data(
        ImagesConfig(dataset="mnist", data=str(folder), validation=10, seed=3)
    )
    assert len(train_x) == 30 and len(val_x) == 10 and "validation split 30/10" in source
    assert set(train_x[:, 0, 0]).isdisjoint(val_x[:, 0, 0])
    assert sorted(np.concatenate([train_x, val_x])[:, 0, 0]) == list(range(40))
    np.testing.assert_array_equal(val_y, val_x[:, 0, 0] % 10)
    with pytest.raises(ConfigError, match="^validation must be between 1 and 39, received 40.$"):
        load_data(ImagesConfig(dataset="mnist", data=str(folder), validation=40))
    with pytest.raises(ConfigError, match="cannot be combined"):
        ImagesConfig(dataset="mnist", split_test=5, validation=5)

    config = ImagesConfig(
        dataset="mnist",
        model="dense",
        epochs=1,
        batch_size=8,
        data=str(folder),
        validation=10,
        recipe="cosine",
        learning_rate=0.05,
    )
    metrics = train.train(config, tmp_path / "run", export=False, log=lambda _: None)
    assert metrics["evaluated_on"] == "validation" and metrics["test"]["examples"] == 10
    assert metrics["config"]["recipe"] == "cosine" and "validation_accuracy" in metrics["history"]
    assert metrics["recipe_settings"] == {"optimizer": "SGD", "learning_rate": 0.05, "schedule": "cosine"}


def test_mixed_float16_training_learns_scales_the_loss_and_exports_float32_probabilities(tmp_path, monkeypatch):
    import tensorflow as tf
    from support import write_idx

    from mit_dl.images import train

    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("MIT_DL_OFFLINE", "1")
    rng = np.random.default_rng(0)
    labels = np.arange(300) % 10
    x = rng.integers(0, 60, (300, 28, 28)).astype(np.uint8)
    for i, label in enumerate(labels):  # a bright 5x5 patch whose place is the class
        row, col = divmod(label, 5)
        x[i, 4 + 10 * row : 9 + 10 * row, 2 + 5 * col : 7 + 5 * col] = 255
    folder = tmp_path / "data"
    folder.mkdir()
    write_idx(folder / "train-images-idx3-ubyte.gz", x)
    write_idx(folder / "train-labels-idx1-ubyte.gz", labels)
    out = tmp_path / "run"
    config = ImagesConfig(dataset="mnist", epochs=3, batch_size=16, data=str(folder), validation=60, recipe="cosine")
    metrics = train.train(config.replace(precision="mixed_float16"), out, log=lambda _: None)
    assert metrics["config"]["precision"] == "mixed_float16" and metrics["test"]["accuracy"] >= 0.9
    saved = [name for name, _ in tf.train.list_variables(str(out / "checkpoints"))]
    assert any("dynamic_scale" in name for name in saved)  # the Trainer wrapped Adam in loss scaling
    code = f"""
        import numpy as np, tensorflow as tf
        served = tf.saved_model.load({str(out / "saved_model")!r})
        p = served.classify(tf.constant(np.load({str(tmp_path / "x.npy")!r})))["probabilities"]
        assert p.dtype == tf.float32 and np.allclose(p.numpy().sum(1), 1, atol=1e-3)
        print((p.numpy().argmax(1) == np.arange(20) % 10).mean())
    """
    np.save(tmp_path / "x.npy", x[:20])
    assert float(run_fresh_python(code).strip().splitlines()[-1]) >= 0.9
    with pytest.raises(RunMismatch, match="precision: 'mixed_float16' then, 'float32' now"):
        train.train(config, out, log=lambda _: None)


@pytest.mark.parametrize("model_name", ["dense", "cnn"])
def test_cosine_recipe_decays_the_course_optimiser_from_its_peak_to_zero(model_name):
    from mit_dl.images.config import RECIPES
    from mit_dl.training.optimizers import build_optimizer as optimizer

    course = optimizer(ImagesConfig(model=model_name).optimizer_settings(), total_steps=500)
    cosine = optimizer(ImagesConfig(model=model_name, recipe="cosine").optimizer_settings(), total_steps=500)
    assert type(cosine) is type(course)
    peak = RECIPES["cosine"][model_name]["learning_rate"]
    assert peak > float(course.learning_rate)
    rates = []
    for step in (0, 250, 500):
        cosine.iterations.assign(step)
        rates.append(float(cosine.learning_rate))
    np.testing.assert_allclose(rates, [peak, peak / 2, 0.0], atol=1e-9)
    with pytest.raises(ConfigError, match="^recipe must be one of course, cosine, received 'fast'.$"):
        ImagesConfig(model=model_name, recipe="fast")
    custom = ImagesConfig(model=model_name, recipe="cosine", learning_rate=0.25).optimizer_settings()
    assert custom["learning_rate"] == 0.25 and RECIPES["cosine"][model_name]["learning_rate"] == peak


def test_a_release_0_1_run_directory_resumes_to_the_weights_of_an_uninterrupted_run(tmp_path):
    """A run directory written by release 0.1.0 (kept as a fixture: 1 epoch of the dense net on 200 MNIST
    test images) resumes for a second epoch, ending where a run of 2 epochs from scratch ends."""
    import shutil

    from support import FIXTURES

    from mit_dl.images import train

    config = ImagesConfig(dataset="mnist", model="dense", split_test=200, epochs=2, data=str(shared_data("mnist")))
    legacy = tmp_path / "legacy"
    shutil.copytree(FIXTURES / "runs-0.1.0" / "images-dense", legacy)
    lines = []
    resumed = train.train(config, legacy, export=False, log=lines.append)
    assert any("resuming from its checkpoint at step 4" in line for line in lines)
    fresh = train.train(config, tmp_path / "fresh", export=False, log=lambda _: None)
    # Epoch 1 came from the fixture, written on another machine: float32 kernels differ in the last bits
    # between CPU instruction sets (AVX-512 wrote 2.2035187483, an AVX2 EPYC computes 2.2035186887).
    np.testing.assert_allclose(resumed["history"]["loss"][0], fresh["history"]["loss"][0], rtol=1e-6)
    assert resumed["test"]["accuracy"] == fresh["test"]["accuracy"]
    np.testing.assert_allclose(resumed["history"]["test_loss"], fresh["history"]["test_loss"], rtol=1e-6)
    assert json.loads((legacy / "settings.json").read_text())["format"] == 2
    with pytest.raises(RunMismatch, match=r"\(batch_size: 64 then, 32 now\)"):
        train.train(config.replace(batch_size=32, epochs=3), legacy, export=False, log=lambda _: None)


def test_sigterm_saves_a_checkpoint_and_the_rerun_resumes(tmp_path):
    import re
    import signal

    args = [
        "images",
        "train",
        "--dataset",
        "mnist",
        "--model",
        "cnn",
        "--split-test",
        "3000",
        "--epochs",
        "2",
        "--data",
        str(shared_data("mnist")),
        "--out",
        str(tmp_path / "run"),
    ]
    returncode, stderr = interrupted_mit_dl(args, signal.SIGTERM, after_seconds=1.5)
    found = re.search(r"training interrupted \(SIGTERM\) at step (\d+); checkpoint saved", stderr)
    assert returncode == 130 and found, stderr[-3000:]
    step = int(found.group(1))
    assert 0 < step < 94 and (tmp_path / "run" / "checkpoints" / f"ckpt-{step}.index").exists()
    rerun = run_mit_dl(*args)
    assert rerun.returncode == 0 and f"resuming from its checkpoint at step {step}" in rerun.stdout, rerun.stderr
