"""The GPT's twin: keras-hub's GPT2Backbone with the same weights gives the same logits."""

import dataclasses

import keras
import numpy as np
import pytest

from mit_dl.llm.config import GPTConfig
from mit_dl.llm.hub import to_keras_hub
from mit_dl.llm.model import build_gpt

CONFIG = GPTConfig.from_preset("quick", vocab_size=300, context=16, d_model=32, num_heads=2, num_layers=2, ff_dim=64)


@pytest.fixture(scope="module")
def pair():
    keras.utils.set_random_seed(3)
    model = build_gpt(CONFIG, 300)
    tokens = np.random.default_rng(0).integers(0, 300, (2, 16)).astype("int32")
    model(tokens)
    for variable in model.weights:  # biases and norms away from their initial 0 / 1: every weight counts
        variable.assign(variable.numpy() + np.random.default_rng(1).normal(0, 0.05, variable.shape))
    backbone = to_keras_hub(model, CONFIG)
    hidden = backbone({"token_ids": tokens, "padding_mask": np.ones_like(tokens)})
    theirs = backbone.token_embedding(hidden, reverse=True).numpy()
    return model, tokens, theirs


def test_the_same_weights_give_the_same_logits_up_to_the_gelu_approximation(pair):
    model, tokens, theirs = pair
    np.testing.assert_allclose(model(tokens), theirs, atol=5e-3)


def test_with_gpt2s_tanh_gelu_the_logits_agree_to_rounding(pair):
    model, tokens, theirs = pair
    gpt2_gelu = build_gpt(dataclasses.replace(CONFIG, approximate_gelu=True), 300)
    gpt2_gelu(tokens)
    gpt2_gelu.set_weights(model.get_weights())
    np.testing.assert_allclose(gpt2_gelu(tokens), theirs, atol=2e-5)
