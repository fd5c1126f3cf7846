"""Judging generated songs: valid (music21 parses it and writes MIDI), playable, novel; rates by length.

A song is valid when music21 parses it and writes a MIDI file
(`mit_dl.music.songs.check_song`); it also *plays* when its MIDI file passes
`mit_dl.music.audio.playing_problem`. The held-out real tunes judged the
same way give the baseline a generated valid rate is compared with; that
judgement is cached beside the export (`held_out_baseline`). `pooled_row`,
`training_seed_groups` and `comparison_table` make the table of
``mit-dl music compare``.
"""

import bisect
import hashlib
import json
import pathlib
import tempfile

from mit_dl import evaluation
from mit_dl.music import audio, novelty, songs
from mit_dl.progress import Ticker
from mit_dl.training.runs import write_json

# Ranges of music length (characters of a tune's music lines) for valid rates by length: validity
# falls with length, and which songs get judged depends on it (see `judge_later_songs`).
LENGTH_EDGES = (150, 250, 400)
BASELINE_CACHE = "held_out_judged.json"
# Bump when the judgement of a song changes, so that cached baselines are judged again.
JUDGE_VERSION = 1
BASELINE_FIELDS = (
    "attempts",
    "valid",
    "valid_rate",
    "valid_rate_95ci",
    "plays",
    "plays_rate",
    "novelty_of_valid_songs",
)


def judge_songs(
    candidates,
    attempts,
    out_dir=None,
    reference=None,
    soundfont="auto",
    names=None,
    progress=None,
    seconds_per_song=songs.SECONDS_PER_SONG,
):
    """Validate songs, check that valid ones play, measure novelty and (with ``out_dir``) write the files.

    A valid song (`songs.check_song`) also *plays* when its MIDI file passes
    `audio.playing_problem`.

    Args:
        candidates: one song (or ``None`` when a sample had no complete song) per attempt.
        attempts: the number of attempts the rates are out of.
        out_dir: where ``.abc`` / ``.mid`` / ``.wav`` files go (default: nowhere kept).
        reference: a `novelty.TrainingText` to measure copying against, or ``None``.
        soundfont: as `audio.render_wav` takes it.
        names: the files' names (default ``song_00``, ``song_01``, ...).
        progress: ``progress(line)`` hears how far the judging is, every few seconds (`mit_dl.progress.Ticker`).
        seconds_per_song: seconds music21 may take with one song before it counts as invalid.

    Returns:
        The summary: counts and rates with 95% intervals, one entry per song, novelty.
    """
    entries, novelty_reports = [], []
    with tempfile.TemporaryDirectory() as scratch:
        folder = pathlib.Path(out_dir) if out_dir else pathlib.Path(scratch)
        ticker = Ticker(len(candidates), "judged", say=progress) if progress else None
        for i, song in enumerate(candidates):
            if ticker is not None:
                ticker.update(i)
            entry = {"sample": i}
            if song is None:
                entry.update(valid=False, plays=False, error="no complete song in the generated text")
                entries.append(entry)
                continue
            stem = folder / (names[i] if names else f"song_{i:02d}")
            if out_dir:
                stem.parent.mkdir(parents=True, exist_ok=True)
                stem.with_suffix(".abc").write_text(song + "\n", encoding="utf-8")
            check = songs.check_song(song, midi_path=stem.with_suffix(".mid"), seconds_limit=seconds_per_song)
            entry.update(
                valid=check.valid,
                notes=check.notes,
                seconds=round(check.seconds, 2),
                music_chars=len(songs.header_and_body(song)[1]),
            )
            if check.error:
                entry["error"] = check.error
            problem = audio.playing_problem(stem.with_suffix(".mid")) if check.valid else "not valid"
            entry["plays"] = not problem
            if check.valid and problem:
                entry["playing_problem"] = problem
            if check.valid and out_dir:
                try:
                    entry["audio"] = audio.render_wav(
                        stem.with_suffix(".mid"), stem.with_suffix(".wav"), soundfont=soundfont
                    )
                except audio.UnreadableMidiError as error:  # valid by the check, but not playable: reported
                    entry["audio_error"] = str(error)
            if reference is not None:
                entry["novelty"] = reference.report(song)
                if check.valid:
                    novelty_reports.append(entry["novelty"])
            entries.append(entry)
    valid = sum(e["valid"] for e in entries)
    plays = sum(e["plays"] for e in entries)
    return {
        "attempts": attempts,
        "complete": sum(s is not None for s in candidates),
        "valid": valid,
        "valid_rate": valid / attempts if attempts else 0.0,
        "valid_rate_95ci": list(evaluation.wilson_interval(valid, attempts)) if attempts else None,
        "plays": plays,
        "plays_rate": plays / attempts if attempts else 0.0,
        "valid_without_audio": sum("audio_error" in e for e in entries),
        "novelty_of_valid_songs": novelty.summarise(novelty_reports),
        "songs": entries,
    }


