"""The LLM lab's text: corpora split by whole documents, token windows, and fine-tuning examples.

Pretraining text comes from a file or a folder of ``.txt`` files (the
documented runs: ``../shared/data/shakespeare``, 42 works), from
tensorflow-datasets' ``tiny_shakespeare`` for users with internet
(``tfds:tiny_shakespeare``), or by default from Python's own documentation
prose (``pydoc_data``, 79 topics, 0.46 MB), which installs with Python.
A folder is split by whole files, so held-out text is text the model never
saw (Shakespeare: `HELD_OUT_WORKS`).

Fine-tuning examples are a text file with one example per line (style
text, no prompt) or JSONL lines ``{"prompt": ..., "response": ...}``, laid
out with the chat template (`format_example`); the loss is taken on the
answer's tokens only (`encode_examples` returns the mask).

Examples:
    >>> format_example("Who art thou?", "A friend.")
    '<|user|>Who art thou?<|assistant|>A friend.<|endoftext|>'
"""

import dataclasses
import json
import pathlib

import numpy as np
import tensorflow as tf

from mit_dl.errors import ConfigError
from mit_dl.llm.tokenizer import ASSISTANT, END, USER, Tokenizer, train_tokenizer

# Four Shakespeare works held out of pretraining (0.48 MB of 5.0, plays and verse): the validation text.
HELD_OUT_WORKS = ("hamlet_gut", "julius_caesar_gut", "sonnets_gut", "tempest_gut")
DEFAULT_CORPUS = "pydoc_data"
TFDS_PREFIX = "tfds:"


@dataclasses.dataclass
class Corpus:
    """A tokenized corpus: the tokenizer and the training and held-out token streams.

    Args:
        tokenizer: the `Tokenizer` trained on the training documents.
        train_ids: int32 array of the training documents' tokens, each ending with the end token.
        val_ids: likewise for the held-out documents.
        val_text: the held-out documents' text (the n-gram baseline scores it).
        train_text: the training documents' text.
        held_out: names of the held-out documents.
        source: where the text came from.
    """

    tokenizer: Tokenizer
    train_ids: np.ndarray
    val_ids: np.ndarray
    val_text: str
    train_text: str
    held_out: tuple
    source: str


def _checked_text(raw, name):
    if b"\x00" in raw:
        raise ConfigError("data", f"{name} is a binary file, not text; give a UTF-8 text file or a folder of them")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ConfigError("data", f"{name} is not UTF-8 text (byte {error.start}); convert it to UTF-8") from None
    return text.replace("\r\n", "\n")


def read_documents(data=None):
    """The documents of a corpus, by name.

    Args:
        data: a text file, a folder of ``.txt`` files, ``"tfds:tiny_shakespeare"``, or None (Python's docs).

    Returns:
        ``{name: text}`` in a fixed order.

    Raises:
        ConfigError: a missing path, an empty or binary corpus.
    """
    if data is None or data == DEFAULT_CORPUS:
        import pydoc_data.topics

        documents = dict(sorted(pydoc_data.topics.topics.items()))
    elif str(data).startswith(TFDS_PREFIX):
        documents = _tfds_documents(str(data)[len(TFDS_PREFIX) :])
    else:
        path = pathlib.Path(data)
        if not path.exists():
            raise ConfigError("data", f"{path} does not exist; give a text file or a folder of .txt files")
        files = sorted(path.glob("*.txt")) if path.is_dir() else [path]
        if not files:
            raise ConfigError("data", f"{path} holds no .txt file")
        documents = {f.stem: _checked_text(f.read_bytes(), f) for f in files}
    documents = {name: text for name, text in documents.items() if text.strip()}
    if not documents:
        raise ConfigError("data", f"{data or DEFAULT_CORPUS} holds no text")
    return documents


def _tfds_documents(name):
    """tensorflow-datasets' text (``tiny_shakespeare``: one document per split); needs internet the first time."""
    import tensorflow_datasets as tfds

    builder = tfds.builder(name)
    builder.download_and_prepare()
    documents = {}
    for split in ("train", "validation", "test"):
        for i, example in enumerate(tfds.as_numpy(builder.as_dataset(split=split))):
            documents[f"{split}_{i}"] = example["text"].decode("utf-8")
    return documents


