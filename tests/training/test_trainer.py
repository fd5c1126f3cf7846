"""Trainer: learning, eager vs compiled, custom multi-optimizer steps,
callbacks, checkpoints, logs, and input checks before training starts."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from mit_dl.training import EarlyStopping, Trainer, TrainingDiverged

LOSS = keras.losses.SparseCategoricalCrossentropy(from_logits=True)


def _data(n=256, batch=32, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 8)).astype("float32")
    y = (x[:, :4].sum(1) > 0).astype("int32")
    return tf.data.Dataset.from_tensor_slices((x, y)).shuffle(n, seed=seed).batch(batch)


def _model():
    return keras.Sequential([keras.Input((8,)), keras.layers.Dense(16, activation="relu"), keras.layers.Dense(2)])


def test_loss_falls_well_below_its_start_and_accuracy_rises(tmp_path):
    trainer = Trainer(
        _model(),
        keras.optimizers.Adam(1e-2),
        loss=LOSS,
        metrics=["accuracy"],
        verbose=False,
        checkpoint_dir=tmp_path / "ckpt",
        log_dir=tmp_path / "logs",
    )
    history = trainer.fit(_data(), epochs=8, validation_data=_data(seed=1))
    assert history["loss"][-1] < 0.4 * history["loss"][0]
    assert history["val_accuracy"][-1] > 0.9
    assert set(history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert len(history["loss"]) == 8
    assert json.loads((tmp_path / "ckpt" / "history.json").read_text()) == history
    assert list((tmp_path / "logs").glob("events.out.tfevents.*"))
    # evaluate() is the exact per-example mean, also with an uneven last batch.
    model = trainer.model
    x, y = next(iter(_data(n=100, batch=100, seed=2).unbatch().batch(100)))
    expected = float(tf.reduce_mean(LOSS.call(y, model(x))))
    assert trainer.evaluate(_data(n=100, batch=32, seed=2))["loss"] == pytest.approx(expected, rel=1e-5)


def test_compiled_and_eager_steps_agree_on_the_same_batch():
    batch = _data().take(1).cache()
    models = [_model(), _model()]
    models[1].set_weights(models[0].get_weights())
    histories = []
    for model, eager in zip(models, (False, True)):
        trainer = Trainer(model, keras.optimizers.Adam(1e-2), loss=LOSS, run_eagerly=eager, verbose=False)
        histories.append(trainer.fit(batch, steps=3))
    for a, b in zip(models[0].get_weights(), models[1].get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)
    assert histories[0]["loss"] == pytest.approx(histories[1]["loss"], rel=1e-6)


def test_batches_of_different_sizes_do_not_retrace():
    trainer = Trainer(_model(), keras.optimizers.SGD(0.1), loss=LOSS, verbose=False)
    trainer.fit(_data(n=100, batch=32), epochs=2)  # batches 32, 32, 32, 4
    assert trainer._last_train_function.experimental_get_tracing_count() == 1


def test_custom_step_with_two_optimizers_trains_both_and_checkpoints_both(tmp_path):
    """A GAN-shaped step: each network has its own loss and optimizer."""
    generator = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8)])
    critic = keras.Sequential([keras.Input((8,)), keras.layers.Dense(1)])
    optimizers = {"generator_optimizer": keras.optimizers.Adam(1e-2), "critic_optimizer": keras.optimizers.Adam(1e-2)}
    real = tf.data.Dataset.from_tensor_slices(
        np.random.default_rng(0).normal(2.0, 1.0, (256, 8)).astype("float32")
    ).batch(32)

    def step(batch):
        noise = tf.random.normal((tf.shape(batch)[0], 4), seed=1)
        with tf.GradientTape() as tape:
            fake = generator(noise, training=True)
            critic_loss = tf.reduce_mean(critic(fake)) - tf.reduce_mean(critic(batch))
        grads = tape.gradient(critic_loss, critic.trainable_variables)
        optimizers["critic_optimizer"].apply_gradients(zip(grads, critic.trainable_variables))
        with tf.GradientTape() as tape:
            generator_loss = -tf.reduce_mean(critic(generator(noise, training=True)))
        grads = tape.gradient(generator_loss, generator.trainable_variables)
        optimizers["generator_optimizer"].apply_gradients(zip(grads, generator.trainable_variables))
        return {"critic_loss": critic_loss, "generator_loss": generator_loss}

    before = [generator.get_weights()[0].copy(), critic.get_weights()[0].copy()]
    trainer = Trainer(
        generator,
        optimizers,
        train_step=step,
        checkpoint_dir=tmp_path,
        extra_checkpoint_objects={"critic": critic},
        verbose=False,
    )
    with pytest.raises(
        ValueError, match=r"optimizer\(s\) \['critic_optimizer', 'generator_optimizer'\] .* are not built"
    ):
        trainer.fit(real, epochs=2)
    optimizers["generator_optimizer"].build(generator.trainable_variables)
    optimizers["critic_optimizer"].build(critic.trainable_variables)
    history = trainer.fit(real, epochs=2)
    assert set(history) == {"critic_loss", "generator_loss"}
    assert all(int(o.iterations) == 16 for o in optimizers.values())
    after = [generator.get_weights()[0], critic.get_weights()[0]]  # kernels (the critic's bias cancels out)
    assert all(not np.allclose(a, b) for a, b in zip(before, after))
    # Both optimizers' slots and the critic are in the checkpoint and restore.
    saved = {name for name, _ in tf.train.list_variables(trainer.latest_checkpoint())}
    assert any(n.startswith("critic_optimizer/") for n in saved)
    assert any(n.startswith("generator_optimizer/") for n in saved)
    snapshot = critic.get_weights()
    slots = [v.numpy().copy() for v in optimizers["critic_optimizer"].variables]
    critic.set_weights([np.zeros_like(w) for w in snapshot])
    for v in optimizers["critic_optimizer"].variables:
        v.assign(np.zeros(v.shape, v.dtype))
    trainer.restore()
    for a, b in zip(critic.get_weights(), snapshot):
        np.testing.assert_array_equal(a, b)
    for v, want in zip(optimizers["critic_optimizer"].variables, slots):
        np.testing.assert_array_equal(v.numpy(), want)
    assert sum(np.abs(s).sum() for s in slots[2:]) > 0  # Adam's moments are really in there


def test_nan_guard_stops_with_the_step_and_keeps_the_last_good_checkpoint(tmp_path):
    x = np.full((64, 1), 1e3, "float32")
    data = tf.data.Dataset.from_tensor_slices((x, x)).batch(8)
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    trainer = Trainer(
        model, keras.optimizers.SGD(10.0), loss="mse", checkpoint_dir=tmp_path, checkpoint_every=1, verbose=False
    )
    with pytest.raises(TrainingDiverged, match=r"training diverged at step (\d+): loss=(nan|inf)") as error:
        trainer.fit(data, epochs=5)
    failed_step = int(str(error.value).split("step ")[1].split(":")[0])
    assert failed_step > 1
    assert "the last good checkpoint is" in str(error.value)
    trainer.restore()
    assert int(trainer.step.numpy()) == failed_step - 1
    assert all(np.all(np.isfinite(w)) for w in model.get_weights())


def test_grouped_steps_stop_at_the_exact_diverging_step():
    """A call of many steps ends at the first non-finite loss: same step as one step per call."""
    x = np.full((64, 1), 1e3, "float32")
    data = tf.data.Dataset.from_tensor_slices((x, x)).batch(8)
    failed = {}
    for per_call in (1, 16):
        keras.utils.set_random_seed(0)
        model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
        trainer = Trainer(model, keras.optimizers.SGD(10.0), loss="mse", steps_per_execution=per_call, verbose=False)
        with pytest.raises(TrainingDiverged) as error:
            trainer.fit(data, epochs=5)
        failed[per_call] = int(str(error.value).split("step ")[1].split(":")[0])
        assert int(trainer.step.numpy()) == failed[per_call]  # no step ran after the bad one
    assert 1 < failed[1] < 16
    assert failed[16] == failed[1]


def test_early_stopping_restores_the_best_weights():
    train, val = _data(), _data(seed=1)
    trainer = Trainer(_model(), keras.optimizers.Adam(0.3), loss=LOSS, verbose=False)  # too high: val loss wobbles
    stopper = EarlyStopping("val_loss", patience=1)
    history = trainer.fit(train, epochs=30, validation_data=val, callbacks=[stopper])
    assert len(history["val_loss"]) < 30
    assert stopper.best == min(history["val_loss"])
    assert trainer.evaluate(val)["loss"] == pytest.approx(stopper.best, rel=1e-5)


def _untouched(trainer):
    return int(trainer.step.numpy()) == 0


@pytest.mark.parametrize(
    "make_data,kwargs,match",
    [
        (lambda: _data().map(lambda x, y: x), {"epochs": 1}, "must yield \\(inputs, targets\\) pairs"),
        (
            lambda: _data().map(lambda x, y: (x[:, :5], y)),
            {"epochs": 1},
            r"inputs of shape \(None, 5\) but the model expects \(batch, 8\)",
        ),
        (
            lambda: _data().map(lambda x, y: (tf.strings.as_string(x), y)),
            {"epochs": 1},
            "dtype string but the model expects float32",
        ),
        (lambda: _data().take(0), {"epochs": 1}, "the training dataset is empty"),
        (lambda: _data().filter(lambda x, y: False), {"epochs": 1}, "the training dataset is empty"),
        (_data, {"steps": 0}, "`steps` must be a positive integer, received 0"),
        (_data, {"epochs": -1}, "`epochs` must be a positive integer, received -1"),
        (_data, {}, "pass exactly one of `epochs` or `steps`"),
        (lambda: _data().repeat(), {"epochs": 1}, "repeats forever; pass `steps_per_epoch`"),
    ],
)
def test_bad_input_is_rejected_before_training(make_data, kwargs, match):
    trainer = Trainer(_model(), keras.optimizers.SGD(0.1), loss=LOSS, verbose=False)
    with pytest.raises(ValueError, match=match):
        trainer.fit(make_data(), **kwargs)
    assert _untouched(trainer)


def test_bad_validation_data_is_rejected_before_training():
    trainer = Trainer(_model(), keras.optimizers.SGD(0.1), loss=LOSS, verbose=False)
    with pytest.raises(ValueError, match="validation_data has inputs of shape"):
        trainer.fit(_data(), epochs=1, validation_data=_data().map(lambda x, y: (x[:, :3], y)))
    assert _untouched(trainer)


def test_trainer_arguments_are_checked():
    with pytest.raises(ValueError, match="needs a `loss`"):
        Trainer(_model(), keras.optimizers.SGD(0.1))
    with pytest.raises(ValueError, match="`checkpoint_every` must be a positive number"):
        Trainer(_model(), keras.optimizers.SGD(0.1), loss=LOSS, checkpoint_every=0)


def test_several_steps_per_call_give_the_same_training():
    models = [_model(), _model(), _model()]
    for model in models[1:]:
        model.set_weights(models[0].get_weights())
    histories = []
    for model, per_call in zip(models, (1, 5, "auto")):
        trainer = Trainer(
            model,
            keras.optimizers.Adam(1e-2),
            loss=LOSS,
            metrics=["accuracy"],
            steps_per_execution=per_call,
            verbose=False,
        )
        histories.append(trainer.fit(_data(), epochs=2))  # 8 steps per epoch: calls of 5 + 3
        assert int(trainer.step.numpy()) == 16
    assert trainer._auto_steps > 1  # millisecond steps: "auto" groups them
    for other, history in zip(models[1:], histories[1:]):
        for a, b in zip(models[0].get_weights(), other.get_weights()):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
        for key in histories[0]:
            assert histories[0][key] == pytest.approx(history[key], rel=1e-5)
    with pytest.raises(ValueError, match="`steps_per_execution` must be a positive integer"):
        Trainer(_model(), keras.optimizers.SGD(0.1), loss=LOSS, steps_per_execution=0)


def test_output_off_a_terminal_is_one_line_per_epoch(capsys, monkeypatch):
    from mit_dl import progress

    monkeypatch.setattr(progress, "LINE_SECONDS", 3600.0)  # no epoch lasts long enough for a progress line
    trainer = Trainer(_model(), keras.optimizers.Adam(1e-2), loss=LOSS, metrics=["accuracy"])  # verbose="auto"
    trainer.fit(_data(), epochs=3)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 4 and lines[0] == "training from step 0 to step 24"
    assert lines[1].startswith("epoch 1 (step 8): loss ") and "accuracy" in lines[1]


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
def test_trains_under_mixed_precision(policy):
    keras.config.set_dtype_policy(policy)
    model = keras.Sequential(
        [keras.Input((8,)), keras.layers.Dense(16, activation="relu"), keras.layers.Dense(2, dtype="float32")]
    )
    trainer = Trainer(model, keras.optimizers.Adam(1e-2), loss=LOSS, verbose=False)
    if policy == "mixed_float16":
        assert isinstance(trainer.optimizer, keras.optimizers.LossScaleOptimizer)
    history = trainer.fit(_data(), epochs=6)
    assert history["loss"][-1] < 0.5 * history["loss"][0]
    assert model.layers[0].kernel.dtype == "float32"


def test_a_history_entry_written_after_the_last_checkpoint_is_dropped_on_resume(tmp_path):
    # A run killed after writing an epoch's history but before that epoch's checkpoint landed resumes
    # from the older checkpoint: the entry the checkpoint never saw must not stay beside the re-run one.
    def trainer(directory):
        keras.utils.set_random_seed(0)
        return Trainer(_model(), keras.optimizers.Adam(1e-2), loss=LOSS, checkpoint_dir=directory, verbose=False)

    reference = trainer(tmp_path / "reference").fit(_data(), steps=16, steps_per_epoch=8)
    killed = tmp_path / "killed"
    first = trainer(killed).fit(_data(), steps=8, steps_per_epoch=8)
    stale = {k: v + [123.0] for k, v in first.items()}  # the history of an epoch whose checkpoint was lost
    (killed / "history.json").write_text(json.dumps(stale))
    resumed = trainer(killed).fit(_data(), steps=16, steps_per_epoch=8)
    assert len(resumed["loss"]) == 2 and 123.0 not in resumed["loss"]
    np.testing.assert_allclose(resumed["loss"], reference["loss"], rtol=1e-5)


class StatedLosses(keras.Model):
    """A classifier that states its per-example losses (and a weight penalty as a layer loss)."""

    def __init__(self, penalty=0.0):
        super().__init__(name="stated_losses")
        self.hidden = keras.layers.Dense(16, activation="relu")
        self.out = keras.layers.Dense(2, dtype="float32")
        self.penalty = penalty

    def call(self, x, training=False):
        logits = self.out(self.hidden(x))
        if self.penalty:
            self.add_loss(self.penalty * tf.reduce_sum(tf.square(self.out.kernel)))
        return logits

    def training_losses(self, inputs, targets):
        per_example = LOSS.call(targets, self(inputs, training=True))
        return per_example, {"cross_entropy": per_example}


def test_a_model_that_states_its_losses_trains_with_the_engines_step_as_the_default_step_would():
    keras.utils.set_random_seed(3)
    stated = StatedLosses()
    stated(np.zeros((1, 8), np.float32))  # a subclassed model is built before its optimizer
    stated.compile(keras.optimizers.SGD(0.1))
    keras.utils.set_random_seed(3)
    plain = StatedLosses()
    plain(np.zeros((1, 8), np.float32))
    trainer = Trainer(stated, verbose=False, steps_per_execution=1)
    assert trainer.custom_step is not None  # the engine's losses_step, not Keras' train_step
    for a, b in zip(stated.get_weights(), plain.get_weights()):
        np.testing.assert_array_equal(a, b)
    history = trainer.fit(_data(), epochs=2)
    Trainer(plain, keras.optimizers.SGD(0.1), loss=LOSS, verbose=False, steps_per_execution=1).fit(_data(), epochs=2)
    for a, b in zip(stated.get_weights(), plain.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    assert history["loss"] == pytest.approx(history["cross_entropy"]) and history["loss"][1] < history["loss"][0]


def test_the_engines_step_adds_the_layers_losses_and_scales_under_mixed_float16():
    from mit_dl.training.trainer import losses_step

    model = StatedLosses(penalty=0.5)
    x, y = next(iter(_data()))
    model(x)
    model.compile(keras.optimizers.SGD(0.0))
    logs = losses_step(model, (x, y))
    penalty = 0.5 * float(tf.reduce_sum(tf.square(model.out.kernel)))
    assert float(logs["loss"]) == pytest.approx(float(logs["cross_entropy"]) + penalty, rel=1e-5)
    keras.config.set_dtype_policy("mixed_float16")
    mixed = StatedLosses()
    mixed(x)
    mixed.compile(keras.optimizers.Adam(1e-2))
    assert isinstance(mixed.optimizer, keras.optimizers.LossScaleOptimizer)
    history = Trainer(mixed, verbose=False).fit(_data(), epochs=6)
    assert mixed.hidden.compute_dtype == "float16" and np.isfinite(history["loss"]).all()
    assert history["loss"][-1] < 0.5 * history["loss"][0]


def test_a_model_not_yet_built_is_refused_in_one_sentence():
    model = StatedLosses()
    model.compile(keras.optimizers.SGD(0.1))
    with pytest.raises(ValueError, match="has no weights yet .* call it on a batch before training"):
        Trainer(model, verbose=False).fit(_data(), epochs=1)
