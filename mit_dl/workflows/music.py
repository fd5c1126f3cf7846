"""Lab 1 part 2 end to end: train the folk-tune LSTM, export it, generate and listen.

``train`` writes a run directory::

    checkpoints/         Trainer checkpoints (running the same command again resumes)
    logs/                TensorBoard scalars and history.json
    generator/           SavedModel with ``generate(seed_text, length, temperature, seed)``,
                         metadata.json (vocabulary, preset, losses) and the
                         training / held-out tunes used to judge generated songs
    metrics.json         losses per character (nats and bits), speed, data summary
    settings.json        preset, data, seed, headers, vocabulary (a resume must match them)

``generate`` loads such a SavedModel (it needs nothing else), samples songs
and writes ``song_XX.abc`` / ``.mid`` / ``.wav`` and ``summary.json``
(with ``every_song``, also ``song_XX_K.*`` for the K-th song of sample XX).
"""

import bisect
import json
import math
import pathlib
import tempfile
import time

from mit_dl import evaluation
from mit_dl.data import music as music_data
from mit_dl.music import audio, novelty, songs
from mit_dl.workflows.run_directory import check_settings

TRAIN_TUNES_FILE = "training_tunes.abc"
HELD_OUT_TUNES_FILE = "held_out_tunes.abc"
SEED_TEXT = "X:"
EVAL_EVERY = 500  # steps between validation passes (one "epoch" of the Trainer)
# Songs per batched sampler call: for the lab model on 2 CPU cores 5-7x faster per song than one
# call per song, and 100 per call was no faster per song than 50.
GENERATION_BATCH = 50
# Ranges of music length (characters of a tune's music lines) for valid rates by length: validity
# falls with length, and which songs get judged depends on it (see `judge_later_songs`).
LENGTH_EDGES = (150, 250, 400)


def prepare_data(data=None, validation_fraction=0.1, seed=0, headers="musical"):
    """Tunes split by tune, the vocabulary of the training text, and both texts as ids.

    ``headers``: which header lines the tunes keep (`mit_dl.data.music.load_tunes`).
    """
    tunes = music_data.load_tunes(data, headers=headers)
    if len(tunes) < 2:
        raise music_data.MusicDataError(
            f"found only {len(tunes)} tune in {data}; training needs at least two (one is held out)."
        )
    train_tunes, val_tunes = music_data.split_by_tune(tunes, validation_fraction, seed=seed)
    train_text = music_data.join_tunes(train_tunes)
    vocab = music_data.Vocabulary.from_text(train_text)
    # Held-out characters never seen in training cannot be scored: drop them.
    val_text = "".join(c for c in music_data.join_tunes(val_tunes) if c in vocab.characters)
    return {"tunes": tunes, "train_tunes": train_tunes, "val_tunes": val_tunes, "vocab": vocab,
            "train_ids": vocab.encode(train_text), "val_ids": vocab.encode(val_text)}


def train(preset="quick", data=None, steps=None, out_dir="runs/music-quick", seed=0, checkpoint_every=EVAL_EVERY,
          headers="musical", precision="float32", sequence_length=None, batch_size=None, log=print):
    """Train a preset on ``data`` (default: O'Neill's tunes); returns the metrics dict.

    ``sequence_length`` / ``batch_size`` replace the preset's training
    windows (``text[i:i+L]``) and windows per step; the model is unchanged.

    Validation loss is measured every ``EVAL_EVERY`` steps; checkpoints are
    written every ``checkpoint_every`` steps, and calling again with the same
    ``out_dir`` resumes from the newest one. ``precision``: one of
    `mit_dl.training.precision.PRECISIONS` (mixed precision for GPUs).
    """
    from mit_dl.training.precision import precision_policy

    with precision_policy(precision):
        return _train(preset, data, steps, out_dir, seed, checkpoint_every, headers, precision,
                      {"sequence_length": sequence_length, "batch_size": batch_size}, log)


