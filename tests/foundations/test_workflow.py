"""The foundations lab end to end on real Fashion-MNIST: one CLI run shared by the export, resume and table tests.

The run is small (an MLP on 1,000 training images, 2 epochs, BatchNorm, the lab's own Adam) so the
module stays within seconds; the learning itself is tested on the same data with the same budget.
"""

import json

import numpy as np
import pytest
from support import mit_dl_in_process, run_fresh_python, run_mit_dl, shared_data

from mit_dl.foundations import FoundationsConfig, compare, experiments
from mit_dl.foundations.model import build_classifier

SMALL = ("--train-images", "1000", "--validation", "500", "--epochs", "2")


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("foundations") / "run"
    data = shared_data("fashion-mnist")
    result = run_mit_dl("foundations", "train", "--norm", "batch", *SMALL, "--data", str(data), "--out", str(out))
    assert result.returncode == 0, result.stderr[-3000:]
    return out, data, result


def test_the_cli_trains_tests_plots_and_exports(cli_run):
    out, _, result = cli_run
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["train_images"] == 1000 and metrics["test"]["examples"] == 10000
    history = metrics["history"]
    assert len(history["loss"]) == 2 and history["loss"][1] < history["loss"][0]
    assert metrics["test"]["accuracy"] > 0.7  # 10 classes: chance is 0.1
    assert (out / "training_curves.png").stat().st_size > 1000
    assert f"test accuracy {100 * metrics['test']['accuracy']:.2f}%" in result.stdout
    assert json.loads((out / "saved_model" / "metadata.json").read_text())["kind"] == "foundations classifier"


def test_the_export_classifies_uint8_images_without_mit_dl(cli_run):
    out, data, _ = cli_run
    from mit_dl.data import mnist

    images, labels, _ = mnist.load_arrays("fashion_mnist", "test", str(data))
    np.save(out / "probe.npy", images[:500])
    served = json.loads(
        run_fresh_python(f"""
        import json, sys, numpy as np, tensorflow as tf
        served = tf.saved_model.load({str(out / "saved_model")!r})
        result = served.classify(tf.constant(np.load({str(out / "probe.npy")!r})))
        assert not any(m.startswith("mit_dl") for m in sys.modules)
        print(json.dumps({{"ids": result["class_ids"].numpy().tolist(),
                          "sums": result["probabilities"].numpy().sum(1).tolist()}}))
        """)
        .strip()
        .splitlines()[-1]
    )
    np.testing.assert_allclose(served["sums"], 1.0, rtol=1e-5)
    assert np.mean(np.array(served["ids"]) == labels[:500]) > 0.7


def test_training_again_into_the_folder_resumes_it(cli_run):
    out, data, _ = cli_run
    from mit_dl.foundations import train

    lines = []
    config = FoundationsConfig.from_preset(
        "quick", norm="batch", train_images=1000, validation=500, epochs=3, data=str(data)
    )
    metrics = train.train(config, out, export=False, log=lines.append)
    assert len(metrics["history"]["loss"]) == 3
    assert any("resuming from its checkpoint at step 32" in line for line in lines), lines  # 16 steps an epoch


def test_early_stopping_ends_an_over_fitting_run_and_runs_are_read_back(tmp_path):
    base = FoundationsConfig.from_preset(
        "quick", train_images=500, validation=500, epochs=12, learning_rate=3e-3, data=str(shared_data("fashion-mnist"))
    )
    results = compare.run_variants(base, {"stop": {"patience": 1}}, [0], tmp_path, log=lambda line: None)
    stopped = results["stop"][0]
    epochs = len(stopped["history"]["loss"])
    assert epochs < 12 and stopped["best_epoch"] == epochs - 1  # the epoch before the validation loss rose
    again = compare.run_variants(base, {"stop": {"patience": 1}}, [0], tmp_path, log=lambda line: pytest.fail(line))
    assert again["stop"][0] == json.loads(json.dumps(stopped))  # a finished run is read back, not trained again


def test_the_table_gives_each_variant_its_mean_and_interval_over_the_seeds():
    def run(test, validation):
        return {"test": {"accuracy": test}, "validation_accuracy": validation, "history": {"loss": [1.0, 0.5]}}

    summary = compare.summarise({"adam": [run(0.80, 0.81), run(0.82, 0.83), run(0.84, 0.85)], "sgd": [run(0.7, 0.7)]})
    assert summary["adam"]["test"][0] == pytest.approx(0.82)
    table = compare.accuracy_table(summary, [0, 1, 2], "optimizer", {"rate": {"adam": "0.001"}})
    assert "| optimizer | rate | validation | test |" in table
    assert "| adam | 0.001 | 83.0 [78.0, 88.0] | 82.0 [77.0, 87.0] |" in table
    assert "| sgd | - | 70.0 | 70.0 |" in table


def test_the_gradients_experiment_shows_vanishing_gradients(tmp_path):
    metrics = experiments.gradients_experiment(None, [0], tmp_path)
    sigmoid, relu = metrics["per_layer"]["sigmoid"], metrics["per_layer"]["relu"]
    assert sigmoid[0] / sigmoid[-1] < 1e-6 < relu[0] / relu[-1]
    rnn, lstm = metrics["per_time_step"]["rnn"], metrics["per_time_step"]["lstm"]
    assert rnn[0] / rnn[-1] < lstm[0] / lstm[-1]
    assert (tmp_path / "per_layer.png").is_file() and "| sigmoid |" in (tmp_path / "table.md").read_text()


def test_each_normalisation_and_initialisation_builds_the_classifier():
    for model in ("mlp", "cnn"):
        for norm in ("none", "batch", "layer", "group"):
            classifier = build_classifier(FoundationsConfig(model=model, norm=norm, init="xavier", dropout=0.2))
            assert classifier(np.zeros((2, 28, 28, 1), np.float32)).shape == (2, 10)


@pytest.mark.parametrize(
    "args, sentence",
    [
        (("--norm", "group", "--groups", "5"), "groups (5) must divide every normalised layer's channels"),
        (("--optimizer", "sgd", "--weight-decay", "0.1"), "weight_decay is AdamW's; use optimizer adamw"),
        (("--learning-rate", "-1"), "learning_rate must be a positive number, received -1.0"),
        (("--dropout", "1"), "dropout must be below 1"),
    ],
)
def test_bad_settings_are_one_sentence_before_any_work(args, sentence):
    result = mit_dl_in_process("foundations", "train", *args)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and sentence.replace("_", "-") in lines[0].replace("_", "-"), lines


def test_the_learning_rate_range_test_marks_a_tenth_of_the_lowest_losss_rate(tmp_path):
    base = FoundationsConfig.from_preset(
        "quick", train_images=256, validation=500, data=str(shared_data("fashion-mnist"))
    )
    found = experiments.range_test(base, tmp_path, names=("adam",), steps=40)["adam"]
    assert len(found["rates"]) == len(found["losses"]) <= 40 and np.all(np.diff(found["rates"]) > 0)
    assert found["rates"][0] == pytest.approx(1e-5) and found["lowest"] in found["rates"]
    assert found["suggested"] == pytest.approx(found["lowest"] / 10)
    assert (tmp_path / "lr_range.png").stat().st_size > 1000
