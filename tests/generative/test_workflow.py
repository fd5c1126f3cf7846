"""The lab on real MNIST: training lowers FD, exports need no mit_dl, resume is exact, errors are sentences."""

import json
import os
import pathlib
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf
from support import kill_then_resume, run_mit_dl, shared_data, start_script

from mit_dl.errors import ConfigError
from mit_dl.generative import data as data_lib
from mit_dl.generative import evaluate, quality, train
from mit_dl.generative.config import GenerativeConfig
from mit_dl.generative.model import build_model, trainer_arguments
from mit_dl.generative.sampling import Sampler
from mit_dl.training import Trainer
from mit_dl.training.callbacks import TrainingDiverged
from mit_dl.training.precision import precision_policy

JOB = pathlib.Path(__file__).with_name("resume_job.py")


@pytest.fixture
def mnist_env(monkeypatch, tmp_path):
    monkeypatch.setenv("MIT_DL_DATA", str(shared_data("mnist")))
    monkeypatch.setenv("MIT_DL_CACHE", str(tmp_path / "cache"))
    return dict(os.environ)


def test_a_short_training_run_lowers_fd_well_below_the_untrained_generators(mnist_env):
    config = GenerativeConfig.from_preset(
        "quick", model="vae", dataset="mnist", train_count=2000, steps=400, evaluation_count=1000
    )
    data = data_lib.load_data(config)
    classifier, info = quality.feature_classifier("mnist", data, log=lambda *a: None)
    assert info["accuracy"] > 0.85  # 2,000 training digits, 10 epochs
    space = quality.FeatureSpace(classifier)
    real = data.test_images[:1000]
    keras.utils.set_random_seed(0)
    model = build_model(config, data.image_shape, data.num_classes)
    untrained = quality.quality_report(space, Sampler(model).images(1000)[0], real, 10)
    train.fit(model, config, data)
    trained = quality.quality_report(space, Sampler(model).images(1000)[0], real, 10)
    assert trained["fd"] < 0.5 * untrained["fd"], (trained["fd"], untrained["fd"])
    assert trained["one_nn_accuracy"] < untrained["one_nn_accuracy"]
    assert trained["coverage"]["kl_to_uniform"] < untrained["coverage"]["kl_to_uniform"]


_WITHOUT_MIT_DL = """
import sys, numpy as np, tensorflow as tf
m = tf.saved_model.load(sys.argv[1])
seed = lambda s: tf.constant(s, tf.int64)
a, b = m.generate(count=tf.constant(5), seed=seed(3)), m.generate(count=tf.constant(5), seed=seed(3))
assert a["images"].dtype == tf.uint8 and a["images"].shape == (5, 28, 28, 1)
assert np.array_equal(a["images"], b["images"]) and np.array_equal(a["labels"], b["labels"])
assert set(a["labels"].numpy()) <= set(range(10))
c = m.generate_class(labels=tf.constant([0, 9, 9]), seed=tf.constant(1, tf.int64))["images"]
assert c.shape == (3, 28, 28, 1)
e = m.encode(images=c, labels=tf.constant([0, 9, 9]))
assert e["mean"].shape == (3, 16) and e["log_variance"].shape == (3, 16)
d = m.decode(z=e["mean"], labels=tf.constant([0, 9, 9]))["images"]
assert d.dtype == tf.uint8 and d.shape == (3, 28, 28, 1)
for call, words in [
    (lambda: m.generate_class(labels=tf.constant([10]), seed=seed(0)), "labels must be class ids 0..9"),
    (lambda: m.generate(count=tf.constant(0), seed=seed(0)), "count must be at least 1"),
    (lambda: m.encode(images=tf.zeros([2, 32, 32, 1], tf.uint8), labels=tf.constant([1, 2])), "encode expects uint8"),
]:
    try:
        call()
    except tf.errors.InvalidArgumentError as error:
        assert words in str(error), str(error)[:500]
    else:
        raise AssertionError(words)
assert not any(name.startswith("mit_dl") for name in sys.modules)
print("ok")
"""


