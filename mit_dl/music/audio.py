"""ABC -> MIDI (music21) -> WAV, with no shell and no Colab.

Two renderers:

- ``synth``: a small additive synthesiser in NumPy (four harmonics with a
  plucked-string envelope). It always works, anywhere.
- ``soundfont``: real General MIDI instruments through the FluidSynth library
  (``pyfluidsynth``, the system's ``libfluidsynth``) and a ``.sf2`` soundfont,
  e.g. Debian's ``timgm6mb-soundfont``:
  ``apt-get install libfluidsynth3 timgm6mb-soundfont``.

``render_wav(..., soundfont="auto")`` uses the soundfont renderer when both
pieces are present and the synthesiser otherwise.
"""

import os
import pathlib
import wave

import numpy as np
import pretty_midi

from mit_dl.errors import MitDLError
from mit_dl.music import songs

SAMPLE_RATE = 22050
# Notes starting at one instant in a tune that plays: O'Neill's are single melody lines with a few
# 2-4 note chords (at most 4 start together in the held-out tunes' MIDI files); a guitar strums 6.
MAX_NOTES_AT_ONCE = 6
POLYPHONY = 4096  # simultaneous FluidSynth voices
# Debian / Ubuntu packages of General MIDI soundfonts, most compact first.
SOUNDFONT_LOCATIONS = (
    "/usr/share/sounds/sf2/TimGM6mb.sf2",
    "/usr/share/sounds/sf2/FluidR3_GM.sf2",
    "/usr/share/sounds/sf2/default-GM.sf2",
    "/usr/share/soundfonts/default.sf2",
    "/usr/share/soundfonts/FluidR3_GM.sf2",
)


class AudioError(MitDLError, RuntimeError):
    """Audio cannot be rendered as asked (missing soundfont or FluidSynth)."""


class UnreadableMidiError(AudioError):
    """A MIDI file that a MIDI reader rejects (e.g. repeats that music21 expanded to hours of music)."""


def abc_to_midi(song, midi_path):
    """Write one ABC tune as a MIDI file with music21.

    Args:
        song: the tune's ABC text.
        midi_path: the ``.mid`` file to write.

    Returns:
        ``midi_path`` as a `pathlib.Path`.
    """

    score = songs.parse_song(song)
    songs.write_midi(score, midi_path)
    return pathlib.Path(midi_path)


def find_soundfont(path=None):
    """The General MIDI ``.sf2`` soundfont to use.

    Args:
        path: a soundfont the caller names; otherwise ``$MIT_DL_SOUNDFONT``,
            then the Debian / Ubuntu packages' locations.

    Returns:
        Its `pathlib.Path`, or ``None`` when none is found.

    Raises:
        AudioError: ``path`` is given and does not exist.
    """
    if path is not None:
        path = pathlib.Path(path).expanduser()
        if not path.is_file():
            raise AudioError(f"soundfont {path} does not exist; pass the path of a .sf2 file.")
        return path
    for candidate in (os.environ.get("MIT_DL_SOUNDFONT"), *SOUNDFONT_LOCATIONS):
        if candidate and pathlib.Path(candidate).is_file():
            return pathlib.Path(candidate)
    return None


def fluidsynth_available():
    """Whether pyfluidsynth imports and finds the FluidSynth shared library.

    Returns:
        True when soundfont rendering can work.
    """
    try:
        import fluidsynth  # noqa: F401  (raises when libfluidsynth is missing)
    except Exception:
        return False
    return True


def read_notes(midi_path):
    """The notes of a MIDI file.

    Args:
        midi_path: the ``.mid`` file.

    Returns:
        ``(notes, midi)``: rows ``start_s, end_s, pitch, velocity`` of every
        non-drum note, and the ``pretty_midi.PrettyMIDI`` object.

    Raises:
        UnreadableMidiError: no MIDI reader accepts the file.
    """
    try:
        midi = pretty_midi.PrettyMIDI(str(midi_path))
    except Exception as error:  # pretty_midi/mido raise ValueError, OSError, EOFError, ... for bad files
        raise UnreadableMidiError(f"{midi_path} cannot be read as MIDI ({error}); no audio was written.") from error
    rows = [(n.start, n.end, n.pitch, n.velocity) for inst in midi.instruments if not inst.is_drum for n in inst.notes]
    return np.array(rows, dtype=np.float64).reshape(-1, 4), midi


def playing_problem(midi_path, max_notes_at_once=MAX_NOTES_AT_ONCE):
    """Why a MIDI file does not play like a tune.

    Stricter than "music21 wrote it": a MIDI reader must accept the file
    (music21 can expand stray repeats into millions of ticks), it must hold
    notes, and at most ``max_notes_at_once`` of them may start at the same
    instant (broken tuplets or chords can stack hundreds on one beat).

    Args:
        midi_path: the ``.mid`` file.
        max_notes_at_once: the most notes allowed to start together.

    Returns:
        The reason as a sentence, or ``""`` when the file plays like a tune.
    """
    try:
        notes, _ = read_notes(midi_path)
    except UnreadableMidiError as error:
        return str(error)
    if len(notes) == 0:
        return "the MIDI file holds no notes"
    _, together = np.unique(np.round(notes[:, 0], 4), return_counts=True)
    if together.max() > max_notes_at_once:
        return f"{together.max()} notes start at the same instant (more than {max_notes_at_once})"
    return ""


