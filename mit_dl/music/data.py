"""Folk tunes in ABC notation: reading and splitting (Lab 1, part 2).

The default corpus is O'Neill's 1850 collection of Irish tunes that the
music21 package ships, so it is available offline. Any ``.abc`` file or
folder of ``.abc`` files can be used instead.
"""

import dataclasses
import pathlib
import re

import numpy as np
import tensorflow as tf

from mit_dl.errors import ConfigError, DataError
from mit_dl.music.config import DEFAULT_CORPUS, HEADER_CHOICES

# A tune starts at a reference-number line "X:<n>" (ABC standard 2.1, 3.1.1).
_TUNE_START = re.compile(r"^X:", re.MULTILINE)

# Header fields that say where a tune comes from, not how it sounds (ABC 2.1, 3.1): area, book,
# composer, discography, file URL, group, history, notes, origin, source, transcription.
BIBLIOGRAPHIC_FIELDS = frozenset("ABCDFGHNOSZ")


class MusicDataError(DataError):
    """A music source that cannot be used (missing, empty, not ABC)."""


def corpus_files(name=DEFAULT_CORPUS):
    """The ``.abc`` files of a music21 corpus collection, sorted by name.

    Args:
        name: the collection's folder in music21's corpus.

    Returns:
        A list of paths.

    Raises:
        MusicDataError: the collection holds no ``.abc`` file.
    """
    import music21  # imported on first use: importing it takes about a second

    folder = pathlib.Path(music21.__file__).parent / "corpus" / name
    files = sorted(folder.glob("*.abc"))
    if not files:
        raise MusicDataError(
            f"music21 corpus collection {name!r} has no .abc files in {folder}; "
            "reinstall music21 or pass an .abc file or folder with --data."
        )
    return files


def abc_files(source=None):
    """Resolve a source to ABC files.

    Args:
        source: a file, a folder (searched recursively), or ``None`` for the default corpus.

    Returns:
        A list of paths.

    Raises:
        MusicDataError: the source does not exist or holds no ``.abc`` file.
    """
    if source is None:
        return corpus_files()
    path = pathlib.Path(source).expanduser()
    if path.is_file():
        return [path]
    if path.is_dir():
        files = sorted(path.rglob("*.abc"))
        if not files:
            raise MusicDataError(f"no .abc files found in folder {path}; pass a folder holding ABC tunes.")
        return files
    raise MusicDataError(f"music data {path} does not exist; pass an .abc file or a folder of them.")


def split_tunes(text):
    r"""Split ABC text into tunes, one per ``X:`` block, whitespace normalised.

    Lines are stripped of trailing spaces, ``%`` comment lines and blank lines
    inside a tune are dropped, and anything before the first ``X:`` (file
    headers) is ignored. Blocks without a ``K:`` (key) line are not tunes and
    are skipped.

    Args:
        text: the contents of one or more ABC files.

    Returns:
        The tunes' texts.

    Examples:
        >>> split_tunes("X:1\nT:A\nK:D\nABc|\n\nX:2\nT:no key\n")
        ['X:1\nT:A\nK:D\nABc|']
    """
    starts = [m.start() for m in _TUNE_START.finditer(text)]
    tunes = []
    for begin, end in zip(starts, starts[1:] + [len(text)]):
        lines = [line.rstrip() for line in text[begin:end].splitlines()]
        lines = [line for line in lines if line.strip() and not line.lstrip().startswith("%")]
        if any(line.startswith("K:") for line in lines):
            tunes.append("\n".join(lines))
    return tunes


def without_bibliographic_fields(tune):
    """A tune without the header lines of `BIBLIOGRAPHIC_FIELDS` (the music and playback fields stay).

    O'Neill's tunes carry book (``B:``), transcriber (``Z:``) and notes
    (``N:``) lines, a quarter of the text, which the course's ``irish.abc``
    mostly lacks; a character model spends capacity on them and garbles
    neighbouring fields (an ``X:`` line that runs on into a note). ``X:``,
    ``T:``, ``R:``, ``M:``, ``L:``, ``Q:``, ``K:`` and the music are unchanged.

    Args:
        tune: one tune's ABC text.

    Returns:
        The tune without those lines.
    """
    lines = tune.splitlines()
    key = next((i for i, line in enumerate(lines) if line.startswith("K:")), len(lines))
    header = [line for line in lines[:key] if not (line[1:2] == ":" and line[0] in BIBLIOGRAPHIC_FIELDS)]
    return "\n".join(header + lines[key:])


