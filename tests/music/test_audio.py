"""ABC -> MIDI -> WAV with the NumPy synthesiser and, where installed, a soundfont."""

import numpy as np
import pytest
from support import skip_outside_ci

from mit_dl.music import audio, songs

TUNE = "X:1\nT:Test\nM:6/8\nL:1/8\nQ:1/4=120\nK:G\nGAB cde|d2B c2A|GAB AGF|G3 G3|"


def require_soundfont():
    """The system's soundfont; skipped on a user's machine without FluidSynth, a failure under CI."""
    font = audio.find_soundfont()
    if font is None or not audio.fluidsynth_available():
        skip_outside_ci(
            "no FluidSynth library or General MIDI soundfont (.ci/run installs libfluidsynth3 and timgm6mb-soundfont)"
        )
    return font


def test_synthesiser_plays_the_pitch_of_the_note():
    notes = np.array([[0.0, 1.0, 69, 100]])  # A4 for one second
    sound = audio.synthesise(notes, sample_rate=8000)
    spectrum = np.abs(np.fft.rfft(sound))
    peak_hz = np.argmax(spectrum) * 8000 / len(sound)
    assert abs(peak_hz - 440) < 2
    assert np.abs(sound).max() == pytest.approx(0.9, abs=1e-3)


def test_abc_to_midi_to_wav_is_audible_and_as_long_as_the_tune(tmp_path):
    midi = audio.abc_to_midi(TUNE, tmp_path / "tune.mid")
    info = audio.render_wav(midi, tmp_path / "tune.wav", soundfont=None)
    assert info["renderer"] == "synth" and info["notes"] == 18
    sound, rate = audio.read_wav(tmp_path / "tune.wav")
    assert rate == audio.SAMPLE_RATE
    expected = songs.check_song(TUNE).seconds  # 24 eighths at 120 bpm = 6 s
    assert expected == pytest.approx(6.0)
    assert expected <= len(sound) / rate <= expected + 0.2
    assert np.sqrt(np.mean(sound**2)) > 0.05  # not silent
    # Sound throughout: every quarter second has energy.
    count, size = int(expected * 4), rate // 4
    quarters = sound[: count * size].reshape(count, size)
    assert (np.sqrt(np.mean(quarters**2, axis=1)) > 0.01).all()


def test_soundfont_rendering_gives_real_instrument_audio(tmp_path):
    font = require_soundfont()
    midi = audio.abc_to_midi(TUNE, tmp_path / "tune.mid")
    info = audio.render_wav(midi, tmp_path / "tune.wav")  # "auto" picks the soundfont
    assert info["renderer"] == "soundfont" and info["soundfont"] == str(font)
    sound, rate = audio.read_wav(tmp_path / "tune.wav")
    assert len(sound) / rate >= 6.0
    assert np.sqrt(np.mean(sound[: 3 * rate] ** 2)) > 0.05
    synth = audio.synthesise(audio.read_notes(midi)[0])
    assert not np.allclose(sound[: len(synth)], synth, atol=0.05)  # a different instrument, not the sine synth


def test_hundreds_of_simultaneous_notes_render_without_fluidsynth_warnings(tmp_path, capfd):
    import pretty_midi

    require_soundfont()
    midi = pretty_midi.PrettyMIDI()
    piano = pretty_midi.Instrument(program=0)
    # 50 copies of each of 12 notes at one instant, as a generated song had (music21 stacked them)
    piano.notes = [pretty_midi.Note(90, 60 + i % 12, 0.5, 1.0) for i in range(600)]
    midi.instruments.append(piano)
    midi.write(str(tmp_path / "pile.mid"))
    capfd.readouterr()
    info = audio.render_wav(tmp_path / "pile.mid", tmp_path / "pile.wav")
    assert info["renderer"] == "soundfont" and info["notes"] == 600
    sound, rate = audio.read_wav(tmp_path / "pile.wav")
    assert np.abs(sound[int(0.6 * rate) : int(0.9 * rate)]).max() > 0.1
    assert "polyphony" not in capfd.readouterr().err


def test_a_file_no_midi_reader_accepts_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.mid"
    bad.write_bytes(b"MThd not really a MIDI file")
    with pytest.raises(audio.UnreadableMidiError, match="bad.mid cannot be read as MIDI .*; no audio was written"):
        audio.render_wav(bad, tmp_path / "bad.wav", soundfont=None)
    assert not (tmp_path / "bad.wav").exists()


def test_playing_problem_names_what_keeps_a_midi_file_from_playing_like_a_tune(tmp_path):
    import pretty_midi

    def write(name, notes):
        midi = pretty_midi.PrettyMIDI()
        piano = pretty_midi.Instrument(program=0)
        piano.notes = [pretty_midi.Note(90, pitch, start, start + 0.5) for pitch, start in notes]
        midi.instruments.append(piano)
        midi.write(str(tmp_path / name))
        return tmp_path / name

    melody_with_a_chord = write("tune.mid", [(60, 0.0), (64, 0.0), (67, 0.0), (62, 0.5), (64, 1.0)])
    assert audio.playing_problem(melody_with_a_chord) == ""
    assert audio.playing_problem(melody_with_a_chord, max_notes_at_once=2) == (
        "3 notes start at the same instant (more than 2)"
    )
    assert audio.playing_problem(write("silent.mid", [])) == "the MIDI file holds no notes"
    (tmp_path / "bad.mid").write_bytes(b"MThd not really a MIDI file")
    assert "bad.mid cannot be read as MIDI" in audio.playing_problem(tmp_path / "bad.mid")
    songs.check_song(TUNE, midi_path=tmp_path / "real.mid")
    assert audio.playing_problem(tmp_path / "real.mid") == ""


def test_missing_soundfont_is_a_clear_error(tmp_path):
    with pytest.raises(audio.AudioError, match="does not exist; pass the path of a .sf2 file"):
        audio.find_soundfont(tmp_path / "nope.sf2")