def valid_by_length(entries, edges=LENGTH_EDGES):
    """Valid songs per range of music length.

    Args:
        entries: judged songs (`judge_songs`' ``"songs"``).
        edges: the ranges' bounds: ``< edges[0]``, ..., ``>= edges[-1]``.

    Returns:
        ``[valid, songs]`` per range.
    """
    counts = [[0, 0] for _ in range(len(edges) + 1)]
    for entry in entries:
        if "music_chars" in entry:  # a sample with no complete song has no length
            bucket = counts[bisect.bisect_right(edges, entry["music_chars"])]
            bucket[0] += entry["valid"]
            bucket[1] += 1
    return counts


def rate_at_lengths_of(counts, reference_counts):
    """Valid rate of ``counts`` with its length ranges weighted as in ``reference_counts``.

    Ranges empty in either are left out.

    Args:
        counts: `valid_by_length` of the songs rated.
        reference_counts: `valid_by_length` of the songs whose mix of lengths is used.

    Returns:
        The weighted rate, or ``None`` when no range is shared.
    """
    shared = [(c, r) for c, r in zip(counts, reference_counts) if c[1] and r[1]]
    weight = sum(r[1] for _, r in shared)
    return sum(r[1] * c[0] / c[1] for c, r in shared) / weight if weight else None


def judge_later_songs(
    songs_per_sample, first_entries, out_dir=None, reference=None, soundfont="auto", seconds_per_song=None
):
    """Judge the 2nd, 3rd, ... complete song of every sample, as files ``song_XX_K``.

    The course's notebook extracts every song of a generated text. Their raw
    valid rate is not comparable with the first songs': a long song is more
    often cut off by the end of the text and dropped, and long songs are less
    often valid. So the summary also gives valid rates by music length
    (`valid_by_length`, first and later songs) and the later songs' rate at
    the first songs' mix of lengths (`rate_at_lengths_of`). Its 95% interval
    groups the songs by sample (`evaluation.grouped_wilson_interval`).

    Args:
        songs_per_sample: every complete song of each sample.
        first_entries: `judge_songs`' entries of the first songs.
        out_dir: where the files go.
        reference: a `novelty.TrainingText`, or ``None``.
        soundfont: as `audio.render_wav` takes it.
        seconds_per_song: as `judge_songs` takes it (default its default).

    Returns:
        The later songs' summary.
    """
    later = [(i, k, song) for i, found in enumerate(songs_per_sample) for k, song in enumerate(found[1:], start=2)]
    summary = judge_songs(
        [song for _, _, song in later],
        len(later),
        out_dir,
        reference,
        soundfont,
        names=[f"song_{i:02d}_{k}" for i, k, _ in later],
        seconds_per_song=seconds_per_song or songs.SECONDS_PER_SONG,
    )
    # Songs of one sample share its history, so the interval treats each sample as a group.
    valid_in_sample, later_in_sample = [0] * len(songs_per_sample), [0] * len(songs_per_sample)
    for entry, (i, k, _) in zip(summary["songs"], later):
        entry.update(sample=i, position=k)
        valid_in_sample[i] += entry["valid"]
        later_in_sample[i] += 1
    if later:
        summary["valid_rate_95ci"] = list(evaluation.grouped_wilson_interval(valid_in_sample, later_in_sample))
    first, others = valid_by_length(first_entries), valid_by_length(summary["songs"])
    summary.update(
        length_edges=list(LENGTH_EDGES),
        first_songs_by_length=first,
        later_songs_by_length=others,
        valid_rate_at_first_song_lengths=rate_at_lengths_of(others, first),
    )
    return summary


