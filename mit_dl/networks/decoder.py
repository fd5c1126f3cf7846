"""The decoder-only transformer of lecture 2 and its compiled samplers, shared by the music and LLM labs.

- `build_decoder`: token embedding + learned positions -> `TransformerBlock` x N
  (causal, pre-norm) -> LayerNorm -> logits: GPT-2's layout, built from the
  lecture layers. The music lab's character transformer and the LLM lab's GPT
  are this network at different sizes.
- `LoopSampler`: generation as one ``tf.function``: a ``tf.while_loop``
  carries the model's state and draws each token with a stateless seeded draw,
  so a seed reproduces a sample exactly and no Python runs per token;
  `generate_tokens` adds top-k / top-p filtering and a stop token.
- `TransformerSampler`: the key/value-cache sampler (one position per layer
  per token); `RecomputeSampler`: the same draws recomputing the whole window
  (the reference for tests and benchmarks).
- `filter_logits`: temperature's companions, top-k and nucleus (top-p) filtering.
"""

import keras
import tensorflow as tf

from mit_dl.layers import PositionEmbedding, TiedEmbedding, TransformerBlock


def build_decoder(
    vocab_size,
    context,
    d_model=256,
    num_heads=8,
    num_layers=4,
    ff_dim=1024,
    dropout=0.1,
    tie_embeddings=False,
    name="decoder",
    approximate_gelu=False,
):
    """A decoder-only transformer from the lecture layers (GPT-2's layout).

    ``tokens -> Embedding + PositionEmbedding -> Dropout -> TransformerBlock x
    num_layers (causal) -> LayerNorm -> logits``: position ``t``'s logits
    depend on tokens ``0..t`` only. Layer names (``embedding``,
    ``positions``, ``block_0``.., ``final_norm``, ``logits``) are what
    `TransformerSampler` reads.

    Args:
        vocab_size: number of tokens.
        context: the longest input (the learned positions' count).
        d_model: width of the embeddings and blocks.
        num_heads: attention heads per block.
        num_layers: blocks.
        ff_dim: feed-forward width.
        dropout: dropout rate (embeddings, residuals).
        tie_embeddings: compute the logits with the embedding matrix (`TiedEmbedding`, as GPT-2 does).
        name: the model's name.
        approximate_gelu: GPT-2's tanh GELU in the blocks (`TransformerBlock`'s option).

    Returns:
        A functional `keras.Model` ``tokens [B, T <= context] -> logits [B, T, vocab_size]``
        (float32 logits under mixed precision).
    """
    tokens = keras.Input((None,), dtype="int32", name="tokens")
    if tie_embeddings:
        embedding = TiedEmbedding(vocab_size, d_model, name="embedding")
    else:
        embedding = keras.layers.Embedding(vocab_size, d_model, name="embedding")
    x = PositionEmbedding(context, name="positions")(embedding(tokens))
    x = keras.layers.Dropout(dropout, name="embedding_dropout")(x)
    for i in range(num_layers):
        x = TransformerBlock(
            d_model, num_heads, ff_dim, dropout=dropout, approximate_gelu=approximate_gelu, name=f"block_{i}"
        )(x)
    x = keras.layers.LayerNormalization(epsilon=1e-5, name="final_norm")(x)
    if tie_embeddings:
        logits = embedding(x, reverse=True)
    else:
        logits = keras.layers.Dense(vocab_size, dtype="float32", name="logits")(x)
    return keras.Model(tokens, logits, name=name)


def filter_logits(logits, top_k=0, top_p=1.0):
    """Keep the ``top_k`` largest logits and the smallest set whose probability reaches ``top_p``.

    Top-k sampling (Fan et al. 2018) draws among the ``k`` likeliest tokens;
    nucleus sampling (Holtzman et al. 2020) among the fewest tokens whose
    probabilities sum to at least ``p`` (the likeliest token always stays).
    Both set the other logits to ``-inf``; ties at the cut are kept.

    Args:
        logits: ``[B, V]`` (already divided by the temperature).
        top_k: int32 scalar; 0 keeps every token.
        top_p: float32 scalar in ``(0, 1]``; 1 keeps every token.

    Returns:
        ``[B, V]`` logits with the filtered tokens at ``-inf``.

    Examples:
        >>> logits = tf.math.log([[0.5, 0.3, 0.15, 0.05]])
        >>> filter_logits(logits, top_k=tf.constant(2)).numpy().round(2)
        array([[-0.69, -1.2 ,  -inf,  -inf]], dtype=float32)
        >>> filter_logits(logits, top_p=tf.constant(0.9)).numpy().round(2)
        array([[-0.69, -1.2 , -1.9 ,  -inf]], dtype=float32)
    """
    logits = tf.convert_to_tensor(logits, tf.float32)
    vocab = tf.shape(logits)[-1]
    ranked = tf.sort(logits, direction="DESCENDING", axis=-1)
    k = tf.where(tf.cast(top_k, tf.int32) > 0, tf.minimum(tf.cast(top_k, tf.int32), vocab), vocab)
    kth = ranked[:, k - 1]
    # Exclusive cumulative probability: the mass of the tokens ranked above each one.
    above = tf.math.cumsum(tf.nn.softmax(ranked, axis=-1), axis=-1, exclusive=True)
    kept = above < tf.cast(top_p, tf.float32)
    nucleus_floor = tf.reduce_min(tf.where(kept, ranked, ranked[:, :1]), axis=-1)
    cutoff = tf.maximum(kth, nucleus_floor)
    return tf.where(logits >= cutoff[:, None], logits, tf.constant(-float("inf")))


_compiled_filter = tf.function(filter_logits, jit_compile=True)