def _train(preset, data, steps, out_dir, seed, checkpoint_every, headers, precision, windows, log):
    import keras

    from mit_dl.export import export_savedmodel
    from mit_dl.models.music import PRESETS, CompiledSampler, build_music_model, generator_endpoints
    from mit_dl.training import Trainer
    from mit_dl.training.precision import precision_setting

    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; choose one of {sorted(PRESETS)}.")
    config = dict(PRESETS[preset])
    steps = config["steps"] if steps is None else steps
    if steps <= 0:
        raise ValueError(f"steps must be a positive number, received {steps}.")
    for name, value in windows.items():
        if value is not None and value <= 0:
            raise ValueError(f"--{name.replace('_', '-')} must be a positive number, received {value}.")
    # Only a departure from the preset is recorded, so run directories made before these options still resume.
    changed_windows = {name: value for name, value in windows.items() if value not in (None, config[name])}
    config.update(changed_windows)
    out = pathlib.Path(out_dir)
    prepared = prepare_data(data, seed=seed, headers=headers)
    vocab, length, batch = prepared["vocab"], config["sequence_length"], config["batch_size"]
    log(f"data: {len(prepared['tunes'])} tunes, {len(prepared['train_tunes'])} train / "
        f"{len(prepared['val_tunes'])} held out, {len(prepared['train_ids'])} training characters, "
        f"vocabulary {len(vocab)}")

    source = str(pathlib.Path(data).resolve()) if data else music_data.DEFAULT_CORPUS
    check_settings(out, {"preset": preset, "data": source, "seed": seed, "headers": headers,
                         "vocabulary": vocab.characters, **precision_setting(precision), **changed_windows})
    keras.utils.set_random_seed(seed)
    train_data = music_data.next_character_dataset(prepared["train_ids"], length, batch, seed=seed)
    val_data = music_data.next_character_dataset(prepared["val_ids"], length, 64, shuffle=False, stride=length,
                                                 drop_remainder=False)
    model = build_music_model(len(vocab), config["embedding_dim"], config["rnn_units"])
    trainer = Trainer(
        model, keras.optimizers.Adam(config["learning_rate"]),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        checkpoint_dir=out / "checkpoints", checkpoint_every=checkpoint_every, log_dir=out / "logs",
    )
    log(f"model: {preset} preset, {model.count_params():,} parameters; {steps} steps of batch {batch} x {length}"
        + ("" if precision == "float32" else f"; {precision} precision"))
    started = time.perf_counter()
    history = trainer.fit(train_data, steps=steps, steps_per_epoch=min(EVAL_EVERY, steps), validation_data=val_data)
    seconds = time.perf_counter() - started

    val_loss = history["val_loss"][-1]
    per_char = {
        "train_nats": history["loss"][-1], "train_bits": history["loss"][-1] / math.log(2),
        "val_nats": val_loss, "val_bits": val_loss / math.log(2),
        "uniform_nats": math.log(len(vocab)), "uniform_bits": math.log2(len(vocab)),
    }
    log(f"loss per character: train {per_char['train_bits']:.3f} bits, held-out {per_char['val_bits']:.3f} bits "
        f"({per_char['val_nats']:.3f} nats; uniform guess {per_char['uniform_bits']:.2f} bits)")

    sampler = CompiledSampler(model)
    endpoints, table = generator_endpoints(sampler, vocab.characters)
    export_savedmodel(
        model, out / "generator", endpoints=endpoints, extra_trackables=[table, sampler],
        metadata={"vocabulary": vocab.characters, "preset": preset, "config": config, "steps": steps,
                  "seed": seed, "seed_text": SEED_TEXT, "data": str(data) if data else music_data.DEFAULT_CORPUS,
                  "headers": headers, "precision": precision, "loss_per_character": per_char},
        extra_files={TRAIN_TUNES_FILE: music_data.join_tunes(prepared["train_tunes"]) + "\n",
                     HELD_OUT_TUNES_FILE: music_data.join_tunes(prepared["val_tunes"]) + "\n"},
    )
    metrics = {"preset": preset, "config": config, "steps": steps, "seed": seed,
               "data": str(data) if data else music_data.DEFAULT_CORPUS, "headers": headers,
               "precision": precision,
               "tunes": {"train": len(prepared["train_tunes"]), "held_out": len(prepared["val_tunes"])},
               "vocabulary_size": len(vocab), "loss_per_character": per_char, "history": history,
               "seconds_this_run": seconds}
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2))
    log(f"exported the generator to {out / 'generator'}")
    return metrics


def sample_seeds(seed, count):
    """RNG seeds of samples ``0..count-1`` for a run ``seed``.

    Sample ``i``'s seed depends on ``(seed, i)`` only, so ``--songs 100``
    extends ``--songs 50`` with the same first 50 songs, while two run seeds
    share no sample (``seed + i`` made seed 1's samples seed 0's shifted by one).
    """
    import numpy as np

    return [int(np.random.SeedSequence([seed % 2**64, i]).generate_state(1, np.uint64)[0] >> 1)
            for i in range(count)]


