"""Small next-character models built only from the lecture layers.

Used by `mit-dl demo` to show the layers learning on real text; the lab's
full music model (Embedding -> LSTM -> Dense) lives in `mit_dl/music/model.py`.
"""

import keras

from mit_dl.layers import MultiHeadSelfAttention, MyDenseLayer, MyRNNCell, PositionalEncoding


def rnn_char_model(vocab_size, embedding_dim=32, units=128):
    """Embedding -> RNN(MyRNNCell) whose ``W_hy`` gives the next-character logits.

    Args:
        vocab_size: number of characters.
        embedding_dim: size of each character's embedding.
        units: size of the hidden state.

    Returns:
        A functional `keras.Model` ``tokens [B, T] -> logits [B, T, vocab_size]``.
    """
    tokens = keras.Input((None,), dtype="int32", name="tokens")
    x = keras.layers.Embedding(vocab_size, embedding_dim)(tokens)
    logits = keras.layers.RNN(MyRNNCell(units, output_dim=vocab_size), return_sequences=True)(x)
    return keras.Model(tokens, logits, name="my_rnn_char_model")


def attention_char_model(vocab_size, d_model=64, num_heads=4):
    """Embedding -> PositionalEncoding -> causal MultiHeadSelfAttention -> MyDenseLayer logits.

    One attention block with a residual connection and a per-position
    feed-forward layer: a one-layer, decoder-only Transformer.

    Args:
        vocab_size: number of characters.
        d_model: size of the embeddings and of the attention.
        num_heads: attention heads.

    Returns:
        A functional `keras.Model` ``tokens [B, T] -> logits [B, T, vocab_size]``.
    """
    tokens = keras.Input((None,), dtype="int32", name="tokens")
    x = PositionalEncoding()(keras.layers.Embedding(vocab_size, d_model)(tokens))
    x = x + MultiHeadSelfAttention(d_model, num_heads)(x, use_causal_mask=True)
    x = x + MyDenseLayer(d_model, activation="relu")(x)
    logits = MyDenseLayer(vocab_size, activation=None)(x)
    return keras.Model(tokens, logits, name="attention_char_model")
