"""Latent resampling probabilities: NumPy references for both rules, limits, stability."""

import numpy as np
import pytest
from support import rng

from mit_dl.faces import debias


def _product_reference(mu, bins=10, smoothing=0.001):
    """The paper's rule in plain NumPy (float64, log space)."""
    log_w = np.zeros(len(mu))
    for i in range(mu.shape[1]):
        density, edges = np.histogram(mu[:, i], density=True, bins=bins)
        index = np.clip(np.digitize(mu[:, i], edges) - 1, 0, bins - 1)
        smoothed = (density + smoothing) / (density + smoothing).sum()
        log_w -= np.log(smoothed[index])
    w = np.exp(log_w - log_w.max())
    return w / w.sum()


@pytest.mark.parametrize("shape", [(500, 1), (1000, 8), (300, 32)])
def test_both_rules_match_numpy_references(shape):
    mu = rng(1).normal(size=shape).astype(np.float32)
    ours_max = debias.sampling_probabilities(mu, combine="max").numpy()
    np.testing.assert_allclose(ours_max, debias.course_sampling_probabilities(mu), rtol=1e-4, atol=1e-9)
    ours_product = debias.sampling_probabilities(mu, combine="product").numpy()
    np.testing.assert_allclose(ours_product, _product_reference(mu), rtol=1e-3, atol=1e-9)
    for p in (ours_max, ours_product):
        assert p.sum() == pytest.approx(1.0, abs=1e-5) and (p > 0).all()


def test_large_smoothing_gives_uniform_probabilities():
    mu = rng(2).normal(size=(400, 6))
    for rule in debias.COMBINE_RULES:
        p = debias.sampling_probabilities(mu, smoothing=1e6, combine=rule).numpy()
        np.testing.assert_allclose(p, np.full(400, 1 / 400), rtol=1e-3)


def test_a_rare_cluster_is_up_weighted():
    mu = rng(3).normal(0, 0.3, size=(1000, 4))
    mu[:20, 0] += 5.0  # 2% of examples far out in dimension 0
    for rule in debias.COMBINE_RULES:
        p = debias.sampling_probabilities(mu, combine=rule).numpy()
        assert p[:20].mean() > 10 * p[20:].mean(), rule
        assert p[:20].sum() > 0.1  # the 2% get at least five times their share of the draws


def test_rules_agree_on_one_dimension():
    mu = rng(4).standard_exponential(size=(700, 1))
    np.testing.assert_allclose(
        debias.sampling_probabilities(mu, combine="max").numpy(),
        debias.sampling_probabilities(mu, combine="product").numpy(),
        rtol=1e-5,
    )


