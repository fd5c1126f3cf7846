"""`mit-dl music train|generate` end to end: resume, export, songs, audio, bad input."""

import json
import re
import signal
import subprocess
import sys
import time
import types

import pytest
from support import interrupted_mit_dl, mit_dl_in_process, run_fresh_python, run_mit_dl

from mit_dl import evaluation
from mit_dl.music import audio, judging, sampler, songs, train
from mit_dl.music import data as music_data

STEPS = 150


@pytest.fixture(scope="module")
def tune_file(tmp_path_factory):
    """120 real tunes: a small corpus so each test run trains in seconds."""
    path = tmp_path_factory.mktemp("data") / "tunes.abc"
    path.write_text(music_data.join_tunes(music_data.load_tunes()[:120]) + "\n")
    return path


def _train_args(tune_file, out):
    return [
        "music",
        "train",
        "--preset",
        "quick",
        "--data",
        str(tune_file),
        "--steps",
        str(STEPS),
        "--checkpoint-every",
        "25",
        # A smaller LSTM on shorter windows than the quick preset's: each run here takes seconds.
        "--rnn-units",
        "128",
        "--batch-size",
        "16",
        "--sequence-length",
        "50",
        "--out",
        str(out),
    ]


@pytest.fixture(scope="module")
def straight_run(tune_file, tmp_path_factory):
    out = tmp_path_factory.mktemp("straight")
    result = run_mit_dl(*_train_args(tune_file, out))
    assert result.returncode == 0, result.stderr[-3000:]
    return out


def test_training_writes_checkpoints_metrics_and_the_generator(straight_run):
    metrics = json.loads((straight_run / "metrics.json").read_text())
    per_char = metrics["loss_per_character"]
    assert metrics["config"]["steps"] == STEPS and metrics["tunes"]["held_out"] == 12
    assert per_char["val_bits"] == pytest.approx(per_char["val_nats"] / 0.6931471805599453)
    assert per_char["val_nats"] < 0.8 * per_char["uniform_nats"]  # learned well beyond a uniform guess
    assert (straight_run / "checkpoints" / "checkpoint").exists()
    assert json.loads((straight_run / "logs" / "history.json").read_text())["val_loss"]
    assert (straight_run / "training_curves.png").stat().st_size > 5000
    meta = json.loads((straight_run / "generator" / "metadata.json").read_text())
    assert meta["config"]["preset"] == "quick" and len(meta["vocabulary"]) == metrics["vocabulary_size"]
    assert meta["config"] == metrics["config"] and meta["kind"] == "music generator"
    held_out = music_data.split_tunes((straight_run / "generator" / train.HELD_OUT_TUNES_FILE).read_text())
    trained_on = music_data.split_tunes((straight_run / "generator" / train.TRAIN_TUNES_FILE).read_text())
    assert len(held_out) == 12 and len(trained_on) == 108 and not set(held_out) & set(trained_on)


