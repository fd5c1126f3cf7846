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


class _LoopSampler(tf.Module):
    """The compiled sampling loop shared by the LSTM's and the transformer's samplers.

    A subclass says how to read the seed text, ``prime(seed_ids) -> (logits,
    state)``, and how to add one character, ``_step(ids, state) -> (logits,
    state)``; ``state`` is any nest of tensors with fixed shapes (the LSTM's
    ``[h, c]``, the transformer's key/value caches).
    """

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
        Many songs in one loop: the model runs on the whole batch (one matrix
        product per step instead of one per song) while each row uses the random
        draws it gets alone. The batched products may round the last bit of a
        probability differently, which can change a draw and the rest of that
        song: measured on the lab LSTM, 2 of 250 songs.

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
        # Control dependencies: in a SavedModel, an assertion nothing depends on may run after the loop
        # has already failed on the bad value (temperature 0 or NaN draws id 90 of 90 ids).
        checks = [
            tf.debugging.Assert(
                tf.math.is_finite(temperature) & (temperature > 0),
                ["temperature must be a finite number > 0; received", temperature],
            ),
            tf.debugging.Assert(length > 0, ["length must be at least 1 character; received", length]),
        ]
        with tf.control_dependencies(checks):
            seed_ids, length, temperature = tf.identity(seed_ids), tf.identity(length), tf.identity(temperature)
        logits, state = self.prime(seed_ids)
        batch = tf.shape(seed_ids)[0]
        output = tf.TensorArray(tf.int32, size=length)

        def body(i, logits, state, output):
            ids = draw(logits / temperature, i)
            output = output.write(i, ids)
            logits, state = self._step(ids, state)
            return i + 1, logits, state, output

        *_, output = tf.while_loop(lambda i, *_: i < length, body, [tf.constant(0), logits, state, output])
        return tf.reshape(tf.transpose(output.stack()), [batch, length])


class CompiledSampler(_LoopSampler):
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


