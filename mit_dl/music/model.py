"""Lab 1 part 2's character models that write folk tunes, with their loss and optimizer.

- The lab's LSTM: Embedding -> LSTM -> Dense over the vocabulary (`build_music_model`).
- Lecture 2's answer to long-range structure, a decoder-only transformer
  built from the lecture layers: character embedding + learned positions ->
  `TransformerBlock` x N (causal) -> LayerNorm -> logits (`build_transformer_model`).

Both predict ``text[i+1]`` from ``text[:i+1]`` and train on the
cross-entropy of the next character (the mean over every position of every
window). `build_model` returns the config's model compiled with its loss
and optimizer (the course's Adam; AdamW with a warm-up and a cosine decay
when the config asks), so the shared `Trainer` trains it as it is;
`mit_dl.music.sampler` generates from either.
"""

import keras

from mit_dl.networks.decoder import build_decoder


def build_music_model(vocab_size, embedding_dim=256, rnn_units=1024):
    """Embedding -> LSTM (sequences) -> Dense logits: the lab's model.

    Args:
        vocab_size: number of characters.
        embedding_dim: size of each character's embedding.
        rnn_units: units of the LSTM.

    Returns:
        A functional `keras.Model` ``tokens [B, T] -> logits [B, T, vocab_size]``
        (logits in float32 under mixed precision).
    """
    tokens = keras.Input((None,), dtype="int32", name="tokens")
    x = keras.layers.Embedding(vocab_size, embedding_dim, name="embedding")(tokens)
    x = keras.layers.LSTM(rnn_units, return_sequences=True, name="lstm")(x)
    # float32 logits under a mixed-precision policy: a stable softmax / loss and sampling as in float32.
    logits = keras.layers.Dense(vocab_size, dtype="float32", name="logits")(x)
    return keras.Model(tokens, logits, name="music_lstm")


def build_transformer_model(
    vocab_size, context, d_model=256, num_heads=8, num_layers=4, ff_dim=1024, dropout=0.1, tie_embeddings=False
):
    """A decoder-only character transformer from the lecture layers: `mit_dl.networks.decoder.build_decoder`.

    Args:
        vocab_size: number of characters.
        context: the longest input (the learned positions' count).
        d_model: width of the embeddings and blocks.
        num_heads: attention heads per block.
        num_layers: blocks.
        ff_dim: feed-forward width.
        dropout: dropout rate (embeddings, residuals).
        tie_embeddings: compute the logits with the embedding matrix (`TiedEmbedding`).

    Returns:
        A functional `keras.Model` ``tokens [B, T <= context] -> logits [B, T, vocab_size]``
        named ``music_transformer``.
    """
    return build_decoder(
        vocab_size, context, d_model, num_heads, num_layers, ff_dim, dropout, tie_embeddings, name="music_transformer"
    )


def learning_rate(config):
    """The config's learning rate: constant (the course's), or with a linear warm-up and a cosine decay.

    Args:
        config: a `MusicConfig` (``learning_rate``, ``warmup_steps``, ``decay``, ``steps``).

    Returns:
        A float or a `keras.optimizers.schedules.LearningRateSchedule`.
    """
    if config.decay == "cosine":
        decay_steps = max(config.steps - config.warmup_steps, 1)
        return keras.optimizers.schedules.CosineDecay(
            0.0 if config.warmup_steps else config.learning_rate,
            decay_steps,
            warmup_target=config.learning_rate if config.warmup_steps else None,
            warmup_steps=config.warmup_steps,
        )
    if config.warmup_steps:
        return keras.optimizers.schedules.PolynomialDecay(0.0, config.warmup_steps, config.learning_rate, power=1.0)
    return config.learning_rate


def build_model(vocab_size, config):
    """The config's model (LSTM or transformer), compiled with its loss and optimizer.

    The optimizer is the course's Adam at ``config.learning_rate``, or AdamW
    when ``weight_decay > 0`` (biases, layer norms and embeddings not decayed),
    with the schedule of `learning_rate`.

    Args:
        vocab_size: number of characters.
        config: the run's `MusicConfig`.

    Returns:
        The compiled model, ready for `Trainer(model)`.
    """
    if config.model == "transformer":
        model = build_transformer_model(
            vocab_size,
            config.sequence_length,
            config.d_model,
            config.num_heads,
            config.num_layers,
            config.ff_dim,
            config.dropout,
            config.tie_embeddings,
        )
    else:
        model = build_music_model(vocab_size, config.embedding_dim, config.rnn_units)
    rate = learning_rate(config)
    if config.weight_decay:
        optimizer = keras.optimizers.AdamW(rate, weight_decay=config.weight_decay)
        optimizer.exclude_from_weight_decay(var_names=["bias", "gamma", "beta", "embeddings"])
    else:
        optimizer = keras.optimizers.Adam(rate)
    model.compile(optimizer=optimizer, loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model
