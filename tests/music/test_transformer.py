"""The music transformer: causality, the key/value-cache sampler against recomputation, aligned windows,
training, export with int32 / int64 seeds, resume, bad input."""

import json
import math

import keras
import numpy as np
import pytest
import tensorflow as tf
from support import run_fresh_python, run_mit_dl

from mit_dl.errors import ConfigError
from mit_dl.music import GenerationConfig, MusicConfig, generate
from mit_dl.music import data as music_data
from mit_dl.music import train as music_train
from mit_dl.music.model import build_model, build_transformer_model
from mit_dl.music.sampler import RecomputeSampler, TransformerSampler, sampler_for
from mit_dl.training import Trainer

VOCAB = 20
CONTEXT = 16


def _model(tie=False, seed=0):
    keras.utils.set_random_seed(seed)
    model = build_transformer_model(
        VOCAB, CONTEXT, d_model=16, num_heads=2, num_layers=2, ff_dim=32, tie_embeddings=tie
    )
    for weight in model.weights:  # sharper distributions than at initialisation: draws depend on the logits
        weight.assign(weight * 1.5)
    return model


def test_logits_before_a_position_do_not_change_when_later_characters_change():
    model = _model()
    ids = np.random.default_rng(0).integers(0, VOCAB, (2, CONTEXT)).astype("int32")
    changed = ids.copy()
    changed[:, 10:] = (changed[:, 10:] + 1) % VOCAB
    before, after = model(ids).numpy(), model(changed).numpy()
    np.testing.assert_allclose(before[:, :10], after[:, :10], rtol=1e-5, atol=1e-5)
    assert not np.allclose(before[:, 10:], after[:, 10:])


@pytest.mark.parametrize("tie", [False, True], ids=["untied", "tied"])
def test_cached_sampler_draws_what_recomputing_the_window_draws(tie):
    model = _model(tie)
    cached, recompute = TransformerSampler(model), RecomputeSampler(model)
    seed_ids = tf.constant([[1, 2, 3]], tf.int32)
    # 60 characters with a context of 16: the window slides (keeps 12) four times.
    for seed in (5, 6):
        a = cached.generate_ids(seed_ids, 60, 1.0, tf.constant(seed, tf.int64)).numpy()
        b = recompute.generate_ids(seed_ids, 60, 1.0, tf.constant(seed, tf.int64)).numpy()
        np.testing.assert_array_equal(a, b)
    assert len(set(a[0].tolist())) > 5  # a real sample, not one repeated character
    # Step by step, the logits agree to rounding (float32: about 1e-6 of their size).
    logits, state = cached.prime(seed_ids)
    reference, reference_state = recompute.prime(seed_ids)
    if tie:
        return
    for token in a[0][:20]:  # past the first slide (3 + 13 characters fill the context)
        scale = np.abs(reference.numpy()).max()
        np.testing.assert_allclose(logits / scale, reference / scale, atol=1e-5)
        logits, state = cached._step(tf.constant([token]), state)
        reference, reference_state = recompute._step(tf.constant([token]), reference_state)
    rows = tf.constant(np.tile([[1, 2, 3]], (3, 1)), tf.int32)
    seeds = tf.constant([6, 7, 8], tf.int64)
    np.testing.assert_array_equal(cached.generate_rows(rows, 60, 1.0, seeds)[0], a[0])


def test_a_tiny_temperature_follows_the_argmax_path_through_slides():
    model = _model()
    sampler = TransformerSampler(model, keep=10)
    greedy = sampler.generate_ids(tf.constant([[4, 5]], tf.int32), 30, 1e-4, tf.constant(1, tf.int64)).numpy()[0]
    history = [4, 5]
    window_start = 0
    for token in greedy:
        window = history[window_start:]
        assert token == int(np.argmax(model(np.array([window], "int32"))[0, -1]))
        history.append(int(token))
        if len(history) - window_start > CONTEXT:  # the window was full: keep its last 10
            window_start = len(history) - 10


