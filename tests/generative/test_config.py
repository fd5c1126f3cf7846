"""GenerativeConfig: presets, defaults per model, and one clear error per bad value."""

import pytest

from mit_dl.errors import ConfigError
from mit_dl.generative.config import GenerativeConfig


def test_defaults_follow_the_model():
    assert GenerativeConfig.from_preset("quick", model="beta-vae").kl_weight == 4.0
    assert GenerativeConfig.from_preset("quick", model="vae").kl_weight == 1.0
    assert GenerativeConfig.from_preset("quick", model="vae", beta=2.5).kl_weight == 2.5
    assert GenerativeConfig.from_preset("quick", model="vae", dataset="sprites").latent_size == 10
    assert GenerativeConfig.from_preset("quick", model="dcgan").latent_size == 64
    assert GenerativeConfig.from_preset("quick", model="wgan-gp").total_steps == 750
    assert GenerativeConfig.from_preset("full", model="wgan-gp").total_steps == 3000
    assert GenerativeConfig.from_preset("full", model="dcgan").total_steps == 12000
    assert GenerativeConfig.from_preset("quick", model="wgan-gp", n_critic=3).batches_per_step == 3
    assert GenerativeConfig.from_preset("quick", model="dcgan", n_critic=3).batches_per_step == 1
    assert GenerativeConfig(model="wgan-gp").optimizer_settings() == {
        "learning_rate": 1e-4,
        "beta_1": 0.5,
        "beta_2": 0.9,
    }


@pytest.mark.parametrize(
    "changes, field, words",
    [
        ({"model": "vqvae"}, "model", "must be one of vae, beta-vae"),
        ({"dataset": "cifar10"}, "dataset", "must be one of fashion_mnist"),
        ({"beta": 0.0}, "beta", "must be a positive weight"),
        ({"beta": -1.0}, "beta", "must be a positive weight"),
        ({"n_critic": 0}, "n_critic", "must be at least 1"),
        ({"gan_loss": "saturating"}, "gan_loss", "must be one of non-saturating, minimax"),
        ({"batch_size": 1}, "batch_size", "at least 2"),
        ({"steps": 0}, "steps", "positive"),
    ],
)
def test_bad_values_fail_with_one_sentence_naming_the_field(changes, field, words):
    with pytest.raises(ConfigError, match=words) as raised:
        GenerativeConfig.from_preset("quick", **changes)
    assert raised.value.field == field