def held_out_baseline(tunes, reference, cache_dir=None, log=None):
    """The held-out real tunes judged like generated songs (`judge_songs`), cached in ``cache_dir``.

    The cache (``held_out_judged.json``) is keyed by the tunes' text and
    `JUDGE_VERSION`, so an export judges its tunes once; a folder that cannot
    be written just goes uncached.

    Args:
        tunes: the held-out tunes.
        reference: a `novelty.TrainingText`.
        cache_dir: the export's folder, or ``None``.
        log: receives progress lines, or ``None``.

    Returns:
        The real tunes' summary.
    """
    key = hashlib.sha256(("\n\n".join(tunes) + f"\n{JUDGE_VERSION}").encode("utf-8")).hexdigest()
    cache = pathlib.Path(cache_dir) / BASELINE_CACHE if cache_dir else None
    if cache is not None and cache.is_file():
        cached = json.loads(cache.read_text())
        if cached.get("key") == key:
            return cached["baseline"]
    if log:
        log(f"judging the {len(tunes)} held-out real tunes with music21 (once per export) ...")
    real = judge_songs(tunes, len(tunes), reference=reference, progress=log)
    baseline = {k: real[k] for k in BASELINE_FIELDS}
    if cache is not None:
        try:
            write_json(cache, {"key": key, "baseline": baseline})
        except OSError:
            pass  # a read-only export: judged again next time
    return baseline


def log_later_songs(summary, log):
    """Say the later songs' valid rates, overall and by music length, in one line.

    Args:
        summary: `generate`'s summary with ``"later_songs"``.
        log: where the line goes.
    """
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
    log(
        f"every song: {later['valid']}/{later['attempts']} later songs valid ({100 * later['valid_rate']:.0f}%); "
        f"by music length ({ranges} characters) first songs {rates(later['first_songs_by_length'])}, "
        f"later songs {rates(later['later_songs_by_length'])}"
        + (f"; later songs at the first songs' mix of lengths {100 * adjusted:.0f}%" if adjusted is not None else "")
        + (f" (generated/real {adjusted / real:.2f})" if adjusted is not None and real else "")
    )


def pooled_row(label, metadata, temperature, summaries):
    """One export at one temperature: the first songs of every sampling seed pooled into one row.

    Args:
        label: the export's name in the table.
        metadata: the export's ``metadata.json``.
        temperature: the sampling temperature.
        summaries: `mit_dl.music.generate.generate` summaries, one per sampling seed.

    Returns:
        The row: valid counts and rate with a 95% interval, the real tunes' rate, their ratio,
        playable songs, held-out bits and the valid songs' novelty.
    """
    config = metadata.get("config", {})
    valid = sum(s["valid"] for s in summaries)
    attempts = sum(s["attempts"] for s in summaries)
    real = summaries[0].get("held_out_real_tunes")
    rate = valid / attempts
    reports = [e["novelty"] for s in summaries for e in s["songs"] if e["valid"] and "novelty" in e]
    return {
        "model": label,
        "architecture": metadata.get("architecture", "lstm"),
        "preset": config.get("preset"),
        "training_seed": config.get("seed"),
        "config": config,
        "held_out_bits": metadata.get("loss_per_character", {}).get("val_bits"),
        "temperature": temperature,
        "valid": valid,
        "attempts": attempts,
        "valid_per_seed": [s["valid"] for s in summaries],
        "valid_rate": rate,
        "valid_rate_95ci": list(evaluation.wilson_interval(valid, attempts)),
        "real_valid_rate": real["valid_rate"] if real else None,
        "valid_rate_vs_real": rate / real["valid_rate"] if real and real["valid_rate"] else None,
        "plays": sum(s["plays"] for s in summaries),
        "novelty_of_valid_songs": novelty.summarise(reports),
    }


