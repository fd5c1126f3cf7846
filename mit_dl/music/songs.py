"""Songs in generated ABC text: extraction and validation with music21.

The training text joins tunes with a blank line (`mit_dl.music.data.join_tunes`),
so a model that learned the format writes ``X:...`` blocks separated by blank
lines. A *complete* song is such a block that starts with ``X:``, has a key
line ``K:`` followed by at least one line of music, and is closed by a blank
line (a block cut off by the end of the generated text is incomplete).
"""

import contextlib
import copy
import dataclasses
import io
import pathlib
import signal
import tempfile
import threading
import time
import warnings

# music21 expands some malformed repeats (many stray ``:|``) by deep-copying
# the score again and again: one generated song ran for 27 minutes and took
# 8 GB before it was stopped, and a tune of 2,000 repeat sections given as
# data still parsed after 2 minutes. Real tunes take well under a second (the
# slowest of the 1,000-odd O'Neill tunes: 0.3 s on the fast machine kind, so
# about 1.5 s on the slow one); a song that takes longer than this limit is
# counted as invalid, with the reason kept.
SECONDS_PER_SONG = 20


@dataclasses.dataclass
class SongCheck:
    """What music21 made of one song."""

    valid: bool
    notes: int = 0
    seconds: float = 0.0
    error: str = ""


def extract_songs(text):
    r"""The complete songs in a generated text (see the module docstring), in order.

    Args:
        text: a generated sample.

    Returns:
        The songs' texts; ``[]`` when there are none.

    Examples:
        >>> extract_songs("X:1\nK:D\nABc|\n\nX:2\nK:G")
        ['X:1\nK:D\nABc|']
    """
    blocks = text.split("\n\n")
    songs = []
    for block in blocks[:-1]:  # the last block was not closed by a blank line
        block = block.strip("\n")
        if not block.startswith("X:"):
            continue
        lines = block.splitlines()
        keys = [i for i, line in enumerate(lines) if line.startswith("K:")]
        if keys and keys[0] < len(lines) - 1:
            songs.append(block)
    return songs


def header_and_body(song):
    """Split a tune at its first ``K:`` line.

    Args:
        song: a tune's ABC text.

    Returns:
        ``(header lines including K:, music lines)``; without ``K:`` the whole song is the header.
    """
    lines = song.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("K:"):
            return "\n".join(lines[: i + 1]), "\n".join(lines[i + 1 :])
    return song, ""


def with_default_note_length(song):
    """Add the ABC 2.1 default ``L:`` header when a tune has none (music21 does not apply it).

    The standard (section 3.1.7): without ``L:`` the unit note length is 1/16
    when the meter ``M:`` as a fraction is below 3/4, else 1/8 (``M:C`` is 4/4,
    ``M:C|`` 2/2, no or free meter 1/8).

    Args:
        song: a tune's ABC text.

    Returns:
        The tune with ``L:`` in its header (unchanged when it had one).
    """
    header, body = header_and_body(song)
    lines = header.splitlines()
    if any(line.startswith("L:") for line in lines) or not body:
        return song
    meters = [line[2:].strip() for line in lines if line.startswith("M:")]
    meter = {"C": "4/4", "C|": "2/2"}.get(meters[-1] if meters else "", meters[-1] if meters else "")
    try:
        numerator, denominator = (int(part) for part in meter.split("/"))
        short = numerator / denominator < 0.75
    except (ValueError, ZeroDivisionError):
        short = False  # free or unreadable meter: the standard's 1/8
    lines.insert(len(lines) - 1, "L:1/16" if short else "L:1/8")  # before the K: line
    return "\n".join(lines) + "\n" + body


def parse_song(song):
    """A music21 score of one ABC tune; a tune without ``L:`` gets the standard's default first.

    Args:
        song: a tune's ABC text.

    Returns:
        The ``music21.stream.Score``.

    Raises:
        Exception: whatever music21 raises for text it cannot read.
    """
    import music21

    song = with_default_note_length(song)

    # music21 prints "abcFormat: WARNING ..." lines for odd tokens; the
    # outcome (a score or an exception) is what counts, so keep them quiet.
    with (
        warnings.catch_warnings(),
        contextlib.redirect_stdout(io.StringIO()),
        contextlib.redirect_stderr(io.StringIO()),
    ):
        warnings.simplefilter("ignore")
        parsed = music21.converter.parse(song, format="abc")
    if isinstance(parsed, music21.stream.Opus):
        parsed = parsed.scores[0]
    return parsed


