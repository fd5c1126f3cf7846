"""Lab 1 part 2 end to end: train a folk-tune model (the course's LSTM or a transformer), export it,
generate and listen.

``train`` writes a run directory::

    checkpoints/         Trainer checkpoints (running the same command again resumes)
    logs/                TensorBoard scalars and history.json
    generator/           SavedModel with ``generate(seed_text, length, temperature, seed)`` and
                         ``generate_many``, metadata.json (vocabulary, config, losses) and the
                         training / held-out tunes used to judge generated songs
    metrics.json         losses per character (nats and bits), speed, data summary
    training_curves.png  training and held-out cross-entropy per character against steps
    settings.json        the config's values and the vocabulary (a resume must match them)

``generate`` loads such a SavedModel (it needs nothing else), samples songs
and writes ``song_XX.abc`` / ``.mid`` / ``.wav`` and ``summary.json``
(with ``every_song``, also ``song_XX_K.*`` for the K-th song of sample XX).
``compare`` judges several exports with the same sampling seeds and writes
one table (``compare.json``, ``compare.md``).

Example (a notebook)::

    from mit_dl.music import MusicConfig, GenerationConfig, workflow
    metrics = workflow.train(MusicConfig.from_preset("quick", steps=300), "runs/music-try")
    summary = workflow.generate("runs/music-try/generator", GenerationConfig(songs=5))
"""

import math
import pathlib
import time

from mit_dl import plots
from mit_dl.errors import ConfigError, ExportError
from mit_dl.export import export_savedmodel, load_savedmodel
from mit_dl.music import audio, judging, novelty, songs
from mit_dl.music import data as music_data
from mit_dl.music.config import SEED_TEXT, GenerationConfig, MusicConfig
from mit_dl.music.model import build_model
from mit_dl.music.sampler import generate_texts, generator_endpoints, sample_seeds, sampler_for
from mit_dl.training import Run, Trainer
from mit_dl.training.runs import write_json

TRAIN_TUNES_FILE = "training_tunes.abc"
HELD_OUT_TUNES_FILE = "held_out_tunes.abc"


def train(config=None, out_dir="runs/music-quick", log=print):
    """Train the model of ``config`` (LSTM or transformer), plot its curves and export its generator.

    Calling again with the same ``out_dir`` resumes from the newest
    checkpoint; other values for the model or data are refused naming them.

    Args:
        config: a `MusicConfig` (default the ``quick`` preset).
        out_dir: the run directory.
        log: where progress lines go.

    Returns:
        The metrics written to ``metrics.json``.

    Raises:
        ConfigError: a transformer whose context cannot hold the longest tune header.
    """
    config = config or MusicConfig.from_preset("quick")
    tunes = music_data.prepare(config.data, config.validation_fraction, config.seed, config.headers)
    log(f"data: {tunes.describe()}")
    _check_context(config, tunes)
    run = Run.start(
        out_dir, config, lab="music", derived={"data": tunes.source, "vocabulary": tunes.vocab.characters}, log=log
    )
    with run.scope():
        model = build_model(len(tunes.vocab), config)
        log(
            f"model: {config.model} {config.preset} preset, {model.count_params():,} parameters; {config.steps} "
            f"steps of batch {config.batch_size} x {config.sequence_length}"
            + (f", {100 * config.aligned_share:g}% of windows starting a tune" if config.aligned_share else "")
            + ("" if config.precision == "float32" else f"; {config.precision} precision")
        )
        started = time.perf_counter()
        history = _fit(model, tunes, run)
        seconds = time.perf_counter() - started
        per_char = loss_per_character(history, len(tunes.vocab))
        plots.training_curves(
            history,
            run.path / "training_curves.png",
            title=f"music, {config.model} {config.preset} preset: cross-entropy per character (nats)",
            steps_per_epoch=min(config.eval_every, config.steps),
        )
        log(
            f"loss per character: train {per_char['train_bits']:.3f} bits, held-out {per_char['val_bits']:.3f} "
            f"bits ({per_char['val_nats']:.3f} nats; uniform guess {per_char['uniform_bits']:.2f} bits)"
        )
        results = {
            "tunes": {"train": len(tunes.train_tunes), "held_out": len(tunes.val_tunes)},
            "vocabulary_size": len(tunes.vocab),
            "loss_per_character": per_char,
        }
        _export_generator(model, tunes, run, results)
    log(f"exported the generator to {run.path / 'generator'}")
    return run.write_metrics({**results, "history": history, "seconds_this_run": seconds})