class LoopSampler(tf.Module):
    """The compiled sampling loop shared by the recurrent and the transformer samplers of every lab.

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

    @tf.function(
        input_signature=[
            tf.TensorSpec([None, None], tf.int32),
            tf.TensorSpec([], tf.int32),
            tf.TensorSpec([], tf.float32),
            tf.TensorSpec([None], tf.int64),
            tf.TensorSpec([], tf.int32),
            tf.TensorSpec([], tf.float32),
            tf.TensorSpec([], tf.int32),
        ]
    )
    def generate_tokens(self, seed_ids, length, temperature, seeds, top_k, top_p, stop_id):
        """Up to ``length`` tokens per row with top-k / top-p filtering, stopping at ``stop_id``.

        Row ``r`` draws with RNG seed ``seeds[r]`` as in `generate_rows`, from
        ``filter_logits(logits / temperature, top_k, top_p)``. A row that draws
        ``stop_id`` is finished: its later positions repeat ``stop_id``, and
        the loop ends when every row has finished (or after ``length`` tokens).

        Args:
            seed_ids: ``[B, T]`` ids of the prompts (T >= 1, one length for the batch).
            length: most tokens to draw.
            temperature: divides the logits before filtering.
            seeds: ``[B]`` int64 RNG seeds.
            top_k: keep the k likeliest tokens (0: all).
            top_p: keep the smallest set of tokens of probability at least ``top_p`` (1: all).
            stop_id: the end token (-1: none).

        Returns:
            ``[B, n]`` drawn ids, ``n <= length``, the stop token included.
        """

        def draw_row(row):
            row_logits, row_seed = row
            return tf.random.stateless_categorical(row_logits[None], 1, seed=row_seed, dtype=tf.int32)[0, 0]

        def draw(logits, i):
            logits = (_compiled_filter if getattr(self, "jit_compile", False) else filter_logits)(logits, top_k, top_p)
            row_seeds = tf.stack([seeds, tf.fill(tf.shape(seeds), tf.cast(i, tf.int64))], axis=1)
            return tf.map_fn(draw_row, (logits, row_seeds), fn_output_signature=tf.int32)

        checks = [
            tf.debugging.assert_equal(
                tf.shape(seeds)[0], tf.shape(seed_ids)[0], message="generate_tokens needs one seed per row"
            ),
            tf.debugging.Assert((top_p > 0) & (top_p <= 1), ["top_p must be in (0, 1]; received", top_p]),
            tf.debugging.Assert(top_k >= 0, ["top_k must be 0 (off) or positive; received", top_k]),
        ]
        with tf.control_dependencies(checks):
            return self._sample(tf.identity(seed_ids), length, temperature, draw, stop_id)

    def _sample(self, seed_ids, length, temperature, draw, stop_id=None):
        """The sampling loop: ``draw(logits / temperature, step) -> ids [B]`` picks each token."""
        # Control dependencies: in a SavedModel, an assertion nothing depends on may run after the loop
        # has already failed on the bad value (temperature 0 or NaN draws id 90 of 90 ids).
        checks = [
            tf.debugging.Assert(
                tf.math.is_finite(temperature) & (temperature > 0),
                ["temperature must be a finite number > 0; received", temperature],
            ),
            tf.debugging.Assert(length > 0, ["length must be at least 1 character or token; received", length]),
        ]
        with tf.control_dependencies(checks):
            seed_ids, length, temperature = tf.identity(seed_ids), tf.identity(length), tf.identity(temperature)
        logits, state = self.prime(seed_ids)
        batch = tf.shape(seed_ids)[0]
        output = tf.TensorArray(tf.int32, size=0, dynamic_size=True, element_shape=[None])
        done = tf.zeros([batch], tf.bool)

        def body(i, logits, state, output, done):
            ids = draw(logits / temperature, i)
            if stop_id is not None:
                ids = tf.where(done, stop_id, ids)
                done = done | tf.equal(ids, stop_id)
            output = output.write(i, ids)
            logits, state = self._step(ids, state)
            return i + 1, logits, state, output, done

        def more(i, logits, state, output, done):
            return (i < length) & ~tf.reduce_all(done)

        steps, _, _, output, _ = tf.while_loop(more, body, [tf.constant(0), logits, state, output, done])
        return tf.reshape(tf.transpose(output.stack()), [batch, steps])


class TransformerSampler(LoopSampler):
    """Generates characters from a `build_decoder` transformer with a key/value cache.

    The seed text runs through the model once (`TransformerBlock.prefill`),
    keeping every layer's keys and values; each new character then costs one
    position per layer (`TransformerBlock.decode_step`), all inside one
    ``tf.while_loop``. The model reads at most ``context`` characters: when
    the window is full, it keeps the last ``keep`` characters (three quarters
    of the context by default), recomputes their cache in one pass and goes
    on. `RecomputeSampler` draws the same characters by recomputing the whole
    window at every step.

    With ``jit_compile=True`` each step (the new position through every
    block, or a slide) is one XLA program: the same draws, without the
    graph executor's fixed cost per operation, which is most of a small
    model's step (measured in ``benchmarks/llm.py``).

    Args:
        model: a trained `build_decoder` model (its layers are reused).
        keep: characters kept when the window slides (default ``3 * context // 4``).
        jit_compile: compile each step with XLA.
    """

    def __init__(self, model, keep=None, jit_compile=False):
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
        self.jit_compile = bool(jit_compile)
        self._compiled_step = tf.function(self._window_step, jit_compile=True) if jit_compile else None

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
        return (self._compiled_step or self._window_step)(ids, state)

    def _window_step(self, ids, state):
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
        model: a trained `build_decoder` model.
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