def generate_texts(generator, rng_seeds, length, temperature, seed_text=SEED_TEXT, batch=GENERATION_BATCH):
    """One sample from an exported generator per RNG seed (see `sample_seeds`), ``seed_text`` included.

    Uses the batched ``generate_many`` signature, ``batch`` songs per call,
    when the export has it (generators exported before it was added only
    have ``generate``: one call per song). Both draw sample ``i`` with RNG
    seed ``rng_seeds[i]``; they agree except when the batched matrix
    products round a probability differently enough to change a draw
    (2 of 250 songs of the lab model).
    """
    import tensorflow as tf

    args = (tf.constant(seed_text), tf.constant(length, tf.int32), tf.constant(temperature, tf.float32))
    if not hasattr(generator, "generate_many"):
        return [seed_text + generator.generate(*args, tf.constant(s, tf.int64))["text"].numpy().decode("utf-8")
                for s in rng_seeds]
    texts = []
    for start in range(0, len(rng_seeds), batch):
        chunk = tf.constant(rng_seeds[start:start + batch], tf.int64)
        texts += [seed_text + t.decode("utf-8") for t in generator.generate_many(*args, chunk)["texts"].numpy()]
    return texts


def judge_songs(candidates, attempts, out_dir=None, reference=None, soundfont="auto", names=None):
    """Validate songs, check that valid ones play, measure novelty and (with ``out_dir``) write .abc/.mid/.wav.

    ``candidates``: one song (or ``None`` when a sample had no complete song)
    per attempt; ``names``: their file names (default ``song_00``, ``song_01``, ...).
    A valid song (the issue's check, `songs.check_song`) also *plays* when
    its MIDI file passes `audio.playing_problem`. Returns the summary dict.
    """
    entries, novelty_reports = [], []
    with tempfile.TemporaryDirectory() as scratch:
        folder = pathlib.Path(out_dir) if out_dir else pathlib.Path(scratch)
        for i, song in enumerate(candidates):
            entry = {"sample": i}
            if song is None:
                entry.update(valid=False, plays=False, error="no complete song in the generated text")
                entries.append(entry)
                continue
            stem = folder / (names[i] if names else f"song_{i:02d}")
            if out_dir:
                stem.parent.mkdir(parents=True, exist_ok=True)
                stem.with_suffix(".abc").write_text(song + "\n", encoding="utf-8")
            check = songs.check_song(song, midi_path=stem.with_suffix(".mid"))
            entry.update(valid=check.valid, notes=check.notes, seconds=round(check.seconds, 2),
                         music_chars=len(songs.header_and_body(song)[1]))
            if check.error:
                entry["error"] = check.error
            problem = audio.playing_problem(stem.with_suffix(".mid")) if check.valid else "not valid"
            entry["plays"] = not problem
            if check.valid and problem:
                entry["playing_problem"] = problem
            if check.valid and out_dir:
                try:
                    entry["audio"] = audio.render_wav(stem.with_suffix(".mid"), stem.with_suffix(".wav"),
                                                      soundfont=soundfont)
                except audio.UnreadableMidiError as error:  # valid by the check, but not playable: reported
                    entry["audio_error"] = str(error)
            if reference is not None:
                entry["novelty"] = reference.report(song)
                if check.valid:
                    novelty_reports.append(entry["novelty"])
            entries.append(entry)
    valid = sum(e["valid"] for e in entries)
    plays = sum(e["plays"] for e in entries)
    return {"attempts": attempts, "complete": sum(s is not None for s in candidates), "valid": valid,
            "valid_rate": valid / attempts if attempts else 0.0,
            "valid_rate_95ci": list(evaluation.wilson_interval(valid, attempts)) if attempts else None,
            "plays": plays, "plays_rate": plays / attempts if attempts else 0.0,
            "valid_without_audio": sum("audio_error" in e for e in entries),
            "novelty_of_valid_songs": novelty.summarise(novelty_reports), "songs": entries}


def valid_by_length(entries, edges=LENGTH_EDGES):
    """``[valid, songs]`` per range of music length (``< edges[0]``, ..., ``>= edges[-1]``) of judged songs."""
    counts = [[0, 0] for _ in range(len(edges) + 1)]
    for entry in entries:
        if "music_chars" in entry:  # a sample with no complete song has no length
            bucket = counts[bisect.bisect_right(edges, entry["music_chars"])]
            bucket[0] += entry["valid"]
            bucket[1] += 1
    return counts


def rate_at_lengths_of(counts, reference_counts):
    """Valid rate of ``counts`` with its length ranges weighted as in ``reference_counts`` (both `valid_by_length`).

    Ranges empty in either are left out. ``None`` when no range is shared.
    """
    shared = [(c, r) for c, r in zip(counts, reference_counts) if c[1] and r[1]]
    weight = sum(r[1] for _, r in shared)
    return sum(r[1] * c[0] / c[1] for c, r in shared) / weight if weight else None