class TransformerSampler(_LoopSampler):
    """Generates characters from a `build_transformer_model` transformer with a key/value cache.

    The seed text runs through the model once (`TransformerBlock.prefill`),
    keeping every layer's keys and values; each new character then costs one
    position per layer (`TransformerBlock.decode_step`), all inside one
    ``tf.while_loop``. The model reads at most ``context`` characters: when
    the window is full, it keeps the last ``keep`` characters (three quarters
    of the context by default), recomputes their cache in one pass and goes
    on. `RecomputeSampler` draws the same characters by recomputing the whole
    window at every step.

    Args:
        model: a trained `mit_dl.music.model.build_transformer_model` model (its layers are reused).
        keep: characters kept when the window slides (default ``3 * context // 4``).
    """

    def __init__(self, model, keep=None):
        super().__init__()
        self.model = model
        self.embedding = model.get_layer("embedding")
        self.positions = model.get_layer("positions")
        self.blocks = [layer for layer in model.layers if layer.name.startswith("block_")]
        self.final_norm = model.get_layer("final_norm")
        self.tied = not any(layer.name == "logits" for layer in model.layers)
        self.output_layer = self.embedding if self.tied else model.get_layer("logits")
        self.context = self.positions.sequence_length
        self.keep = keep or max(1, 3 * self.context // 4)
        if not 1 <= self.keep < self.context:
            raise ValueError(f"keep must be between 1 and the context ({self.context}) - 1, received {keep}")

    def _logits(self, x):
        """Logits ``[B, V]`` (float32) of the features ``[B, d]`` of the last position."""
        x = self.final_norm(x)
        return self.embedding(x, reverse=True) if self.tied else self.output_layer(x)

    def _check_seed(self, seed_ids):
        return tf.debugging.assert_less_equal(
            tf.shape(seed_ids)[1],
            self.context,
            message=f"seed_text is longer than the context of the model ({self.context} characters); "
            "give a shorter seed text",
        )

    def _prefill(self, ids):
        """The window ``ids [B, T]`` in one pass: last logits and every layer's caches padded to the context."""
        x = self.positions(self.embedding(ids))
        pad = self.context - tf.shape(ids)[1]
        caches = []
        for block in self.blocks:
            x, keys, values = block.prefill(x)
            shape = [None, block.num_heads, self.context, block.attention.head_dim]
            caches.append(
                tuple(tf.ensure_shape(tf.pad(c, [[0, 0], [0, 0], [0, pad], [0, 0]]), shape) for c in (keys, values))
            )
        return self._logits(x[:, -1]), caches

    def prime(self, seed_ids):
        """Run the seed text through the model, filling the caches.

        Args:
            seed_ids: ``[B, T]`` ids, ``1 <= T <= context``.

        Returns:
            ``(logits, state)``: the logits after the last seed character and
            ``(caches, window, count)``: per layer ``(keys, values)``
            ``[B, heads, context, d_k]``, the window's ids ``[B, context]`` and
            how many of them are filled.
        """
        with tf.control_dependencies([self._check_seed(seed_ids)]):
            seed_ids = tf.identity(seed_ids)
        logits, caches = self._prefill(seed_ids)
        count = tf.shape(seed_ids)[1]
        window = tf.ensure_shape(tf.pad(seed_ids, [[0, 0], [0, self.context - count]]), [None, self.context])
        return logits, (caches, window, count)

    def _slide(self, window, ids):
        """The last ``keep - 1`` characters of a full window and the new ones: ``[B, keep]``."""
        return tf.concat([window[:, self.context - self.keep + 1 :], ids[:, None]], axis=1)

    def _step(self, ids, state):
        """One character: append ``ids [B]`` to the window (sliding it when full) -> next logits."""
        caches, window, count = state

        def slide():
            kept = self._slide(window, ids)
            logits, new_caches = self._prefill(kept)
            return logits, new_caches, tf.pad(kept, [[0, 0], [0, self.context - self.keep]]), tf.constant(self.keep)

        def extend():
            new_window = tf.where(tf.range(self.context)[None] == count, ids[:, None], window)
            x = self.positions(self.embedding(ids[:, None]), start=count)
            new_caches = []
            for block, (keys, values) in zip(self.blocks, caches):
                x, keys, values = block.decode_step(x, keys, values, count)
                new_caches.append((keys, values))
            return self._logits(x[:, 0]), new_caches, new_window, count + 1

        logits, caches, window, count = tf.cond(count >= self.context, slide, extend)
        return logits, (caches, window, count)


class RecomputeSampler(TransformerSampler):
    """The reference for `TransformerSampler`: the same window, recomputed in full for every character.

    No cache: each step calls the whole model on the window's characters so
    far (cost growing with the window, instead of one position), with the
    same sliding rule, so it draws the same characters up to rounding. Used
    by the tests and the benchmark.

    Args:
        model: a trained `mit_dl.music.model.build_transformer_model` model.
        keep: characters kept when the window slides (default ``3 * context // 4``).
    """

    def _last_logits(self, ids):
        return self.model(ids, training=False)[:, -1]

    def prime(self, seed_ids):
        """Run the seed text through the whole model.

        Args:
            seed_ids: ``[B, T]`` ids, ``1 <= T <= context``.

        Returns:
            ``(logits, (window, count))``.
        """
        with tf.control_dependencies([self._check_seed(seed_ids)]):
            seed_ids = tf.identity(seed_ids)
        count = tf.shape(seed_ids)[1]
        window = tf.ensure_shape(tf.pad(seed_ids, [[0, 0], [0, self.context - count]]), [None, self.context])
        return self._last_logits(seed_ids), (window, count)

    def _step(self, ids, state):
        window, count = state

        def slide():
            return tf.pad(self._slide(window, ids), [[0, 0], [0, self.context - self.keep]]), tf.constant(self.keep)

        def extend():
            return tf.where(tf.range(self.context)[None] == count, ids[:, None], window), count + 1

        window, count = tf.cond(count >= self.context, slide, extend)
        return self._last_logits(window[:, :count]), (window, count)


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
