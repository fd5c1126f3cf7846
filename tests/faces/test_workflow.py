"""Lab 2 part 2 end to end: DB-VAE training, resampling on a trained encoder, real LFW faces, CLI."""

import json

import numpy as np
import pytest
from support import mit_dl_in_process, run_fresh_python, run_mit_dl

from mit_dl.errors import ConfigError
from mit_dl.faces import FacesConfig, bias, compare, data, debias
from mit_dl.faces import synthetic as face_data
from mit_dl.faces import train as faces_train

STEPS, EPOCH = 300, 50


@pytest.fixture(scope="module")
def trained_dbvae():
    train = face_data.synthetic_faces(1600, "train", seed=5)
    config = FacesConfig(steps=STEPS, warmup_steps=100, resample_every=100, seed=5, steps_per_epoch=EPOCH)
    model, history, resampling = faces_train.train_detector(config, train, log=lambda _: None)
    return train, model, history, resampling


def test_short_training_lowers_the_classification_and_vae_losses(trained_dbvae):
    _, _, history, resampling = trained_dbvae
    assert len(history["classification"]) == STEPS // EPOCH
    assert history["classification"][-1] < 0.6 * history["classification"][0]
    assert history["vae_faces"][-1] < 0.8 * history["vae_faces"][0]
    assert resampling["resampled_at_steps"] == [100, 200, 300]


def test_resampling_shifts_batches_toward_the_rare_groups(trained_dbvae):
    import tensorflow as tf

    train, model, _, resampling = trained_dbvae
    faces_only = train.labels == 1
    dark = (train.attributes["skin"] == face_data.SKIN.index("dark"))[faces_only]
    p = debias.sampling_probabilities(debias.latent_means(model, train.images[faces_only]), combine="max").numpy()
    np.testing.assert_allclose(p, resampling["probabilities"], rtol=1e-5)  # the last recompute, from this encoder
    assert 0.02 < dark.mean() < 0.09  # rare among training faces

    # Batches drawn by the trained encoder's probabilities vs uniform draws.
    # Face images are tagged with their index in a spare pixel to count who was drawn.
    index_images = np.zeros((faces_only.sum(), 1, 1, 3), np.uint8)
    index_images[:, 0, 0, 0] = np.arange(faces_only.sum()) % 256
    index_images[:, 0, 0, 1] = np.arange(faces_only.sum()) // 256
    non_faces = np.zeros((4, 1, 1, 3), np.uint8)

    def dark_share(probabilities):
        variable = tf.Variable(probabilities.astype(np.float32))
        drawn = [
            np.round(x[:16, 0, 0, :2].numpy() * 255).astype(int)
            for x, _ in debias.resampled_batches(index_images, non_faces, variable, batch_size=32, seed=1).take(200)
        ]
        ids = np.concatenate(drawn) @ np.array([1, 256])
        return dark[ids].mean()

    # Exactly, from the probabilities: the rare group's share of draws grows by half or more.
    assert p[dark].sum() > 1.5 * dark.mean(), f"P(dark) {p[dark].sum():.3f} vs share {dark.mean():.3f}"
    # And in the batches the pipeline really yields (6,400 face draws each; sd of the uniform share ~0.004).
    uniform, resampled = dark_share(np.full(len(p), 1 / len(p))), dark_share(p)
    assert abs(uniform - dark.mean()) < 0.015
    assert resampled > 1.5 * uniform, f"dark-skinned faces: {resampled:.3f} of draws vs {uniform:.3f} uniformly"


def test_latent_dimensions_track_the_hidden_attributes(trained_dbvae):

    _, model, _, _ = trained_dbvae
    test = face_data.synthetic_faces(480, "test", seed=6)
    is_face = test.labels == 1
    mean = debias.latent_means(model, test.images[is_face]).numpy()
    dark = test.attributes["skin"][is_face] == face_data.SKIN.index("dark")
    found = bias.latent_correlations(mean, {"skin=dark": dark})["skin=dark"]
    best = found[0]
    np.testing.assert_allclose(best["r"], np.corrcoef(mean[:, best["dimension"]], dark)[0, 1], rtol=1e-6)
    assert abs(best["r"]) > 0.4, found  # skin tone is written in the latent space after 300 steps
    assert abs(found[0]["r"]) >= abs(found[1]["r"]) >= abs(found[2]["r"])


