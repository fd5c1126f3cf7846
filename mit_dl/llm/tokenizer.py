"""The lab's tokenizer: a byte-level BPE trained with Hugging Face ``tokenizers``, and its twin inside TensorFlow.

Byte-level BPE (Sennrich et al. 2016; GPT-2's byte-level variant): text is
split into pieces (words with their leading space, numbers, punctuation,
runs of whitespace: `PIECES`), each piece into its UTF-8 bytes (256 base
tokens, so every text encodes and decodes back exactly), then the learned
merges join adjacent tokens, the merge learned first applied first, until
no learned pair is left. Special tokens (`SPECIAL_TOKENS`, the chat
template's) are never split.

- `train_tokenizer`: the library learns the merges from a corpus (Rust, seconds).
- `Tokenizer`: the library's tokenizer with the lab's names (``encode``,
  ``decode``, ``save``, ``load``); the training data is encoded with it.
- `GraphTokenizer`: the same encoder and decoder as TensorFlow ops
  (a ``tf.while_loop`` of merges), so an exported SavedModel takes and returns
  strings without this package or the library; the tests check it gives the
  library's ids.

The pre-tokenizer is GPT-2's pattern without its look-ahead clause
(``\\s+(?!\\S)``), which RE2, TensorFlow's regex engine, lacks: a run of
whitespace stays one piece and the next word starts without its space.

Examples:
    >>> tokenizer = train_tokenizer(["the cat sat on the mat"] * 20, vocab_size=270)
    >>> ids = tokenizer.encode("the cat")
    >>> tokenizer.decode(ids)
    'the cat'
"""

import json
import pathlib

import numpy as np
import tensorflow as tf

from mit_dl.errors import ConfigError

END, USER, ASSISTANT = "<|endoftext|>", "<|user|>", "<|assistant|>"
SPECIAL_TOKENS = (END, USER, ASSISTANT)
FILE_NAME = "tokenizer.json"
_SPACE = r"\t\n\v\f\r "
PIECES = rf"'s|'t|'re|'ve|'m|'ll|'d| ?\p{{L}}+| ?\p{{N}}+| ?[^{_SPACE}\p{{L}}\p{{N}}]+|[{_SPACE}]+"


def _byte_alphabet():
    """GPT-2's printable stand-in for each byte (the library's token strings use it): ``{byte: character}``."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    mapping, extra = {}, 0
    for byte in range(256):
        if byte in printable:
            mapping[byte] = chr(byte)
        else:
            mapping[byte] = chr(256 + extra)
            extra += 1
    return mapping


def _byte_level(model):
    """A ``tokenizers.Tokenizer`` of the BPE ``model`` with the lab's pre-tokenizer (`PIECES`, then bytes)."""
    import tokenizers
    from tokenizers import decoders, pre_tokenizers

    library = tokenizers.Tokenizer(model)
    library.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(tokenizers.Regex(PIECES), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    library.decoder = decoders.ByteLevel()
    return library


def tokenizer_from_merges(vocabulary, merges):
    """A `Tokenizer` of a byte-level BPE learned elsewhere (GPT-2's ``vocab.json`` and ``merges.txt``).

    The template's special tokens (`SPECIAL_TOKENS`) keep their ids where the
    vocabulary has them (GPT-2 has ``<|endoftext|>``) and are appended after
    it otherwise. The pieces are cut with `PIECES`, so a run of several
    spaces before a word splits differently from GPT-2's own tokenizer (see
    the module's note); every other text gets GPT-2's ids.

    Args:
        vocabulary: ``{token string: id}`` in GPT-2's byte alphabet.
        merges: ``"left right"`` strings (or pairs), first learned first.

    Returns:
        A `Tokenizer`.
    """
    from tokenizers import models

    pairs = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in merges]
    library = _byte_level(models.BPE(vocab=dict(vocabulary), merges=pairs))
    library.add_special_tokens(list(SPECIAL_TOKENS))
    return Tokenizer(library)


def train_tokenizer(texts, vocab_size):
    """Learn a byte-level BPE of ``vocab_size`` tokens from ``texts``.

    Args:
        texts: an iterable of strings (documents).
        vocab_size: tokens in all: the special tokens, the 256 bytes and the merges.

    Returns:
        A `Tokenizer`.
    """
    from tokenizers import models, pre_tokenizers, trainers

    library = _byte_level(models.BPE())
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    library.train_from_iterator(texts, trainer)
    return Tokenizer(library)


