"""Music LSTM: compiled sampler vs a per-character reference loop, export, learning."""

import json
import math

import keras
import numpy as np
import pytest
import tensorflow as tf
from support import run_fresh_python

from mit_dl.export import export_savedmodel
from mit_dl.music import data as music
from mit_dl.music.model import build_music_model
from mit_dl.music.sampler import CompiledSampler, generator_endpoints
from mit_dl.training import Trainer

CHARS = sorted(set("X:1\nT:Tune\nM:6/8\nK:G\nGAB cde|d2B c2A|"))


def _reference_loop(model, seed_ids, length, temperature, seed):
    """The course's approach: rerun the whole model on the text for every new character."""
    ids, out = list(seed_ids), []
    for i in range(length):
        logits = model(tf.constant([ids]))[:, -1] / temperature
        draw = tf.random.stateless_categorical(logits, 1, seed=tf.constant([seed, i], tf.int64))
        out.append(int(draw[0, 0]))
        ids.append(out[-1])
    return out


def test_compiled_sampler_is_reproducible_and_matches_the_reference_loop():
    model = build_music_model(len(CHARS), 16, 32)
    sampler = CompiledSampler(model)
    seed_ids = tf.constant([[1, 2, 3, 4]], tf.int32)
    a = sampler.generate_ids(seed_ids, 40, 0.8, 7).numpy()
    np.testing.assert_array_equal(a, sampler.generate_ids(seed_ids, 40, 0.8, 7).numpy())
    assert not np.array_equal(a, sampler.generate_ids(seed_ids, 40, 0.8, 8).numpy())
    assert a[0].tolist() == _reference_loop(model, [1, 2, 3, 4], 40, 0.8, 7)
    # Greedy limit: a tiny temperature follows the argmax path.
    greedy = sampler.generate_ids(seed_ids, 10, 1e-4, 1).numpy()[0]
    ids = [1, 2, 3, 4]
    for token in greedy:
        assert token == int(np.argmax(model(tf.constant([ids]))[0, -1]))
        ids.append(int(token))


def test_rows_with_their_own_seeds_are_drawn_as_if_alone():
    keras.utils.set_random_seed(1)
    model = build_music_model(len(CHARS), 16, 32)
    sampler = CompiledSampler(model)
    seed_ids = tf.constant([[1, 2, 3]] * 4, tf.int32)
    seeds = tf.constant([7, 8, 2**40, -3], tf.int64)
    rows = sampler.generate_rows(seed_ids, 60, 1.0, seeds).numpy()
    for row, seed in zip(rows, seeds):
        np.testing.assert_array_equal(row, sampler.generate_ids(seed_ids[:1], 60, 1.0, seed).numpy()[0])
    assert len({tuple(r) for r in rows}) == 4  # different seeds, different songs
    with pytest.raises(tf.errors.InvalidArgumentError, match="one seed per row"):
        sampler.generate_rows(seed_ids, 5, 1.0, seeds[:3])


def test_exported_generate_runs_without_mit_dl(tmp_path):
    model = build_music_model(len(CHARS), 16, 32)
    sampler = CompiledSampler(model)
    endpoints, table = generator_endpoints(sampler, CHARS)
    expected = endpoints["generate"].fn(
        tf.constant("X:1\n"), tf.constant(25), tf.constant(1.0), tf.constant(3, tf.int64)
    )
    path = export_savedmodel(
        model,
        tmp_path / "generator",
        endpoints=endpoints,
        extra_trackables=[table, sampler],
        metadata={"vocabulary": CHARS},
    )
    out = run_fresh_python(f"""
        import json, sys, tensorflow as tf
        g = tf.saved_model.load({str(path)!r})
        args = (tf.constant("X:1\\n"), tf.constant(25), tf.constant(1.0))
        text = g.generate(*args, tf.constant(3, tf.int64))["text"]
        assert g.generate(*args, tf.constant(3))["text"].numpy() == text.numpy()  # an int32 seed draws the same
        many = g.generate_many(*args, tf.constant([3, 4, 5], tf.int64))["texts"]
        assert (g.generate_many(*args, tf.constant([3, 4, 5]))["texts"].numpy() == many.numpy()).all()
        alone = [g.generate(*args, tf.constant(s, tf.int64))["text"].numpy().decode() for s in (4, 5)]
        errors = []
        for call in (lambda: g.generate(tf.constant("X:1 #@"), tf.constant(5), tf.constant(1.0),
                                        tf.constant(3, tf.int64)),
                     lambda: g.generate_many(tf.constant("X:1 #@"), tf.constant(5), tf.constant(1.0),
                                             tf.constant([3], tf.int64))):
            try:
                call()
                errors.append("no error")
            except Exception as e:
                errors.append(str(e))
        bad = []  # temperature 0, NaN, inf-free negatives and an empty length fail before the loop runs
        for length, temperature in ((5, 0.0), (5, float("nan")), (5, -1.0), (0, 1.0), (-3, 1.0)):
            for call in (lambda: g.generate(tf.constant("X:"), tf.constant(length), tf.constant(temperature),
                                            tf.constant(3, tf.int64)),
                         lambda: g.generate_many(tf.constant("X:"), tf.constant(length), tf.constant(temperature),
                                                 tf.constant([3, 4], tf.int64))):
                try:
                    call()
                    bad.append("no error")
                except tf.errors.InvalidArgumentError as e:
                    bad.append(str(e))
        assert not any(m.startswith("mit_dl") for m in sys.modules)
        print(json.dumps({{"text": text.numpy().decode(), "many": [t.decode() for t in many.numpy()],
                          "alone": alone, "errors": errors, "bad": bad}}))
    """)
    served = json.loads(out.strip().splitlines()[-1])
    assert served["text"] == expected["text"].numpy().decode()
    assert len(served["text"]) == 25 and set(served["text"]) <= set(CHARS)
    assert served["many"] == [served["text"], *served["alone"]]
    for error in served["errors"]:
        assert "not in the vocabulary" in error and "#" in error and "@" in error
    assert len(served["bad"]) == 10
    assert all("temperature must be a finite number > 0" in m for m in served["bad"][:6]), served["bad"]
    assert all("length must be at least 1 character" in m for m in served["bad"][6:]), served["bad"]


def test_short_training_on_irish_tunes_beats_the_uniform_baseline():
    keras.utils.set_random_seed(0)
    tunes = music.load_tunes()[:300]
    train_tunes, val_tunes = music.split_by_tune(tunes, 0.1, seed=0)
    vocab = music.Vocabulary.from_text(music.join_tunes(train_tunes))
    val_text = "".join(c for c in music.join_tunes(val_tunes) if c in vocab.characters)
    train = music.next_character_dataset(vocab.encode(music.join_tunes(train_tunes)), 64, 16, seed=0)
    val = music.next_character_dataset(vocab.encode(val_text), 64, 64, shuffle=False).take(10)
    model = build_music_model(len(vocab), 32, 128)
    trainer = Trainer(
        model,
        keras.optimizers.Adam(5e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        steps_per_execution=10,
        verbose=False,
    )
    trainer.fit(train, steps=300)
    assert trainer.evaluate(val)["loss"] < 0.55 * math.log(len(vocab))