def training_seed_groups(rows):
    """Rows that differ only in the training seed: each run's generated / real ratio and their mean.

    Args:
        rows: `pooled_row` results.

    Returns:
        One entry per group of two or more rows.
    """
    groups = {}
    for row in rows:
        key = json.dumps({**row["config"], "seed": None, "data": None}, sort_keys=True) + f"|{row['temperature']}"
        groups.setdefault(key, []).append(row)
    summary = []
    for members in groups.values():
        ratios = [r["valid_rate_vs_real"] for r in members if r["valid_rate_vs_real"] is not None]
        if len(members) > 1 and ratios:
            bits = [r["held_out_bits"] for r in members if r["held_out_bits"] is not None]
            summary.append(
                {
                    "models": [r["model"] for r in members],
                    "architecture": members[0]["architecture"],
                    "preset": members[0]["preset"],
                    "temperature": members[0]["temperature"],
                    "mean_valid_rate_vs_real": sum(ratios) / len(ratios),
                    "valid_rate_vs_real": ratios,
                    "mean_held_out_bits": sum(bits) / len(bits) if bits else None,
                }
            )
    return summary


def row_line(row):
    """A row of `pooled_row` as one progress line.

    Args:
        row: the row.

    Returns:
        The line.
    """
    low, high = row["valid_rate_95ci"]
    ratio = row["valid_rate_vs_real"]
    return (
        f"{row['model']} ({row['architecture']} {row['preset']}) T={row['temperature']:g}: "
        f"{row['valid']}/{row['attempts']} valid first songs ({100 * row['valid_rate']:.0f}%, "
        f"{100 * low:.0f}-{100 * high:.0f}%)" + (f", generated/real {ratio:.2f}" if ratio is not None else "")
    )


def comparison_table(result):
    """The comparison as Markdown: one row per export and temperature, then the means over training seeds.

    Args:
        result: ``{"rows": [pooled_row...], "groups": [training_seed_groups...]}``.

    Returns:
        The Markdown text (``compare.md``).
    """
    lines = [
        "| model | architecture, preset | T | held-out bits/char | valid first songs | generated / real "
        "| plays like a tune | longest copy, 16-char runs from training, verbatim copies |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in result["rows"]:
        low, high = row["valid_rate_95ci"]
        copied = row["novelty_of_valid_songs"]
        novel = (
            f"{copied['mean_longest_copy_chars']:.0f} chars, {100 * copied['mean_ngram16_copied']:.1f}%, "
            f"{copied['verbatim_copies']}"
            if copied.get("songs")
            else "-"
        )
        bits = f"{row['held_out_bits']:.2f}" if row["held_out_bits"] is not None else "-"
        ratio = f"{row['valid_rate_vs_real']:.2f}" if row["valid_rate_vs_real"] is not None else "-"
        lines.append(
            f"| {row['model']} | {row['architecture']} {row['preset']} | {row['temperature']:g} | {bits} | "
            f"{'+'.join(map(str, row['valid_per_seed']))} = {row['valid']}/{row['attempts']} = "
            f"{100 * row['valid_rate']:.0f}% ({100 * low:.0f}-{100 * high:.0f}%) | {ratio} | "
            f"{row['plays']}/{row['attempts']} | {novel} |"
        )
    if result["groups"]:
        lines += [
            "",
            "| architecture, preset | T | training runs | generated / real, each | mean | held-out bits, mean |",
            "|---|---|---|---|---|---|",
        ]
        for group in result["groups"]:
            each = ", ".join(f"{r:.2f}" for r in group["valid_rate_vs_real"])
            bits = f"{group['mean_held_out_bits']:.2f}" if group["mean_held_out_bits"] is not None else "-"
            lines.append(
                f"| {group['architecture']} {group['preset']} | {group['temperature']:g} | {len(group['models'])} | "
                f"{each} | **{group['mean_valid_rate_vs_real']:.2f}** | {bits} |"
            )
    return "\n".join(lines) + "\n"