def synthesise(notes, sample_rate=SAMPLE_RATE, release=0.08):
    """Mono float32 audio in [-1, 1] for note rows, with a small additive synthesiser.

    Each note is ``sum_k a_k sin(2 pi k f t)`` over four harmonics of
    ``f = 440 * 2 ** ((pitch - 69) / 12)``, shaped by a 5 ms attack, an
    exponential decay while held and a short release.

    Args:
        notes: rows ``start_s, end_s, pitch, velocity`` (as `read_notes` gives).
        sample_rate: samples per second.
        release: seconds a note sounds on after its end.

    Returns:
        The audio samples.
    """
    if len(notes) == 0:
        return np.zeros(0, np.float32)
    end = notes[:, 1].max() + release
    audio = np.zeros(int(np.ceil(end * sample_rate)) + 1, np.float64)
    harmonics = np.array([1.0, 0.5, 0.3, 0.15])
    for start, stop, pitch, velocity in notes:
        held = max(stop - start, 0.01)
        t = np.arange(int((held + release) * sample_rate)) / sample_rate
        frequency = 440.0 * 2.0 ** ((pitch - 69.0) / 12.0)
        tone = sum(a * np.sin(2 * np.pi * (k + 1) * frequency * t) for k, a in enumerate(harmonics))
        envelope = np.minimum(t / 0.005, 1.0) * np.exp(-t / 0.5)
        envelope *= np.clip((held + release - t) / release, 0.0, 1.0)  # fade out after the note ends
        first = int(start * sample_rate)
        segment = audio[first : first + len(t)]
        segment += (velocity / 127.0) * (tone * envelope)[: len(segment)]
    peak = np.abs(audio).max()
    return (audio / peak * 0.9 if peak > 0 else audio).astype(np.float32)


def render_with_soundfont(midi, soundfont, sample_rate=SAMPLE_RATE):
    """Audio of a MIDI score through FluidSynth and a soundfont.

    Args:
        midi: a ``pretty_midi.PrettyMIDI``.
        soundfont: the ``.sf2`` file.
        sample_rate: samples per second.

    Returns:
        Mono float32 audio, peak-normalised to 0.9.

    Raises:
        AudioError: the FluidSynth library is not installed.
    """
    if not fluidsynth_available():
        raise AudioError(
            "rendering with a soundfont needs the FluidSynth library: install it "
            "(Debian/Ubuntu: apt-get install libfluidsynth3) or use the built-in synthesiser."
        )
    import fluidsynth

    # More voices than FluidSynth's default 256: a generated tune can stack hundreds of notes on one
    # instant, which would otherwise print a "Ringbuffer full" warning per note.
    synth = fluidsynth.Synth(samplerate=float(sample_rate), **{"synth.polyphony": POLYPHONY})
    try:
        font_id = synth.sfload(str(soundfont))
        audio = midi.fluidsynth(fs=sample_rate, synthesizer=synth, sfid=font_id)
    finally:
        synth.delete()
    peak = np.abs(audio).max() if audio.size else 0.0
    return (audio / peak * 0.9 if peak > 0 else audio).astype(np.float32)


def write_wav(path, audio, sample_rate=SAMPLE_RATE):
    """16-bit mono PCM WAV with the standard library's ``wave``.

    Args:
        path: the file to write (its folder is created), or a binary file object.
        audio: float samples in [-1, 1] (clipped there).
        sample_rate: samples per second.

    Returns:
        ``path``.
    """
    if hasattr(path, "write"):
        target = path
    else:
        path = pathlib.Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        target = str(path)
    pcm = (np.clip(audio, -1.0, 1.0) * 32767).astype("<i2")
    with wave.open(target, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(sample_rate)
        out.writeframes(pcm.tobytes())
    return path


def read_wav(path):
    """Read a 16-bit mono WAV file.

    Args:
        path: the file, or a binary file object.

    Returns:
        ``(audio, sample_rate)``: float32 samples in [-1, 1] and samples per second.
    """
    with wave.open(path if hasattr(path, "read") else str(path), "rb") as source:
        rate, frames = source.getframerate(), source.readframes(source.getnframes())
    return np.frombuffer(frames, "<i2").astype(np.float32) / 32767.0, rate


def render_wav(midi_path, wav_path, soundfont="auto", sample_rate=SAMPLE_RATE):
    """Turn a MIDI file into a WAV file.

    Args:
        midi_path: the ``.mid`` file.
        wav_path: the ``.wav`` file to write.
        soundfont: ``"auto"`` (a soundfont if one and FluidSynth are found, else
            the synthesiser), ``None`` (always the synthesiser) or a ``.sf2`` path.
        sample_rate: samples per second.

    Returns:
        ``{"renderer", "seconds", "soundfont", "notes"}``.
    """
    notes, midi = read_notes(midi_path)
    font = None
    if soundfont == "auto":
        font = find_soundfont() if fluidsynth_available() else None
    elif soundfont is not None:
        font = find_soundfont(soundfont)
    if font is not None:
        audio, renderer = render_with_soundfont(midi, font, sample_rate), "soundfont"
    else:
        audio, renderer = synthesise(notes, sample_rate), "synth"
    write_wav(wav_path, audio, sample_rate)
    return {
        "renderer": renderer,
        "seconds": len(audio) / sample_rate,
        "soundfont": str(font) if font else None,
        "notes": int(len(notes)),
    }
