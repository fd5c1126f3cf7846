"""Songs in generated text: extraction, music21 validation, novelty."""

import signal
import threading
import time

import pytest

from mit_dl.errors import ConfigError
from mit_dl.music import data as music_data
from mit_dl.music import novelty, songs

TUNE = "X:1\nT:Test\nM:6/8\nL:1/8\nK:G\nGAB cde|d2B c2A|GAB AGF|G3 G3|"
GENERATED = (
    "X:3\nT:Cut header only\nK:D\n\n"  # a key line but no music: not complete
    f"{TUNE}\n\n"  # complete
    "T:no X line\nK:G\nABC\n\n"  # does not start with X:
    "X:9\nT:Second\nK:D\nDEF|ABc|\n\n"  # complete
    "X:10\nT:cut off\nK:G\nGAB"  # not closed by a blank line
)


def test_extract_songs_keeps_complete_blocks_only():
    assert songs.extract_songs(GENERATED) == [TUNE, "X:9\nT:Second\nK:D\nDEF|ABc|"]


def test_text_without_a_complete_song_gives_an_empty_list():
    assert songs.extract_songs("") == []
    assert songs.extract_songs("GAB cde|d2B c2A|" * 20) == []
    assert songs.extract_songs("X:1\nT:never ends\nK:G\nGABc") == []


def test_a_real_tune_is_valid_and_writes_midi(tmp_path):
    check = songs.check_song(TUNE, midi_path=tmp_path / "t.mid")
    assert check.valid and check.error == ""
    assert check.notes == 18
    assert check.seconds == pytest.approx(24 * 0.5 * 60 / 120)  # 24 eighth notes at music21's 120 bpm
    assert (tmp_path / "t.mid").read_bytes()[:4] == b"MThd"


@pytest.mark.parametrize(
    "song, reason",
    [
        ("X:1\nT:No notes\nK:G\n|||", "no notes"),
        ("X:952 by Jig\nT:Garbled number\nL:1/8\nK:G\nGAB cde|", "invalid literal"),
        ("X:1\nT:Bad chord\nL:1/8\nK:G\n[G2 AB ABc|B2 c B2 G|", "Bad chord"),
        ("X:1\nT:Bad meter\nM:0/0\nK:G\nGAB|", ""),
    ],
)
def test_tunes_music21_cannot_use_are_invalid_not_a_crash(song, reason):
    check = songs.check_song(song)
    assert not check.valid
    assert check.error and reason in check.error


@pytest.mark.parametrize("meter, unit, eighths", [("6/8", "L:1/8", 24), ("2/4", "L:1/16", 12), ("C", "L:1/8", 24)])
def test_missing_note_length_gets_the_abc_standard_default(meter, unit, eighths):
    without = f"X:1\nT:No L\nM:{meter}\nK:G\nGAB cde|d2B c2A|GAB AGF|G3 G3|"
    completed = songs.with_default_note_length(without)
    assert completed.splitlines()[3:5] == [unit, "K:G"]
    assert songs.with_default_note_length(TUNE) == TUNE  # an explicit L: stays
    check = songs.check_song(without)
    assert check.valid, check.error
    assert check.seconds == pytest.approx(eighths * 0.5 * 60 / 120)


def test_a_real_tune_music21_shares_a_time_signature_in_writes_midi(tmp_path):
    # O'Neill's 266 (music21 corpus): music21 puts one TimeSignature object at
    # two places, and its own MIDI writer used to fail on it.
    tune = next(t for t in music_data.load_tunes() if t.startswith("X: 266\nT: The Old Blind Bard"))
    check = songs.check_song(tune, midi_path=tmp_path / "266.mid")
    assert check.valid, check.error
    assert check.notes > 50 and (tmp_path / "266.mid").read_bytes()[:4] == b"MThd"


# Written by a `lab`-size model: stray end-repeats that music21's repeat expansion
# deep-copies without end (it ran for 27 minutes and 8 GB before it was stopped).
RUNAWAY_REPEATS = """X: 1286
T: Ailly Bevollan's Fancyor
M:6/8
L:1/8
K:C
e|GAB A2B|ABA ABc|d2A BGE|EAA B2A|DEG G2:|
|:BAG Bcd|ecA ABc|AAB cde|fed cAF|AFD D2:|
||B dBA dff|edd efg|afd egf|AGA B2G|
AFA BAD|FGA FeA|(fd)d d2f|{a}gfg egf|
edd d2B|AFA Acd|dBd dBe|
ded fdB|d2c BAB|GAB cBc|ded d2(c/d/)|
eAg (fda)|dfa gag|fdd dcB|A3 A2:|
A \\
| d2d fdd|g3 g2f|e2 e e2d|cAA A2:|
||A \\
| dfd dec|dfe dcA|GAG BA^G|FAA A2:|
||B|def gab|abg aga|ed^ce dBG|Bgg dBc|dBc BAG:|
cBA ABA|GAB c2A|Bde edd|BdB AFA|dcB B2G|\\
cfe dcB|AFA d2e|f2e edB|cAA A2:|
f|gfe dcB|ABc Bcd|edB BAB|Adf fag|fdd d2:|
d|afd fga|bgf gba|fdd BcA|G2G G2:|"""