def split_documents(documents, held_out=None):
    """Split documents into training and held-out ones, by whole documents.

    Args:
        documents: ``{name: text}``.
        held_out: comma-separated names to hold out (a unique start will do: ``macbeth``); default:
            `HELD_OUT_WORKS` when all are present, ``validation_*``/``test_*`` documents
            (tensorflow-datasets), else every tenth document, or the last tenth of a single document's lines.

    Returns:
        ``(train, held_out)``: two ``{name: text}``.

    Raises:
        ConfigError: a named document is missing, or nothing would be left to train on.
    """
    names = list(documents)
    if held_out:
        chosen = [_document_named(n.strip().removesuffix(".txt"), names) for n in held_out.split(",") if n.strip()]
    elif all(n in documents for n in HELD_OUT_WORKS):
        chosen = list(HELD_OUT_WORKS)
    elif any(n.startswith(("validation_", "test_")) for n in names):
        chosen = [n for n in names if n.startswith(("validation_", "test_"))]
    elif len(names) >= 2:
        chosen = names[9::10] or names[-1:]
    else:
        lines = documents[names[0]].splitlines(keepends=True)
        cut = len(lines) - max(1, len(lines) // 10)
        return {names[0]: "".join(lines[:cut])}, {f"{names[0]} (last tenth)": "".join(lines[cut:])}
    train = {n: t for n, t in documents.items() if n not in chosen}
    if not train:
        raise ConfigError("held_out", "holds out every document; leave some to train on")
    return train, {n: documents[n] for n in chosen}


def _document_named(name, names):
    """The document ``name`` names: itself, or the one document whose name starts with it (``macbeth``)."""
    if name in names:
        return name
    starting = [n for n in names if n.startswith(name)]
    if len(starting) != 1:
        raise ConfigError("held_out", f"names {name!r}, which is not among the corpus' {len(names)} documents")
    return starting[0]


def _stream(tokenizer, texts):
    ids = []
    for encoded in tokenizer.encode_many(texts):
        ids += [*encoded, tokenizer.end_id]
    return np.asarray(ids, np.int32)


def load_data(config, tokenizer=None):
    """The config's corpus, split, with a tokenizer trained on its training documents (or the one given).

    Args:
        config: a `GPTConfig` (``data``, ``held_out``, ``vocab_size``).
        tokenizer: a `Tokenizer` to reuse (a resumed run's), or None to train one.

    Returns:
        A `Corpus`.
    """
    documents = read_documents(config.data)
    train, held_out = split_documents(documents, config.held_out)
    if tokenizer is None:
        tokenizer = train_tokenizer(train.values(), config.vocab_size)
    return Corpus(
        tokenizer=tokenizer,
        train_ids=_stream(tokenizer, train.values()),
        val_ids=_stream(tokenizer, held_out.values()),
        val_text="".join(held_out.values()),
        train_text="".join(train.values()),
        held_out=tuple(held_out),
        source=str(config.data or DEFAULT_CORPUS),
    )


def windows(ids, context, batch_size, seed, shuffle=True):
    """Training batches: windows of ``context + 1`` tokens, inputs and next-token targets.

    Windows start every ``context // 2`` tokens (each token is read in two
    different positions), in an order shuffled with ``seed`` anew each pass.

    Args:
        ids: the token stream.
        context: tokens the model reads.
        batch_size: windows per batch.
        seed: the shuffling seed.
        shuffle: shuffle the windows (evaluation reads them in order).

    Returns:
        A `tf.data.Dataset` of ``(tokens [B, context], targets [B, context])``.

    Raises:
        ConfigError: the stream is shorter than one window.
    """
    if len(ids) < context + 1:
        raise ConfigError("context", f"({context}) is longer than the text ({len(ids)} tokens); give more text")
    stream = tf.constant(ids, tf.int32)
    starts = np.arange(0, len(ids) - context, max(1, context // 2), dtype=np.int64)
    data = tf.data.Dataset.from_tensor_slices(starts)
    if shuffle:
        data = data.shuffle(len(starts), seed=seed, reshuffle_each_iteration=True)
    data = data.map(lambda s: stream[s : s + context + 1]).batch(batch_size, drop_remainder=shuffle)
    return data.map(lambda w: (w[:, :-1], w[:, 1:])).prefetch(tf.data.AUTOTUNE)


def format_example(prompt, response):
    """One example in the chat template: ``<|user|>prompt<|assistant|>response<|endoftext|>``.

    Style text without a prompt has an empty ``prompt``.

    Args:
        prompt: the user's turn ("" for none).
        response: the answer.

    Returns:
        The templated text.
    """
    return f"{USER}{prompt}{ASSISTANT}{response}{END}"


def read_examples(path):
    """Fine-tuning examples from a text file (one response per line) or JSONL (``prompt``/``response``).

    Args:
        path: the file (``.jsonl``: JSON lines; else plain lines).

    Returns:
        A list of ``(prompt, response)``.

    Raises:
        ConfigError: a missing, empty or binary file, or a malformed JSON line (its line number).
    """
    path = pathlib.Path(path)
    if not path.is_file():
        raise ConfigError("data", f"{path} is not a file; give a text or JSONL file of examples")
    lines = _checked_text(path.read_bytes(), path).split("\n")
    examples = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        if path.suffix != ".jsonl":
            examples.append(("", line.strip()))
            continue
        try:
            record = json.loads(line)
            examples.append((str(record["prompt"]), str(record["response"])))
        except (json.JSONDecodeError, KeyError, TypeError):
            raise ConfigError(
                "data", f'{path} line {number} is not a JSON object with "prompt" and "response"'
            ) from None
    if not examples:
        raise ConfigError("data", f"{path} holds no example")
    return examples


def encode_examples(tokenizer, examples, context):
    """Templated examples as padded windows with the answer-only mask.

    The mask marks the targets that are the answer's tokens and its end
    token: the loss is taken there only (the prompt and the template are
    read, not learned). Target ``t`` is token ``t + 1``, so the mask is
    shifted with the targets. Examples longer than ``context + 1`` tokens are
    cut at the end; the windows are as long as the longest example needs (at
    most ``context``), so short lines on a base of long context (GPT-2's
    1,024) cost their own length, not the context's.

    Args:
        tokenizer: the base model's `Tokenizer`.
        examples: ``(prompt, response)`` pairs.
        context: the model's context.

    Returns:
        ``(tokens, targets, mask, cut)``: int32 ``[N, T]`` each (``T <= context``; mask 0/1) and the
        count of cut examples.
    """
    encoded = [
        (tokenizer.encode(f"{USER}{prompt}{ASSISTANT}"), [*tokenizer.encode(response), tokenizer.end_id])
        for prompt, response in examples
    ]
    width = min(context + 1, max(len(head) + len(tail) for head, tail in encoded))
    tokens = np.full((len(encoded), width), tokenizer.end_id, np.int32)
    answer = np.zeros((len(encoded), width), np.int32)
    cut = 0
    for i, (head, tail) in enumerate(encoded):
        ids = (head + tail)[:width]
        cut += len(head) + len(tail) > width
        tokens[i, : len(ids)] = ids
        answer[i, len(head) : len(ids)] = 1
    return tokens[:, :-1], tokens[:, 1:], answer[:, 1:], cut
