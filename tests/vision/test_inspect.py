"""What the CNN looks at, end to end: `vision explain`, `attack`, `features` on a tiny images run; the export."""

import json

import numpy as np
import pytest
from support import run_fresh_python, run_mit_dl, shared_data, write_idx

from mit_dl.errors import ConfigError, ExportError
from mit_dl.vision import evaluate, inspect


@pytest.fixture(scope="module")
def tiny_mnist(tmp_path_factory):
    """A folder of 600 training and 200 test images, real MNIST digits (of its test split), as IDX files."""
    from mit_dl.data import mnist

    images, labels, _ = mnist.load_arrays("mnist", "test", shared_data("mnist"))
    folder = tmp_path_factory.mktemp("tiny-mnist")
    for split, part in (("train", slice(0, 600)), ("t10k", slice(600, 800))):
        write_idx(folder / f"{split}-images-idx3-ubyte.gz", images[part])
        write_idx(folder / f"{split}-labels-idx1-ubyte.gz", labels[part])
    return folder


@pytest.fixture(scope="module")
def cnn_run(tmp_path_factory, tiny_mnist):
    from mit_dl.images import ImagesConfig, train

    out = tmp_path_factory.mktemp("inspect") / "cnn"
    config = ImagesConfig(dataset="mnist", model="cnn", epochs=2, batch_size=32, data=str(tiny_mnist))
    train.train(config, out, export=False, log=lambda _: None)
    return out, tiny_mnist


def test_explain_reports_complete_integrated_gradients_a_sanity_check_and_a_figure(cnn_run, tmp_path):
    out, _ = cnn_run
    result = run_mit_dl(
        "vision", "explain", "--run", str(out), "--method", "ig", "--images", "3", "--out", str(tmp_path)
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads((tmp_path / "explain-ig.json").read_text())
    gap = report["methods"]["ig"]["completeness_gap"]
    assert len(report["classes"]) == 3 and max(abs(g) for g in gap) < 0.01
    assert -1 <= report["methods"]["ig"]["sanity"]["mean"] <= 1 and "sanity check" in result.stdout
    assert (tmp_path / "explain-ig.png").stat().st_size > 5000
    done = inspect.explain(out, ["gradcam", "occlusion", "smoothgrad"], images=2, out_dir=tmp_path)
    assert set(done["methods"]) == {"gradcam", "occlusion", "smoothgrad"} and len(done["predicted"]) == 2
    assert (tmp_path / "explain-gradcam-occlusion-smoothgrad.png").stat().st_size > 5000
    with pytest.raises(ConfigError, match="^methods must be one method for an export"):
        inspect.explain(out, ["saliency", "ig"], images=1, out_dir=tmp_path, export_dir=tmp_path / "no")


def test_the_explain_export_gives_maps_in_a_fresh_process_and_checks_its_inputs(cnn_run, tmp_path):
    out, _ = cnn_run
    exported = tmp_path / "explainer"
    report = inspect.explain(out, "saliency", images=4, out_dir=tmp_path, export_dir=exported)
    model, config = evaluate.trained_model(out)
    pictures, classes, _ = inspect.examples(config, 4)
    from mit_dl.vision import attribution

    np.save(tmp_path / "x.npy", pictures)
    np.save(tmp_path / "expected.npy", attribution.saliency(model, pictures, classes))
    output = run_fresh_python(f"""
        import numpy as np, tensorflow as tf, sys
        served = tf.saved_model.load("{exported}")
        images = np.load("{tmp_path / "x.npy"}")
        maps = served.explain(images, np.array({classes.tolist()}, np.int64))["maps"].numpy()
        print(maps.shape, np.allclose(maps, np.load("{tmp_path / "expected.npy"}"), rtol=1e-4, atol=1e-6),
              "mit_dl" in sys.modules)
        for bad in ((images, [0, 1, 2, 10]), (images[:, :20], [0, 1, 2, 3]), (images / 255, [0, 1, 2, 3]),
                    (images, [0, 1])):
            try:
                served.explain(bad[0], np.array(bad[1], np.int32))
            except Exception as error:
                print("refused:", " ".join(str(error).split())[:300])
    """)
    lines = output.splitlines()
    assert lines[0] == "(4, 28, 28) True False"
    assert "explain: labels must be class ids 0..9" in lines[1]
    assert "explain expects uint8 images [N, 28, 28, 1]" in lines[2]
    assert "explain expects uint8, int32 inputs; received float64, int32" in lines[3]
    assert "explain: one class per image" in lines[4]
    assert report["export"] == str(exported)


def test_attack_draws_accuracy_against_epsilon_and_refuses_what_it_cannot_attack(cnn_run, tmp_path):
    out, _ = cnn_run
    result = run_mit_dl(
        "vision", "attack", "--run", str(out), "--method", "pgd", "--steps", "3", "--images", "200",
        "--epsilons", "0", "25.5", "--out", str(tmp_path),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    curve = json.loads((tmp_path / "attack-pgd.json").read_text())["runs"][str(out)]
    model, config = evaluate.trained_model(out)
    from mit_dl.vision import adversarial

    pictures, labels, _ = inspect.examples(config, 200)
    assert curve["accuracy"][0] == adversarial.accuracy(model, pictures, labels)
    assert curve["accuracy"][1] < curve["accuracy"][0] and (tmp_path / "attack-pgd.png").stat().st_size > 5000
    with pytest.raises(ConfigError, match=r"^epsilon must be 0 or more pixel units \(of 0-255 images\), received -2"):
        inspect.attack([out], "fgsm", [0, -2], images=10, out_dir=tmp_path)
    with pytest.raises(ConfigError, match="^layer must be one of cnn_classifier's layers"):
        inspect.explain(out, "gradcam", images=1, out_dir=tmp_path, layer="conv9")
    with pytest.raises(ExportError, match="is not a run directory"):
        evaluate.trained_model(tmp_path)


def test_features_draws_the_first_filters_and_the_activations(cnn_run, tmp_path):
    out, _ = cnn_run
    paths = inspect.feature_figures(out, tmp_path)
    assert set(paths) == {"filters", "activations"}
    for name in ("filters.png", "activations.png"):
        assert (tmp_path / name).stat().st_size > 3000, name


def test_pgd_adversarial_training_is_an_images_option_that_a_resume_must_repeat(tmp_path, tiny_mnist):
    from mit_dl.errors import RunMismatch
    from mit_dl.images import ImagesConfig, train

    out = tmp_path / "robust"
    config = ImagesConfig(dataset="mnist", epochs=1, batch_size=32, data=str(tiny_mnist), adversarial_epsilon=25.5)
    recorded = train.train(config.replace(adversarial_steps=2), out, export=False, log=lambda _: None)
    assert recorded["config"]["adversarial_epsilon"] == 25.5 and len(recorded["history"]["loss"]) == 1
    with pytest.raises(RunMismatch, match=r"adversarial_epsilon: 25.5 then, 0.0 now"):
        train.train(config.replace(adversarial_epsilon=0.0, adversarial_steps=2, epochs=2), out, log=lambda _: None)
