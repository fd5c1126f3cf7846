"""The lab's GPT and its twin in keras-hub: ``GPT2Backbone`` at the same sizes, with the same weights.

The two networks are the same computation (GPT-2's layout: learned positions, pre-norm blocks,
tied embeddings, layer norms with epsilon 1e-5) except the feed-forward activation: the lecture's
`TransformerBlock` uses the exact GELU, GPT-2 its tanh approximation. `to_keras_hub` copies a GPT's
weights into a ``GPT2Backbone`` (reshaping the attention projections per head), so a model trained
here runs in keras-hub, and the tests check the logits agree.
"""

import numpy as np


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


def _block_weights(block, heads):
    attention = block.attention
    d = attention.d_model
    head = d // heads
    weights = {}
    for ours, theirs in (("query", "query"), ("key", "key"), ("value", "value")):
        weights[f"self_attention/{theirs}/kernel"] = (
            getattr(attention, f"{ours}_kernel").numpy().reshape(d, heads, head)
        )
        weights[f"self_attention/{theirs}/bias"] = getattr(attention, f"{ours}_bias").numpy().reshape(heads, head)
    weights["self_attention/attention_output/kernel"] = attention.output_kernel.numpy().reshape(heads, head, d)
    weights["self_attention/attention_output/bias"] = attention.output_bias.numpy()
    for ours, theirs in (
        ("attention_norm", "self_attention_layer_norm"),
        ("feed_forward_norm", "feedforward_layer_norm"),
    ):
        norm = getattr(block, ours)
        weights[f"{theirs}/gamma"], weights[f"{theirs}/beta"] = norm.gamma.numpy(), norm.beta.numpy()
    for ours, theirs in (
        ("feed_forward_in", "feedforward_intermediate_dense"),
        ("feed_forward_out", "feedforward_output_dense"),
    ):
        dense = getattr(block, ours)
        weights[f"{theirs}/kernel"], weights[f"{theirs}/bias"] = dense.kernel.numpy(), dense.bias.numpy()
    return weights


def to_keras_hub(model, config):
    """A ``GPT2Backbone`` holding ``model``'s weights (LoRA adapters merged first, if any).

    Args:
        model: a `mit_dl.llm.model.build_gpt` model.
        config: its `GPTConfig`.

    Returns:
        The backbone; its ``token_embedding(h, reverse=True)`` gives the logits.
    """
    vocab = model.get_layer("embedding").input_dim
    backbone = keras_hub_backbone(config, vocab)
    weights = {
        "token_embedding/embeddings": model.get_layer("embedding").embeddings.numpy(),
        "position_embedding/embeddings": model.get_layer("positions").position_embeddings.numpy(),
        "layer_norm/gamma": model.get_layer("final_norm").gamma.numpy(),
        "layer_norm/beta": model.get_layer("final_norm").beta.numpy(),
    }
    for i in range(config.num_layers):
        block = model.get_layer(f"block_{i}")
        weights.update({f"transformer_layer_{i}/{k}": v for k, v in _block_weights(block, config.num_heads).items()})
    for variable in backbone.weights:
        value = weights[variable.path]
        variable.assign(np.asarray(value, variable.dtype).reshape(variable.shape))
    return backbone