def load_tunes(source=None, headers="musical"):
    """All tunes of a source (see `abc_files`), in file order.

    Args:
        source: a file, a folder or ``None`` for O'Neill's collection.
        headers: ``"musical"`` drops the bibliographic header lines
            (`without_bibliographic_fields`), ``"all"`` keeps every line.

    Returns:
        The tunes' texts.

    Raises:
        ConfigError: an unknown ``headers`` value.
        MusicDataError: the source holds no tune.
    """
    if headers not in HEADER_CHOICES:
        raise ConfigError("headers", f"must be one of {', '.join(HEADER_CHOICES)}, received {headers!r}")
    tunes = []
    for path in abc_files(source):
        tunes += split_tunes(path.read_text(encoding="utf-8", errors="replace"))
    if headers == "musical":
        tunes = [without_bibliographic_fields(tune) for tune in tunes]
    if not tunes:
        raise MusicDataError(
            f"no ABC tunes (blocks starting 'X:' with a 'K:' line) found in {source}; "
            "check that the file is in ABC notation."
        )
    return tunes


def split_by_tune(tunes, validation_fraction=0.1, seed=0):
    """Shuffle tunes with ``seed`` and split them; no tune lands in both parts.

    Args:
        tunes: the tunes' texts.
        validation_fraction: share held out (at least one tune when there are two or more).
        seed: the shuffle's seed.

    Returns:
        ``(train_tunes, held_out_tunes)``.
    """
    order = np.random.default_rng(seed).permutation(len(tunes))
    n_val = max(1, int(round(len(tunes) * validation_fraction))) if len(tunes) > 1 else 0
    val = [tunes[i] for i in order[:n_val]]
    train = [tunes[i] for i in order[n_val:]]
    return train, val


class Vocabulary:
    """The characters of a text and their integer ids (the lab's ``char2idx`` / ``idx2char``).

    Args:
        characters: the characters (duplicates and order do not matter; ids follow sorted order).

    Examples:
        >>> vocab = Vocabulary.from_text("abca")
        >>> vocab.encode("cab").tolist(), vocab.decode([0, 1])
        ([2, 0, 1], 'ab')
    """

    def __init__(self, characters):
        self.characters = sorted(set(characters))
        self._index = {c: i for i, c in enumerate(self.characters)}

    @classmethod
    def from_text(cls, text):
        """The vocabulary of the characters in ``text``.

        Args:
            text: the training text.

        Returns:
            A `Vocabulary`.
        """
        return cls(text)

    def __len__(self):
        return len(self.characters)

    def encode(self, text):
        """The ids of a text's characters.

        Args:
            text: text made of the vocabulary's characters.

        Returns:
            An int32 array, one id per character.

        Raises:
            DataError: the text holds characters outside the vocabulary.
        """
        unknown = sorted(set(text) - set(self._index))
        if unknown:
            raise DataError(
                f"characters {unknown!r} are not in the vocabulary; use only characters seen in the training tunes."
            )
        return np.fromiter((self._index[c] for c in text), dtype="int32", count=len(text))

    def decode(self, ids):
        """The text of a sequence of ids.

        Args:
            ids: character ids.

        Returns:
            The string.
        """
        return "".join(self.characters[int(i)] for i in ids)


def join_tunes(tunes):
    """One training text: tunes separated by a blank line, as in the lab's data.

    Args:
        tunes: the tunes' texts.

    Returns:
        The joined text.
    """
    return "\n\n".join(tunes)