def _check_context(config, tunes):
    """A transformer must read a whole tune header (X: to K:) to write the tune that follows it."""
    needed = tunes.longest_header()
    if config.model == "transformer" and config.sequence_length < needed:
        raise ConfigError(
            "sequence_length",
            f"is the transformer's context and must hold the longest tune header of the training tunes "
            f"({needed} characters, X: to the K: line), received {config.sequence_length}; use at least {needed}",
        )


def _fit(model, tunes, run):
    """Train ``model`` on the tunes with the shared Trainer, evaluating every ``eval_every`` steps."""
    config = run.config
    train_data = music_data.next_character_dataset(
        tunes.train_ids,
        config.sequence_length,
        config.batch_size,
        seed=config.seed,
        tune_starts=tunes.train_starts if config.aligned_share else None,
        aligned_share=config.aligned_share,
    )
    val_data = music_data.next_character_dataset(
        tunes.val_ids, config.sequence_length, 64, shuffle=False, stride=config.sequence_length, drop_remainder=False
    )
    trainer = Trainer(
        model,
        strategy=run.strategy,
        checkpoint_dir=run.checkpoints,
        checkpoint_every=config.checkpoint_every,
        log_dir=run.logs,
    )
    return trainer.fit(
        train_data, steps=config.steps, steps_per_epoch=min(config.eval_every, config.steps), validation_data=val_data
    )


def loss_per_character(history, vocab_size):
    """The last epoch's training and held-out cross-entropy in nats and bits, and a uniform guess's.

    Args:
        history: the Trainer's history (``loss``, ``val_loss`` in nats per character).
        vocab_size: number of characters (for the uniform guess).

    Returns:
        ``{"train_nats", "train_bits", "val_nats", "val_bits", "uniform_nats", "uniform_bits"}``.
    """
    train_loss, val_loss = history["loss"][-1], history["val_loss"][-1]
    return {
        "train_nats": train_loss,
        "train_bits": train_loss / math.log(2),
        "val_nats": val_loss,
        "val_bits": val_loss / math.log(2),
        "uniform_nats": math.log(vocab_size),
        "uniform_bits": math.log2(vocab_size),
    }


def _export_generator(model, tunes, run, results):
    """The generator SavedModel, with the tunes it was trained and judged against beside it."""
    sampler = sampler_for(model)
    endpoints, table = generator_endpoints(sampler, tunes.vocab.characters)
    context = {"context": run.config.sequence_length} if run.config.model == "transformer" else {}
    export_savedmodel(
        model,
        run.path / "generator",
        endpoints=endpoints,
        extra_trackables=[table, sampler],
        metadata=run.export_metadata(
            {
                "kind": "music generator",
                "architecture": run.config.model,
                "vocabulary": tunes.vocab.characters,
                "seed_text": SEED_TEXT,
                **context,
                **results,
            }
        ),
        extra_files={
            TRAIN_TUNES_FILE: music_data.join_tunes(tunes.train_tunes) + "\n",
            HELD_OUT_TUNES_FILE: music_data.join_tunes(tunes.val_tunes) + "\n",
        },
    )


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
    generator, metadata = loaded or _load_generator(model_dir)
    seed_text = config.seed_text if config.seed_text is not None else metadata.get("seed_text", SEED_TEXT)
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
    train_tunes = _tunes_beside(model_dir, TRAIN_TUNES_FILE)
    reference = novelty.TrainingText(train_tunes) if train_tunes else None
    length = config.length or default_length(train_tunes)
    out = pathlib.Path(out_dir) if out_dir else model_dir.parent / f"songs-t{config.temperature:g}-s{config.seed}"

    started = time.perf_counter()
    rng_seeds = sample_seeds(config.seed, config.songs)
    texts = generate_texts(generator, rng_seeds, length, config.temperature, seed_text, batch=config.batch)
    seconds = time.perf_counter() - started
    log(f"generated {config.songs} x {length} characters in {seconds:.1f} s")
    summary = _judge_samples(texts, rng_seeds, out, reference, soundfont, config)
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


