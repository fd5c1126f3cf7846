"""Sampling from the music models: compiled samplers, their export signatures, and reading exports.

Generation runs the whole loop inside one ``tf.function``: a
``tf.while_loop`` carries the model's state (the LSTM's ``(h, c)``, the
transformer's key/value caches) and draws each next character from
``softmax(logits / temperature)`` with ``tf.random.stateless_categorical``,
so a ``seed`` reproduces a song exactly and no Python runs per character.
"""

import numpy as np
import tensorflow as tf

from mit_dl.export import Endpoint
from mit_dl.music.config import GENERATION_BATCH, SEED_TEXT
from mit_dl.networks.decoder import LoopSampler, RecomputeSampler, TransformerSampler

__all__ = [
    "CompiledSampler",
    "RecomputeSampler",
    "TransformerSampler",
    "generate_texts",
    "generator_endpoints",
    "sample_seeds",
    "sampler_for",
]


class CompiledSampler(LoopSampler):
    """Generates characters from a trained `build_music_model` LSTM in one compiled loop.

    A `tf.while_loop` carries the LSTM's state and draws each character with a
    stateless seeded draw, so a seed reproduces a song exactly.

    Args:
        model: a trained `mit_dl.music.model.build_music_model` model (its layers are reused, not copied).
    """

    def __init__(self, model):
        super().__init__()
        self.model = model
        self.embedding = model.get_layer("embedding")
        self.lstm = model.get_layer("lstm")
        self.dense = model.get_layer("logits")
        self.units = self.lstm.cell.units

    def _step(self, token_ids, state):
        """One character: ids ``[B]`` and ``[h, c]`` -> logits ``[B, V]`` and the new state."""
        out, state = self.lstm.cell(self.embedding(token_ids), state)
        return self.dense(out), list(state)

    def prime(self, seed_ids):
        """Run the seed text through the LSTM.

        Args:
            seed_ids: ``[B, T]`` ids of the seed text.

        Returns:
            ``(logits, state)``: the logits after the last seed character and the LSTM state ``[h, c]``.
        """
        batch = tf.shape(seed_ids)[0]
        zeros = tf.zeros((batch, self.units), self.lstm.cell.compute_dtype)  # float16 under mixed_float16
        logits = tf.zeros((batch, self.dense.units))

        def body(t, logits, state):
            logits, state = self._step(seed_ids[:, t], state)
            return t + 1, logits, state

        _, logits, state = tf.while_loop(
            lambda t, *_: t < tf.shape(seed_ids)[1], body, [tf.constant(0), logits, [zeros, zeros]]
        )
        return logits, state


def sampler_for(model):
    """The compiled sampler of a music model: `TransformerSampler` for a transformer, else `CompiledSampler`.

    Args:
        model: a model `mit_dl.music.model.build_model` built.

    Returns:
        The sampler.
    """
    if any(layer.name == "positions" for layer in model.layers):
        return TransformerSampler(model)
    return CompiledSampler(model)