def test_product_is_stable_for_hundreds_of_dimensions():
    mu = rng(5).normal(size=(2000, 256))
    mu[:10] += 4.0  # unusual in every dimension: a naive product would overflow
    p = debias.sampling_probabilities(mu, combine="product").numpy()
    assert np.isfinite(p).all() and p.sum() == pytest.approx(1.0, abs=1e-5)
    assert p[:10].sum() > 0.99


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"combine": "mean"}, "combine must be one of"),
        ({"bins": 0}, "bins must be a positive integer"),
        ({"smoothing": -1}, "smoothing must be >= 0"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        debias.sampling_probabilities(np.zeros((4, 2)), **kwargs)
    with pytest.raises(ValueError, match="non-empty \\[N, D\\]"):
        debias.sampling_probabilities(np.zeros(4))


def _resampling_data(n_faces=100):
    faces = np.arange(n_faces, dtype=np.uint8)[:, None, None, None] * np.ones((1, 4, 4, 3), np.uint8)
    non_faces = np.full((30, 4, 4, 3), 255, np.uint8)
    return faces, non_faces


def test_resampled_batches_follow_the_current_probabilities():
    import tensorflow as tf

    faces, non_faces = _resampling_data()
    probabilities = tf.Variable(np.full(100, 0.01, np.float32))
    iterator = iter(debias.resampled_batches(faces, non_faces, probabilities, batch_size=64, seed=1))
    x, y = next(iterator)
    assert x.shape == (64, 4, 4, 3) and y.numpy().tolist() == [1] * 32 + [0] * 32
    assert float(tf.reduce_max(x[32:])) == 1.0  # non-faces are the white images
    uniform_ids = np.concatenate([np.round(next(iterator)[0][:32, 0, 0, 0].numpy() * 255) for _ in range(20)])
    assert len(set(uniform_ids.astype(int))) > 80  # uniform draws reach most faces
    rare_first = np.full(100, 1e-6, np.float32)
    rare_first[:5] = 1.0
    probabilities.assign(rare_first / rare_first.sum())
    # Nothing is prefetched: the very next batch follows the new probabilities.
    drawn = np.concatenate([np.round(next(iterator)[0][:32, 0, 0, 0].numpy() * 255) for _ in range(10)])
    assert (drawn < 5).mean() > 0.99


def test_resampled_batches_are_reproducible_with_a_seed():
    import tensorflow as tf

    faces, non_faces = _resampling_data()
    probabilities = tf.Variable(np.full(100, 0.01, np.float32))
    a = [x.numpy() for x, _ in debias.resampled_batches(faces, non_faces, probabilities, 16, seed=3).take(3)]
    b = [x.numpy() for x, _ in debias.resampled_batches(faces, non_faces, probabilities, 16, seed=3).take(3)]
    c = [x.numpy() for x, _ in debias.resampled_batches(faces, non_faces, probabilities, 16, seed=4).take(3)]
    np.testing.assert_array_equal(np.stack(a), np.stack(b))
    assert not np.array_equal(np.stack(a), np.stack(c))


def test_latent_means_of_a_dbvae_in_batches():
    from mit_dl.faces.model import DBVAE

    model = DBVAE(latent_dim=4, seed=0)
    images = rng(6).integers(0, 256, (37, 64, 64, 3), dtype=np.uint8)
    mu = debias.latent_means(model, images, batch_size=16).numpy()
    expected = model.encode(images.astype(np.float32) / 255.0)[1].numpy()
    np.testing.assert_allclose(mu, expected, rtol=1e-4, atol=1e-5)


def test_resample_callback_fires_at_exact_steps_under_grouped_calls():
    import keras
    import tensorflow as tf

    from mit_dl.faces.model import DBVAE, dbvae_losses
    from mit_dl.training import Trainer

    faces = rng(7).integers(0, 256, (40, 64, 64, 3), dtype=np.uint8)
    non_faces = rng(8).integers(0, 256, (40, 64, 64, 3), dtype=np.uint8)
    model = DBVAE(latent_dim=4, seed=0)
    probabilities = tf.Variable(np.full(40, 1 / 40, np.float32))
    optimizer = keras.optimizers.Adam(1e-3)
    model.build((None, 64, 64, 3))

    def step(batch):
        x, y = batch
        with tf.GradientTape() as tape:
            logit, mu, logvar = model.encode(x, training=True)
            recon = model.decoder(model.sampling([mu, logvar], training=True), training=True)
            loss = tf.reduce_mean(dbvae_losses(x, y, logit, mu, logvar, recon)[0])
        variables = model.trainable_variables
        optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        return {"loss": loss}

    callback = debias.ResampleEvery(model, faces, probabilities, every_steps=3, warmup_steps=2)
    trainer = Trainer(model, {"optimizer": optimizer}, train_step=step, steps_per_execution=10, verbose=False)
    data = debias.resampled_batches(faces, non_faces, probabilities, batch_size=8, seed=0)
    trainer.fit(data, steps=9, steps_per_epoch=9, callbacks=[callback])
    assert callback.updates == [2, 5, 8]
    p = probabilities.numpy()
    assert p.sum() == pytest.approx(1.0, abs=1e-5) and not np.allclose(p, 1 / 40)


def test_a_figure_of_decoded_images_that_are_all_alike_says_so_on_the_figure():
    from mit_dl.faces.figures import _alike_note

    grey = np.full((8, 16, 16, 3), 128, np.uint8)
    assert "all alike" in _alike_note(grey)
    varied = np.random.default_rng(0).integers(0, 256, (8, 16, 16, 3)).astype(np.uint8)
    assert _alike_note(varied) == ""