def judge_later_songs(songs_per_sample, first_entries, out_dir=None, reference=None, soundfont="auto"):
    """Judge the 2nd, 3rd, ... complete song of every sample, as files ``song_XX_K``.

    The course's notebook extracts every song of a generated text. Their raw
    valid rate is not comparable with the first songs': a long song is more
    often cut off by the end of the text and dropped, and long songs are
    less often valid. So the summary also gives valid rates by music length
    (`valid_by_length`, first and later songs) and the later songs' rate at
    the first songs' mix of lengths (`rate_at_lengths_of`). Its 95% interval
    groups the songs by sample (`evaluation.grouped_wilson_interval`).
    """
    later = [(i, k, song) for i, found in enumerate(songs_per_sample) for k, song in enumerate(found[1:], start=2)]
    summary = judge_songs([song for _, _, song in later], len(later), out_dir, reference, soundfont,
                          names=[f"song_{i:02d}_{k}" for i, k, _ in later])
    # Songs of one sample share its history, so the interval treats each sample as a group.
    valid_in_sample, later_in_sample = [0] * len(songs_per_sample), [0] * len(songs_per_sample)
    for entry, (i, k, _) in zip(summary["songs"], later):
        entry.update(sample=i, position=k)
        valid_in_sample[i] += entry["valid"]
        later_in_sample[i] += 1
    if later:
        summary["valid_rate_95ci"] = list(evaluation.grouped_wilson_interval(valid_in_sample, later_in_sample))
    first, others = valid_by_length(first_entries), valid_by_length(summary["songs"])
    summary.update(length_edges=list(LENGTH_EDGES), first_songs_by_length=first, later_songs_by_length=others,
                   valid_rate_at_first_song_lengths=rate_at_lengths_of(others, first))
    return summary


