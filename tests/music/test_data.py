"""ABC tunes: splitting, split by tune, vocabulary, next-character batches."""

import numpy as np
import pytest

from mit_dl.music import data as music

TWO_TUNES = """% a file header
X:1
T:First
K:G
GABc | d2 d2 |

X:2
T:Second
% a comment inside the tune
K:D
   DEF   
T:no key here, still tune 2
X:3
T:Not a tune, no K line
"""


def test_split_tunes_keeps_blocks_with_a_key_and_normalises_whitespace():
    tunes = music.split_tunes(TWO_TUNES)
    assert tunes == ["X:1\nT:First\nK:G\nGABc | d2 d2 |", "X:2\nT:Second\nK:D\n   DEF\nT:no key here, still tune 2"]


def test_default_corpus_is_oneills_collection():
    tunes = music.load_tunes()
    assert 1900 <= len(tunes) <= 2100  # O'Neill's 1850: ~2,000 tunes
    assert all(t.startswith("X:") and "\nK:" in t for t in tunes)


def test_musical_headers_drop_bibliographic_lines_only(tmp_path):
    tune = (
        "X:7\nT:Real Thing, The\nR:hornpipe\nN:\"Collected by Ennis\"\nB:O'Neill's 1570\n"
        "Z:Transcribed by M. Hogan\nM:2/4\nL:1/16\nK:D\nN:a body line is music, kept\nd>B A2 |"
    )
    assert music.without_bibliographic_fields(tune) == (
        "X:7\nT:Real Thing, The\nR:hornpipe\nM:2/4\nL:1/16\nK:D\nN:a body line is music, kept\nd>B A2 |"
    )
    path = tmp_path / "one.abc"
    path.write_text(tune)
    assert music.load_tunes(path, headers="all") == [tune]
    assert music.load_tunes(path) == [music.without_bibliographic_fields(tune)]  # the default
    with pytest.raises(ValueError, match="headers must be one of"):
        music.load_tunes(path, headers="some")


def test_oneills_tunes_lose_only_bibliographic_header_lines():
    full, musical = music.load_tunes(headers="all"), music.load_tunes()
    assert len(full) == len(musical)
    for before, after in zip(full, musical):
        lines = before.splitlines()
        key = next(i for i, line in enumerate(lines) if line.startswith("K:"))
        removed = [line for line in lines[:key] if line[:2] in {"B:", "N:", "Z:", "S:", "C:", "D:", "O:"}]
        assert after.splitlines() == [line for line in lines if line not in removed or lines.index(line) > key]
    assert sum(map(len, musical)) < 0.8 * sum(map(len, full))  # book/notes/transcriber lines: a quarter of the text


def test_split_by_tune_is_seeded_and_disjoint():
    tunes = [f"X:{i}\nK:C\nC" for i in range(50)]
    train, val = music.split_by_tune(tunes, 0.2, seed=1)
    assert len(val) == 10 and len(train) == 40 and not set(train) & set(val)
    assert music.split_by_tune(tunes, 0.2, seed=1) == (train, val)
    assert music.split_by_tune(tunes, 0.2, seed=2) != (train, val)


def test_vocabulary_round_trip_and_unknown_characters():
    vocab = music.Vocabulary.from_text("abcab|")
    assert len(vocab) == 4
    assert vocab.decode(vocab.encode("cab|")) == "cab|"
    with pytest.raises(ValueError, match=r"\['#', 'z'\] are not in the vocabulary"):
        vocab.encode("az#")


def test_batches_are_shifted_by_one():
    ids = np.arange(100, dtype="int32")
    x, y = next(iter(music.next_character_dataset(ids, 10, 4, seed=0)))
    assert x.shape == (4, 10) and y.shape == (4, 10)
    np.testing.assert_array_equal(y.numpy(), x.numpy() + 1)
    with pytest.raises(ValueError, match="too few for sequences of 100"):
        music.next_character_dataset(ids, 100, 4)


def _first_ids(data):
    return [int(x[0]) for batch, _ in data for x in batch]


def test_shuffled_passes_are_seeded_permutations_that_change_every_pass():
    ids = np.arange(61, dtype="int32")
    data = music.next_character_dataset(ids, 10, 5, seed=3)
    assert int(data.cardinality()) == 10  # known without a pass over the data
    two_passes = _first_ids(data.repeat(2))
    first, second = two_passes[:50], two_passes[50:]
    # 51 start offsets, 10 full batches of 5: each pass is 50 distinct offsets, shuffled.
    assert len(set(first)) == len(set(second)) == 50 and set(first) | set(second) <= set(range(51))
    assert first != sorted(first)
    assert first != second  # reshuffled on the second pass
    assert _first_ids(music.next_character_dataset(ids, 10, 5, seed=3).repeat(2)) == two_passes
    assert _first_ids(music.next_character_dataset(ids, 10, 5, seed=4)) != first


def test_validation_windows_cover_the_text_once_with_a_stride():
    ids = np.arange(41, dtype="int32")
    batches = list(music.next_character_dataset(ids, 10, 2, shuffle=False, stride=10))
    starts = [int(x[0]) for batch, _ in batches for x in batch]
    assert starts == [0, 10, 20, 30]


@pytest.mark.parametrize("make", ["missing", "empty_dir", "empty_file", "not_abc"])
def test_bad_sources_raise_a_clear_error(tmp_path, make):
    if make == "missing":
        source, match = tmp_path / "nope.abc", "does not exist"
    elif make == "empty_dir":
        source, match = tmp_path, "no .abc files found"
    elif make == "empty_file":
        source, match = tmp_path / "empty.abc", "no ABC tunes"
        source.write_text("")
    else:
        source = tmp_path / "x.abc"
        source.write_text("just some text\nwithout tunes\n")
        match = "no ABC tunes"
    with pytest.raises(music.MusicDataError, match=match):
        music.load_tunes(source)
