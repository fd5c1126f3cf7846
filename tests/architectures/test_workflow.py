"""The architectures lab end to end on real Fashion-MNIST: one small CLI run shared by the export and resume tests.

The run is a narrow ResNet-8 on 1,536 training images for 2 epochs (seconds); the experiments' logic is
tested on their recorded results, and the side-by-side command on two tiny networks.
"""

import json

import numpy as np
import pytest
from support import mit_dl_in_process, run_fresh_python, run_mit_dl, shared_data

from mit_dl.architectures import ArchitecturesConfig, compare, data
from mit_dl.data import locations

SMALL = ("--width", "8", "--train-images", "1536", "--batch-size", "64", "--test-images", "1000", "--epochs", "2")


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("architectures") / "run"
    folder = shared_data("fashion-mnist")
    result = run_mit_dl(
        "architectures", "train", "--model", "resnet8", *SMALL, "--data", str(folder), "--out", str(out)
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return out, folder, result


def test_the_cli_trains_counts_tests_and_exports(cli_run):
    out, _, result = cli_run
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["train_images"] == 1536 and metrics["test"]["examples"] == 1000
    assert metrics["history"]["loss"][1] < metrics["history"]["loss"][0]
    assert metrics["test"]["accuracy"] > 0.3  # 10 classes: chance is 0.1 (a ResNet's blocks start as the identity)
    assert metrics["parameters"]["total"] > 10_000 and metrics["multiply_adds"] > 1e6
    assert (out / "training_curves.png").stat().st_size > 1000 and (out / "confusion_matrix.png").is_file()
    assert f"test accuracy {100 * metrics['test']['accuracy']:.2f}%" in result.stdout
    metadata = json.loads((out / "saved_model" / "metadata.json").read_text())
    assert metadata["kind"] == "architectures classifier" and metadata["network"] == "resnet8"


def test_the_export_classifies_uint8_images_without_mit_dl(cli_run):
    out, folder, _ = cli_run
    images, labels, _ = data.load_split("fashion_mnist", "test", str(folder))
    np.save(out / "probe.npy", images[:300, ..., 0])  # [N, 28, 28]: the signature adds the channel
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
    assert np.mean(np.array(served["ids"]) == labels[:300]) > 0.3


def test_training_again_into_the_folder_resumes_it(cli_run):
    out, folder, _ = cli_run
    from mit_dl.architectures import train

    lines = []
    config = ArchitecturesConfig.from_preset(
        "quick",
        model="resnet8",
        width=8,
        train_images=1536,
        batch_size=64,
        test_images=1000,
        epochs=3,
        data=str(folder),
    )
    metrics = train.train(config, out, export=False, log=lines.append)
    assert len(metrics["history"]["loss"]) == 3
    assert any("resuming from its checkpoint at step 48" in line for line in lines), lines  # 24 steps an epoch


def _run(losses, errors):
    return {"history": {"loss": losses, "test_accuracy": [1 - e for e in errors]}, "test": {"accuracy": 1 - errors[-1]}}


def test_the_degradation_verdict_compares_final_training_losses_seed_by_seed(tmp_path):
    results = {
        "plain20": [_run([1.0, 0.5], [0.3, 0.2]), _run([1.0, 0.6], [0.3, 0.2])],
        "plain56": [_run([1.2, 0.7], [0.4, 0.3]), _run([1.1, 0.5], [0.4, 0.3])],
        "resnet20": [_run([1.0, 0.4], [0.3, 0.15]), _run([1.0, 0.4], [0.3, 0.15])],
        "resnet56": [_run([0.9, 0.3], [0.3, 0.12]), _run([0.9, 0.45], [0.3, 0.12])],
    }
    assert compare.degradation_verdict(results) == {
        "plain56_above_plain20": [True, False],
        "resnet56_at_most_resnet20": [True, False],
    }
    compare.figures.degradation_curves(results, tmp_path / "curves.png")
    assert (tmp_path / "curves.png").stat().st_size > 5000


def test_the_side_by_side_command_tables_two_networks(tmp_path):
    folder = shared_data("fashion-mnist")
    result = mit_dl_in_process(
        "architectures", "compare", "--models", "plain8", "resnet8", "--width", "4", "--train-images", "256",
        "--test-images", "200", "--epochs", "1", "--data", folder, "--out", tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    table = (tmp_path / "table.md").read_text()
    assert "| plain8 |" in table and "| resnet8 |" in table
    rows = json.loads((tmp_path / "metrics.json").read_text())["rows"]
    assert rows["resnet8"]["parameters"] > rows["plain8"]["parameters"]  # the projections


def test_cifar10_through_tensorflow_datasets_with_mock_data(monkeypatch):
    import tensorflow_datasets as tfds

    monkeypatch.setattr(locations, "downloads_possible", lambda timeout=3.0: True)
    with tfds.testing.mock_data(num_examples=6):
        images, labels, source = data.load_split("cifar10", "train")
    assert images.shape == (6, 32, 32, 3) and images.dtype == np.uint8 and labels.max() < 10
    assert source == "tfds:cifar10"


def test_bad_requests_are_one_sentence(tmp_path):
    folder = shared_data("fashion-mnist")
    result = mit_dl_in_process("architectures", "train", "--model", "alexnet", "--out", tmp_path)
    assert result.returncode == 2 and "invalid choice: 'alexnet'" in result.stderr
    result = mit_dl_in_process("architectures", "train", "--train-images", "70000", "--data", folder, "--out", tmp_path)
    assert result.returncode != 0 and "--train-images must be at most 60000 (the training images left)" in result.stderr
