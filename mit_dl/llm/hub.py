"""The lab's GPT and its twin in keras-hub: ``GPT2Backbone`` at the same sizes, with the same weights.

The two networks are the same computation (GPT-2's layout: learned positions, pre-norm blocks,
tied embeddings, layer norms with epsilon 1e-5) except the feed-forward activation: the lecture's
`TransformerBlock` uses the exact GELU by default, GPT-2 its tanh approximation (the block's
``approximate_gelu`` option). `to_keras_hub` copies a GPT's weights into a ``GPT2Backbone``
(reshaping the attention projections per head), so a model trained here runs in keras-hub, and
the tests check the logits agree. `from_keras_hub` and `load_preset` go the other way: a GPT-2
preset (``gpt2_base_en`` with internet, or a local preset folder) becomes the lab's GPT with
GPT-2's GELU, the base `mit-dl llm finetune --base` adapts.
"""

import numpy as np

from mit_dl.errors import ConfigError


def keras_hub_backbone(config, vocab_size):
    """An untrained ``keras_hub.models.GPT2Backbone`` of the config's sizes.

    Args:
        config: a `GPTConfig`.
        vocab_size: the vocabulary.

    Returns:
        The backbone.
    """
    import keras_hub

    return keras_hub.models.GPT2Backbone(
        vocabulary_size=vocab_size,
        num_layers=config.num_layers,
        num_heads=config.num_heads,
        hidden_dim=config.d_model,
        intermediate_dim=config.ff_dim,
        dropout=0.0,
        max_sequence_length=config.context,
    )


def _block_pairs(model, config, i):
    """``(our variable, keras-hub path)`` for block ``i``; each pair holds the same numbers in another shape."""
    block = model.get_layer(f"block_{i}")
    attention, prefix = block.attention, f"transformer_layer_{i}/"
    pairs = []
    for name in ("query", "key", "value"):
        pairs.append((getattr(attention, f"{name}_kernel"), f"self_attention/{name}/kernel"))
        pairs.append((getattr(attention, f"{name}_bias"), f"self_attention/{name}/bias"))
    pairs.append((attention.output_kernel, "self_attention/attention_output/kernel"))
    pairs.append((attention.output_bias, "self_attention/attention_output/bias"))
    for ours, theirs in (
        ("attention_norm", "self_attention_layer_norm"),
        ("feed_forward_norm", "feedforward_layer_norm"),
    ):
        norm = getattr(block, ours)
        pairs += [(norm.gamma, f"{theirs}/gamma"), (norm.beta, f"{theirs}/beta")]
    for ours, theirs in (
        ("feed_forward_in", "feedforward_intermediate_dense"),
        ("feed_forward_out", "feedforward_output_dense"),
    ):
        dense = getattr(block, ours)
        pairs += [(dense.kernel, f"{theirs}/kernel"), (dense.bias, f"{theirs}/bias")]
    return [(variable, prefix + path) for variable, path in pairs]


def _pairs(model, config):
    """Every weight of the GPT but its two embeddings, beside its keras-hub path."""
    pairs = [
        (model.get_layer("final_norm").gamma, "layer_norm/gamma"),
        (model.get_layer("final_norm").beta, "layer_norm/beta"),
    ]
    for i in range(config.num_layers):
        pairs += _block_pairs(model, config, i)
    return pairs


def to_keras_hub(model, config):
    """A ``GPT2Backbone`` holding ``model``'s weights (LoRA adapters merged first, if any).

    Args:
        model: a `mit_dl.llm.model.build_gpt` model.
        config: its `GPTConfig`.

    Returns:
        The backbone; its ``token_embedding(h, reverse=True)`` gives the logits.
    """
    backbone = keras_hub_backbone(config, model.get_layer("embedding").input_dim)
    theirs = {variable.path: variable for variable in backbone.weights}
    pairs = [
        *_pairs(model, config),
        (model.get_layer("embedding").embeddings, "token_embedding/embeddings"),
        (model.get_layer("positions").position_embeddings, "position_embedding/embeddings"),
    ]
    for ours, path in pairs:
        theirs[path].assign(np.asarray(ours.numpy(), theirs[path].dtype).reshape(theirs[path].shape))
    return backbone


def from_keras_hub(backbone, added_tokens=0):
    """The lab's GPT holding a ``GPT2Backbone``'s weights (GPT-2's tanh GELU), and its config.

    The inverse of `to_keras_hub`: the same numbers, the attention projections
    reshaped from per-head to ``[d_model, d_model]``. ``added_tokens`` rows are
    appended to the token embedding (the chat template's tokens a GPT-2
    vocabulary lacks), each the mean of GPT-2's rows, so they start as an
    average token.

    Args:
        backbone: a ``keras_hub.models.GPT2Backbone``.
        added_tokens: tokens the tokenizer has beyond the backbone's vocabulary.

    Returns:
        ``(model, config)``: an uncompiled GPT and its `GPTConfig`.
    """
    from mit_dl.llm.config import GPTConfig
    from mit_dl.llm.model import build_gpt

    theirs = {variable.path: variable.numpy().astype("float32") for variable in backbone.weights}
    table = theirs["token_embedding/embeddings"]
    config = GPTConfig.from_preset(
        "quick",
        vocab_size=table.shape[0] + added_tokens,
        context=backbone.max_sequence_length,
        d_model=backbone.hidden_dim,
        num_heads=backbone.num_heads,
        num_layers=backbone.num_layers,
        ff_dim=backbone.intermediate_dim,
        approximate_gelu=True,
    )
    model = build_gpt(config, config.vocab_size)
    model(np.zeros((1, 1), np.int32))
    rows = np.concatenate([table, np.repeat(table.mean(0, keepdims=True), added_tokens, 0)])
    model.get_layer("embedding").embeddings.assign(rows)
    model.get_layer("positions").position_embeddings.assign(theirs["position_embedding/embeddings"])
    for ours, path in _pairs(model, config):
        ours.assign(theirs[path].reshape(ours.shape))
    return model, config


def load_preset(preset):
    """A keras-hub GPT-2 preset as the lab's GPT, config and `Tokenizer` (the template's tokens added).

    Args:
        preset: a keras-hub preset name (``gpt2_base_en``, needs internet the first time), a
            ``hf://`` / ``kaggle://`` handle, or a local preset folder (``save_to_preset``'s).

    Returns:
        ``(model, config, tokenizer)``, as `mit_dl.llm.finetune.load_pretrained` gives them.

    Raises:
        ConfigError: the preset does not load here, or is not a GPT-2.
    """
    import keras_hub

    from mit_dl.llm.tokenizer import tokenizer_from_merges

    try:
        backbone = keras_hub.models.Backbone.from_preset(preset)
        hub_tokenizer = keras_hub.tokenizers.Tokenizer.from_preset(preset)
    except Exception as error:  # keras-hub raises ValueError, OSError or a download error by source
        raise ConfigError(
            "base",
            f"{preset!r} is neither a run directory of `mit-dl llm train` nor a keras-hub preset that loads here "
            f"({type(error).__name__}); a preset name needs internet the first time, or give a local preset folder",
        ) from error
    if not isinstance(backbone, keras_hub.models.GPT2Backbone):
        raise ConfigError(
            "base",
            f"{preset!r} is a {type(backbone).__name__}; the lab fine-tunes GPT-2 presets (gpt2_*), "
            "the architecture of its own GPT",
        )
    tokenizer = tokenizer_from_merges(hub_tokenizer.vocabulary, hub_tokenizer.merges)
    model, config = from_keras_hub(backbone, tokenizer.vocab_size - backbone.vocabulary_size)
    return model, config, tokenizer