class Tokenizer:
    """A trained byte-level BPE (Hugging Face ``tokenizers``) under the lab's names.

    Args:
        library: a ``tokenizers.Tokenizer``.
    """

    def __init__(self, library):
        self.library = library
        self.vocab_size = library.get_vocab_size()
        self.end_id, self.user_id, self.assistant_id = (library.token_to_id(t) for t in SPECIAL_TOKENS)

    def encode(self, text):
        """The ids of ``text`` (special tokens written in it are kept whole).

        Args:
            text: a string.

        Returns:
            A list of ints.
        """
        return self.library.encode(text).ids

    def encode_many(self, texts):
        """`encode` for many texts, in parallel threads.

        Args:
            texts: strings.

        Returns:
            A list of lists of ints.
        """
        return [encoding.ids for encoding in self.library.encode_batch(list(texts))]

    def decode(self, ids):
        """The text of ``ids`` (special tokens included, so ``decode(encode(t)) == t``).

        Args:
            ids: ints.

        Returns:
            A string.
        """
        return self.library.decode([int(i) for i in ids], skip_special_tokens=False)

    def token_bytes(self):
        """Each token's bytes, in id order (a special token: its own UTF-8 text).

        Returns:
            A list of ``bytes``.
        """
        back = {char: byte for byte, char in _byte_alphabet().items()}
        table = []
        for token_id in range(self.vocab_size):
            token = self.library.id_to_token(token_id)
            if token in SPECIAL_TOKENS:
                table.append(token.encode("utf-8"))
            else:
                table.append(bytes(back[char] for char in token))
        return table

    def merges(self):
        """The learned merges, first learned first: ``[(left_id, right_id, merged_id)]``.

        Returns:
            A list of int triples.
        """
        model = json.loads(self.library.to_str())["model"]
        vocab = model["vocab"]
        pairs = [m.split(" ") if isinstance(m, str) else m for m in model["merges"]]
        return [(vocab[a], vocab[b], vocab[a + b]) for a, b in pairs]

    def save(self, folder):
        """Write ``tokenizer.json`` into ``folder``.

        Args:
            folder: a directory (created if needed).

        Returns:
            The file's path.
        """
        path = pathlib.Path(folder) / FILE_NAME
        path.parent.mkdir(parents=True, exist_ok=True)
        self.library.save(str(path))
        return path

    @classmethod
    def load(cls, folder):
        """The tokenizer a run saved in ``folder``.

        Args:
            folder: a run directory (or any folder holding ``tokenizer.json``).

        Returns:
            A `Tokenizer`.

        Raises:
            ConfigError: the folder has no tokenizer.
        """
        import tokenizers

        path = pathlib.Path(folder) / FILE_NAME
        if not path.is_file():
            raise ConfigError(
                "base", f"{folder} has no {FILE_NAME}: give a run directory that `mit-dl llm train` wrote"
            )
        return cls(tokenizers.Tokenizer.from_file(str(path)))


