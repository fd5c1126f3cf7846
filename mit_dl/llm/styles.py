"""A style data set that installs with the project: Python's documentation answered in a pirate's voice.

MIT's Lab 3 fine-tunes on answers rewritten in Yoda's or a leprechaun's
voice by a large model, a download. Offline, the lab makes its own: each
example's prompt is a sentence of Python's documentation (``pydoc_data``,
the default pretraining corpus) and its answer the same sentence in a
pirate's voice (`pirate`: fixed word swaps, "arr" and "matey"), so a model
pretrained on the documentation meets a voice it has never read. The
documented runs use Shakespeare's sonnets instead (``../shared``).

Examples:
    >>> print(pirate("You can use the module to print my values."))
    Ye can use th' module t' print me values, matey. Arr!
"""

import json
import re

import numpy as np

SWAPS = {
    "you": "ye",
    "your": "yer",
    "my": "me",
    "the": "th'",
    "to": "t'",
    "is": "be",
    "are": "be",
    "yes": "aye",
    "hello": "ahoy",
    "friend": "matey",
    "of": "o'",
    "for": "fer",
    "and": "an'",
    "stop": "avast",
    "money": "doubloons",
    "never": "ne'er",
}


def pirate(sentence):
    """``sentence`` in a pirate's voice: word swaps (`SWAPS`, capitals kept), then ", matey. Arr!" at its end.

    Args:
        sentence: one sentence.

    Returns:
        The rewritten sentence.
    """

    def swap(match):
        word = match.group(0)
        new = SWAPS.get(word.lower(), word)
        return new[0].upper() + new[1:] if word[0].isupper() else new

    body = re.sub(r"[A-Za-z]+", swap, sentence.strip()).rstrip(".!?")
    return f"{body}, matey. Arr!"


def documentation_sentences(min_words=5, max_words=12):
    """Plain sentences of Python's documentation (no code, no markup), in a fixed order.

    Args:
        min_words: shortest sentence kept.
        max_words: longest sentence kept.

    Returns:
        A list of strings.
    """
    import pydoc_data.topics

    sentences = []
    for _, text in sorted(pydoc_data.topics.topics.items()):
        for paragraph in text.split("\n\n"):
            if paragraph.startswith(" ") or any(c in paragraph for c in "*`>[]{}="):
                continue
            for sentence in re.split(r"(?<=[.!?])\s+", " ".join(paragraph.split())):
                if min_words <= len(sentence.split()) <= max_words and sentence.endswith("."):
                    sentences.append(sentence)
    return list(dict.fromkeys(sentences))


def pirate_examples(count=None, seed=0):
    """``(prompt, response)`` pairs: a documentation sentence and its pirate version, shuffled with ``seed``.

    Args:
        count: how many (default: all, about 290).
        seed: the order's seed.

    Returns:
        A list of pairs.
    """
    sentences = documentation_sentences()
    order = np.random.default_rng(seed).permutation(len(sentences))[:count]
    return [(sentences[i], pirate(sentences[i])) for i in order]


def write_examples(examples, path):
    """Write pairs as JSONL lines ``{"prompt", "response"}`` (the file ``mit-dl llm finetune --data`` reads).

    Args:
        examples: ``(prompt, response)`` pairs.
        path: the ``.jsonl`` file.

    Returns:
        The path.
    """
    with open(path, "w", encoding="utf-8") as file:
        for prompt, response in examples:
            file.write(json.dumps({"prompt": prompt, "response": response}) + "\n")
    return path
