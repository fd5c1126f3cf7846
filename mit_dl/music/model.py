"""Lab 1 part 2: the character-level LSTM that writes folk tunes, with its loss and optimizer.

Model (as in the lab): Embedding -> LSTM -> Dense over the vocabulary,
trained to predict ``text[i+1]`` from ``text[:i+1]`` with the cross-entropy
of the next character (the mean over every position of every window) and
Adam. `music_model` returns it compiled with both, so the shared `Trainer`
trains it as it is; `mit_dl.music.sampler` generates from it.
"""

import keras


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


def music_model(vocab_size, config):
    """`build_music_model` sized by a `MusicConfig`, compiled with its loss and Adam at ``config.learning_rate``.

    Args:
        vocab_size: number of characters.
        config: the run's `MusicConfig`.

    Returns:
        The compiled model, ready for `Trainer(model)`.
    """
    model = build_music_model(vocab_size, config.embedding_dim, config.rnn_units)
    model.compile(
        optimizer=keras.optimizers.Adam(config.learning_rate),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    return model
