"""FGSM and PGD: they raise the loss within their budget; PGD adversarial training trains on attacked batches."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from mit_dl.errors import ConfigError
from mit_dl.training import Trainer
from mit_dl.training import adversarial as training_adversarial
from mit_dl.vision import adversarial
from mit_dl.vision.attribution import as_images


def model_and_data(seed=0):
    keras.utils.set_random_seed(seed)
    model = keras.Sequential(
        [
            keras.Input((10, 10, 1)),
            keras.layers.Conv2D(4, 3, activation="relu"),
            keras.layers.Flatten(),
            keras.layers.Dense(3),
        ]
    )
    rng = np.random.default_rng(seed)
    return model, rng.integers(0, 256, (12, 10, 10), dtype=np.uint8), rng.integers(0, 3, 12).astype(np.int32)


def losses(model, images, labels):
    logits = model(as_images(images))
    return tf.nn.sparse_softmax_cross_entropy_with_logits(labels, logits).numpy()


def test_fgsm_raises_every_images_loss_by_a_signed_step_of_epsilon_pixels():
    model, images, labels = model_and_data()
    attacked = adversarial.fgsm(model, images, labels, epsilon=2)
    assert attacked.dtype == np.float32 and attacked.shape == (12, 10, 10, 1)
    change = attacked - as_images(images)
    inside = (as_images(images) > 2 / 255) & (as_images(images) < 1 - 2 / 255)  # not clipped at 0 or 1
    np.testing.assert_allclose(np.abs(change[inside & (change != 0)]), 2 / 255, rtol=1e-5)
    assert np.all(losses(model, attacked, labels) > losses(model, images, labels))
    assert np.array_equal(adversarial.fgsm(model, images, labels, epsilon=0), as_images(images))


def test_pgd_stays_in_its_ball_and_in_range_and_is_at_least_as_strong_as_fgsm():
    model, images, labels = model_and_data(1)
    epsilon = 12.75
    attacked = adversarial.pgd(model, images, labels, epsilon, steps=10)
    assert np.abs(attacked - as_images(images)).max() <= epsilon / 255 + 1e-6
    assert attacked.min() >= 0 and attacked.max() <= 1
    stronger = losses(model, attacked, labels).mean()
    assert stronger >= losses(model, adversarial.fgsm(model, images, labels, epsilon), labels).mean() - 1e-4
    assert stronger > losses(model, images, labels).mean()
    np.testing.assert_array_equal(attacked, adversarial.pgd(model, images, labels, epsilon, steps=10))  # seeded


def test_an_accuracy_curve_starts_at_the_clean_accuracy_and_states_epsilon_in_both_units():
    model, images, labels = model_and_data(2)
    curve = adversarial.accuracy_curve(model, images, labels, [0, 25.5], "fgsm")
    assert curve["accuracy"][0] == adversarial.accuracy(model, images, labels)
    assert curve["epsilon"] == [0.0, 25.5] and curve["epsilon_unit"] == pytest.approx([0.0, 0.1])
    assert curve["accuracy"][1] <= curve["accuracy"][0]


def test_pgd_training_trains_on_attacked_batches_with_the_trainer():
    model, images, labels = model_and_data(3)
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss=keras.losses.SparseCategoricalCrossentropy(True))
    model.optimizer.build(model.trainable_variables)
    clean = losses(model, images, labels).mean()
    step = training_adversarial.pgd_training_step(model, epsilon=25.5, steps=3)
    data = tf.data.Dataset.from_tensor_slices((as_images(images), labels)).batch(12)
    before = [w.copy() for w in model.get_weights()]
    history = Trainer(model, loss=model.loss, train_step=step, verbose=False).fit(data, steps=1)
    assert history["loss"][0] > clean  # the first step's loss is the attacked batch's, above the clean loss
    assert any(not np.allclose(a, b) for a, b in zip(before, model.get_weights()))
    history = Trainer(model, loss=model.loss, train_step=step, verbose=False).fit(data, steps=60)
    robust = adversarial.accuracy(model, adversarial.pgd(model, images, labels, 25.5, steps=3), labels)
    assert robust >= 0.9  # twelve images: it learns to classify their attacked versions


def test_negative_epsilons_unknown_attacks_and_bad_labels_fail_clearly():
    model, images, labels = model_and_data()
    with pytest.raises(ConfigError, match=r"^epsilon must be 0 or more pixel units \(of 0-255 images\), received -0.5"):
        adversarial.pgd(model, images, labels, -0.5)
    with pytest.raises(ConfigError, match="^epsilon must be 0 or more"):
        adversarial.accuracy_curve(model, images, labels, [0, -1])
    with pytest.raises(ConfigError, match="^method must be one of fgsm, pgd, received 'cw'"):
        adversarial.accuracy_curve(model, images, labels, [0], "cw")
    with pytest.raises(ConfigError, match="^classes must be ids of the model's 3 classes"):
        adversarial.fgsm(model, images, labels + 3, 2)
    with pytest.raises(ConfigError, match="^steps must be at least 1"):
        adversarial.pgd(model, images, labels, 2, steps=0)
