"""Measure a language model on held-out text: cross-entropy per token and bits per character.

Bits per character do not depend on the tokenizer: the held-out token
stream's total cross-entropy (nats) over the number of characters those
tokens spell, divided by ``ln 2``. A model with a larger vocabulary
predicts fewer, longer tokens; per character the figures compare with
each other, with the n-gram baseline (`mit_dl.llm.ngram`) and with
character-level models such as nanoGPT's.

The stream is read in consecutive windows of ``context`` tokens, each
predicting its tokens from the ones before them in the window (the first
token of the stream is not scored).
"""

import math

import numpy as np
import tensorflow as tf

from mit_dl.llm.ngram import KneserNey


def stream_cross_entropy(model, ids, context, batch_size=32):
    """Total next-token cross-entropy of a token stream, read in windows of ``context``.

    Args:
        model: the GPT.
        ids: int array, the held-out stream.
        context: the model's context.
        batch_size: windows per call.

    Returns:
        ``(total_nats, scored)``: the sum over the scored tokens and the int array of the scored tokens.
    """
    ids = np.asarray(ids, np.int32)
    windows = (len(ids) - 1) // context
    if windows == 0:
        raise ValueError(f"the held-out text has {len(ids)} tokens, fewer than the context ({context}) + 1")
    used = windows * context
    inputs = ids[:used].reshape(windows, context)
    targets = ids[1 : used + 1].reshape(windows, context)
    total = 0.0
    for start in range(0, windows, batch_size):
        logits = model(tf.constant(inputs[start : start + batch_size]), training=False)
        losses = tf.nn.sparse_softmax_cross_entropy_with_logits(
            targets[start : start + batch_size], tf.cast(logits, tf.float32)
        )
        total += float(tf.reduce_sum(tf.cast(losses, tf.float64)))
    return total, targets.reshape(-1)


def held_out_report(model, tokenizer, ids, context, batch_size=32):
    """Cross-entropy per token and bits per character of a held-out stream.

    Args:
        model: the GPT.
        tokenizer: its `Tokenizer` (each token's byte length counts the characters).
        ids: the held-out stream.
        context: the model's context.
        batch_size: windows per call.

    Returns:
        ``{"cross_entropy", "perplexity", "bits_per_character", "tokens", "characters"}``.
    """
    total, scored = stream_cross_entropy(model, ids, context, batch_size)
    lengths = np.array([len(b) for b in tokenizer.token_bytes()])
    lengths[[tokenizer.end_id, tokenizer.user_id, tokenizer.assistant_id]] = 0  # they spell no character
    characters = int(lengths[scored].sum())
    per_token = total / len(scored)
    return {
        "cross_entropy": per_token,
        "perplexity": math.exp(per_token),
        "bits_per_character": total / math.log(2) / characters,
        "tokens": int(len(scored)),
        "characters": characters,
    }


def ngram_baseline(train_text, held_out_text, order=5):
    """The interpolated Kneser-Ney byte n-gram's bits per character on the held-out text.

    Args:
        train_text: the text the language model trained on.
        held_out_text: the held-out text.
        order: the n-gram order.

    Returns:
        ``{"order", "bits_per_character"}``.
    """
    model = KneserNey.fit(train_text, order)
    return {"order": order, "bits_per_character": model.bits_per_character(held_out_text)}


def score_lines(loaded, lines, batch_size=64):
    """Mean cross-entropy per token (nats) over every token of ``lines``, with an export's ``score``.

    Args:
        loaded: a loaded language-model export.
        lines: strings.
        batch_size: lines per call.

    Returns:
        A float: the mean over lines of each line's mean, weighted by nothing (each line counts once).
    """
    scores = []
    for start in range(0, len(lines), batch_size):
        chunk = tf.constant(lines[start : start + batch_size])
        scores += loaded.score(texts=chunk)["cross_entropy"].numpy().tolist()
    return float(np.mean(scores))


def score_models(models, texts):
    """Score each text file's lines under each model.

    Args:
        models: run directories or export folders.
        texts: text files (their non-empty lines are scored).

    Returns:
        ``{model: {text: mean cross-entropy per token}}``.
    """
    from mit_dl.llm.data import read_examples
    from mit_dl.llm.generate import load_language_model

    lines = {text: [response for _, response in read_examples(text)] for text in texts}
    table = {}
    for model in models:
        loaded = load_language_model(model)[0]
        table[str(model)] = {text: score_lines(loaded, chunk) for text, chunk in lines.items()}
    return table


def score_table(table):
    """A Markdown table of `score_models`' result.

    Args:
        table: ``{model: {text: value}}``.

    Returns:
        The table's text.
    """
    texts = list(next(iter(table.values())))
    rows = ["| model | " + " | ".join(texts) + " |", "|---|" + "---|" * len(texts)]
    rows += [
        f"| {model} | " + " | ".join(f"{v:.3f}" for v in values.values()) + " |" for model, values in table.items()
    ]
    return "\n".join(rows)