class GraphTokenizer(tf.Module):
    """`Tokenizer`'s encoder and decoder as TensorFlow ops, for SavedModels that take and return text.

    Encoding: split the text at the special tokens, split the rest into
    `PIECES` (a regular-expression replace inserts a separator before each
    piece), map each byte to its token, then merge: at every step each piece
    joins its adjacent pair of the best (earliest learned) rank, its
    leftmost occurrence, until no piece has a learned pair. Merging the
    leftmost occurrence first is what the library does: a token made by a
    merge can only join pairs learned after it.

    Args:
        tokenizer: a trained `Tokenizer`.
    """

    def __init__(self, tokenizer):
        super().__init__()
        self.vocab_size = tokenizer.vocab_size
        tokens = tokenizer.token_bytes()
        self.tokens = tf.constant(tokens)
        byte_ids = {token: i for i, token in enumerate(tokens) if len(token) == 1}
        self.byte_table = _table(
            tf.constant([bytes([b]) for b in range(256)]), [byte_ids[bytes([b])] for b in range(256)]
        )
        self.special_table = _table(
            tf.constant([t.encode() for t in SPECIAL_TOKENS]),
            [tokenizer.library.token_to_id(t) for t in SPECIAL_TOKENS],
        )
        merges = np.array(tokenizer.merges(), np.int64).reshape(-1, 3)
        keys = tf.constant(merges[:, 0] * self.vocab_size + merges[:, 1])
        self.rank_table = _table(keys, np.arange(len(merges)), default=np.iinfo(np.int32).max)
        self.merged_table = _table(keys, merges[:, 2])
        self.special_pattern = "(" + "|".join(t.replace("|", r"\|") for t in SPECIAL_TOKENS) + ")"

    def _pieces(self, text):
        """``text`` cut into special tokens and pre-tokenizer pieces, in order: ``[P]`` strings."""
        marked = tf.strings.regex_replace(text, self.special_pattern, "\x00\\1\x00")
        parts = tf.strings.split(marked, "\x00")
        special = self.special_table.lookup(parts) >= 0
        cut = tf.strings.regex_replace(parts, f"({PIECES})", "\x00\\1")
        pieces = tf.strings.split(tf.where(special, tf.strings.join(["\x00", parts]), cut), "\x00").flat_values
        return tf.boolean_mask(pieces, tf.strings.length(pieces) > 0)

    @tf.function(input_signature=[tf.TensorSpec([], tf.string)])
    def encode(self, text):
        """The ids of one text, as the library encodes it.

        Args:
            text: a scalar UTF-8 string.

        Returns:
            ``[n]`` int32 ids.
        """
        pieces = self._pieces(text)
        specials = self.special_table.lookup(pieces)
        split = tf.strings.bytes_split(tf.where(specials >= 0, "\x00", pieces))
        flat = tf.where(
            tf.repeat(specials >= 0, split.row_lengths()),
            tf.repeat(specials, split.row_lengths()),
            self.byte_table.lookup(split.flat_values),
        )
        return tf.cast(self._merge(tf.cast(flat, tf.int64), split.value_rowids()), tf.int32)

    def _merge(self, ids, rows):
        """Apply the merges to ``ids [N]`` whose pieces are ``rows [N]`` until none applies."""
        big = tf.constant(np.iinfo(np.int32).max, tf.int64)

        def step(ids, rows, _):
            same_piece = tf.equal(rows[:-1], rows[1:])
            keys = ids[:-1] * self.vocab_size + ids[1:]
            ranks = tf.where(same_piece, self.rank_table.lookup(keys), big)
            pieces = tf.reduce_max(rows) + 1 if tf.size(rows) > 0 else tf.constant(0, tf.int64)
            best = tf.math.unsorted_segment_min(ranks, rows[:-1], pieces)
            candidate = (ranks < big) & tf.equal(ranks, tf.gather(best, rows[:-1]))
            positions = tf.range(tf.size(ranks, tf.int64), dtype=tf.int64)
            first = tf.math.unsorted_segment_min(tf.where(candidate, positions, big), rows[:-1], pieces)
            at = tf.boolean_mask(first, first < big)
            ids = tf.tensor_scatter_nd_update(ids, at[:, None], self.merged_table.lookup(tf.gather(keys, at)))
            keep = tf.tensor_scatter_nd_update(tf.ones_like(ids, tf.bool), at[:, None] + 1, tf.zeros_like(at, tf.bool))
            return tf.boolean_mask(ids, keep), tf.boolean_mask(rows, keep), tf.size(at) > 0

        ids, rows, _ = tf.while_loop(
            lambda ids, rows, more: more,
            step,
            [ids, rows, tf.constant(True)],
            shape_invariants=[tf.TensorShape([None]), tf.TensorShape([None]), tf.TensorShape([])],
        )
        return ids

    @tf.function(input_signature=[tf.TensorSpec([None], tf.int32)])
    def decode(self, ids):
        """The text of ``ids`` (its bytes; a cut multi-byte character stays cut).

        Args:
            ids: ``[n]`` int32.

        Returns:
            A scalar string.
        """
        return tf.strings.reduce_join(tf.gather(self.tokens, ids))


def _table(keys, values, default=-1):
    values = tf.constant(np.asarray(values, np.int64))
    return tf.lookup.StaticHashTable(tf.lookup.KeyValueTensorInitializer(keys, values), default_value=default)
