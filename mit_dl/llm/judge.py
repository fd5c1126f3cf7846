"""Judges of style: ``score(texts) -> [0, 1]`` per text, offline (`StyleJudge`) or over HTTP (`HttpJudge`).

MIT's Lab 3 asks a large model whether each generation is in the target
style. Offline, `StyleJudge` is a small classifier trained to tell lines of
the target style from lines of the base corpus (hashed character n-grams
and logistic regression), whose own held-out accuracy says how far to
trust it. Users with an OpenAI-compatible endpoint and a key get
`HttpJudge`, which asks the endpoint's model a yes / no question per text.

Examples:
    >>> judge = StyleJudge.fit(["thou art", "thee and thine"] * 20, ["the function", "a module"] * 20, epochs=30)
    >>> [round(float(s)) for s in judge.score(["thou and thee", "the module"])]
    [1, 0]
"""

import json
import os
import urllib.request
import zlib

import numpy as np

from mit_dl.errors import ConfigError

FEATURES = 2**14
NGRAMS = (1, 2, 3, 4)


class Judge:
    """The interface: a judge scores texts, 1 for in the style, 0 for not."""

    def score(self, texts):
        """Each text's probability (or verdict) of being in the target style.

        Args:
            texts: strings.

        Returns:
            A float array in ``[0, 1]``, one per text.
        """
        raise NotImplementedError


def featurize(texts):
    """Hashed counts of each text's character n-grams (lower-cased), each row scaled to unit length.

    Args:
        texts: strings.

    Returns:
        ``[len(texts), FEATURES]`` float32.
    """
    rows = np.zeros((len(texts), FEATURES), np.float32)
    for i, text in enumerate(texts):
        text = f" {text.lower()} "
        for n in NGRAMS:
            for start in range(len(text) - n + 1):
                rows[i, zlib.crc32(text[start : start + n].encode("utf-8")) % FEATURES] += 1
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    return rows / np.maximum(norms, 1e-9)


class StyleJudge(Judge):
    """Logistic regression on hashed character n-grams: the target style against the base corpus.

    Args:
        weights: ``[FEATURES]`` float32.
        bias: float.
        accuracy: its held-out accuracy when `fit` measured it.
    """

    def __init__(self, weights, bias, accuracy=None):
        self.weights = np.asarray(weights, np.float32)
        self.bias = float(bias)
        self.accuracy = accuracy

    @classmethod
    def fit(cls, style, other, held_out=0.2, epochs=200, seed=0):
        """Train on lines of the style (label 1) and lines of other text (label 0); measure on held-out lines.

        Args:
            style: lines in the target style.
            other: lines of the base corpus.
            held_out: share of each side held out to measure the accuracy.
            epochs: full-batch gradient steps (Adam).
            seed: the split's seed.

        Returns:
            The `StyleJudge`, with ``accuracy`` on the held-out lines.
        """
        import keras
        import tensorflow as tf

        if not style or not other:
            raise ConfigError("data", "the judge needs lines of the style and lines of other text")
        rng = np.random.default_rng(seed)
        texts, labels = list(style) + list(other), np.r_[np.ones(len(style)), np.zeros(len(other))]
        order = rng.permutation(len(texts))
        test = order[: max(1, int(held_out * len(texts)))]
        train = order[len(test) :]
        x = featurize(texts)
        w, b = tf.Variable(tf.zeros([FEATURES])), tf.Variable(0.0)
        optimizer = keras.optimizers.Adam(0.1)
        xt, yt = tf.constant(x[train]), tf.constant(labels[train], tf.float32)
        for _ in range(epochs):
            with tf.GradientTape() as tape:
                logits = tf.linalg.matvec(xt, w) + b
                loss = tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(yt, logits)) + 1e-4 * tf.reduce_sum(w * w)
            optimizer.apply_gradients(zip(tape.gradient(loss, [w, b]), [w, b]))
        judge = cls(w.numpy(), b.numpy())
        judge.accuracy = float(np.mean((judge.score([texts[i] for i in test]) > 0.5) == labels[test]))
        return judge

    def score(self, texts):
        """Probability of the style for each text.

        Args:
            texts: strings.

        Returns:
            A float array in ``[0, 1]``.
        """
        logits = featurize(list(texts)) @ self.weights + self.bias
        return 1 / (1 + np.exp(-logits))

    def save(self, path):
        """Write the judge to an ``.npz`` file.

        Args:
            path: the file.

        Returns:
            The path.
        """
        np.savez(
            path, weights=self.weights, bias=self.bias, accuracy=np.nan if self.accuracy is None else self.accuracy
        )
        return path

    @classmethod
    def load(cls, path):
        """A judge `save` wrote.

        Args:
            path: the file.

        Returns:
            The `StyleJudge`.
        """
        stored = np.load(path)
        accuracy = float(stored["accuracy"])
        return cls(stored["weights"], float(stored["bias"]), None if np.isnan(accuracy) else accuracy)


class HttpJudge(Judge):
    """An OpenAI-compatible chat endpoint asked, for each text, whether it is in the style (yes -> 1, else 0).

    Args:
        style: the style in words ("Shakespeare's verse").
        base_url: the endpoint (``https://api.openai.com/v1``, or a local server's ``http://127.0.0.1:8000/v1``).
        model: the endpoint's model name.
        api_key: the key (default: ``$OPENAI_API_KEY``).
        timeout: seconds per request.
    """

    def __init__(self, style, base_url, model, api_key=None, timeout=60):
        self.style = style
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.api_key = api_key if api_key is not None else os.environ.get("OPENAI_API_KEY", "")
        self.timeout = timeout

    def question(self, text):
        """The chat messages asked for one text.

        Args:
            text: the text judged.

        Returns:
            A list of ``{"role", "content"}``.
        """
        return [
            {"role": "system", "content": "You judge writing style. Answer with one word: yes or no."},
            {"role": "user", "content": f"Is the following text written in the style of {self.style}?\n\n{text}"},
        ]

    def score(self, texts):
        """1 for each text the endpoint's model calls in the style, else 0.

        Args:
            texts: strings.

        Returns:
            A float array of 0s and 1s.

        Raises:
            ConfigError: the endpoint cannot be reached or answers without a choice.
        """
        return np.array([self._ask(text) for text in texts], np.float32)

    def _ask(self, text):
        body = json.dumps({"model": self.model, "messages": self.question(text), "temperature": 0}).encode()
        request = urllib.request.Request(
            f"{self.base_url}/chat/completions",
            data=body,
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {self.api_key}"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                answer = json.loads(response.read())["choices"][0]["message"]["content"]
        except (OSError, KeyError, IndexError, ValueError) as error:
            raise ConfigError(
                "judge_url", f"{self.base_url} did not answer as an OpenAI-compatible endpoint ({error}); check it"
            ) from None
        return 1.0 if answer.strip().lower().startswith("yes") else 0.0