def test_a_mixed_float16_dbvae_trains_with_float32_logits_latents_and_reconstructions():
    import keras
    import tensorflow as tf

    from mit_dl.training.precision import precision_policy

    train = face_data.synthetic_faces(200, "train", seed=6)
    with precision_policy("mixed_float16"):
        # float16 runs emulated on a CPU (about 1.5 s a DB-VAE step): 4 steps check the dtypes, the loss
        # scaling and the resampling schedule. That the engine's step learns under mixed_float16 is
        # tests/training/test_trainer.py's; that the DB-VAE learns, the float32 test's above.
        config = FacesConfig(steps=4, warmup_steps=2, resample_every=2, seed=6, steps_per_epoch=2, batch_size=16)
        model, history, resampling = faces_train.train_detector(config, train, log=lambda _: None)
        assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
    assert keras.config.dtype_policy().name == "float32"
    assert model.encoder.layers[0].compute_dtype == "float16"
    logit, mean, log_variance = model.encode(train.images[:4].astype(np.float32) / 255.0)
    assert {t.dtype for t in (logit, mean, log_variance, model.decoder(mean))} == {tf.float32}
    assert all(np.isfinite(v).all() for v in history.values() if isinstance(v, list))
    assert resampling["resampled_at_steps"] == [2, 4] and np.isfinite(resampling["probabilities"]).all()


def test_cli_mixed_float16_run_exports_float32_probabilities_and_refuses_a_float32_resume(tmp_path):
    import tensorflow as tf

    out = tmp_path / "mixed"
    # A small synthetic set, 2 steps of batch 8: float16 runs emulated on a CPU, several times slower
    # than float32 (the learning under mixed_float16 is the test above's; this one checks the run record).
    args = (
        "faces",
        "train",
        "--model",
        "dbvae",
        "--steps",
        "2",
        "--batch-size",
        "8",
        "--train-count",
        "400",
        "--test-count",
        "240",
        "--out",
        str(out),
    )
    result = run_mit_dl(*args, "--precision", "mixed_float16")
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads((out / "metrics.json").read_text())["config"]["precision"] == "mixed_float16"
    saved = [name for name, _ in tf.train.list_variables(str(out / "checkpoints"))]
    assert any("dynamic_scale" in name for name in saved)  # the DB-VAE step scales its loss
    code = f"""
        import numpy as np, tensorflow as tf
        detector = tf.saved_model.load({str(out / "detector")!r})
        p = detector.detect(np.zeros((3, 64, 64, 3), np.uint8))["probability"]
        assert p.dtype == tf.float32 and p.shape == (3,) and np.all((p >= 0) & (p <= 1))
        decoder = tf.saved_model.load({str(out / "decoder")!r})  # kept: its variables live with it
        decoded = decoder.decode(tf.zeros((2, 100)))["images"]
        assert decoded.dtype == tf.uint8 and decoded.shape == (2, 64, 64, 3)
    """
    run_fresh_python(code)
    refused = run_mit_dl(*args)
    assert refused.returncode == 2 and "--precision: 'mixed_float16' then, 'float32' now" in refused.stderr


def test_held_out_split_is_stratified_and_disjoint():
    images = np.arange(50, dtype=np.uint8)[:, None, None, None] * np.ones((1, 2, 2, 3), np.uint8)
    labels = (np.arange(50) < 20).astype(np.int32)
    train, test = data.held_out_split(images, labels, 0.3, seed=0)
    assert (test.labels == 1).sum() == 6 and (test.labels == 0).sum() == 9
    assert not set(train.images[:, 0, 0, 0]) & set(test.images[:, 0, 0, 0])
    assert len(train) + len(test) == 50
    with pytest.raises(ValueError, match="too few to hold some out"):
        data.held_out_split(images[:1], labels[:1], 0.3, seed=0)


def test_detector_reaches_90_percent_on_held_out_real_lfw_faces():
    config = FacesConfig(data="lfw", model="cnn", steps=600, seed=0)  # real data: augmented, cosine decay
    train, test, _ = data.load_data(config)
    assert len(test) == 60 and test.labels.sum() == 30
    model, _, _ = faces_train.train_detector(config, train, log=lambda _: None)
    report = bias.evaluate(model, test)
    assert report["accuracy"] >= 0.9, report["groups"]


def test_cli_train_evaluate_and_exported_detector_match(tmp_path):
    out = tmp_path / "run"
    result = run_mit_dl(
        "faces", "train", "--model", "dbvae", "--steps", "10", "--train-count", "800", "--out", str(out)
    )
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = json.loads((out / "metrics.json").read_text())
    assert (
        metrics["config"]["steps"] == 10
        and metrics["test"]["examples"] == 1200
        and len(metrics["test"]["groups"]) == 24
    )
    assert set(metrics["latent"]["correlations"]) == {"skin=dark", "lighting=dim", "accessory=hat", "accessory=glasses"}
    for name in (
        "group_accuracy.png",
        "training_curves.png",
        "reconstructions.png",
        "sampling_extremes.png",
        "latent_traversal.png",
    ):
        assert (out / name).stat().st_size > 5000, name
    assert (out / "detector" / "saved_model.pb").exists() and (out / "decoder" / "saved_model.pb").exists()

    result = run_mit_dl("faces", "evaluate", "--model", str(out / "detector"))
    assert result.returncode == 0, result.stderr[-3000:]
    # The export rebuilds the same test split and serves the same model: the same accuracy.
    assert f"accuracy {100 * metrics['test']['accuracy']:.1f}%" in result.stdout
    assert f"worst face group: {metrics['test']['worst_face_group']}" in result.stdout