def test_a_seed_longer_than_the_context_is_refused():
    sampler = TransformerSampler(_model())
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"longer than the context of the model \(16 characters\)"):
        sampler.generate_ids(tf.ones((1, CONTEXT + 1), tf.int32), 5, 1.0, tf.constant(1, tf.int64))


def test_sampler_for_picks_the_models_sampler():
    assert isinstance(sampler_for(_model()), TransformerSampler)
    with pytest.raises(ValueError, match="keep must be between 1"):
        TransformerSampler(_model(), keep=CONTEXT)


def test_aligned_windows_start_at_a_tune_in_the_configured_share():
    tunes = music_data.load_tunes()[:200]
    text = music_data.join_tunes(tunes)
    starts = music_data.tune_offsets(tunes)
    assert all(text[i : i + 2] == "X:" for i in starts) and len(starts) == len(tunes)
    vocab = music_data.Vocabulary.from_text(text)
    ids, x_colon = vocab.encode(text), vocab.encode("X:")
    for share in (0.0, 0.3, 1.0):
        data = music_data.next_character_dataset(ids, 64, 50, seed=0, tune_starts=starts, aligned_share=share)
        windows = np.concatenate([x for x, _ in data.take(20)])
        opens = np.mean([(w[:2] == x_colon).all() for w in windows])
        # Random offsets open a tune about 1 time in 300 (200 tunes in 58,000 characters).
        assert abs(opens - share) < 0.05, (share, opens)
    twice = [
        np.concatenate(
            [
                x
                for x, _ in music_data.next_character_dataset(
                    ids, 64, 50, 3, tune_starts=starts, aligned_share=0.5
                ).take(3)
            ]
        )
        for _ in range(2)
    ]
    np.testing.assert_array_equal(*twice)  # seeded
    with pytest.raises(ValueError, match="aligned_share needs tune_starts"):
        music_data.next_character_dataset(ids, 64, 50, aligned_share=0.5)


def test_config_errors_name_the_field():
    with pytest.raises(ConfigError, match="num_heads must divide d_model \\(128\\), received 3"):
        MusicConfig.transformer("quick", num_heads=3)
    with pytest.raises(ConfigError, match="preset of the transformer must be one of quick, full"):
        MusicConfig.transformer("lab")
    with pytest.raises(ConfigError, match="aligned_share must be in"):
        MusicConfig.from_preset("lab", aligned_share=1.5)
    assert MusicConfig.from_preset("lab") == MusicConfig()  # the course's recipe is the default
    assert (
        MusicConfig.from_preset("lab-aligned").aligned_share == 0.5
        and MusicConfig.from_preset("lab-aligned").rnn_units == 1024
    )


@pytest.fixture(scope="module")
def tune_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "tunes.abc"
    path.write_text(music_data.join_tunes(music_data.load_tunes()[:150]) + "\n")
    return path


def _train_args(tune_file, out):
    return [
        "music",
        "train",
        "--model",
        "transformer",
        "--preset",
        "quick",
        "--data",
        str(tune_file),
        "--d-model",
        "64",
        "--num-heads",
        "2",
        "--num-layers",
        "2",
        "--ff-dim",
        "128",
        "--sequence-length",
        "160",
        "--learning-rate",
        "3e-3",
        "--warmup-steps",
        "10",
        "--steps",
        "100",
        "--eval-every",
        "50",
        "--checkpoint-every",
        "25",
        "--out",
        str(out),
    ]


@pytest.fixture(scope="module")
def transformer_run(tune_file, tmp_path_factory):
    out = tmp_path_factory.mktemp("transformer")
    result = run_mit_dl(*_train_args(tune_file, out))
    assert result.returncode == 0, result.stderr[-3000:]
    return out


def test_short_training_lowers_held_out_loss_well_below_a_uniform_guess(transformer_run):
    metrics = json.loads((transformer_run / "metrics.json").read_text())
    per_char = metrics["loss_per_character"]
    assert per_char["uniform_nats"] == pytest.approx(math.log(metrics["vocabulary_size"]))
    assert per_char["val_nats"] < 0.7 * per_char["uniform_nats"]
    meta = json.loads((transformer_run / "generator" / "metadata.json").read_text())
    assert meta["architecture"] == "transformer" and meta["context"] == 160
    assert meta["config"]["aligned_share"] == 0.5 and meta["config"]["model"] == "transformer"