def test_cli_trains_samples_and_evaluates_a_conditional_vae_whose_export_needs_no_mit_dl(mnist_env, tmp_path):
    out = tmp_path / "run"
    common = ["--dataset", "mnist", "--train-count", "512", "--batch-size", "32", "--evaluation-count", "300"]
    result = run_mit_dl(
        "generative",
        "train",
        "--model",
        "cvae",
        *common,
        "--steps",
        "30",
        "--steps-per-epoch",
        "15",
        "--out",
        str(out),
        env=mnist_env,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "requested class found" in result.stdout
    for name in (
        "samples.png",
        "interpolation.png",
        "reconstructions.png",
        "traversals.png",
        "quality.png",
        "training_curves.png",
    ):
        assert (out / name).stat().st_size > 1000, name
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics["references"]) == {"real train", "blurred", "noisy", "one class"}
    refs = metrics["references"]
    assert refs["real train"]["fd"] < refs["blurred"]["fd"] and refs["real train"]["fd"] < refs["one class"]["fd"]
    assert refs["one class"]["coverage"]["largest_share"] > 0.9
    assert list((out / "logs").glob("events.out.tfevents.*"))

    env = {k: v for k, v in mnist_env.items() if k != "PYTHONPATH"}
    check = subprocess.run(
        [sys.executable, "-c", _WITHOUT_MIT_DL, str(out / "generator")],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    assert check.returncode == 0 and check.stdout.strip() == "ok", check.stderr[-3000:]

    sampled = run_mit_dl(
        "generative", "sample", "--model", str(out / "generator"), "--count", "12", "--label", "3", env=mnist_env
    )
    assert sampled.returncode == 0, sampled.stderr[-3000:]
    with np.load(out / "samples-s0" / "samples.npz") as saved:
        assert saved["images"].shape == (12, 28, 28, 1) and set(saved["labels"]) == {3}
    evaluated = run_mit_dl("generative", "evaluate", "--model", str(out / "generator"), env=mnist_env)
    assert evaluated.returncode == 0, evaluated.stderr[-3000:]
    assert "ref: blurred" in evaluated.stdout and "requested class found" in evaluated.stdout
    assert json.loads((out / "evaluation.json").read_text())["quality"]["count"] == 300

    with pytest.raises(ConfigError, match="positive number of images"):
        evaluate.sample(out / "generator", count=0)
    with pytest.raises(ConfigError, match="must be a class id 0-9 of mnist, received 12") as raised:
        evaluate.sample(out / "generator", label=12)
    assert raised.value.field == "label"  # the command line shows it as --label


def test_a_killed_wgan_gp_run_resumes_to_identical_weights_and_optimizer_states(mnist_env, tmp_path):
    reference, resumed = tmp_path / "reference", tmp_path / "resumed"
    job = start_script(JOB, reference)
    assert job.wait(timeout=600) == 0, job.stderr.read()[-3000:]
    kill_then_resume(JOB, resumed, resumed / "checkpoints" / "ckpt-4.index", resumed / "checkpoints" / "ckpt-8.index")

    expected, got = np.load(reference / "weights.npz"), np.load(resumed / "weights.npz")
    assert len(expected.files) > 20  # both networks and both optimizers' slots
    for key in expected.files:
        # Equal to float32 rounding: the resumed run groups its steps into compiled calls differently.
        np.testing.assert_allclose(got[key], expected[key], atol=1e-6, rtol=1e-6, err_msg=key)


def test_a_gan_whose_loss_goes_nan_stops_naming_the_step_and_the_last_good_checkpoint(tmp_path):
    config = GenerativeConfig.from_preset("quick", model="dcgan", dataset="mnist", batch_size=4)
    model = build_model(config, (28, 28, 1), 10)
    images = np.random.default_rng(0).uniform(size=(12, 28, 28, 1)).astype("float32")
    images[8:] = np.nan  # the third batch
    batches = tf.data.Dataset.from_tensor_slices((images, np.zeros(12, np.int32))).batch(4)
    trainer = Trainer(model, **trainer_arguments(model), checkpoint_dir=tmp_path, checkpoint_every=1, verbose=False)
    with pytest.raises(TrainingDiverged, match=r"diverged at step 3: .*the last good checkpoint is .*ckpt-2"):
        trainer.fit(batches, steps=3, steps_per_epoch=3)


@pytest.mark.parametrize("name", ["beta-vae", "dcgan"])
def test_mixed_float16_steps_keep_float32_variables_and_finite_losses(name):
    config = GenerativeConfig.from_preset("quick", model=name, dataset="mnist", batch_size=4, n_critic=2)
    with precision_policy("mixed_float16"):
        model = build_model(config, (28, 28, 1), 10)
        batch = (tf.random.uniform((8, 28, 28, 1)), tf.zeros(8, tf.int32))
        logs = Trainer(model, **trainer_arguments(model), verbose=False).fit(
            tf.data.Dataset.from_tensors(batch).repeat(), steps=2, steps_per_epoch=2
        )
    assert all(np.isfinite(v[-1]) for v in logs.values()), logs
    assert {v.dtype for v in model.trainable_variables} == {"float32"}
    assert model.generate_from(tf.zeros((2, model.latent_dim))).dtype == "float32"


def test_mode_collapse_is_flagged_in_the_summary():
    space_free = {"coverage": {"shares": [0.0] * 9 + [1.0]}}
    sentence = quality.mode_collapse(space_free, [str(i) for i in range(10)])
    assert sentence.startswith("mode collapse:") and "0 0.0%" in sentence and "9 " not in sentence
    assert quality.mode_collapse({"coverage": {"shares": [0.1] * 10}}, list("abcdefghij")) is None


def test_reference_corruptions():
    images = np.zeros((1, 5, 5, 1), np.uint8)
    images[0, 2, 2, 0] = 90
    blurred = quality.box_blur(images)
    assert blurred[0, 1:4, 1:4, 0].tolist() == [[10] * 3] * 3 and blurred[0, 0, 0, 0] == 0
    noisy = quality.with_noise(np.full((200, 8, 8, 1), 128, np.uint8), sigma=0.3, seed=0).astype(float)
    assert abs(noisy.std() / 255 - 0.3) < 0.03
