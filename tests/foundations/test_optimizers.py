"""The from-scratch optimizers equal their Keras twins step by step, compile, and serialise."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from mit_dl.errors import ConfigError
from mit_dl.foundations import optimizers as ours

TWINS = {
    "sgd": (lambda: ours.GradientDescent(0.05), lambda: keras.optimizers.SGD(0.05)),
    "momentum": (lambda: ours.GradientDescent(0.05, momentum=0.9), lambda: keras.optimizers.SGD(0.05, momentum=0.9)),
    "nesterov": (
        lambda: ours.GradientDescent(0.05, momentum=0.9, nesterov=True),
        lambda: keras.optimizers.SGD(0.05, momentum=0.9, nesterov=True),
    ),
    "adagrad": (lambda: ours.AdaGrad(0.05), lambda: keras.optimizers.Adagrad(0.05)),
    "rmsprop": (lambda: ours.RMSProp(0.01), lambda: keras.optimizers.RMSprop(0.01)),
    "adam": (lambda: ours.Adam(0.01), lambda: keras.optimizers.Adam(0.01)),
    "adamw": (lambda: ours.AdamW(0.01, decay=0.05), lambda: keras.optimizers.AdamW(0.01, weight_decay=0.05)),
}


def _model(seed=0):
    keras.utils.set_random_seed(seed)
    return keras.Sequential([keras.Input((6,)), keras.layers.Dense(16, activation="tanh"), keras.layers.Dense(3)])


def _batches(steps=100):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(steps, 32, 6)).astype("float32")
    return x, (x[..., :3] * 2.0 - x[..., 3:]).astype("float32")


def _train(model, optimizer, steps=100):
    x, y = _batches(steps)

    @tf.function
    def step(xb, yb):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean((model(xb) - yb) ** 2)
        optimizer.apply_gradients(zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables))
        return loss

    return [float(step(x[i], y[i])) for i in range(steps)]


@pytest.mark.parametrize("name", list(TWINS))
def test_each_optimizer_follows_its_keras_twin_for_100_compiled_steps(name):
    make_ours, make_theirs = TWINS[name]
    mine, twin = _model(), _model()
    losses, twin_losses = _train(mine, make_ours()), _train(twin, make_theirs())
    np.testing.assert_allclose(losses, twin_losses, rtol=1e-6)
    for a, b in zip(mine.get_weights(), twin.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    assert losses[-1] < 0.5 * losses[0]


def test_bias_correction_makes_adams_first_step_the_learning_rate():
    variable = tf.Variable([1.0, -2.0])
    optimizer = ours.Adam(0.1)
    optimizer.apply_gradients([(tf.constant([1e-3, 5.0]), variable)])
    # |step| = lr whatever the gradient's size (epsilon takes 0.3% off the tiny one)
    np.testing.assert_allclose(variable.numpy(), [0.9, -2.1], rtol=1e-3)


def test_under_a_mirrored_strategy_and_mixed_precision_they_train_and_serialise(tmp_path):
    strategy = tf.distribute.MirroredStrategy(["/cpu:0"])
    with strategy.scope():
        model = _model()
        model.compile(optimizer=ours.AdamW(0.01, decay=0.01), loss="mse")
    x, y = _batches(4)
    history = model.fit(x.reshape(-1, 6), y.reshape(-1, 3), epochs=3, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    path = tmp_path / "model.keras"
    model.save(path)
    again = keras.saving.load_model(path)  # registered as mit_dl>AdamW
    assert type(again.optimizer) is ours.AdamW and again.optimizer.decay == pytest.approx(0.01)
    keras.config.set_dtype_policy("mixed_float16")
    try:
        half = _model()
        half.compile(optimizer=ours.RMSProp(0.01), loss="mse")
        assert isinstance(half.optimizer, keras.optimizers.LossScaleOptimizer)
        first = half.fit(x.reshape(-1, 6), y.reshape(-1, 3), epochs=2, verbose=0).history["loss"]
        assert np.isfinite(first).all()
    finally:
        keras.config.set_dtype_policy("float32")


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: ours.GradientDescent(-0.1), "learning_rate must be a positive number, received -0.1"),
        (lambda: ours.GradientDescent(0.1, momentum=1.0), r"momentum must be in \[0, 1\), received 1.0"),
        (lambda: ours.Adam(0.1, beta_2=1.5), r"beta_2 must be in \[0, 1\), received 1.5"),
        (lambda: ours.AdamW(0.1, decay=-1.0), "decay must be at least 0, received -1.0"),
    ],
)
def test_bad_settings_are_one_sentence(make, message):
    with pytest.raises(ConfigError, match=message):
        make()
