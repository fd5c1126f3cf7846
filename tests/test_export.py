"""SavedModel export: raw-input signatures, metadata.json, reload without mit_dl."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf
from support import run_fresh_python

from mit_dl.export import Endpoint, export_savedmodel, load_savedmodel
from mit_dl.layers import MyDenseLayer
from mit_dl.training import Trainer


def _trained_classifier():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(256, 4, 4), dtype=np.uint8)
    labels = (images.reshape(256, -1).mean(1) > 127.5).astype("int32")
    data = tf.data.Dataset.from_tensor_slices(((images / 255.0).astype("float32"), labels)).batch(32)
    model = keras.Sequential(
        [keras.Input((4, 4)), keras.layers.Flatten(), MyDenseLayer(8), MyDenseLayer(2, activation=None)]
    )
    Trainer(
        model,
        keras.optimizers.Adam(1e-2),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        verbose=False,
    ).fit(data, epochs=3)
    return model, images


def _classify_endpoint(model):
    def classify(images):
        # Preprocessing lives in the signature: raw uint8 pixels in.
        logits = model(tf.cast(images, tf.float32) / 255.0, training=False)
        probabilities = tf.nn.softmax(logits)
        return {"probabilities": probabilities, "class_ids": tf.argmax(probabilities, axis=-1)}

    return Endpoint(classify, [tf.TensorSpec([None, 4, 4], tf.uint8, name="images")])


def test_export_serves_raw_inputs_in_a_fresh_process_without_mit_dl(tmp_path):
    model, images = _trained_classifier()
    path = export_savedmodel(
        model,
        tmp_path / "classifier",
        endpoints={"classify": _classify_endpoint(model)},
        metadata={"data": "synthetic 4x4", "train_accuracy": 0.9},
    )
    expected = tf.nn.softmax(model(images[:10] / 255.0)).numpy()
    np.save(tmp_path / "images.npy", images[:10])
    out = run_fresh_python(f"""
        import json, sys, numpy as np, tensorflow as tf
        served = tf.saved_model.load({str(path)!r})
        result = served.classify(tf.constant(np.load({str(tmp_path / "images.npy")!r})))
        assert not any(m.startswith("mit_dl") for m in sys.modules)
        print(json.dumps({{"p": result["probabilities"].numpy().tolist(),
                          "ids": result["class_ids"].numpy().tolist()}}))
    """)
    served = json.loads(out.strip().splitlines()[-1])
    np.testing.assert_allclose(served["p"], expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.sum(served["p"], axis=1), 1.0, rtol=1e-6)
    assert served["ids"] == expected.argmax(1).tolist()

    metadata = json.loads((path / "metadata.json").read_text())
    assert metadata["data"] == "synthetic 4x4" and metadata["model"] == model.name
    assert metadata["endpoints"]["classify"] == [{"shape": [None, 4, 4], "dtype": "uint8", "name": "images"}]
    assert metadata["versions"]["tensorflow"] == tf.__version__


def test_default_endpoint_and_loader(tmp_path):
    model, images = _trained_classifier()
    path = export_savedmodel(model, tmp_path / "plain")
    loaded, metadata = load_savedmodel(path)
    x = (images[:3] / 255.0).astype("float32")
    np.testing.assert_allclose(loaded.serve(x), model(x), rtol=1e-6)
    assert list(metadata["endpoints"]) == ["serve"]
    assert not list(tmp_path.glob(".*partial")), "the staging folder must be renamed into place"


def test_export_errors(tmp_path):
    model, _ = _trained_classifier()
    export_savedmodel(model, tmp_path / "once")
    with pytest.raises(FileExistsError, match="already exists; pass overwrite=True"):
        export_savedmodel(model, tmp_path / "once", overwrite=False)
    with pytest.raises(FileNotFoundError, match="is not a SavedModel export"):
        load_savedmodel(tmp_path / "nothing")
    # A run directory instead of its export: the error names the export inside.
    with pytest.raises(FileNotFoundError, match=r"this folder holds: .*once\)\.$"):
        load_savedmodel(tmp_path)


def test_face_detector_and_decoder_exports_match_in_a_fresh_process(tmp_path):
    from mit_dl.export import decoder_endpoint, face_detector_endpoint
    from mit_dl.faces.model import DBVAE

    model = DBVAE(latent_dim=6, seed=0)
    images = np.random.default_rng(0).integers(0, 256, (3, 64, 64, 3), dtype=np.uint8)
    z = np.random.default_rng(1).normal(size=(2, 6)).astype(np.float32)
    expected_p = tf.sigmoid(model(images.astype(np.float32) / 255.0))[:, 0].numpy()
    expected_images = np.round(model.decoder(z).numpy() * 255).astype(np.uint8)
    path = export_savedmodel(
        model,
        tmp_path / "dbvae",
        endpoints={"detect": face_detector_endpoint(model), "decode": decoder_endpoint(model.decoder, 6)},
    )
    np.save(tmp_path / "images.npy", images)
    np.save(tmp_path / "z.npy", z)
    out = run_fresh_python(f"""
        import json, sys, numpy as np, tensorflow as tf
        m = tf.saved_model.load({str(path)!r})
        p = m.detect(tf.constant(np.load({str(tmp_path / "images.npy")!r})))["probability"].numpy()
        d = m.decode(tf.constant(np.load({str(tmp_path / "z.npy")!r})))["images"].numpy()
        try:
            m.detect(tf.zeros([1, 32, 32, 3], tf.uint8)); error = "none"
        except Exception as e:
            error = str(e)
        assert not any(k.startswith("mit_dl") for k in sys.modules)
        print(json.dumps({{"p": p.tolist(), "d": d.astype(int).tolist(), "error": error}}))
    """)
    served = json.loads(out.strip().splitlines()[-1])
    np.testing.assert_allclose(served["p"], expected_p, rtol=1e-5, atol=1e-6)
    assert np.abs(np.array(served["d"]) - expected_images.astype(int)).max() <= 1
    assert "expects uint8 images [N, 64, 64, 3]" in served["error"]