def _load_generator(model_dir):
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


def _judge_samples(texts, rng_seeds, out, reference, soundfont, config):
    """Write the samples, judge each one's first song (and with ``every_song`` the later ones)."""
    out.mkdir(parents=True, exist_ok=True)
    for i, text in enumerate(texts):
        (out / f"sample_{i:02d}.txt").write_text(text, encoding="utf-8")
    songs_per_sample = [songs.extract_songs(t) for t in texts]
    candidates = [found[0] if found else None for found in songs_per_sample]
    summary = judging.judge_songs(candidates, config.songs, out, reference, soundfont)
    for entry, rng_seed in zip(summary["songs"], rng_seeds):
        entry["rng_seed"] = rng_seed  # generate(seed_text, length, temperature, rng_seed) redraws the sample
    if config.every_song:
        summary["later_songs"] = judging.judge_later_songs(
            songs_per_sample, summary["songs"], out, reference, soundfont
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


def compare(
    model_dirs,
    seeds=(0, 1, 2),
    songs_per_seed=(50, 100, 100),
    temperatures=(1.0,),
    out_dir=None,
    length=None,
    log=print,
):
    """Judge exported generators with the same sampling seeds; one row per export and temperature.

    Each export samples ``songs_per_seed[i]`` songs with sampling seed
    ``seeds[i]`` (`generate`, built-in synthesiser) and its first complete
    songs are pooled: valid rate with a 95% interval, the same check on its
    real held-out tunes, their ratio, playable songs, held-out loss and the
    novelty of the valid songs. Exports that differ only in their training
    seed also get a row with the mean of their ratios.

    Args:
        model_dirs: generator exports (``<run>/generator``).
        seeds: sampling seeds.
        songs_per_seed: samples per seed (one count per seed).
        temperatures: sampling temperatures; every export is judged at each.
        out_dir: where the songs, ``compare.json`` and ``compare.md`` go (default ``runs/music-compare``).
        length: characters per sample (default: `generate`'s, twice a long training tune).
        log: where progress lines go.

    Returns:
        ``{"rows": [...], "groups": [...]}`` as written to ``compare.json``.
    """
    out = pathlib.Path(out_dir or "runs/music-compare")
    rows = []
    for model_dir in map(pathlib.Path, model_dirs):
        loaded = _load_generator(model_dir)
        metadata = loaded[1]
        label = model_dir.parent.name if model_dir.name == "generator" else model_dir.name
        for temperature in temperatures:
            summaries = []
            for seed, songs_count in zip(seeds, songs_per_seed):
                config = GenerationConfig(
                    songs=songs_count, temperature=temperature, seed=seed, soundfont="none", length=length
                )
                summaries.append(
                    generate(
                        model_dir, config, out / label / f"t{temperature:g}-s{seed}", log=lambda *_: None, loaded=loaded
                    )
                )
            rows.append(judging.pooled_row(label, metadata, temperature, summaries))
            log(judging.row_line(rows[-1]))
    result = {
        "seeds": list(seeds),
        "songs_per_seed": list(songs_per_seed),
        "length": length,
        "rows": rows,
        "groups": judging.training_seed_groups(rows),
    }
    write_json(out / "compare.json", result)
    (out / "compare.md").write_text(judging.comparison_table(result), encoding="utf-8")
    log(f"table: {out / 'compare.md'}")
    return result
