"""ABC text <-> music21 scores <-> MIDI <-> WAV, and checks of generated songs.

- `songs`: cut complete songs out of generated text and validate them with
  music21 (a song is valid when music21 parses it and writes a MIDI file).
- `novelty`: how much of a generated song is copied from the training tunes.
- `audio`: ABC -> MIDI (music21) -> WAV (a NumPy synthesiser that always
  works, or a General MIDI soundfont through FluidSynth when one is present).
"""
