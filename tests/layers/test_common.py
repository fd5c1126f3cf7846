"""Checks every lecture layer must pass: config round trip, gradients, eager vs
tf.function, mixed precision, `.keras` reload and SavedModel serving in fresh
processes."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf
from layer_cases import BY_NAME, CASES
from support import gradient_error, run_fresh_python


def _as_list(x):
    return list(x) if isinstance(x, (list, tuple)) else [x]


def _innermost_layer(model):
    layer = model.layers[-1]
    return getattr(layer, "cell", layer)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_config_round_trip(case):
    model = case.model()
    layer = _innermost_layer(model)
    config = layer.get_config()
    clone = type(layer).from_config(config)
    assert clone.get_config() == config
    # And through Keras' own registry-based (de)serialization.
    restored = keras.layers.deserialize(keras.layers.serialize(layer))
    assert type(restored) is type(layer)
    assert restored.get_config() == config


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_eager_and_tf_function_agree(case):
    model = case.model()
    x = case.inputs()
    eager = keras.ops.convert_to_numpy(model(x))
    compiled = tf.function(lambda inputs: model(inputs), reduce_retracing=True)
    graph = compiled(x).numpy()
    np.testing.assert_allclose(graph, eager, rtol=1e-5, atol=1e-5)
    # A different batch size must not break the compiled function.
    other = case.inputs(batch=5, seed=1)
    np.testing.assert_allclose(compiled(other).numpy(), keras.ops.convert_to_numpy(model(other)), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_gradients_match_finite_differences(case):
    model = case.model(dtype="float64")
    inputs = [np.asarray(x, "float64") for x in _as_list(case.inputs(batch=2))]
    trainable = [v.value for v in model.trainable_variables]
    frozen = [v.value for v in model.non_trainable_variables]
    n = len(inputs)

    # Compiled once: finite differences call it twice per input and weight entry (eager took a minute).
    @tf.function(reduce_retracing=True)
    def forward(*args):
        xs = list(args[:n])
        outputs, _ = model.stateless_call(list(args[n:]), frozen, xs if n > 1 else xs[0])
        return outputs

    values = [tf.constant(x) for x in inputs] + [tf.constant(w) for w in trainable]
    assert gradient_error(forward, values) < 1e-6


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_mixed_precision(case, policy):
    reference = case.model()
    x = case.inputs()
    expected = keras.ops.convert_to_numpy(reference(x))
    keras.config.set_dtype_policy(policy)
    mixed = case.model()
    mixed.set_weights(reference.get_weights())
    assert all(v.dtype == "float32" for v in mixed.weights if "seed" not in v.path)
    out = mixed(x)
    assert keras.backend.standardize_dtype(out.dtype) == policy.split("_")[1]
    got = keras.ops.convert_to_numpy(keras.ops.cast(out, "float32"))
    tolerance = 2e-2 if policy == "mixed_float16" else 1e-1
    np.testing.assert_allclose(got, expected, rtol=tolerance, atol=tolerance)


def _save_cases(tmp_path):
    """Build every case, store its input and expected output beside it."""
    for case in CASES:
        model = case.model()
        x = case.inputs()
        np.savez(tmp_path / f"{case.name}.npz", *_as_list(x), expected=keras.ops.convert_to_numpy(model(x)))
        yield case, model


def test_keras_file_reloads_in_fresh_process(tmp_path):
    for case, model in _save_cases(tmp_path):
        model.save(tmp_path / f"{case.name}.keras")
    out = run_fresh_python(
        f"""
        import json, pathlib, numpy as np, keras
        import mit_dl.layers  # registers the custom classes
        root = pathlib.Path({str(tmp_path)!r})
        errors = {{}}
        for path in sorted(root.glob("*.keras")):
            model = keras.models.load_model(path)  # safe_mode stays on
            data = np.load(path.with_suffix(".npz"))
            xs = [data[k] for k in data.files if k != "expected"]
            got = keras.ops.convert_to_numpy(model(xs if len(xs) > 1 else xs[0]))
            errors[path.stem] = float(np.max(np.abs(got - data["expected"])))
        print(json.dumps(errors))
        """
    )
    errors = json.loads(out.strip().splitlines()[-1])
    assert set(errors) == set(BY_NAME)
    assert max(errors.values()) < 1e-5, errors


def test_export_serves_in_fresh_process_without_mit_dl(tmp_path):
    for case, model in _save_cases(tmp_path):
        model.export(str(tmp_path / f"{case.name}_savedmodel"), verbose=False)
    out = run_fresh_python(
        f"""
        import json, pathlib, sys, numpy as np, tensorflow as tf
        root = pathlib.Path({str(tmp_path)!r})
        errors = {{}}
        for data_path in sorted(root.glob("*.npz")):
            served = tf.saved_model.load(str(root / (data_path.stem + "_savedmodel")))
            data = np.load(data_path)
            xs = [tf.constant(data[k]) for k in data.files if k != "expected"]
            got = served.serve(xs if len(xs) > 1 else xs[0]).numpy()
            errors[data_path.stem] = float(np.max(np.abs(got - data["expected"])))
        assert not any(m.startswith("mit_dl") for m in sys.modules), "mit_dl was imported"
        print(json.dumps(errors))
        """
    )
    errors = json.loads(out.strip().splitlines()[-1])
    assert set(errors) == set(BY_NAME)
    assert max(errors.values()) < 1e-5, errors
