"""Lab 1 part 2: write songs from an exported generator, listen to them and judge them.

``generate`` loads a generator SavedModel (it needs nothing else), samples songs
and writes ``song_XX.abc`` / ``.mid`` / ``.wav`` and ``summary.json``
(with ``every_song``, also ``song_XX_K.*`` for the K-th song of sample XX).

Example (a notebook)::

    from mit_dl.music import GenerationConfig, generate
    summary = generate.generate("runs/music-try/generator", GenerationConfig(songs=5))
"""

import pathlib
import time

from mit_dl.errors import ConfigError, ExportError
from mit_dl.export import load_savedmodel
from mit_dl.music import audio, judging, novelty, songs
from mit_dl.music import data as music_data
from mit_dl.music.config import SEED_TEXT, GenerationConfig
from mit_dl.music.sampler import generate_texts, sample_seeds
from mit_dl.music.train import HELD_OUT_TUNES_FILE, TRAIN_TUNES_FILE
from mit_dl.training.runs import write_json


def generate(model_dir, config=None, out_dir=None, log=print, loaded=None):
    """Sample songs from an exported generator, judge them and write the files.

    Each sample starts from the seed text (default ``"X:"``, the start of a
    tune) and its first complete song is judged; a sample without one counts
    as a failed song.

    Args:
        model_dir: the generator export (``<run>/generator``).
        config: a `GenerationConfig` (songs, temperature, seed, ...).
        out_dir: where the songs go (default: ``songs-t<T>-s<seed>/`` beside the export).
        log: where progress lines go.
        loaded: ``(generator, metadata)`` already loaded from ``model_dir`` (`compare` loads each export once).

    Returns:
        The summary written to ``summary.json``.

    Raises:
        ExportError: the folder is not a music generator export.
        ConfigError: the seed text holds characters the generator does not know.
    """
    config = config or GenerationConfig()
    soundfont = _checked_soundfont(config.soundfont)
    model_dir = pathlib.Path(model_dir)
    generator, metadata = loaded or load_generator(model_dir)
    seed_text = _checked_seed_text(config.seed_text, metadata)
    train_tunes = _tunes_beside(model_dir, TRAIN_TUNES_FILE)
    reference = novelty.TrainingText(train_tunes) if train_tunes else None
    length = config.length or default_length(train_tunes)
    out = pathlib.Path(out_dir) if out_dir else model_dir.parent / f"songs-t{config.temperature:g}-s{config.seed}"

    started = time.perf_counter()
    rng_seeds = sample_seeds(config.seed, config.songs)
    texts = generate_texts(generator, rng_seeds, length, config.temperature, seed_text, batch=config.batch)
    seconds = time.perf_counter() - started
    log(f"generated {config.songs} x {length} characters in {seconds:.1f} s")
    summary = _judge_samples(texts, rng_seeds, out, reference, soundfont, config, log)
    summary.update(
        model=str(model_dir),
        temperature=config.temperature,
        seed=config.seed,
        length=length,
        seed_text=seed_text,
        generation_seconds=seconds,
        out_dir=str(out),
    )
    if config.baseline and (model_dir / HELD_OUT_TUNES_FILE).exists():
        real = judging.held_out_baseline(_tunes_beside(model_dir, HELD_OUT_TUNES_FILE), reference, model_dir, log)
        summary["held_out_real_tunes"] = real
        summary["valid_rate_vs_real"] = summary["valid_rate"] / real["valid_rate"] if real["valid_rate"] else None
    write_json(out / "summary.json", summary)
    _log_summary(summary, config, log)
    return summary


def _checked_seed_text(seed_text, metadata):
    """The seed text to sample from (the export's own by default), refused if the generator cannot read it."""
    seed_text = seed_text if seed_text is not None else metadata.get("seed_text", SEED_TEXT)
    unknown = sorted(set(seed_text) - set(metadata.get("vocabulary", seed_text)))
    if unknown:
        raise ConfigError(
            "seed_text",
            f"has characters {unknown!r} that are not in the generator's vocabulary; "
            "use only characters of the training tunes",
        )
    context = metadata.get("context")
    if context and len(seed_text) > context:
        raise ConfigError(
            "seed_text",
            f"has {len(seed_text)} characters, more than the generator's context of {context}; give a shorter one",
        )
    return seed_text