def generate(model_dir, songs_count=10, temperature=1.0, seed=0, out_dir=None, length=None, soundfont="auto",
             seed_text=None, baseline=True, batch=None, every_song=False, log=print):
    """Sample songs from an exported generator, judge them and write the files; returns the summary.

    Each sample starts from ``seed_text`` (default ``"X:"``, the start of a
    tune) and its first complete song is judged; a sample without one counts
    as a failed song. ``baseline`` also judges the held-out real tunes the
    same way, for the generated/real valid-rate ratio. ``batch``: songs per
    sampler call (default `GENERATION_BATCH`). ``every_song`` also judges the
    samples' later songs (`judge_later_songs`; the summary's ``later_songs``).
    """
    from mit_dl.export import load_savedmodel

    if songs_count <= 0:
        raise ValueError(f"--songs must be a positive number, received {songs_count}.")
    batch = GENERATION_BATCH if batch is None else batch
    if batch <= 0:
        raise ValueError(f"--batch must be a positive number, received {batch}.")
    if temperature <= 0:
        raise ValueError(f"--temperature must be above 0, received {temperature}.")
    if soundfont not in ("auto", None):
        soundfont = audio.find_soundfont(soundfont)  # a missing file fails now, not after sampling
        if not audio.fluidsynth_available():
            raise audio.AudioError("a soundfont needs the FluidSynth library (Debian/Ubuntu: apt-get install "
                                   "libfluidsynth3); pass --soundfont none for the built-in synthesiser.")
    model_dir = pathlib.Path(model_dir)
    generator, metadata = load_savedmodel(model_dir)
    if not hasattr(generator, "generate"):
        raise ValueError(f"{model_dir} has no `generate` signature; pass the generator a music run exported.")
    seed_text = seed_text if seed_text is not None else metadata.get("seed_text", SEED_TEXT)
    if not seed_text:
        raise ValueError("the seed text is empty; give at least one character, e.g. 'X:'.")
    if "vocabulary" in metadata:
        music_data.Vocabulary(metadata["vocabulary"]).encode(seed_text)  # lists unknown characters
    train_path, held_out_path = model_dir / TRAIN_TUNES_FILE, model_dir / HELD_OUT_TUNES_FILE
    train_tunes = music_data.split_tunes(train_path.read_text(encoding="utf-8")) if train_path.exists() else []
    reference = novelty.TrainingText(train_tunes) if train_tunes else None
    if length is None:
        # Long enough for nearly every tune: twice the 99th-percentile training tune.
        lengths = sorted(len(t) for t in train_tunes) or [1000]
        length = 2 * lengths[int(0.99 * (len(lengths) - 1))]
    out = pathlib.Path(out_dir) if out_dir else model_dir.parent / f"songs-t{temperature:g}-s{seed}"

    started = time.perf_counter()
    rng_seeds = sample_seeds(seed, songs_count)
    texts = generate_texts(generator, rng_seeds, length, temperature, seed_text, batch=batch)
    seconds = time.perf_counter() - started
    log(f"generated {songs_count} x {length} characters in {seconds:.1f} s")
    out.mkdir(parents=True, exist_ok=True)
    for i, text in enumerate(texts):
        (out / f"sample_{i:02d}.txt").write_text(text, encoding="utf-8")
    songs_per_sample = [songs.extract_songs(t) for t in texts]
    candidates = [found[0] if found else None for found in songs_per_sample]
    summary = judge_songs(candidates, songs_count, out, reference, soundfont)
    for entry, rng_seed in zip(summary["songs"], rng_seeds):
        entry["rng_seed"] = rng_seed  # generate(seed_text, length, temperature, rng_seed) redraws the sample
        # (up to rounding: see generate_texts)
    summary.update(model=str(model_dir), temperature=temperature, seed=seed, length=length, seed_text=seed_text,
                   generation_seconds=seconds)
    if every_song:
        summary["later_songs"] = judge_later_songs(songs_per_sample, summary["songs"], out, reference, soundfont)
    if baseline and held_out_path.exists():
        held_out = music_data.split_tunes(held_out_path.read_text(encoding="utf-8"))
        real = judge_songs(held_out, len(held_out), reference=reference)
        summary["held_out_real_tunes"] = {k: real[k] for k in ("attempts", "valid", "valid_rate", "valid_rate_95ci",
                                                               "plays", "plays_rate", "novelty_of_valid_songs")}
        summary["valid_rate_vs_real"] = summary["valid_rate"] / real["valid_rate"] if real["valid_rate"] else None
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    missing = summary["attempts"] - summary["complete"]
    low, high = summary["valid_rate_95ci"]
    log(f"{summary['valid']}/{songs_count} songs valid ({100 * summary['valid_rate']:.0f}%, 95% CI "
        f"{100 * low:.0f}-{100 * high:.0f}%)"
        + (f"; {missing} sample(s) held no complete song" if missing else ""))
    if summary["valid_without_audio"]:
        log(f"{summary['valid_without_audio']} valid song(s) wrote a MIDI file that a MIDI reader rejects "
            "(see audio_error in summary.json); they have no .wav")
    if "held_out_real_tunes" in summary:
        real = summary["held_out_real_tunes"]
        log(f"real held-out tunes, same check: {real['valid']}/{real['attempts']} valid "
            f"({100 * real['valid_rate']:.0f}%); generated/real = {summary['valid_rate_vs_real']:.2f}")
    if every_song:
        _log_later_songs(summary, log)
    log(f"stricter: {summary['plays']}/{songs_count} songs also play like a tune (a MIDI reader accepts the file, "
        f"at most {audio.MAX_NOTES_AT_ONCE} notes start together)"
        + (f"; real held-out tunes {real['plays']}/{real['attempts']}" if "held_out_real_tunes" in summary else ""))
    copied = summary["novelty_of_valid_songs"]
    if copied.get("songs"):
        log(f"novelty: longest passage copied from training tunes {copied['mean_longest_copy_chars']:.0f} chars "
            f"on average, {100 * copied['mean_ngram16_copied']:.0f}% of 16-character runs seen in training, "
            f"{copied['verbatim_copies']} verbatim copies")
    log(f"files: {out}")
    summary["out_dir"] = str(out)
    return summary


def _log_later_songs(summary, log):
    later = summary["later_songs"]
    if not later["attempts"]:
        log("every song: no sample held a second complete song")
        return

    def rates(counts):
        return " / ".join(f"{100 * valid / total:.0f}%" if total else "-" for valid, total in counts)

    edges = LENGTH_EDGES
    ranges = " / ".join([f"<{edges[0]}"] + [f"{a}-{b - 1}" for a, b in zip(edges, edges[1:])] + [f">={edges[-1]}"])
    adjusted = later["valid_rate_at_first_song_lengths"]
    real = summary.get("held_out_real_tunes", {}).get("valid_rate")
    log(f"every song: {later['valid']}/{later['attempts']} later songs valid ({100 * later['valid_rate']:.0f}%); "
        f"by music length ({ranges} characters) first songs {rates(later['first_songs_by_length'])}, "
        f"later songs {rates(later['later_songs_by_length'])}"
        + (f"; later songs at the first songs' mix of lengths {100 * adjusted:.0f}%" if adjusted is not None else "")
        + (f" (generated/real {adjusted / real:.2f})" if adjusted is not None and real else ""))