class SongTooSlow(Exception):
    """music21 did not finish with a song within its time limit."""


@contextlib.contextmanager
def time_limit(seconds):
    """Raise `SongTooSlow` in the ``with`` block after ``seconds``.

    Uses a SIGALRM timer, so the limit holds in the main thread of a Unix
    process (scripts, the CLI, Jupyter kernels); elsewhere the block runs unlimited.

    Args:
        seconds: the limit, or ``None`` for none.
    """
    if seconds is None or not hasattr(signal, "setitimer") or threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum, frame):
        raise SongTooSlow(
            f"music21 took more than {seconds:g} s (e.g. expanding malformed repeats); counted as invalid"
        )

    previous = signal.signal(signal.SIGALRM, stop)
    started = time.monotonic()
    outer_delay, outer_interval = signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if outer_delay:  # a caller's own alarm (e.g. a test timeout) keeps its remaining time
            remaining = outer_delay - (time.monotonic() - started)
            signal.setitimer(signal.ITIMER_REAL, max(remaining, 1e-3), outer_interval)


def check_song(song, midi_path=None, seconds_limit=SECONDS_PER_SONG):
    """Validate one song: music21 parses it, finds notes, and writes a MIDI file.

    Any music21 failure makes the song invalid (with the error kept), never an
    exception; so does taking longer than ``seconds_limit`` (see `time_limit`).

    Args:
        song: the song's ABC text.
        midi_path: where to keep the MIDI file; otherwise it is written to a temporary folder and removed.
        seconds_limit: seconds music21 may take.

    Returns:
        A `SongCheck` (valid, notes, seconds, error).
    """
    try:
        with time_limit(seconds_limit):
            score = parse_song(song)
            notes = len(score.flatten().notes)
            if notes == 0:
                return SongCheck(False, error="no notes")
            seconds = float(score.highestTime) * 60.0 / _tempo_bpm(score)
            if midi_path is None:
                with tempfile.TemporaryDirectory() as folder:
                    write_midi(score, pathlib.Path(folder) / "song.mid")
            else:
                write_midi(score, midi_path)
        return SongCheck(True, notes, seconds)
    except Exception as error:  # music21 raises many unrelated types for bad ABC
        if midi_path is not None:
            pathlib.Path(midi_path).unlink(missing_ok=True)  # no half-written file beside an invalid song
        if isinstance(error, SongTooSlow):
            return SongCheck(False, error=f"SongTooSlow: {error}"[:300])
        # music21's own errors are terse ("not enough values to unpack"): say whose they are.
        return SongCheck(False, error=f"music21 could not read the song ({type(error).__name__}: {error})"[:300])


def _tempo_bpm(score):
    marks = score.flatten().getElementsByClass("MetronomeMark")
    return float(marks[0].getQuarterBPM()) if marks else 120.0  # music21's MIDI default


def _unshare_context_marks(score):
    """Give every time/key signature and tempo mark its own object.

    music21's ABC reader can put one such object at several places in a score
    (e.g. around repeats); its MIDI writer then fails with "object ... is
    already found in this Stream" (real O'Neill tunes included). A copy at
    each further place keeps the music identical.
    """
    seen = set()
    for stream in list(score.recurse(streamsOnly=True, includeSelf=True)):
        for element in list(stream.getElementsByClass(["TimeSignature", "KeySignature", "MetronomeMark"])):
            if id(element) in seen:
                stream.replace(element, copy.deepcopy(element))
            else:
                seen.add(id(element))


def write_midi(score, path):
    """Write a music21 score as a MIDI file.

    Args:
        score: the ``music21`` score.
        path: the ``.mid`` file (its folder is created).

    Raises:
        OSError: music21 wrote no data.
    """
    _unshare_context_marks(score)
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    score.write("midi", fp=str(path))
    if not path.is_file() or path.stat().st_size == 0:
        raise OSError(f"music21 wrote no MIDI data to {path}")
