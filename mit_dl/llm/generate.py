"""Generate text from an exported language model: its ``generate_nucleus`` signature, one sample per seed."""

import pathlib

import tensorflow as tf

from mit_dl.errors import ConfigError
from mit_dl.export import load_savedmodel


def load_language_model(path):
    """The export of a run directory (its ``saved_model/``) or a SavedModel folder, checked to be a language model.

    Args:
        path: a run directory of ``llm train`` / ``llm finetune``, or its ``saved_model`` folder.

    Returns:
        ``(loaded, metadata)``.

    Raises:
        ConfigError: the export is not a language model's.
    """
    path = pathlib.Path(path)
    if (path / "saved_model").is_dir():
        path = path / "saved_model"
    loaded, metadata = load_savedmodel(path)
    if metadata.get("kind") != "language model":
        raise ConfigError("model", f"{path} is a {metadata.get('kind', 'model')!r} export, not a language model's")
    return loaded, metadata


def samples(model, prompt, max_tokens, temperature, seeds, top_k=0, top_p=0.95):
    """One continuation of ``prompt`` per seed, and whether each stopped at the end token.

    Args:
        model: a run directory or export folder (or a loaded export).
        prompt: the text to continue.
        max_tokens: most tokens to draw (the end token stops a sample earlier).
        temperature: divides the logits.
        seeds: one RNG seed per sample.
        top_k: keep the k likeliest tokens (0: all).
        top_p: nucleus sampling's p (1: all).

    Returns:
        A list of ``{"text", "stopped"}`` (the text without the prompt and the end token).
    """
    if max_tokens <= 0:
        raise ConfigError("max_tokens", f"must be a positive number, received {max_tokens}")
    if not 0 < top_p <= 1:
        raise ConfigError("top_p", f"must be in (0, 1], received {top_p}")
    loaded = load_language_model(model)[0] if isinstance(model, (str, pathlib.Path)) else model
    drawn = []
    for seed in seeds:
        out = loaded.generate_nucleus(
            prompt=tf.constant(prompt),
            max_tokens=tf.constant(max_tokens, tf.int32),
            temperature=tf.constant(temperature, tf.float32),
            seed=tf.constant(seed, tf.int64),
            top_k=tf.constant(top_k, tf.int32),
            top_p=tf.constant(top_p, tf.float32),
        )
        drawn.append({"text": out["text"].numpy().decode("utf-8", errors="replace"), "stopped": bool(out["stopped"])})
    return drawn


def generate(model, prompt, max_tokens, temperature, seeds, top_k=0, top_p=0.95):
    """One continuation of ``prompt`` per seed (`samples` without the stops).

    Args:
        model: a run directory or export folder (or a loaded export).
        prompt: the text to continue.
        max_tokens: most tokens to draw (the end token stops a sample earlier).
        temperature: divides the logits.
        seeds: one RNG seed per sample.
        top_k: keep the k likeliest tokens (0: all).
        top_p: nucleus sampling's p (1: all).

    Returns:
        The continuations (without the prompt), as strings.
    """
    return [s["text"] for s in samples(model, prompt, max_tokens, temperature, seeds, top_k, top_p)]