def test_killed_training_resumes_and_ends_like_an_uninterrupted_run(tune_file, straight_run, tmp_path):
    out = tmp_path / "killed"
    command = [str(__import__("pathlib").Path(sys.executable).parent / "mit-dl"), *_train_args(tune_file, out)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while not list((out / "checkpoints").glob("ckpt-50.index")) and time.time() < deadline:
        time.sleep(0.2)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert list((out / "checkpoints").glob("ckpt-50.index")), "no checkpoint appeared before the kill"
    assert not (out / "metrics.json").exists()  # it really died mid-run
    result = run_mit_dl(*_train_args(tune_file, out))
    assert result.returncode == 0, result.stderr[-3000:]
    assert "resumed from" in result.stdout
    resumed = json.loads((out / "metrics.json").read_text())["loss_per_character"]
    straight = json.loads((straight_run / "metrics.json").read_text())["loss_per_character"]
    assert resumed["val_nats"] == pytest.approx(straight["val_nats"], rel=1e-5)


def test_sigint_saves_a_checkpoint_at_the_current_step_and_the_rerun_ends_like_an_uninterrupted_run(
    tune_file, straight_run, tmp_path
):
    out = tmp_path / "interrupted"
    args = _train_args(tune_file, out)
    args[args.index("--checkpoint-every") + 1] = "1000"  # no scheduled checkpoint before the end
    returncode, stderr = interrupted_mit_dl(args, signal.SIGINT, after_seconds=3)
    assert returncode == 130, stderr[-3000:]
    found = re.search(
        r"training interrupted \(SIGINT\) at step (\d+); checkpoint saved in (\S+); run the same "
        r"command to resume",
        stderr,
    )
    assert found and "Traceback" not in stderr, stderr[-3000:]
    step = int(found.group(1))
    assert 0 < step < STEPS and (out / "checkpoints" / f"ckpt-{step}.index").exists()
    result = run_mit_dl(*args)
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"resuming from its checkpoint at step {step}" in result.stdout
    resumed = json.loads((out / "metrics.json").read_text())["loss_per_character"]
    straight = json.loads((straight_run / "metrics.json").read_text())["loss_per_character"]
    assert resumed["val_nats"] == pytest.approx(straight["val_nats"], rel=1e-5)


def test_resuming_with_other_headers_is_refused_before_training(tune_file, straight_run):
    settings = json.loads((straight_run / "settings.json").read_text())
    assert (
        settings["config"]["headers"] == "musical"
        and settings["derived"]["vocabulary"]
        == json.loads((straight_run / "generator" / "metadata.json").read_text())["vocabulary"]
    )
    result = run_mit_dl(*_train_args(tune_file, straight_run), "--headers", "all")
    assert result.returncode == 2
    assert "--headers: 'musical' then, 'all' now" in result.stderr and "Traceback" not in result.stderr
    assert "run directory" not in result.stdout  # refused before the run is resumed
    trained_on = (straight_run / "generator" / train.TRAIN_TUNES_FILE).read_text()
    assert "\nK:" in trained_on and not any(line.startswith(("B:", "N:", "Z:")) for line in trained_on.splitlines())


def test_mixed_float16_training_scales_the_loss_exports_and_refuses_a_float32_resume(tune_file, tmp_path):
    import tensorflow as tf

    out = tmp_path / "mixed"
    # LSTM(64): float16 is emulated on a CPU; loss scaling and the float32 logits do not depend on the width.
    result = run_mit_dl(*_train_args(tune_file, out), "--precision", "mixed_float16", "--rnn-units", "64")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "mixed_float16 precision" in result.stdout
    metrics = json.loads((out / "metrics.json").read_text())
    per_char = metrics["loss_per_character"]
    assert metrics["config"]["precision"] == "mixed_float16"
    assert per_char["val_nats"] < 0.8 * per_char["uniform_nats"]
    saved = [name for name, _ in tf.train.list_variables(str(out / "checkpoints"))]
    assert any("dynamic_scale" in name for name in saved)  # the Trainer wrapped Adam in loss scaling
    code = f"""
        import tensorflow as tf
        g = tf.saved_model.load({str(out / "generator")!r})
        args = (tf.constant("X:"), tf.constant(80), tf.constant(1.0), tf.constant(3, tf.int64))
        a, b = g.generate(*args)["text"].numpy(), g.generate(*args)["text"].numpy()
        assert a == b and len(a.decode()) == 80
    """
    run_fresh_python(code)
    refused = run_mit_dl(*_train_args(tune_file, out), "--rnn-units", "64")
    assert refused.returncode == 2 and "--precision: 'mixed_float16' then, 'float32' now" in refused.stderr


def test_training_windows_can_replace_the_presets_and_a_resume_must_repeat_them(tune_file, straight_run, tmp_path):
    out = tmp_path / "long-windows"
    args = ["music", "train", "--preset", "quick", "--data", str(tune_file), "--steps", "20", "--out", str(out)]
    result = run_mit_dl(*args, "--sequence-length", "60", "--batch-size", "4")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "20 steps of batch 4 x 60" in result.stdout
    config = json.loads((out / "metrics.json").read_text())["config"]
    assert (config["sequence_length"], config["batch_size"], config["rnn_units"]) == (60, 4, 256)
    assert json.loads((out / "generator" / "metadata.json").read_text())["config"] == config
    refused = run_mit_dl(*args)
    assert refused.returncode == 2
    assert "--batch-size: 4 then, 32 now; --sequence-length: 60 then, 100 now" in refused.stderr


def test_a_changed_preset_value_is_refused_on_resume_naming_the_field(tune_file, straight_run):
    refused = run_mit_dl(*_train_args(tune_file, straight_run), "--rnn-units", "64")
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert "--rnn-units: 128 then, 64 now" in refused.stderr
    # The library speaks in its own names: the same refusal from Python names the config field.
    from mit_dl.errors import RunMismatch
    from mit_dl.music import MusicConfig

    config = MusicConfig.from_preset(
        "quick",
        data=str(tune_file),
        steps=STEPS,
        checkpoint_every=25,
        rnn_units=128,
        batch_size=16,
        sequence_length=50,
        learning_rate=1e-3,
    )
    with pytest.raises(RunMismatch, match=r"\(learning_rate: 0.005 then, 0.001 now\)"):
        train.train(config, straight_run, log=lambda _: None)


def test_more_steps_resume_and_fewer_steps_than_the_checkpoint_are_refused(tune_file, straight_run):
    args = _train_args(tune_file, straight_run)
    args[args.index("--steps") + 1] = "100"
    fewer = run_mit_dl(*args)
    assert fewer.returncode == 2 and "Traceback" not in fewer.stderr
    assert f"--steps is 100 but the checkpoint in {straight_run / 'checkpoints'} is already at step {STEPS}" in (
        fewer.stderr
    )


def test_a_legacy_run_directory_resumes_with_the_values_its_preset_had(tune_file, tmp_path):
    """settings.json written by release 0.1.0 (a preset's name, not its values) still resumes."""
    import shutil

    from support import FIXTURES

    out = tmp_path / "legacy"
    shutil.copytree(FIXTURES / "runs-0.1.0" / "music-quick", out)
    legacy = json.loads((out / "settings.json").read_text())
    tunes = tmp_path / "tunes30.abc"
    tunes.write_text(music_data.join_tunes(music_data.load_tunes()[:30]) + "\n")
    legacy["data"] = str(tunes.resolve())
    (out / "settings.json").write_text(json.dumps(legacy))
    args = ["music", "train", "--preset", "quick", "--data", str(tunes), "--steps", "3", "--out", str(out)]
    refused = run_mit_dl(*args)  # the legacy run recorded --sequence-length 50, a departure from the preset
    assert refused.returncode == 2 and "--sequence-length: 50 then, 100 now" in refused.stderr
    accepted = run_mit_dl(*args, "--sequence-length", "50")
    assert accepted.returncode == 0, accepted.stderr[-3000:]
    rewritten = json.loads((out / "settings.json").read_text())
    assert rewritten["format"] == 2 and rewritten["config"]["rnn_units"] == 256
    assert rewritten["derived"]["vocabulary"] == legacy["vocabulary"]


def test_generate_reports_samples_without_a_complete_song(straight_run, tmp_path):
    """150 steps are too few to write whole tunes: reported in the summary, not a crash."""
    result = run_mit_dl(
        "music",
        "generate",
        "--model",
        str(straight_run / "generator"),
        "--songs",
        "3",
        "--length",
        "300",
        "--seed",
        "1",
        "--batch",
        "2",
        "--every-song",
        "--out",
        str(tmp_path),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["attempts"] == 3 and len(summary["songs"]) == 3
    assert summary["valid"] == sum(s["valid"] for s in summary["songs"])
    missing = [s for s in summary["songs"] if s.get("error") == "no complete song in the generated text"]
    assert len(missing) == 3 - summary["complete"]
    assert "held no complete song" in result.stdout or summary["complete"] == 3
    texts = sorted(tmp_path.glob("sample_*.txt"))
    assert len(texts) == 3 and all(t.read_text().startswith("X:") and len(t.read_text()) == 302 for t in texts)
    real = summary["held_out_real_tunes"]
    assert real["attempts"] == 12 and real["valid_rate"] > 0.5
    assert summary["plays"] <= summary["valid"] and 0 < real["plays"] <= real["valid"]
    assert sum(e["plays"] for e in summary["songs"]) == summary["plays"]
    assert "songs also play like a tune" in result.stdout and f"real held-out tunes {real['plays']}/12" in result.stdout
    for rates in (summary, real):  # Wilson intervals: around the rate, inside [0, 1], wider for 3 than for 12
        low, high = rates["valid_rate_95ci"]
        assert 0 <= low <= rates["valid_rate"] <= high <= 1
    widths = [rates["valid_rate_95ci"][1] - rates["valid_rate_95ci"][0] for rates in (summary, real)]
    assert widths[0] > widths[1]
    assert "95% CI" in result.stdout
    assert "judging the 12 held-out real tunes" in result.stdout  # once per export, then cached beside it
    cache = json.loads((straight_run / "generator" / judging.BASELINE_CACHE).read_text())
    assert cache["baseline"] == real
    again = run_mit_dl(
        "music",
        "generate",
        "--model",
        str(straight_run / "generator"),
        "--songs",
        "1",
        "--length",
        "50",
        "--out",
        str(tmp_path / "again"),
    )
    assert again.returncode == 0, again.stderr[-3000:]
    assert "judging the" not in again.stdout
    assert json.loads((tmp_path / "again" / "summary.json").read_text())["held_out_real_tunes"] == real

    import tensorflow as tf  # each sample's recorded RNG seed redraws it from the export (sample 2: 2nd call)

    generator = tf.saved_model.load(str(straight_run / "generator"))
    entry = summary["songs"][2]
    redrawn = (
        generator.generate(
            tf.constant("X:"), tf.constant(300), tf.constant(1.0), tf.constant(entry["rng_seed"], tf.int64)
        )["text"]
        .numpy()
        .decode()
    )
    assert "X:" + redrawn == texts[2].read_text()

    later = summary["later_songs"]  # --every-song: each sample's songs after its first
    found = [songs.extract_songs(t.read_text()) for t in texts]
    assert later["attempts"] == sum(max(0, len(f) - 1) for f in found) == len(later["songs"])
    assert "every song:" in result.stdout


def test_sample_seeds_are_fixed_per_sample_and_not_shared_between_run_seeds():
    first, second = sampler.sample_seeds(0, 100), sampler.sample_seeds(1, 100)
    assert sampler.sample_seeds(0, 50) == first[:50]  # more songs extend the same draw
    assert len(set(first)) == 100 and not set(first) & set(second)
    assert not set(sampler.sample_seeds(-1, 100)) & set(first)
    assert all(0 <= s < 2**63 for s in first + second)


def test_batched_generation_gives_the_songs_drawn_one_at_a_time(straight_run):
    import tensorflow as tf

    generator = tf.saved_model.load(str(straight_run / "generator"))

    only_generate = types.SimpleNamespace(generate=generator.generate)  # exported before `generate_many`
    seeds = sampler.sample_seeds(3, 5)
    one_by_one = sampler.generate_texts(only_generate, seeds, 120, 1.0)
    assert sampler.generate_texts(generator, seeds, 120, 1.0, batch=2) == one_by_one  # chunks of 2, 2, 1
    assert sampler.generate_texts(generator, seeds, 120, 1.0) == one_by_one
    assert len(set(one_by_one)) == 5 and all(t.startswith("X:") and len(t) == 122 for t in one_by_one)


def test_generation_is_reproducible_from_the_export_alone(straight_run):
    code = f"""
        import sys, tensorflow as tf
        g = tf.saved_model.load({str(straight_run / "generator")!r})
        args = (tf.constant("X:"), tf.constant(80), tf.constant(1.0), tf.constant(5, tf.int64))
        a, b = g.generate(*args)["text"].numpy(), g.generate(*args)["text"].numpy()
        assert a == b and len(a.decode()) == 80
        assert not any(m.startswith("mit_dl") for m in sys.modules)
        print(a.decode())
    """
    assert run_fresh_python(code).strip()


def test_valid_songs_are_written_as_abc_midi_and_wav(tmp_path):
    tunes = music_data.load_tunes()[:3]
    summary = judging.judge_songs(tunes + [None], 4, out_dir=tmp_path, soundfont=None)
    assert summary["complete"] == 3 and summary["attempts"] == 4
    valid = [s for s in summary["songs"] if s["valid"]]
    assert summary["valid"] == len(valid) >= 2
    for entry in valid:
        stem = tmp_path / f"song_{entry['sample']:02d}"
        assert stem.with_suffix(".abc").read_text().startswith("X:")
        assert stem.with_suffix(".mid").read_bytes()[:4] == b"MThd"
        sound, rate = audio.read_wav(stem.with_suffix(".wav"))
        assert abs(len(sound) / rate - entry["seconds"]) < 1.0 and abs(sound).max() > 0.5
    assert summary["songs"][3] == {
        "sample": 3,
        "valid": False,
        "plays": False,
        "error": "no complete song in the generated text",
    }
    assert summary["plays"] == sum(e["plays"] for e in valid) == len(valid)  # real tunes play


# Eight notes struck together: music21 reads and writes it, but no folk tune plays that.
STACKED_CHORD = "X:1\nT:Stack\nM:4/4\nL:1/8\nK:C\n[CEGBcegb] z4 cdef|g8|]"


def test_valid_songs_that_do_not_play_like_a_tune_are_counted_apart():
    tunes = music_data.load_tunes()[:2]
    summary = judging.judge_songs([STACKED_CHORD, REPEATS_THAT_EXPLODE, *tunes, "X:1\nK:C\n[[["], 5)
    assert [e["valid"] for e in summary["songs"]] == [True, True, True, True, False]
    assert [e["plays"] for e in summary["songs"]] == [False, False, True, True, False]
    assert (summary["valid"], summary["plays"], summary["plays_rate"]) == (4, 2, 0.4)
    assert "8 notes start at the same instant" in summary["songs"][0]["playing_problem"]
    assert "cannot be read as MIDI" in summary["songs"][1]["playing_problem"]
    assert "playing_problem" not in summary["songs"][4]  # invalid songs keep their own error


# Generated by the lab model (3,000 steps, seed 0), shortened: music21 parses it and writes a MIDI
# file, but expands its stray end-repeats into ~50 million ticks, which MIDI readers reject.
REPEATS_THAT_EXPLODE = """X: 390
T: Planxty as Shree Inspis Anns?
R:slipjig
M:9/8
L:1/8
K:Am
Agf gfe|fed d^cA|GFG EFA|GFG AGE|
|GDG G2B/c/|dcB ~A2A|Bde f2^g|(g/a/)e fde|
||g|e2e efg|aga efg|agf gfe|dff ece|
A|c2e cee|faf g2f|ecc cde|faf e=fd:|
{e}d-fd dfa|gfg fed|efg afa|gec dcd|cAB cec|
dcB cde|f'bf gfe|dBG GAd|(c/B/A)G A2:|
gag gfe|(d/e/f)d ced|A2B cde|fga cAF|
GBd cBA|GFG AFD|B,cA AGF|G>AG G2:|
(3efe dcB|cAc (B/A/G)A|d2c deg|
(fA)c BA>G|FGG G2:|"""


def test_every_song_judges_the_later_songs_of_each_sample_by_length(tmp_path):
    first_tune, second_tune, other_tune = music_data.load_tunes()[:3]
    broken = "X:1\nK:C\n[[["
    songs_per_sample = [[first_tune, second_tune, broken], [other_tune], []]
    first = judging.judge_songs([first_tune, other_tune, None], 3, out_dir=tmp_path, soundfont=None)
    later = judging.judge_later_songs(songs_per_sample, first["songs"], out_dir=tmp_path, soundfont=None)
    assert [(e["sample"], e["position"], e["valid"]) for e in later["songs"]] == [(0, 2, True), (0, 3, False)]
    assert (later["attempts"], later["valid"]) == (2, 1)
    assert later["valid_rate_95ci"] == pytest.approx(list(evaluation.grouped_wilson_interval([1, 0, 0], [2, 0, 0])))
    assert (tmp_path / "song_00_2.wav").exists() and (tmp_path / "song_00_3.abc").read_text() == broken + "\n"
    assert not (tmp_path / "song_00_3.wav").exists()
    assert later["songs"][0]["music_chars"] == len(songs.header_and_body(second_tune)[1])
    assert sum(n for _, n in later["first_songs_by_length"]) == 2  # the sample with no song has no length
    assert later["later_songs_by_length"][0] == [0, 1]  # the broken song: 3 characters of music
    expected = judging.rate_at_lengths_of(later["later_songs_by_length"], later["first_songs_by_length"])
    assert later["valid_rate_at_first_song_lengths"] == expected


def test_valid_rates_by_length_and_reweighted_to_another_mix_of_lengths():
    entries = [
        {"music_chars": n, "valid": v} for n, v in [(10, True), (149, False), (150, True), (399, True), (400, False)]
    ] + [{"valid": False}]
    assert judging.valid_by_length(entries) == [[1, 2], [1, 1], [1, 1], [0, 1]]
    counts, reference = [[9, 10], [1, 4], [0, 0], [0, 2]], [[1, 4], [3, 4], [2, 2], [0, 0]]
    # Only the first two ranges have songs in both, weighted 4 and 4: (0.9 + 0.25) / 2.
    assert judging.rate_at_lengths_of(counts, reference) == pytest.approx(0.575)
    assert judging.rate_at_lengths_of([[1, 1], [0, 0]], [[0, 0], [2, 3]]) is None


def test_a_valid_song_whose_midi_cannot_be_played_is_reported_not_a_crash(tmp_path):
    summary = judging.judge_songs([REPEATS_THAT_EXPLODE], 1, out_dir=tmp_path, soundfont=None)
    entry = summary["songs"][0]
    assert entry["valid"] and summary["valid"] == 1  # valid: music21 parses it and writes MIDI
    assert summary["valid_without_audio"] == 1 and "cannot be read as MIDI" in entry["audio_error"]
    assert not entry["plays"] and summary["plays"] == 0
    assert (tmp_path / "song_00.mid").exists() and not (tmp_path / "song_00.wav").exists()


@pytest.mark.parametrize(
    "args, message",
    [
        (
            ["music", "generate", "--model", "{run}/generator", "--seed-text", "X:1 €¥"],
            "--seed-text has characters ['¥', '€'] that are not in the generator's vocabulary",
        ),
        (["music", "generate", "--model", "{run}/generator", "--songs", "0"], "--songs must be a positive number"),
        (["music", "generate", "--model", "{run}/generator", "--batch", "0"], "--batch must be a positive number"),
        (["music", "generate", "--model", "{run}/nothing"], "is not a SavedModel export"),
        (
            ["music", "generate", "--model", "{run}/generator", "--soundfont", "{run}/x.sf2"],
            "x.sf2 does not exist; pass the path of a .sf2 file",
        ),
        (["music", "train", "--data", "{run}/no-such.abc"], "does not exist; pass an .abc file or a folder"),
        (["music", "train", "--data", "{run}/empty-folder"], "no .abc files found"),
        (["music", "train", "--steps", "0", "--out", "{run}/x"], "steps must be a positive number"),
        (
            ["music", "train", "--sequence-length", "0", "--out", "{run}/x"],
            "--sequence-length must be a positive number",
        ),
    ],
)
def test_cli_errors_are_one_line(straight_run, args, message):
    (straight_run / "empty-folder").mkdir(exist_ok=True)
    # In this process (no TensorFlow start-up each); the first case also as a fresh `mit-dl`.
    run = run_mit_dl if "€" in "".join(args) else mit_dl_in_process
    result = run(*[a.format(run=straight_run) for a in args])
    assert result.returncode == 2
    assert result.stderr.startswith("mit-dl: error:") and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "run directory" not in result.stdout  # named only once it exists