def generator_endpoints(sampler, characters):
    """The generator's serving signatures, with the vocabulary inside.

    - ``generate(seed_text, length, temperature, seed) -> {"text"}``: one song;
    - ``generate_many(seed_text, length, temperature, seeds[N]) -> {"texts"[N]}``:
      N songs in one batched loop; text ``i`` is the song ``generate(..., seeds[i])``
      draws (up to rounding, see `CompiledSampler.generate_rows`).

    Seeds may be int64 or int32 (``tf.constant(3)``). Characters outside the
    vocabulary, an empty seed, or (transformer) a seed text longer than the
    context fail inside the signatures with a message saying so.

    Args:
        sampler: the `CompiledSampler` or `TransformerSampler`.
        characters: the vocabulary's characters, in id order.

    Returns:
        ``(endpoints, lookup_table)``; export the table with the model (``extra_trackables``).
    """
    alphabet = tf.constant(list(characters))
    table = tf.lookup.StaticHashTable(
        tf.lookup.KeyValueTensorInitializer(alphabet, tf.range(len(characters), dtype=tf.int32)), default_value=-1
    )

    def checked_seed_ids(seed_text):
        pieces = tf.strings.unicode_split(seed_text, "UTF-8")
        ids = table.lookup(pieces)
        checks = [
            tf.debugging.Assert(tf.size(ids) > 0, ["seed_text must contain at least one character"]),
            tf.debugging.Assert(
                tf.reduce_all(ids >= 0),
                ["seed_text has characters that are not in the vocabulary:", tf.boolean_mask(pieces, ids < 0)],
            ),
        ]
        with tf.control_dependencies(checks):
            return tf.identity(ids)

    def as_text(new_ids):
        return tf.strings.reduce_join(tf.gather(alphabet, new_ids), axis=-1)

    def generate(seed_text, length, temperature, seed):
        ids = checked_seed_ids(seed_text)
        return {"text": as_text(sampler.generate_ids(ids[None], length, temperature, seed)[0])}

    def generate_many(seed_text, length, temperature, seeds):
        ids = checked_seed_ids(seed_text)
        rows = tf.tile(ids[None], [tf.shape(seeds)[0], 1])
        return {"texts": as_text(sampler.generate_rows(rows, length, temperature, seeds))}

    common = [
        tf.TensorSpec([], tf.string, name="seed_text"),
        tf.TensorSpec([], tf.int32, name="length"),
        tf.TensorSpec([], tf.float32, name="temperature"),
    ]
    endpoints = {
        "generate": Endpoint(
            generate, [*common, tf.TensorSpec([], tf.int64, name="seed")], converted_dtypes={"seed": [tf.int32]}
        ),
        "generate_many": Endpoint(
            generate_many,
            [*common, tf.TensorSpec([None], tf.int64, name="seeds")],
            converted_dtypes={"seeds": [tf.int32]},
        ),
    }
    return endpoints, table


def sample_seeds(seed, count):
    """RNG seeds of samples ``0..count-1`` for a run ``seed``.

    Sample ``i``'s seed depends on ``(seed, i)`` only, so 100 songs extend 50
    songs with the same first 50, while two run seeds share no sample.

    Args:
        seed: the run's seed (``--seed``).
        count: number of samples.

    Returns:
        A list of non-negative int64 seeds.
    """
    return [int(np.random.SeedSequence([seed % 2**64, i]).generate_state(1, np.uint64)[0] >> 1) for i in range(count)]


def generate_texts(generator, rng_seeds, length, temperature, seed_text=SEED_TEXT, batch=GENERATION_BATCH):
    """One sample from an exported generator per RNG seed, ``seed_text`` included.

    Uses the batched ``generate_many`` signature, ``batch`` songs per call,
    when the export has it (generators exported before it was added only have
    ``generate``: one call per song). Both draw sample ``i`` with RNG seed
    ``rng_seeds[i]``; they agree except when the batched matrix products round
    a probability differently enough to change a draw (2 of 250 songs of the
    lab model).

    Args:
        generator: the loaded generator export.
        rng_seeds: one seed per sample (see `sample_seeds`).
        length: characters to draw after the seed text.
        temperature: divides the logits before each draw.
        seed_text: the text every sample starts from.
        batch: samples per call.

    Returns:
        The samples' texts.
    """
    args = (tf.constant(seed_text), tf.constant(length, tf.int32), tf.constant(temperature, tf.float32))
    if not hasattr(generator, "generate_many"):
        return [
            seed_text + generator.generate(*args, tf.constant(s, tf.int64))["text"].numpy().decode("utf-8")
            for s in rng_seeds
        ]
    texts = []
    for start in range(0, len(rng_seeds), batch):
        chunk = tf.constant(rng_seeds[start : start + batch], tf.int64)
        texts += [seed_text + t.decode("utf-8") for t in generator.generate_many(*args, chunk)["texts"].numpy()]
    return texts
