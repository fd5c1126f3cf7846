"""Sampling from the music model: a compiled sampler, its export signatures, and reading exports.

Generation runs the whole loop inside one ``tf.function``: a
``tf.while_loop`` carries the LSTM state ``(h, c)`` and draws each next
character from ``softmax(logits / temperature)`` with
``tf.random.stateless_categorical``, so a ``seed`` reproduces a song exactly
and no Python runs per character.
"""

import numpy as np
import tensorflow as tf

from mit_dl.export import Endpoint
from mit_dl.music.config import GENERATION_BATCH, SEED_TEXT


class CompiledSampler(tf.Module):
    """Generates characters from a trained `build_music_model` model in one compiled loop.

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
        return self.dense(out), state

    def prime(self, seed_ids):
        """Run the seed text through the LSTM.

        Args:
            seed_ids: ``[B, T]`` ids of the seed text.

        Returns:
            ``(logits, state)``: the logits after the last seed character and the LSTM state ``[h, c]``.
        """
        batch = tf.shape(seed_ids)[0]
        zeros = tf.zeros((batch, self.units), self.lstm.cell.compute_dtype)  # float16 under mixed_float16
        state = [zeros, zeros]
        logits = tf.zeros((batch, self.dense.units))

        def body(t, logits, h, c):
            logits, (h, c) = self._step(seed_ids[:, t], [h, c])
            return t + 1, logits, h, c

        _, logits, h, c = tf.while_loop(lambda t, *_: t < tf.shape(seed_ids)[1], body, [tf.constant(0), logits, *state])
        return logits, [h, c]

    @tf.function(
        input_signature=[
            tf.TensorSpec([None, None], tf.int32),
            tf.TensorSpec([], tf.int32),
            tf.TensorSpec([], tf.float32),
            tf.TensorSpec([], tf.int64),
        ]
    )
    def generate_ids(self, seed_ids, length, temperature, seed):
        """``length`` new ids after ``seed_ids``, reproducible for a ``seed``.

        The batch's rows share one draw per step (seed ``[seed, step]``).

        Args:
            seed_ids: ``[B, T]`` ids of the seed text (T >= 1).
            length: characters to draw.
            temperature: divides the logits before each draw.
            seed: int64 RNG seed.

        Returns:
            ``[B, length]`` drawn ids.
        """

        def draw(logits, i):
            return tf.random.stateless_categorical(
                logits, 1, seed=tf.stack([seed, tf.cast(i, tf.int64)]), dtype=tf.int32
            )[:, 0]

        return self._sample(seed_ids, length, temperature, draw)

    @tf.function(
        input_signature=[
            tf.TensorSpec([None, None], tf.int32),
            tf.TensorSpec([], tf.int32),
            tf.TensorSpec([], tf.float32),
            tf.TensorSpec([None], tf.int64),
        ]
    )
    def generate_rows(self, seed_ids, length, temperature, seeds):
        """Like `generate_ids` with one RNG seed per row.

        Row ``r`` is drawn as ``generate_ids(seed_ids[r:r+1], ..., seeds[r])``.
        Many songs in one loop: the LSTM runs on the whole batch (one matrix
        product per step instead of one per song) while each row uses the random
        draws it gets alone. The batched products may round the last bit of a
        probability differently, which can change a draw and the rest of that
        song: measured on the lab model, 2 of 250 songs.

        Args:
            seed_ids: ``[B, T]`` ids of the seed text.
            length: characters to draw.
            temperature: divides the logits before each draw.
            seeds: ``[B]`` int64 RNG seeds.

        Returns:
            ``[B, length]`` drawn ids.
        """

        def draw_row(row):
            row_logits, row_seed = row
            return tf.random.stateless_categorical(row_logits[None], 1, seed=row_seed, dtype=tf.int32)[0, 0]

        def draw(logits, i):
            row_seeds = tf.stack([seeds, tf.fill(tf.shape(seeds), tf.cast(i, tf.int64))], axis=1)
            return tf.map_fn(draw_row, (logits, row_seeds), fn_output_signature=tf.int32)

        same_rows = tf.debugging.assert_equal(
            tf.shape(seeds)[0], tf.shape(seed_ids)[0], message="generate_rows needs one seed per row of seed_ids"
        )
        with tf.control_dependencies([same_rows]):
            return self._sample(tf.identity(seed_ids), length, temperature, draw)

    def _sample(self, seed_ids, length, temperature, draw):
        """The sampling loop: ``draw(logits / temperature, step) -> ids [B]`` picks each character."""
        tf.debugging.assert_positive(temperature, message="temperature must be > 0")
        logits, state = self.prime(seed_ids)
        batch = tf.shape(seed_ids)[0]
        output = tf.TensorArray(tf.int32, size=length)

        def body(i, logits, h, c, output):
            ids = draw(logits / temperature, i)
            output = output.write(i, ids)
            logits, (h, c) = self._step(ids, [h, c])
            return i + 1, logits, h, c, output

        *_, output = tf.while_loop(lambda i, *_: i < length, body, [tf.constant(0), logits, *state, output])
        return tf.reshape(tf.transpose(output.stack()), [batch, length])


def generator_endpoints(sampler, characters):
    """The generator's serving signatures, with the vocabulary inside.

    - ``generate(seed_text, length, temperature, seed) -> {"text"}``: one song;
    - ``generate_many(seed_text, length, temperature, seeds[N]) -> {"texts"[N]}``:
      N songs in one batched loop; text ``i`` is the song ``generate(..., seeds[i])``
      draws (up to rounding, see `CompiledSampler.generate_rows`).

    Characters outside the vocabulary, or an empty seed, fail inside the
    signatures with a message listing them.

    Args:
        sampler: the `CompiledSampler`.
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
        "generate": Endpoint(generate, [*common, tf.TensorSpec([], tf.int64, name="seed")]),
        "generate_many": Endpoint(generate_many, [*common, tf.TensorSpec([None], tf.int64, name="seeds")]),
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