def _shuffled_range(count, seed):
    """``0..count-1`` in a seeded random order that changes at every repetition.

    A stateless permutation (``index_shuffle``) instead of a shuffle buffer:
    no buffer to fill (one offset per character of the corpus would take
    seconds at every start and resume) and a tiny iterator checkpoint. Each
    pass of ``.repeat()`` draws a new permutation key from a seeded stream.
    """

    def one_pass(key):
        pair = tf.stack([key, tf.constant(seed, tf.int64)])
        return tf.data.Dataset.range(count).map(lambda i: tf.random.experimental.index_shuffle(i, pair, count - 1))

    keys = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).take(1)
    return keys.flat_map(one_pass).apply(tf.data.experimental.assert_cardinality(count))


def tune_offsets(tunes):
    """Where each tune begins in `join_tunes` ``(tunes)``: the offsets of their ``X:`` lines.

    Args:
        tunes: the tunes' texts.

    Returns:
        An int64 array, one offset per tune.

    Examples:
        >>> tune_offsets(["X:1", "X:22"]).tolist()
        [0, 5]
    """
    lengths = np.array([len(t) + 2 for t in tunes], dtype="int64")  # "\n\n" between tunes
    return np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype("int64")


def header_length(tune):
    r"""Characters of a tune's header: from ``X:`` through the ``K:`` (key) line and its newline.

    Args:
        tune: one tune's ABC text.

    Returns:
        The length (the whole tune when it has no ``K:`` line after the first).

    Examples:
        >>> header_length("X:1\nT:A\nK:D\nABc|")
        12
    """
    key = tune.find("\nK:")
    end = tune.find("\n", key + 1) if key >= 0 else -1
    return len(tune) if end < 0 else end + 1


def _mixed_with_tune_starts(starts, tune_starts, limit, share, seed):
    """Each offset of ``starts`` replaced, with probability ``share``, by a tune start below ``limit``."""
    usable = np.asarray(tune_starts, dtype="int64")
    usable = usable[usable < limit]
    if not len(usable):
        raise DataError("no tune starts early enough for a whole training window; use a shorter sequence length.")
    table = tf.constant(usable)
    aligned = _shuffled_range(len(usable), seed + 1).repeat().map(lambda j: tf.gather(table, j))
    coins = tf.data.Dataset.counter().map(
        lambda k: tf.random.stateless_uniform([], seed=tf.stack([tf.constant(seed, tf.int64), k])) < share
    )
    return tf.data.Dataset.zip(starts, aligned, coins).map(lambda anywhere, tune, take: tf.where(take, tune, anywhere))


def next_character_dataset(
    ids,
    sequence_length,
    batch_size,
    seed=0,
    shuffle=True,
    stride=1,
    drop_remainder=True,
    tune_starts=None,
    aligned_share=0.0,
):
    """Batches of ``(text[i:i+L], text[i+1:i+L+1])`` as a seeded tf.data pipeline.

    Every ``stride``-th start offset ``i`` is an example: ``stride=1`` for
    training (the lab draws random offsets), ``stride=L`` for held-out text
    (every character scored once). Shuffling visits every offset once per
    pass in a new stateless random order, so starting and resuming are instant.

    With ``aligned_share > 0`` (training only), each window instead starts
    at a tune's first character (its ``X:`` line) with that probability,
    drawn per window from the seed; the tune starts are visited in their own
    shuffled order. The lab draws windows anywhere, so a window rarely opens
    a tune: a model sampled from ``"X:"`` with nothing before it is then in a
    situation it has seldom seen.

    Args:
        ids: the encoded text.
        sequence_length: ``L``, characters per window.
        batch_size: windows per batch.
        seed: the shuffle's seed.
        shuffle: shuffle the offsets (training) or keep their order.
        stride: distance between consecutive offsets.
        drop_remainder: drop the last partial batch (training batches have a fixed size).
        tune_starts: offsets in ``ids`` where tunes begin (`tune_offsets`); needed with ``aligned_share``.
        aligned_share: probability that a window starts at a tune's beginning, in [0, 1].

    Returns:
        A `tf.data.Dataset` of ``(int32 [B, L], int32 [B, L])``.

    Raises:
        DataError: the text is not longer than one window, or no tune start leaves room for one.
        ValueError: ``aligned_share`` outside [0, 1], or given without ``tune_starts`` or ``shuffle``.
    """
    if len(ids) <= sequence_length:
        raise DataError(
            f"the text has {len(ids)} characters, too few for sequences of {sequence_length}; "
            "use more tunes or a shorter sequence length."
        )
    if not 0.0 <= aligned_share <= 1.0:
        raise ValueError(f"aligned_share must be in [0, 1], received {aligned_share!r}")
    if aligned_share and (tune_starts is None or not shuffle):
        raise ValueError("aligned_share needs tune_starts and shuffle=True (it is for training windows)")
    text = tf.constant(ids, dtype=tf.int32)
    count = len(range(0, len(ids) - sequence_length, stride))
    starts = _shuffled_range(count, seed) if shuffle else tf.data.Dataset.range(count)
    starts = starts.map(lambda i: i * stride)
    if aligned_share:
        starts = _mixed_with_tune_starts(starts, tune_starts, len(ids) - sequence_length, aligned_share, seed)
    data = starts.map(
        lambda i: (text[i : i + sequence_length], text[i + 1 : i + sequence_length + 1]),
        num_parallel_calls=tf.data.AUTOTUNE,
        deterministic=True,
    )
    return data.batch(batch_size, drop_remainder=drop_remainder).prefetch(tf.data.AUTOTUNE)


