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
    from mit_dl.faces.endpoints import decoder_endpoint, face_detector_endpoint
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


def _every_endpoint_kind():
    """``{export name: (model, endpoints, extra trackables, {endpoint: example inputs by name})}``, tiny models."""
    from mit_dl import export
    from mit_dl.faces import endpoints as faces_endpoints
    from mit_dl.generative import endpoints as generative_endpoints
    from mit_dl.music.model import build_music_model
    from mit_dl.music.sampler import generator_endpoints, sampler_for
    from mit_dl.rl import endpoints as rl_endpoints
    from mit_dl.vision import endpoints as vision_endpoints

    rng = np.random.default_rng(0)
    image = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten(), keras.layers.Dense(3)])
    face = keras.Sequential([keras.Input((64, 64, 3)), keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(1)])
    decoder = keras.Sequential(
        [keras.Input((2,)), keras.layers.Dense(64, activation="sigmoid"), keras.layers.Reshape((8, 8, 1))]
    )
    policy = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    music = build_music_model(5, embedding_dim=4, rnn_units=8)
    music(np.zeros((1, 3), np.int32))
    sampler = sampler_for(music)
    music_endpoints, table = generator_endpoints(sampler, "ab\n:X")
    pixels = rng.integers(0, 256, (2, 8, 8, 1), dtype=np.uint8)
    faces = rng.integers(0, 256, (2, 64, 64, 3), dtype=np.uint8)
    labels = np.array([0, 2], np.int32)
    conditional = keras.Sequential([keras.Input((2,)), keras.layers.Dense(64, activation="sigmoid")])

    def generate_conditional(z, labels):
        return tf.reshape(conditional(z + tf.cast(labels[:, None], z.dtype)), [-1, 8, 8, 1])

    def encode(images, labels=None):
        flat = tf.reshape(images, [-1, 64])
        return flat[:, :2], flat[:, 2:4]

    return {
        "classifier": (
            image,
            {"classify": export.image_classifier_endpoint(image, 8, 8, 1)},
            [],
            {"classify": {"images": pixels}},
        ),
        "face-detector": (
            face,
            {"detect": faces_endpoints.face_detector_endpoint(face)},
            [],
            {"detect": {"images": faces}},
        ),
        "image-endpoints": (
            image,
            {
                "predict": export.image_endpoint(lambda x: {"logits": image(x)}, 8, 8, 1, "predict"),
                "explain": vision_endpoints.image_explainer_endpoint(lambda x, c: x[..., 0] * 2.0, 8, 8, 1, 3),
            },
            [],
            {"predict": {"images": pixels}, "explain": {"images": pixels, "classes": labels}},
        ),
        "generator": (
            conditional,
            {
                "generate": generative_endpoints.generate_endpoint(generate_conditional, 2, num_classes=3),
                "generate_class": generative_endpoints.generate_class_endpoint(generate_conditional, 2, 3),
                "encode": generative_endpoints.encode_endpoint(encode, (8, 8, 1), num_classes=3),
                "decode": generative_endpoints.decode_endpoint(generate_conditional, 2, num_classes=3),
            },
            [],
            {
                "generate": {"count": np.int32(2), "seed": np.int64(5)},
                "generate_class": {"labels": labels, "seed": np.int64(5)},
                "encode": {"images": pixels, "labels": labels},
                "decode": {"z": np.ones((2, 2), np.float32), "labels": labels},
            },
        ),
        "decoder": (
            decoder,
            {"decode": faces_endpoints.decoder_endpoint(decoder, 2)},
            [],
            {"decode": {"z": np.ones((2, 2), np.float32)}},
        ),
        "policy": (
            policy,
            rl_endpoints.policy_endpoints(lambda o: tf.argmax(policy(o), -1), (4,), q_values=policy),
            [],
            {
                "act": {"observations": np.ones((3, 4), np.float32)},
                "q_values": {"observations": np.ones((3, 4), np.float32)},
            },
        ),
        "music-generator": (
            music,
            music_endpoints,
            [table, sampler],
            {
                "generate": {
                    "seed_text": "X:a",
                    "length": np.int32(6),
                    "temperature": np.float32(1.0),
                    "seed": np.int64(3),
                },
                "generate_many": {
                    "seed_text": "X:a",
                    "length": np.int32(6),
                    "temperature": np.float32(1.0),
                    "seeds": np.array([3, 4], np.int64),
                },
            },
        ),
    }


def test_every_endpoint_is_callable_by_name_by_position_and_through_signatures_without_mit_dl(tmp_path):
    exports = {}
    for name, (model, endpoints, trackables, examples) in _every_endpoint_kind().items():
        export_savedmodel(model, tmp_path / name, endpoints=endpoints, extra_trackables=trackables)
        exports[name] = examples
        for endpoint, inputs in examples.items():
            np.savez(tmp_path / f"{name}-{endpoint}.npz", **inputs)
    out = run_fresh_python(f"""
        import json, sys, numpy as np, tensorflow as tf
        root, exports = {str(tmp_path)!r}, {json.dumps({k: list(v) for k, v in exports.items()})}
        results = {{}}
        for name, endpoints in exports.items():
            m = tf.saved_model.load(f"{{root}}/{{name}}")
            for endpoint in endpoints:
                inputs = dict(np.load(f"{{root}}/{{name}}-{{endpoint}}.npz"))
                order = [s["name"] for s in json.load(open(f"{{root}}/{{name}}/metadata.json"))["endpoints"][endpoint]]
                tensors = {{k: tf.constant(inputs[k]) for k in order}}
                by_name = getattr(m, endpoint)(**tensors)
                by_position = getattr(m, endpoint)(*[tensors[k] for k in order])
                served = m.signatures[endpoint](**tensors)
                assert set(by_name) == set(by_position) == set(served), (name, endpoint)
                same = all(np.array_equal(by_name[k].numpy(), by_position[k].numpy()) for k in by_name)
                same_served = all(np.array_equal(by_name[k].numpy(), served[k].numpy()) for k in by_name)
                refused = None
                if "images" in inputs:
                    floats = dict(tensors, images=tf.constant(inputs["images"] / 255.0, tf.float32))
                    try:
                        getattr(m, endpoint)(**floats); refused = "accepted"
                    except Exception as error:
                        refused = str(error)
                results[f"{{name}}.{{endpoint}}"] = {{"same": same, "served": same_served, "refused": refused}}
        assert not any(k.startswith("mit_dl") for k in sys.modules)
        print(json.dumps(results))
    """)
    results = json.loads(out.strip().splitlines()[-1])
    assert len(results) == sum(len(v) for v in exports.values()) == 13
    for endpoint, result in results.items():
        assert result["same"] and result["served"], endpoint
        if result["refused"] is not None:
            assert "expects uint8" in result["refused"], (endpoint, result["refused"][:300])