def test_export_accepts_int32_and_int64_seeds_without_mit_dl(transformer_run):
    out = run_fresh_python(f"""
        import json, sys, tensorflow as tf
        g = tf.saved_model.load({str(transformer_run / "generator")!r})
        args = (tf.constant("X:"), tf.constant(300), tf.constant(1.0))
        wide = g.generate(*args, tf.constant(3, tf.int64))["text"].numpy().decode()
        narrow = g.generate(*args, tf.constant(3))["text"].numpy().decode()
        many = [t.decode() for t in g.generate_many(*args, tf.constant([3, 4]))["texts"].numpy()]
        errors = []
        for seed_text in ("X:" * 81, "X:1 @"):
            try:
                g.generate(tf.constant(seed_text), tf.constant(5), tf.constant(1.0), tf.constant(1))
                errors.append("no error")
            except Exception as e:
                errors.append(str(e))
        assert not any(m.startswith("mit_dl") for m in sys.modules)
        print(json.dumps({{"wide": wide, "narrow": narrow, "many": many, "errors": errors}}))
    """)
    served = json.loads(out.strip().splitlines()[-1])
    assert served["wide"] == served["narrow"] == served["many"][0] and len(served["wide"]) == 300
    assert served["many"][1] != served["wide"]
    assert "longer than the context of the model (160 characters)" in served["errors"][0]
    assert "not in the vocabulary" in served["errors"][1] and "@" in served["errors"][1]


def test_generate_refuses_a_seed_text_longer_than_the_context(transformer_run):
    with pytest.raises(ConfigError, match="has 161 characters, more than the generator's context of 160"):
        generate.generate(transformer_run / "generator", GenerationConfig(seed_text="X" * 161), log=lambda *_: None)