@dataclasses.dataclass(frozen=True)
class TuneData:
    """Tunes split by tune, the training text's vocabulary and both texts as ids (see `load_data`)."""

    tunes: list
    train_tunes: list
    val_tunes: list
    vocab: Vocabulary
    train_ids: np.ndarray
    val_ids: np.ndarray
    source: str

    @property
    def train_starts(self):
        """Offsets in ``train_ids`` where the training tunes begin (see `tune_offsets`)."""
        return tune_offsets(self.train_tunes)

    def longest_header(self):
        """Characters of the longest training-tune header: ``X:`` through the ``K:`` line and its newline.

        Returns:
            The length.
        """
        return max(header_length(tune) for tune in self.train_tunes)

    def describe(self):
        """One line saying how many tunes, characters and vocabulary entries the data has.

        Returns:
            The line.
        """
        return (
            f"{len(self.tunes)} tunes, {len(self.train_tunes)} train / {len(self.val_tunes)} held out, "
            f"{len(self.train_ids)} training characters, vocabulary {len(self.vocab)}"
        )


def load_data(config):
    """The tunes a `MusicConfig` trains on, split by tune and encoded (`split_and_encode` of its fields).

    Args:
        config: the run's `MusicConfig` (``data``, ``validation_fraction``, ``seed``, ``headers``).

    Returns:
        A `TuneData`.

    Raises:
        MusicDataError: fewer than two tunes were found.
    """
    return split_and_encode(config.data, config.validation_fraction, config.seed, config.headers)


def split_and_encode(data=None, validation_fraction=0.1, seed=0, headers="musical"):
    """Load the tunes of ``data``, split them by tune and encode both parts.

    Held-out characters never seen in training cannot be scored and are dropped.

    Args:
        data: an ``.abc`` file or folder, or ``None`` for O'Neill's collection.
        validation_fraction: share of the tunes held out.
        seed: the split's seed.
        headers: ``"musical"`` or ``"all"`` (see `load_tunes`).

    Returns:
        A `TuneData`.

    Raises:
        MusicDataError: fewer than two tunes were found.
    """
    tunes = load_tunes(data, headers=headers)
    if len(tunes) < 2:
        raise MusicDataError(f"found only {len(tunes)} tune in {data}; training needs at least two (one is held out).")
    train_tunes, val_tunes = split_by_tune(tunes, validation_fraction, seed=seed)
    train_text = join_tunes(train_tunes)
    vocab = Vocabulary.from_text(train_text)
    val_text = "".join(c for c in join_tunes(val_tunes) if c in vocab.characters)
    source = str(pathlib.Path(data).resolve()) if data else DEFAULT_CORPUS
    return TuneData(tunes, train_tunes, val_tunes, vocab, vocab.encode(train_text), vocab.encode(val_text), source)