def _checked_soundfont(soundfont):
    """``"auto"``, ``None`` or a soundfont path that exists, with FluidSynth to play it (fails before sampling)."""
    if soundfont in ("auto", None, "none"):
        return None if soundfont == "none" else soundfont
    soundfont = audio.find_soundfont(soundfont)
    if not audio.fluidsynth_available():
        raise audio.AudioError(
            "a soundfont needs the FluidSynth library (Debian/Ubuntu: apt-get install "
            "libfluidsynth3); use soundfont none for the built-in synthesiser."
        )
    return soundfont


def load_generator(model_dir):
    """A music generator export and its metadata, refused in one sentence if the folder holds another kind.

    Args:
        model_dir: the generator's folder (``<run>/generator``).

    Returns:
        ``(generator, metadata)``: the loaded SavedModel and its ``metadata.json``.

    Raises:
        ExportError: the folder is not a music generator export.
    """
    generator, metadata = load_savedmodel(model_dir)
    if not hasattr(generator, "generate"):
        raise ExportError(
            f"{model_dir} is not a music generator export (it has no `generate` signature); pass the "
            "generator folder a music run exported (<run>/generator)."
        )
    return generator, metadata


def _tunes_beside(model_dir, name):
    path = model_dir / name
    return music_data.split_tunes(path.read_text(encoding="utf-8")) if path.exists() else []


def default_length(train_tunes):
    """Characters per sample long enough for nearly every tune: twice the 99th-percentile training tune.

    Args:
        train_tunes: the training tunes.

    Returns:
        The number of characters.
    """
    lengths = sorted(len(t) for t in train_tunes) or [1000]
    return 2 * lengths[int(0.99 * (len(lengths) - 1))]


def _judge_samples(texts, rng_seeds, out, reference, soundfont, config, log):
    """Write the samples, judge each one's first song (and with ``every_song`` the later ones)."""
    out.mkdir(parents=True, exist_ok=True)
    for i, text in enumerate(texts):
        (out / f"sample_{i:02d}.txt").write_text(text, encoding="utf-8")
    songs_per_sample = [songs.extract_songs(t) for t in texts]
    candidates = [found[0] if found else None for found in songs_per_sample]
    summary = judging.judge_songs(
        candidates, config.songs, out, reference, soundfont, progress=log, seconds_per_song=config.song_seconds
    )
    for entry, rng_seed in zip(summary["songs"], rng_seeds):
        entry["rng_seed"] = rng_seed  # generate(seed_text, length, temperature, rng_seed) redraws the sample
    if config.every_song:
        summary["later_songs"] = judging.judge_later_songs(
            songs_per_sample, summary["songs"], out, reference, soundfont, config.song_seconds
        )
    return summary


def _log_summary(summary, config, log):
    missing = summary["attempts"] - summary["complete"]
    low, high = summary["valid_rate_95ci"]
    log(
        f"{summary['valid']}/{config.songs} songs valid ({100 * summary['valid_rate']:.0f}%, 95% CI "
        f"{100 * low:.0f}-{100 * high:.0f}%)" + (f"; {missing} sample(s) held no complete song" if missing else "")
    )
    if summary["valid_without_audio"]:
        log(
            f"{summary['valid_without_audio']} valid song(s) wrote a MIDI file that a MIDI reader rejects "
            "(see audio_error in summary.json); they have no .wav"
        )
    real = summary.get("held_out_real_tunes")
    if real:
        log(
            f"real held-out tunes, same check: {real['valid']}/{real['attempts']} valid "
            f"({100 * real['valid_rate']:.0f}%); generated/real = {summary['valid_rate_vs_real']:.2f}"
        )
    if config.every_song:
        judging.log_later_songs(summary, log)
    log(
        f"stricter: {summary['plays']}/{config.songs} songs also play like a tune (a MIDI reader accepts the file, "
        f"at most {audio.MAX_NOTES_AT_ONCE} notes start together)"
        + (f"; real held-out tunes {real['plays']}/{real['attempts']}" if real else "")
    )
    copied = summary["novelty_of_valid_songs"]
    if copied.get("songs"):
        log(
            f"novelty: longest passage copied from training tunes {copied['mean_longest_copy_chars']:.0f} chars "
            f"on average, {100 * copied['mean_ngram16_copied']:.0f}% of 16-character runs seen in training, "
            f"{copied['verbatim_copies']} verbatim copies"
        )
    log(f"files: {summary['out_dir']}")
