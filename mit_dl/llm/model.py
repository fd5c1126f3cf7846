"""The LLM lab's GPT, its losses and optimizer, and LoRA on its attention.

- `build_gpt`: the decoder-only transformer of lecture 2 built from the
  lecture layers (`mit_dl.networks.decoder.build_decoder`, the network the
  music lab's transformer also is), with tied input / output embeddings as
  in GPT-2.
- `token_loss`: next-token cross-entropy; with a mask, on the answer's
  tokens only (the fine-tuning loss of MIT's Lab 3).
- `compile_gpt`: AdamW (no decay on biases, norms and embeddings), linear
  warm-up then cosine decay, global-norm clipping.
- `enable_lora` / `lora_weights` / `merge_lora`: LoRA on every block's
  attention projections (`MultiHeadSelfAttention.enable_lora`).
"""

import keras
import numpy as np
import tensorflow as tf

from mit_dl.layers.multi_head_attention import PROJECTIONS
from mit_dl.networks.decoder import build_decoder
from mit_dl.training.optimizers import build_optimizer

NO_DECAY = ("bias", "gamma", "beta", "embeddings", "position_embeddings")


def build_gpt(config, vocab_size):
    """The config's GPT: ``tokens [B, T] -> logits [B, T, vocab_size]``.

    Args:
        config: a `GPTConfig` (or any object with its network fields).
        vocab_size: the tokenizer's vocabulary.

    Returns:
        An uncompiled functional `keras.Model` named ``gpt``.
    """
    return build_decoder(
        vocab_size,
        config.context,
        config.d_model,
        config.num_heads,
        config.num_layers,
        config.ff_dim,
        config.dropout,
        tie_embeddings=True,
        name="gpt",
        approximate_gelu=getattr(config, "approximate_gelu", False),
    )


def token_loss(targets, logits):
    """Mean next-token cross-entropy (nats) of each example, over its masked targets when a mask is given.

    Args:
        targets: ``[B, T]`` int ids, or ``(ids, mask)`` with ``mask [B, T]`` 1 where the loss counts
            (the answer's tokens).
        logits: ``[B, T, V]``.

    Returns:
        ``[B]``: each example's mean over its counted targets.
    """
    if isinstance(targets, (tuple, list)):
        targets, mask = targets
    else:
        mask = tf.ones_like(targets)
    mask = tf.cast(mask, tf.float32)
    per_token = keras.losses.sparse_categorical_crossentropy(targets, tf.cast(logits, tf.float32), from_logits=True)
    return tf.reduce_sum(per_token * mask, axis=-1) / tf.maximum(tf.reduce_sum(mask, axis=-1), 1.0)


def compile_gpt(model, learning_rate, steps, warmup_steps, weight_decay=0.1, clip_norm=1.0):
    """Compile ``model`` with `token_loss` and AdamW on a warm-up + cosine schedule with clipping.

    Args:
        model: the GPT.
        learning_rate: peak learning rate.
        steps: the run's steps (the cosine decays to 0 over them).
        warmup_steps: linear warm-up steps.
        weight_decay: AdamW's decoupled weight decay.
        clip_norm: the gradients' global norm is clipped to this.

    Returns:
        ``model``, compiled.
    """
    settings = {
        "optimizer": "AdamW",
        "learning_rate": learning_rate,
        "schedule": "cosine",
        "warmup_steps": warmup_steps,
        "arguments": {"weight_decay": weight_decay, "global_clipnorm": clip_norm},
        "no_decay": NO_DECAY,
    }
    model.compile(optimizer=build_optimizer(settings, steps), loss=token_loss)
    return model


def attention_layers(model):
    """Every block's attention layer, in order.

    Args:
        model: a `build_gpt` model.

    Returns:
        A list of `MultiHeadSelfAttention`.
    """
    return [layer.attention for layer in model.layers if layer.name.startswith("block_")]


def enable_lora(model, rank, alpha, projections=PROJECTIONS):
    """Freeze the GPT and add LoRA to its attention projections: only the ``A`` and ``B`` matrices train.

    Args:
        model: a built `build_gpt` model.
        rank: LoRA's rank.
        alpha: LoRA's alpha.
        projections: which attention projections to adapt.

    Returns:
        ``(trained, total)``: the parameters that train and all of them.
    """
    for variable in model.weights:
        variable.trainable = False
    for attention in attention_layers(model):
        attention.enable_lora(rank, alpha, projections)
    trained = sum(int(np.prod(v.shape)) for v in model.trainable_weights)
    return trained, sum(int(np.prod(v.shape)) for v in model.weights)


def lora_weights(model):
    """The adapter: every LoRA matrix of the model by its path.

    Args:
        model: a GPT after `enable_lora`.

    Returns:
        ``{path: array}``.
    """
    return {v.path: v.numpy() for v in model.weights if "_lora_" in v.path}


def merge_lora(model):
    """Fold every adapter into its kernel (the model computes the same; its ``B`` matrices become zeros).

    Args:
        model: a GPT after `enable_lora`.

    Returns:
        None.
    """
    for attention in attention_layers(model):
        attention.merge_lora()
