"""The GPT: causal (no gradient from later tokens), the answer-only loss, its size by formula, one device = two."""

import json

import numpy as np
import tensorflow as tf
from support import run_fresh_python

from mit_dl.llm.config import GPTConfig
from mit_dl.llm.memory import STRATEGIES, measure_step, measured_lines, parameter_count, per_device
from mit_dl.llm.model import build_gpt, token_loss

CONFIG = GPTConfig.from_preset("quick", vocab_size=300, context=12, d_model=32, num_heads=2, num_layers=2, ff_dim=64)


def test_no_gradient_flows_from_later_tokens():
    model = build_gpt(CONFIG, 300)
    tokens = np.random.default_rng(0).integers(3, 300, (1, 12)).astype("int32")
    model(tokens)
    x = tf.constant(np.random.default_rng(1).normal(size=(1, 12, 32)).astype("float32"))
    position = 5
    with tf.GradientTape() as tape:
        tape.watch(x)
        h = model.get_layer("positions")(x)
        for i in range(CONFIG.num_layers):
            h = model.get_layer(f"block_{i}")(h)
        logits = model.get_layer("embedding")(model.get_layer("final_norm")(h), reverse=True)[0, position]
        total = tf.reduce_sum(logits)
    gradient = np.abs(tape.gradient(total, x)[0].numpy())
    assert gradient[position + 1 :].max() == 0.0 and gradient[: position + 1].max(axis=1).min() > 0
    # The whole model: changing later tokens leaves earlier logits exactly as they were.
    changed = tokens.copy()
    changed[0, position + 1 :] = 7
    np.testing.assert_array_equal(model(tokens)[0, : position + 1], model(changed)[0, : position + 1])


def test_the_masked_loss_is_the_loss_on_the_answers_alone():
    rng = np.random.default_rng(1)
    logits = tf.constant(rng.normal(size=(2, 6, 300)).astype("float32"))
    targets = rng.integers(0, 300, (2, 6)).astype("int32")
    mask = np.array([[0, 0, 1, 1, 1, 0], [0, 1, 1, 0, 0, 0]], "int32")
    per_token = tf.nn.sparse_softmax_cross_entropy_with_logits(targets, logits).numpy()
    expected = [per_token[0, 2:5].mean(), per_token[1, 1:3].mean()]
    np.testing.assert_allclose(token_loss((targets, mask), logits), expected, rtol=1e-6)
    np.testing.assert_allclose(token_loss(targets, logits), per_token.mean(axis=1), rtol=1e-6)


def test_the_memory_formulas_count_the_models_weights():
    for preset in ("quick", "full"):
        config = GPTConfig.from_preset(preset)
        assert parameter_count(config, config.vocab_size) == build_gpt(config, config.vocab_size).count_params()
    rows = per_device(CONFIG, 300, devices=4)
    assert list(rows) == list(STRATEGIES)
    data_parallel, fsdp = rows["data parallel"], rows["ZeRO-3 / FSDP"]
    assert fsdp["weights"] * 4 == data_parallel["weights"] and fsdp["optimizer"] * 4 == data_parallel["optimizer"]
    assert fsdp["sent"] == 1.5 * data_parallel["sent"]
    assert rows["ZeRO-1"]["total"] > rows["ZeRO-2"]["total"] > fsdp["total"]


def test_a_real_step_allocates_the_weights_and_adam_state_the_formulas_count():
    measured = measure_step(CONFIG, 300, batch_size=2, device="/CPU:0")
    formula = per_device(CONFIG, 300, devices=1)["data parallel"]
    assert measured["weights"] == formula["weights"] and measured["optimizer"] == formula["optimizer"]
    assert measured["peak"] is None  # TensorFlow reports peaks on GPUs only
    assert "on GPUs only" in measured_lines(CONFIG, 300)[-1]


def test_mirrored_over_two_cpus_trains_as_one_device(tmp_path):
    text = tmp_path / "corpus.txt"
    text.write_text("".join(f"line {i}: the quick brown fox jumps over the lazy dog.\n" for i in range(300)))
    out = run_fresh_python(
        f"""
        import json, tensorflow as tf
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
        from mit_dl.llm import train
        from mit_dl.llm.config import GPTConfig
        base = GPTConfig.from_preset("quick", data={str(text)!r}, vocab_size=300, context=16, d_model=32,
                                     num_heads=2, num_layers=1, ff_dim=64, batch_size=8, steps=6, warmup_steps=2)
        losses = {{}}
        for name in ("none", "mirrored"):
            metrics = train.train(base.replace(distribute=name), {str(tmp_path)!r} + "/" + name, export=False,
                                  baseline=False, log=lambda *a: None)
            losses[name] = [metrics["history"]["loss"], metrics["held_out"]["cross_entropy"]]
        print(json.dumps(losses))
        """
    )
    losses = json.loads(out.strip().splitlines()[-1])
    np.testing.assert_allclose(losses["mirrored"][0], losses["none"][0], rtol=1e-4)
    np.testing.assert_allclose(losses["mirrored"][1], losses["none"][1], rtol=1e-4)
