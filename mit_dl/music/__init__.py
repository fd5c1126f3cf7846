"""Lab 1 part 2: a character-level LSTM that writes Irish folk tunes in ABC notation.

- `config`: `MusicConfig` (the course's LSTM and a quick preset) and `GenerationConfig`;
- `data`: ABC tunes (O'Neill's 1850 collection from music21's corpus by default),
  the vocabulary, next-character windows as tf.data;
- `model`: Embedding -> LSTM -> Dense, compiled with its loss and optimizer;
- `sampler`: the compiled sampling loop and the generator's export signatures;
- `songs`: cut complete songs out of generated text and validate them with music21;
- `judging`: valid, playable and novel rates of generated songs against real ones;
- `novelty`: how much of a generated song is copied from the training tunes;
- `audio`: ABC -> MIDI (music21) -> WAV (a NumPy synthesiser, or FluidSynth with a soundfont);
- `char_models`: small next-character models built only from the lecture layers (the demo's);
- `train`, `generate`, `compare`: train and export a generator; write and judge songs; compare exports.
"""

from mit_dl.music.config import GenerationConfig, MusicConfig

__all__ = ["MusicConfig", "GenerationConfig"]
