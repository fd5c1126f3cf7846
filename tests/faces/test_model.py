"""Face CNN and DB-VAE: shapes, BatchNorm in training mode, the loss against NumPy."""

import keras
import numpy as np
import pytest
from support import rng

from mit_dl.faces.model import DBVAE, dbvae_losses, face_classifier


def test_face_classifier_is_the_course_network():
    model = face_classifier()
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    assert [c.filters for c in convs] == [12, 24, 48, 72] and [c.strides for c in convs] == [(2, 2)] * 4
    assert sum(isinstance(layer, keras.layers.BatchNormalization) for layer in model.layers) == 4
    assert model(np.zeros((2, 64, 64, 3), np.float32)).shape == (2, 1)


def test_dbvae_shapes_and_bounded_reconstruction():
    model = DBVAE(latent_dim=8, seed=0)
    x = rng(0).random((3, 64, 64, 3)).astype(np.float32)
    logit, mean, log_variance = model.encode(x)
    assert logit.shape == (3, 1) and mean.shape == (3, 8) and log_variance.shape == (3, 8)
    recon = model.reconstruct(x).numpy()
    assert recon.shape == x.shape and recon.min() >= 0 and recon.max() <= 1
    np.testing.assert_allclose(model(x).numpy(), logit.numpy())


def test_batchnorm_statistics_move_only_in_training_mode():
    model = face_classifier()
    bn = next(layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization))
    x = rng(1).random((8, 64, 64, 3)).astype(np.float32)
    before = bn.moving_mean.numpy().copy()
    model(x, training=False)
    np.testing.assert_array_equal(bn.moving_mean.numpy(), before)
    model(x, training=True)
    assert not np.allclose(bn.moving_mean.numpy(), before)


def test_loss_matches_numpy_and_vae_term_counts_for_faces_only():
    r = rng(2)
    images, recon = r.random((4, 64, 64, 3)), r.random((4, 64, 64, 3))
    logit, mean, logvar = r.normal(size=(4, 1)), r.normal(size=(4, 5)), r.normal(size=(4, 5))
    labels = np.array([1, 0, 1, 0])
    total, classification, vae = (t.numpy() for t in dbvae_losses(images, labels, logit, mean, logvar, recon, 0.1))
    p = 1 / (1 + np.exp(-logit[:, 0]))
    ce = -(labels * np.log(p) + (1 - labels) * np.log(1 - p))
    kl = 0.5 * np.sum(np.exp(logvar) + mean**2 - 1 - logvar, axis=1)
    expected_vae = 0.1 * kl + np.abs(images - recon).mean(axis=(1, 2, 3))
    np.testing.assert_allclose(classification, ce, rtol=1e-5)
    np.testing.assert_allclose(vae, expected_vae, rtol=1e-5)
    np.testing.assert_allclose(total, ce + labels * expected_vae, rtol=1e-5)
    # Extreme logits stay finite.
    big = dbvae_losses(images[:2], np.array([1, 0]), np.array([[80.0], [80.0]]), mean[:2], logvar[:2], recon[:2])
    assert np.isfinite(big[0].numpy()).all() and big[1].numpy()[1] == pytest.approx(80.0)


@pytest.mark.parametrize("model", ["cnn", "dbvae"])
def test_the_cosine_schedule_decays_to_zero_and_constant_keeps_the_rate(model):
    from mit_dl.faces import FacesConfig
    from mit_dl.faces.model import build_model

    def rate(config, step):  # the optimizer's learning rate once it has taken `step` steps
        optimizer = build_model(config).optimizer
        optimizer.iterations.assign(step)
        return float(optimizer.learning_rate)

    cosine = FacesConfig(model=model, schedule="cosine", steps=1000, learning_rate=4e-4)
    assert rate(cosine, 0) == pytest.approx(4e-4)
    assert rate(cosine, 500) == pytest.approx(2e-4, rel=1e-4)  # half-way down the cosine
    assert rate(cosine, 1000) == pytest.approx(0.0, abs=1e-9)
    constant = cosine.replace(schedule="constant")
    assert rate(constant, 0) == rate(constant, 1000) == pytest.approx(4e-4)
    assert rate(cosine.replace(schedule="constant", data="lfw"), 1000) == pytest.approx(0.0, abs=1e-9)  # real data