def test_a_resumed_run_continues_exactly_with_aligned_windows_and_the_schedule(tmp_path):
    """Trainer-level resume with the transformer's pieces: aligned windows, AdamW, warm-up and cosine decay.

    (The command's SIGINT / SIGKILL paths are the Trainer's, tested on the LSTM run in test_workflow.py.)
    """
    tunes = music_data.load_tunes()[:60]
    text = music_data.join_tunes(tunes)
    vocab = music_data.Vocabulary.from_text(text)
    config = MusicConfig.transformer(
        d_model=32, num_heads=2, num_layers=1, ff_dim=64, sequence_length=64, batch_size=8, steps=30, warmup_steps=5
    )

    def train(directory, steps):
        keras.utils.set_random_seed(0)
        model = build_model(len(vocab), config)
        data = music_data.next_character_dataset(
            vocab.encode(text), 64, 8, seed=0, tune_starts=music_data.tune_offsets(tunes), aligned_share=0.5
        )
        trainer = Trainer(model, checkpoint_dir=directory, checkpoint_every=10, verbose=False)
        trainer.fit(data, steps=steps, steps_per_epoch=10)
        return model

    straight = train(tmp_path / "straight", 30)
    train(tmp_path / "resumed", 20)  # stops at step 20, as a run interrupted there leaves its checkpoint
    resumed = train(tmp_path / "resumed", 30)
    for a, b in zip(straight.get_weights(), resumed.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_a_context_shorter_than_a_tune_header_is_refused(tune_file, tmp_path):
    config = MusicConfig.transformer(data=str(tune_file), sequence_length=40)
    with pytest.raises(ConfigError, match="must hold the longest tune header of the training tunes"):
        music_train.train(config, tmp_path / "short", log=lambda *_: None)
    assert not (tmp_path / "short").exists()  # refused before the run directory is made


def test_an_lstm_run_resumes_whatever_the_transformer_defaults_are(tune_file, tmp_path):
    config = MusicConfig.from_preset("quick", data=str(tune_file))
    unused = set(config.unused_fields())
    assert {"d_model", "num_heads"} <= unused and "rnn_units" not in unused
    assert "rnn_units" in MusicConfig.transformer().unused_fields()
    from mit_dl.training.runs import compared_settings

    assert compared_settings(config) == compared_settings(config.replace(d_model=64, num_heads=2))
    assert compared_settings(config) != compared_settings(config.replace(rnn_units=128))


def test_compare_checks_every_export_before_judging_any(transformer_run, tmp_path):
    from support import mit_dl_in_process

    models = [str(transformer_run / "generator"), str(tmp_path)]
    refused = mit_dl_in_process("music", "compare", "--models", *models, "--out", tmp_path / "compare")
    assert refused.returncode == 2 and f"{tmp_path} is not a SavedModel export" in refused.stderr
    assert not (tmp_path / "compare").exists()  # nothing was judged


def test_compare_judges_exports_with_the_same_seeds_and_writes_one_table(transformer_run, tmp_path, capsys):
    import shutil

    from mit_dl import cli

    twin = tmp_path / "twin-run" / "generator"
    shutil.copytree(transformer_run / "generator", twin)
    out = tmp_path / "compare"
    code = cli.main(
        [
            "music",
            "compare",
            "--models",
            str(transformer_run / "generator"),
            str(twin),
            "--seeds",
            "0",
            "1",
            "--songs",
            "2",
            "3",
            "--temperatures",
            "1.0",
            "0.5",
            "--length",
            "400",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    result = json.loads((out / "compare.json").read_text())
    rows = result["rows"]
    assert [(r["model"], r["temperature"]) for r in rows] == [
        (transformer_run.name, 1.0),
        (transformer_run.name, 0.5),
        ("twin-run", 1.0),
        ("twin-run", 0.5),
    ]
    for row in rows:
        summaries = [
            json.loads((out / row["model"] / f"t{row['temperature']:g}-s{seed}" / "summary.json").read_text())
            for seed in (0, 1)
        ]
        assert row["attempts"] == 5 and row["valid_per_seed"] == [s["valid"] for s in summaries]
        assert row["valid_rate_vs_real"] == pytest.approx(
            row["valid_rate"] / summaries[0]["held_out_real_tunes"]["valid_rate"]
        )
    # The same weights and seeds draw the same songs: the twin's rows equal the original's.
    assert [r["valid_per_seed"] for r in rows[:2]] == [r["valid_per_seed"] for r in rows[2:]]
    groups = {g["temperature"]: g for g in result["groups"]}
    assert len(groups[1.0]["models"]) == 2 and groups[1.0]["mean_valid_rate_vs_real"] == pytest.approx(
        rows[0]["valid_rate_vs_real"]
    )
    table = (out / "compare.md").read_text()
    assert table.count(f"| {transformer_run.name} | transformer quick |") == 2 and table.count("| twin-run |") == 2
    assert table.count("| transformer quick | 1 | 2 |") == 1  # the mean over the two runs at T = 1
    assert cli.main(["music", "compare", "--models", str(twin), "--seeds", "0", "1", "--songs", "5"]) == 2
    assert "--songs needs one count per seed (2 seeds), received 1" in capsys.readouterr().err


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
def test_the_cached_sampler_runs_under_mixed_precision(policy):
    from mit_dl.training.precision import precision_policy

    with precision_policy(policy):
        for tie in (False, True):
            model = _model(tie)
            sampler = TransformerSampler(model)
            rows = sampler.generate_rows(tf.constant([[1, 2, 3]] * 2, tf.int32), 40, 1.0, tf.constant([1, 2], tf.int64))
            logits, (caches, _, _) = sampler.prime(tf.constant([[1, 2, 3]], tf.int32))
            assert logits.dtype == tf.float32 and caches[0][0].dtype == model.get_layer("block_0").compute_dtype
            assert rows.shape == (2, 40) and 0 <= int(tf.reduce_min(rows)) and int(tf.reduce_max(rows)) < VOCAB