def test_cli_evaluates_a_folder_of_test_faces(tmp_path):
    from PIL import Image

    from mit_dl.export import export_savedmodel
    from mit_dl.faces.endpoints import face_detector_endpoint
    from mit_dl.faces.model import face_classifier

    export_savedmodel(
        face_classifier(), tmp_path / "detector", endpoints={"detect": face_detector_endpoint(face_classifier())}
    )
    test = face_data.synthetic_faces(48, "test", seed=0)
    for i, image in enumerate(test.images[test.labels == 1][:6]):
        folder = tmp_path / "faces" / ("dark_female" if i % 2 else "light_male")
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(image).save(folder / f"{i}.png")
    result = run_mit_dl(
        "faces", "evaluate", "--model", str(tmp_path / "detector"), "--test-faces", str(tmp_path / "faces")
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "(6 images)" in result.stdout
    assert "face/dark_female" in result.stdout and "face/light_male" in result.stdout

    (tmp_path / "empty" / "group").mkdir(parents=True)
    result = mit_dl_in_process(
        "faces", "evaluate", "--model", str(tmp_path / "detector"), "--test-faces", str(tmp_path / "empty")
    )
    assert result.returncode == 2 and "no images" in result.stderr and "Traceback" not in result.stderr


def test_cli_says_an_export_of_another_kind_is_not_a_face_detector(tmp_path):
    import keras

    from mit_dl.export import export_savedmodel

    other = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    export_savedmodel(other, tmp_path / "generator")
    result = run_mit_dl("faces", "evaluate", "--model", str(tmp_path / "generator"))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "is not a face-detector export (it has no `detect` signature)" in result.stderr
    assert "oneills" not in result.stderr and "train_face.h5" not in result.stderr


def test_cli_rejects_unknown_data_before_training(tmp_path):
    result = run_mit_dl("faces", "train", "--data", "faces.txt", "--out", str(tmp_path / "run"))
    assert result.returncode == 2
    assert "--data must be 'synthetic', 'lfw' or the path of the course's train_face.h5" in result.stderr
    assert not (tmp_path / "run").exists()
    result = mit_dl_in_process("faces", "train", "--steps", "0", "--out", str(tmp_path / "run"))
    assert result.returncode == 2 and "--steps must be a positive number, received 0." in result.stderr


def test_compare_writes_one_table_from_every_model_of_the_same_seed(tmp_path):
    tiny = FacesConfig(train_count=400, test_count=240, steps=20, warmup_steps=10, resample_every=10)
    summary = compare.compare(tiny, seeds=(3,), out_dir=tmp_path, log=lambda _: None)
    reports = {name: json.loads((tmp_path / "seed-3" / name / "metrics.json").read_text()) for name in compare.COMPARED}
    settings = {
        name: json.loads((tmp_path / "seed-3" / name / "settings.json").read_text()) for name in compare.COMPARED
    }
    assert settings["dbvae-product"]["config"]["combine"] == "product"
    assert settings["dbvae-max"]["config"]["combine"] == "max" and settings["oracle"]["config"]["model"] == "oracle"
    cnn, dbvae, oracle = (reports[name]["test"] for name in ("cnn", "dbvae-max", "oracle"))
    measured = summary["per_model"]["dbvae-max"]
    assert measured["worst_face"]["values"] == [dbvae["worst_face_group_accuracy"]]
    assert measured["worst_face_gain"]["values"] == [
        pytest.approx(dbvae["worst_face_group_accuracy"] - cnn["worst_face_group_accuracy"])
    ]
    assert summary["gap_closed_from_means"]["dbvae-max"] == compare.gap_closed(
        dbvae["worst_face_group_accuracy"], cnn["worst_face_group_accuracy"], oracle["worst_face_group_accuracy"]
    )
    assert "resampling_recall" in reports["dbvae-max"] and "resampling_recall" in reports["reweighted"]
    table = (tmp_path / "comparison.md").read_text()
    assert f"| overall accuracy | {100 * cnn['accuracy']:.1f} | {100 * dbvae['accuracy']:.1f} |" in table
    assert (tmp_path / "group_accuracy.png").stat().st_size > 5000
    # Again: every run finished, so their metrics are read back, none is trained or evaluated again.
    lines = []
    again = compare.compare(tiny, seeds=(3,), out_dir=tmp_path, log=lines.append)
    assert not any(line.startswith("seed 3: training") for line in lines)
    assert sum("finished earlier" in line for line in lines) == len(compare.COMPARED)
    for name in compare.COMPARED:
        for measure in ("accuracy", "worst_face", "face_gap"):
            assert again["per_model"][name][measure]["values"] == summary["per_model"][name][measure]["values"]
    with pytest.raises(ConfigError, match="^models must be some of cnn, dbvae-max"):
        compare.compare(tiny, seeds=(3,), models=("cnn", "vae"), out_dir=tmp_path / "other", log=lambda _: None)
