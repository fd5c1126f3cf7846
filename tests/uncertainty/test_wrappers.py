"""The epistemic wrappers: the entropy decomposition, MC dropout, deep ensembles, Bayes by Backprop, VAE, histograms.

Each wrapper around a functional and a subclassed model where it can take
one, its outputs against hand computations, its training through the
shared `Trainer`, and one clear error for each bad setting.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp

from mit_dl.errors import ConfigError
from mit_dl.faces.debias import sampling_probabilities
from mit_dl.training import Trainer
from mit_dl.training.trainer import losses_step
from mit_dl.uncertainty import (
    BayesByBackprop,
    BayesianModel,
    DropoutWrapper,
    EnsembleWrapper,
    HistogramWrapper,
    MCDropout,
    MVEWrapper,
    VAEWrapper,
)
from mit_dl.uncertainty.summaries import classification_summary, regression_summary


def _mlp(inputs=4, classes=3, dropout=None, batch_norm=False):
    x = keras.Input((inputs,))
    h = keras.layers.Dense(32, activation="relu", name="hidden")(x)
    if batch_norm:
        h = keras.layers.BatchNormalization(name="norm")(h)
    if dropout:
        h = keras.layers.Dropout(dropout, name="drop")(h)
    return keras.Model(x, keras.layers.Dense(classes, name="logits")(h), name="mlp")


class _Subclassed(keras.Model):
    def __init__(self, dropout=True, batch_norm=False):
        super().__init__()
        self.hidden = keras.layers.Dense(32, activation="relu")
        self.drop = keras.layers.Dropout(0.3) if dropout else None
        self.norm = keras.layers.BatchNormalization() if batch_norm else None
        self.out = keras.layers.Dense(3)

    def call(self, x, training=False):
        h = self.hidden(x)
        if self.norm is not None:
            h = self.norm(h, training=training)
        if self.drop is not None:
            h = self.drop(h, training=training)
        return self.out(h)


def _built(model, inputs=4):
    model(tf.zeros((1, inputs)))
    return model


# ------------------------------------------------------------------------------------------- summaries
def test_the_entropy_decomposition_matches_numpy_and_swapping_its_terms_is_caught():
    p = tf.nn.softmax(tf.random.stateless_normal((7, 5, 4), seed=(1, 2)) * 3).numpy()
    out = classification_summary(p)
    mean = p.mean(0)
    total = -(mean * np.log(mean)).sum(-1)
    expected = (-(p * np.log(p)).sum(-1)).mean(0)
    np.testing.assert_allclose(out["probabilities"], mean, rtol=1e-6)
    np.testing.assert_allclose(out["entropy"], total, rtol=1e-5)
    np.testing.assert_allclose(out["aleatoric"], expected, rtol=1e-5)
    np.testing.assert_allclose(out["epistemic"], total - expected, atol=1e-5)
    np.testing.assert_allclose(out["variance"], p.var(0).mean(-1), rtol=1e-5)
    assert (out["epistemic"].numpy() > 0).all()  # draws that disagree
    agreeing = classification_summary(np.repeat(p[:1], 7, axis=0))
    np.testing.assert_allclose(agreeing["epistemic"], 0.0, atol=1e-6)  # one opinion: nothing epistemic
    np.testing.assert_allclose(agreeing["aleatoric"], agreeing["entropy"], rtol=1e-6)


def test_regression_summary_averages_means_and_variances():
    means, variances = np.array([[[1.0]], [[2.0]], [[6.0]]]), np.array([[[0.5]], [[1.0]], [[1.5]]])
    out = regression_summary(means, variances)
    assert float(out["prediction"][0, 0]) == 3.0
    assert np.isclose(float(out["epistemic"][0, 0]), np.var([1.0, 2.0, 6.0]))
    assert float(out["aleatoric"][0, 0]) == 1.0


# ------------------------------------------------------------------------------------------- MC dropout
def test_dropout_passes_differ_and_their_mean_converges_to_the_deterministic_logits():
    model = _mlp()
    wrapped = DropoutWrapper(model, samples=4000, rate=0.3)
    assert wrapped.added == ["hidden"] and isinstance(wrapped.network.layers[1].layers[1], MCDropout)
    x = tf.random.stateless_normal((3, 4), seed=(3, 4))
    draws = wrapped.sample(x).numpy()
    assert draws.shape == (4000, 3, 3)
    assert np.abs(draws[0] - draws[1]).max() > 1e-3  # each pass has its own mask
    assert np.abs(draws[:, 0] - draws[:, 1]).max() > 1e-3  # and each row of a pass
    # The output layer is linear and dropout is scaled by 1 / (1 - rate): E[logits] = the logits without dropout.
    deterministic = model(x).numpy()
    spread = draws.std(0) / np.sqrt(len(draws))
    assert np.all(np.abs(draws.mean(0) - deterministic) < 5 * spread + 1e-4)
    assert np.abs(draws[:10].mean(0) - deterministic).max() > np.abs(draws.mean(0) - deterministic).max()


def test_dropout_keeps_the_models_rates_and_batch_normalisation_in_inference_mode():
    model = _mlp(dropout=0.25, batch_norm=True)
    norm = model.get_layer("norm")
    norm.moving_mean.assign(tf.fill(norm.moving_mean.shape, 0.7))
    wrapped = DropoutWrapper(model, samples=3)
    assert wrapped.added == [] and [layer.rate for layer in wrapped.network.layers if isinstance(layer, MCDropout)] == [
        0.25
    ]
    x = tf.random.stateless_normal((64, 4), seed=(5, 6))
    wrapped(x)
    np.testing.assert_allclose(norm.moving_mean.numpy(), 0.7)  # training=True would have moved it
    # Batch statistics would make a row's prediction depend on its batch: with almost no dropout it must not.
    quiet = DropoutWrapper(_mlp(batch_norm=True), samples=2, rate=1e-7)
    alone = quiet(x[:1])["probabilities"].numpy()
    np.testing.assert_allclose(quiet(x)["probabilities"].numpy()[:1], alone, rtol=1e-5)


def test_dropout_trains_the_users_own_weights_through_the_trainer():
    model = _mlp()
    wrapped = DropoutWrapper(model, samples=5)
    wrapped.compile(keras.optimizers.Adam(1e-2))
    before = model.get_layer("hidden").kernel.numpy().copy()
    x = np.random.default_rng(0).normal(size=(256, 4)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int32) + (x[:, 1] > 0)
    history = Trainer(wrapped, verbose=0).fit(
        tf.data.Dataset.from_tensor_slices((x, y)).repeat().batch(32), steps=200, steps_per_epoch=100
    )
    assert history["loss"][-1] < history["loss"][0] < 1.2
    assert not np.allclose(model.get_layer("hidden").kernel.numpy(), before)  # the wrapper shares the layers
    accuracy = (wrapped(x)["probabilities"].numpy().argmax(1) == y).mean()
    assert accuracy > 0.85


def test_a_sequential_models_layers_before_the_first_dropout_run_once_per_prediction():
    layers = [keras.layers.Dense(16, activation="relu", name="a"), keras.layers.Dense(8, name="b")]
    model = keras.Sequential([keras.Input((4,)), *layers, keras.layers.Dense(3, name="logits")])
    wrapped = DropoutWrapper(model, samples=5, after=["b"], rate=1e-7)
    prefix, rest = wrapped._split
    assert [layer.name for layer in prefix.layers] == ["a", "b"]
    assert isinstance(rest.layers[0], MCDropout) and rest.layers[1].name == "logits"
    x = tf.random.stateless_normal((6, 4), seed=(9, 9))
    np.testing.assert_allclose(wrapped.sample(x).numpy(), np.repeat(model(x).numpy()[None], 5, 0), rtol=1e-5)
    assert DropoutWrapper(model, samples=2)._split is not None  # dropout after a: the prefix is layer a


def test_dropout_around_a_subclassed_model_uses_its_dropout():
    model = _built(_Subclassed())
    out = DropoutWrapper(model, samples=6)(tf.ones((2, 4)))
    assert out["probabilities"].shape == (2, 3) and float(tf.reduce_max(out["epistemic"])) > 0


@pytest.mark.parametrize(
    ("make", "kwargs", "message"),
    [
        (lambda: _mlp(), {"samples": 0}, r"^samples must be an integer of at least 1, received 0\.$"),
        (lambda: _mlp(), {"rate": 1.0}, r"^rate must be a dropout rate strictly between 0 and 1, received 1\.0\.$"),
        (lambda: _mlp(), {"rate": 0}, r"^rate must be a dropout rate strictly between 0 and 1"),
        (lambda: _mlp(), {"after": ["nope"]}, r"^after names layers mlp does not have: nope\.$"),
        (lambda: _built(_Subclassed(dropout=False)), {}, r"is subclassed and has no Dropout layer: add keras"),
        (lambda: _built(_Subclassed(batch_norm=True)), {}, r"is subclassed and has BatchNormalization"),
    ],
)
def test_dropout_refuses_bad_settings_in_one_sentence(make, kwargs, message):
    with pytest.raises(ConfigError, match=message):
        DropoutWrapper(make(), **kwargs)


# --------------------------------------------------------------------------------------------- ensembles
def test_ensemble_members_start_apart_reproducibly_and_one_call_equals_member_by_member():
    first = EnsembleWrapper(_mlp, members=3, seed=7)
    again = EnsembleWrapper(_mlp, members=3, seed=7)
    kernels = [m.get_layer("hidden").kernel.numpy() for m in first.members]
    assert not np.allclose(kernels[0], kernels[1])
    np.testing.assert_array_equal(kernels[2], again.members[2].get_layer("hidden").kernel.numpy())
    x = tf.random.stateless_normal((5, 4), seed=(7, 8))
    one_call, separate = first(x), first.predict_members(x)
    for name in ("probabilities", "entropy", "aleatoric", "epistemic"):
        np.testing.assert_allclose(one_call[name], separate[name], rtol=1e-5, atol=1e-6)
    logits = np.stack([m(x).numpy() for m in first.members])
    np.testing.assert_allclose(one_call["probabilities"], tf.nn.softmax(logits).numpy().mean(0), rtol=1e-5)


def test_an_ensemble_of_mve_members_reports_aleatoric_and_epistemic_variance_and_trains_each_member():
    def member():
        x = keras.Input((1,))
        return MVEWrapper(keras.Model(x, keras.layers.Dense(1)(keras.layers.Dense(16, activation="relu")(x))))

    ensemble = EnsembleWrapper(member, members=2, task="regression")
    ensemble.compile(keras.optimizers.Adam(1e-2))
    assert len(ensemble.trainable_variables) == 2 * 6
    x = np.linspace(-1, 1, 512, dtype=np.float32)[:, None]
    y = 2 * x + 0.1 * np.random.default_rng(0).normal(size=x.shape).astype(np.float32)
    history = Trainer(ensemble, verbose=0).fit(
        tf.data.Dataset.from_tensor_slices((x, y)).repeat().batch(64), steps=300, steps_per_epoch=150
    )
    assert history["member_0"][-1] < history["member_0"][0] and history["member_1"][-1] < history["member_1"][0]
    out = ensemble(x)
    assert set(out) == {"prediction", "epistemic", "aleatoric"}
    assert float(np.sqrt(np.mean((out["prediction"].numpy() - 2 * x) ** 2))) < 0.1


def test_ensemble_refuses_bad_settings():
    with pytest.raises(ConfigError, match=r"^members must be an integer of at least 1, received 0\.$"):
        EnsembleWrapper(_mlp, members=0)
    with pytest.raises(ConfigError, match=r"^builder must return a Keras model, returned str\.$"):
        EnsembleWrapper(lambda: "model", members=2)


# ------------------------------------------------------------------------------------------ Bayes by Backprop
def test_the_variational_layers_kl_matches_tfp_and_its_draws_have_the_posteriors_moments():
    layer = BayesByBackprop(3, initial_std=0.2, prior_std=0.5, seed=0)
    layer.build((None, 2))
    layer.kernel_loc.assign([[0.3, -1.0, 2.0], [0.0, 0.5, -0.2]])
    layer.bias_rho.assign(tf.fill((3,), float(np.log(np.expm1(0.1)))))
    tfd = tfp.distributions
    prior = tfd.Normal(0.0, 0.5)
    expected = sum(
        float(tf.reduce_sum(tfd.kl_divergence(q, tfd.Normal(tf.zeros_like(q.loc), prior.scale))))
        for q in layer.posteriors()
    )
    assert np.isclose(float(layer.kl()), expected, rtol=1e-5)
    # Rows of the identity pick the kernel's rows out: draws of W[i] + b.
    draw = tf.function(lambda: layer(tf.eye(2)))
    draws = np.stack([draw().numpy() for _ in range(3000)])
    np.testing.assert_allclose(draws.mean(0), layer.kernel_loc.numpy(), atol=0.02)
    np.testing.assert_allclose(draws.std(0), np.sqrt(0.2**2 + 0.1**2), rtol=0.06)
    layer(tf.eye(2))
    assert np.isclose(float(layer.losses[-1]), expected, rtol=1e-5)  # kl_weight 1
    with tf.GradientTape() as tape:
        out = tf.reduce_sum(layer(tf.ones((4, 2))))
    gradients = tape.gradient(out, [layer.kernel_loc, layer.kernel_rho])
    assert all(g is not None and float(tf.reduce_max(tf.abs(g))) > 0 for g in gradients)
    clone = BayesByBackprop.from_config(layer.get_config())
    assert (clone.units, clone.prior_std, clone.initial_std) == (3, 0.5, 0.2)


def test_a_bayesian_model_scales_the_kl_by_the_data_and_learns():
    x = np.random.default_rng(1).normal(size=(400, 4)).astype(np.float32)
    y = (x[:, 0] + x[:, 1] > 0).astype(np.int32)
    inputs = keras.Input((4,))
    hidden = BayesByBackprop(16, activation="relu")(inputs)
    model = BayesianModel(keras.Model(inputs, BayesByBackprop(2)(hidden)), samples=8, train_size=400)
    assert all(layer.kl_weight == 1 / 400 for layer in model.bayesian_layers)
    model.compile(keras.optimizers.Adam(1e-2))
    kl = sum(float(layer.kl()) for layer in model.bayesian_layers) / 400
    logs = losses_step(model, (x[:40], y[:40]))
    assert np.isclose(float(logs["kl"]), kl, rtol=1e-5)  # the step pays the KL of the weights it started from
    history = Trainer(model, verbose=0).fit(
        tf.data.Dataset.from_tensor_slices((x, y)).repeat().batch(40), steps=300, steps_per_epoch=150
    )
    assert history["loss"][-1] < history["loss"][0]
    out = model(x)
    assert (out["probabilities"].numpy().argmax(1) == y).mean() > 0.9
    draws = model.sample(x[:2]).numpy()
    assert draws.shape == (8, 2, 2) and np.abs(draws[0] - draws[1]).max() > 0


def test_bayesian_model_needs_a_variational_layer():
    with pytest.raises(ConfigError, match=r"has no BayesByBackprop layer: build it with"):
        BayesianModel(_mlp())
    with pytest.raises(ConfigError, match=r"^prior_std must be a positive standard deviation"):
        BayesByBackprop(3, prior_std=0)


# ----------------------------------------------------------------------------------------------- VAE, histograms
def _bars(count, horizontal, seed):
    rng = np.random.default_rng(seed)
    images = np.zeros((count, 28, 28, 1), np.float32)
    for image, position in zip(images, rng.integers(4, 24, count)):
        if horizontal:
            image[position - 2 : position + 2, 4:24] = 1.0
        else:
            image[4:24, position - 2 : position + 2] = 1.0
    return images


def _tiny_cnn():
    x = keras.Input((28, 28, 1))
    h = keras.layers.Conv2D(4, 3, strides=2, activation="relu")(x)
    h = keras.layers.Dense(8, activation="relu")(keras.layers.Flatten()(h))
    return keras.Model(x, keras.layers.Dense(2)(h), name="tiny_cnn")


def test_the_vae_reconstructs_training_like_images_better_than_novel_ones():
    wrapped = VAEWrapper(_tiny_cnn(), latent_dim=4, seed=0)
    wrapped.compile(keras.optimizers.Adam(2e-3))
    images = _bars(512, horizontal=True, seed=0)
    labels = (np.arange(512) % 2).astype(np.int32)
    history = Trainer(wrapped, verbose=0).fit(
        tf.data.Dataset.from_tensor_slices((images, labels)).repeat().batch(64), steps=150, steps_per_epoch=150
    )
    assert {"model_loss", "reconstruction", "vae_kl"} <= set(history)
    familiar = wrapped(_bars(64, horizontal=True, seed=1))
    novel = wrapped(_bars(64, horizontal=False, seed=1))
    assert set(familiar) == {"probabilities", "entropy", "reconstruction_error", "reconstruction_divergence"}
    assert (familiar["reconstruction_divergence"].numpy() <= familiar["reconstruction_error"].numpy()).all()
    assert np.median(novel["reconstruction_error"]) > 1.5 * np.median(familiar["reconstruction_error"])
    assert wrapped.latent_means(images[:3]).shape == (3, 4)


def test_the_vae_wrapper_needs_image_inputs():
    with pytest.raises(ConfigError, match=r"must take images \[N, 28, 28, C\] or \[N, 64, 64, C\]"):
        VAEWrapper(_mlp())


def test_the_histogram_score_is_the_db_vaes_product_weight_and_flags_rare_inputs():
    model = _mlp()
    wrapped = HistogramWrapper(model, bins=8)
    with pytest.raises(ConfigError, match=r"has no histograms yet: call adapt\(training inputs\) first"):
        wrapped.bias_score(tf.zeros((1, 4)))
    x = np.random.default_rng(2).normal(size=(500, 4)).astype(np.float32)
    features = wrapped.adapt(x, batch_size=128)
    assert features.shape == (500, 32)
    score = wrapped.bias_score(x).numpy()
    # The same histograms as the DB-VAE's resampling: softmax(score) is its product-rule probability.
    np.testing.assert_allclose(
        tf.nn.softmax(score).numpy(), sampling_probabilities(features, bins=8).numpy(), rtol=1e-4, atol=1e-9
    )
    far = wrapped(x[:20] * 6.0)["bias_score"].numpy()
    assert np.median(far) > np.percentile(score, 95)
    assert len(wrapped.non_trainable_variables) >= 3  # saved and exported with the wrapper