def test_a_song_music21_cannot_finish_is_invalid_after_the_time_limit(tmp_path):
    started = time.perf_counter()
    check = songs.check_song(RUNAWAY_REPEATS, midi_path=tmp_path / "r.mid", seconds_limit=3)
    assert time.perf_counter() - started < 30
    assert not check.valid and check.error.startswith("SongTooSlow: music21 took more than 3 s")
    assert not (tmp_path / "r.mid").exists()
    assert signal.getsignal(signal.SIGALRM) is signal.SIG_DFL  # the previous handler is back
    assert songs.check_song(TUNE, seconds_limit=3).valid  # and no stray timer fires later


# A tune given as data (untrusted): 2,000 repeat sections, which music21 was still expanding after 2 minutes.
REPEAT_SECTIONS = "X:1\nT:Repeats\nM:4/4\nL:1/8\nK:C\n" + " ".join("|: abcd efga :|" for _ in range(2000))


def test_a_pathological_tune_is_stopped_within_the_configurable_limit_of_seconds():
    from mit_dl.music.config import GenerationConfig
    from mit_dl.music.judging import judge_songs

    assert songs.SECONDS_PER_SONG <= 30 and GenerationConfig().song_seconds == songs.SECONDS_PER_SONG
    started = time.perf_counter()
    summary = judge_songs([REPEAT_SECTIONS, TUNE], 2, seconds_per_song=1)
    assert time.perf_counter() - started < 15
    first, second = summary["songs"]
    assert not first["valid"] and first["error"].startswith("SongTooSlow: music21 took more than 1 s")
    assert second["valid"]
    with pytest.raises(ConfigError, match="song_seconds must be a positive number"):
        GenerationConfig(song_seconds=0)


def test_the_time_limit_applies_in_the_main_thread_only():
    with pytest.raises(songs.SongTooSlow):
        with songs.time_limit(0.05):
            time.sleep(1)
    finished = []

    def elsewhere():
        with songs.time_limit(0.05):
            time.sleep(0.2)
        finished.append(True)

    worker = threading.Thread(target=elsewhere)
    worker.start()
    worker.join()
    assert finished == [True]


def test_the_time_limit_leaves_a_callers_own_alarm_running():
    fired = []
    previous = signal.signal(signal.SIGALRM, lambda *_: fired.append(True))
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.5)
        with songs.time_limit(5):
            time.sleep(0.1)
        remaining, _ = signal.getitimer(signal.ITIMER_REAL)
        assert 0 < remaining < 0.45  # re-armed, less the time spent inside
        time.sleep(0.6)
        assert fired == [True]
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def test_valid_rate_counts_missing_songs_as_failures():
    from mit_dl.music.judging import judge_songs

    summary = judge_songs([TUNE, "X:1\nT:No notes\nK:G\n|||", None, None], attempts=4)
    assert summary["valid_rate"] == 0.25 and summary["complete"] == 2
    assert [s["valid"] for s in summary["songs"]] == [True, False, False, False]


def test_novelty_separates_copies_from_new_music():
    tunes = music_data.load_tunes()[:200]
    reference = novelty.TrainingText(tunes[:150])
    copied = reference.report(tunes[10])
    assert copied["verbatim"] and copied["ngram16_copied"] == 1.0
    assert copied["longest_copy_fraction"] == 1.0
    new = reference.report(TUNE.replace("GAB cde", "zzz zzz"))
    assert not new["verbatim"] and new["ngram16_copied"] == 0.0
    assert new["longest_copy_chars"] < 12
    held_out = [reference.report(t) for t in tunes[150:]]
    summary = novelty.summarise(held_out)
    assert summary["songs"] == 50 and 0.0 < summary["mean_ngram16_copied"] < 1.0
    assert summary["verbatim_copies"] < 5  # real different tunes rarely coincide


def test_longest_copy_is_exact():
    reference = novelty.TrainingText(["X:1\nK:C\nabcdefgh|ABCD"], n=4)
    assert reference.longest_copy("zzcdefzzABCDz") == 4
    assert reference.longest_copy("xyz") == 0
    assert reference.longest_copy("defgh|A") == 7
