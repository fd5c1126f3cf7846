"""Music models: our compiled samplers and Trainer vs the course's way, and the transformer's, in one process.

Run: python -m benchmarks.music [--units 1024] [--length 500] [--repeats 5] [--train-steps 10]
     [--songs-per-call 50] [--transformer-length 1000] [--only lstm|transformer]

Sampling (characters per second, one song of ``length`` characters from the
same lab-sized Embedding-LSTM-Dense weights, the same stateless random draws):

- ours: the whole loop inside one tf.function (`CompiledSampler`);
- ours, batched: ``--songs-per-call`` songs in one such loop, each with its
  own RNG seed (`CompiledSampler.generate_rows`, what `mit-dl music generate`
  uses); characters per second counts every song's characters;
- the course's: a stateful ``Sequential`` copy of the model (batch 1) called
  eagerly once per character, a categorical draw per character;
- that per-character loop made as fast as it can be (each step a tf.function).

Training (steps per second, lab preset: batch 8 x 100 characters, Adam 5e-3)
on O'Neill's tunes: our `Trainer` vs the course's ``Sequential`` model
(stateful LSTM) with a ``@tf.function`` GradientTape step fed NumPy batches
drawn at random offsets.

Transformer (the ``full`` preset's shape, 4 blocks of width 256 over 512
characters, with random weights: speed does not depend on them):

- the key/value-cache sampler (`TransformerSampler`) vs recomputing the
  window for every character (`RecomputeSampler`), ``--transformer-length``
  characters at batch 1 (the window slides past 512);
- transformer vs LSTM (lab size) sampler characters per second at batch 1 and 50;
- training characters per second (Trainer, the full and lab presets'
  batches) and as a share of the matrix-product ceiling measured in the same
  run: estimated model FLOPs per character x characters per second / the
  best rate of a 4096-square float32 matmul.

Contenders alternate; results: benchmarks/results/music.json.
"""

import argparse
import json

from mit_dl.environment import quiet_tensorflow_startup

quiet_tensorflow_startup()  # before TensorFlow prints its C++ start-up lines

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from benchmarks.timing import RESULTS, alternate, matmul_flops_per_second, ratio_row, write_results  # noqa: E402
from mit_dl.music import MusicConfig  # noqa: E402
from mit_dl.music import data as music_data  # noqa: E402
from mit_dl.music.model import build_model, build_music_model  # noqa: E402
from mit_dl.music.sampler import CompiledSampler, RecomputeSampler, TransformerSampler  # noqa: E402
from mit_dl.training import Trainer  # noqa: E402


def course_model(vocab_size, embedding_dim, rnn_units, batch_size):
    """The lab's ``build_model``: a Sequential with a stateful LSTM for a fixed batch size."""
    return keras.Sequential(
        [
            keras.Input(batch_shape=(batch_size, None), dtype="int32"),
            keras.layers.Embedding(vocab_size, embedding_dim),
            keras.layers.LSTM(
                rnn_units,
                return_sequences=True,
                recurrent_initializer="glorot_uniform",
                recurrent_activation="sigmoid",
                stateful=True,
            ),
            keras.layers.Dense(vocab_size),
        ]
    )


def course_sampler(model):
    """The lab's ``generate_text``: reset the state, feed the seed, then one eager call per character."""
    lstm = model.layers[1]

    def generate(seed_ids, length, temperature, seed):
        lstm.reset_state()
        predictions = model(seed_ids)[:, -1]
        out = []
        for i in range(length):
            draw = tf.random.stateless_categorical(predictions / temperature, 1, seed=tf.constant([seed, i], tf.int64))
            token = int(draw[0, 0])
            out.append(token)
            predictions = model(tf.constant([[token]], tf.int32))[:, -1]
        return np.array([out])

    return generate


def compiled_step_loop(sampler):
    """The per-character Python loop with each LSTM step compiled: the best a Python loop can do."""
    step = tf.function(sampler._step)

    def generate(seed_ids, length, temperature, seed):
        logits, state = sampler.prime(seed_ids)
        out = []
        for i in range(length):
            draw_seed = tf.constant([seed, i], tf.int64)
            ids = tf.random.stateless_categorical(logits / temperature, 1, seed=draw_seed, dtype=tf.int32)[:, 0]
            out.append(ids)
            logits, state = step(ids, state)
        return tf.stack(out, 1).numpy()

    return generate


def sampling(args):
    model = build_music_model(90, 256, args.units)
    sampler = CompiledSampler(model)
    course = course_model(90, 256, args.units, batch_size=1)
    course.set_weights(model.get_weights())
    batched = f"compiled, {args.songs_per_call} songs per call (ours)"
    many_ids = tf.tile(SEED_IDS, [args.songs_per_call, 1])
    many_seeds = tf.range(3, 3 + args.songs_per_call, dtype=tf.int64)  # the first song's seed is 3, as the others'
    contenders = {
        "compiled (ours)": lambda: sampler.generate_ids(SEED_IDS, args.length, 1.0, 3).numpy(),
        batched: lambda: sampler.generate_rows(many_ids, args.length, 1.0, many_seeds).numpy(),
        "python loop, eager stateful model (course)": lambda: course_sampler(course)(SEED_IDS, args.length, 1.0, 3),
        "python loop, compiled step": lambda: compiled_step_loop(sampler)(SEED_IDS, args.length, 1.0, 3),
    }
    outputs = {name: fn()[:1] for name, fn in contenders.items()}  # the song drawn with seed 3
    same = {name: float((out == outputs["compiled (ours)"]).mean()) for name, out in outputs.items()}
    medians = alternate(contenders, repeats=args.repeats, iterations=1, warmup=1)
    songs = {k: args.songs_per_call if k == batched else 1 for k in medians}
    rate = {k: songs[k] * args.length / v for k, v in medians.items()}
    speedups = {k: rate["compiled (ours)"] / v for k, v in rate.items() if k not in ("compiled (ours)", batched)}
    print(f"sampling: LSTM({args.units}), {args.length} characters")
    for name, value in rate.items():
        extra = f" -> ours is {speedups[name]:.2f}x faster" if name in speedups else ""
        if name == batched:
            extra = f" -> {value / rate['compiled (ours)']:.2f}x one song per call"
        print(f"  {name:44s} {value:8.0f} chars/s (same characters as ours: {100 * same[name]:.0f}%){extra}")
    return {
        "chars_per_second": rate,
        "speedup_of_compiled": speedups,
        "identical_output_fraction": same,
        "batched_vs_one_song_per_call": rate[batched] / rate["compiled (ours)"],
    }


def training(args):
    lab = MusicConfig.from_preset("lab", rnn_units=args.units)
    tunes = music_data.load_tunes()
    vocab = music_data.Vocabulary.from_text(music_data.join_tunes(tunes))
    ids = vocab.encode(music_data.join_tunes(tunes))
    length, batch = lab.sequence_length, lab.batch_size
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    keras.utils.set_random_seed(0)
    ours = build_music_model(len(vocab), lab.embedding_dim, lab.rnn_units)
    trainer = Trainer(ours, keras.optimizers.Adam(lab.learning_rate), loss=loss_fn, verbose=False)
    data = music_data.next_character_dataset(ids, length, batch, seed=0).repeat()

    course = course_model(len(vocab), lab.embedding_dim, lab.rnn_units, batch)
    course.set_weights(ours.get_weights())
    optimizer = keras.optimizers.Adam(lab.learning_rate)
    rng = np.random.default_rng(0)

    @tf.function
    def train_step(x, y):
        with tf.GradientTape() as tape:
            loss = loss_fn(y, course(x))
        grads = tape.gradient(loss, course.trainable_variables)
        optimizer.apply_gradients(zip(grads, course.trainable_variables))
        return loss

    def get_batch():
        starts = rng.choice(len(ids) - length - 1, batch)
        x = np.stack([ids[i : i + length] for i in starts])
        y = np.stack([ids[i + 1 : i + length + 1] for i in starts])
        return x, y

    def course_loop():
        for _ in range(args.train_steps):
            train_step(*get_batch()).numpy()

    medians = alternate(
        {
            "Trainer (ours)": lambda: trainer.fit(data, steps=args.train_steps, steps_per_epoch=args.train_steps),
            "Sequential + tf.function step (course)": course_loop,
        },
        repeats=args.repeats,
        iterations=1,
        warmup=1,
    )
    rate = {k: args.train_steps / v for k, v in medians.items()}
    ratio = rate["Trainer (ours)"] / rate["Sequential + tf.function step (course)"]
    print(f"training: lab preset with LSTM({args.units}), batch {batch} x {length}")
    for name, value in rate.items():
        print(f"  {name:44s} {value:8.2f} steps/s")
    print(f"  Trainer / course step: {ratio:.2f}x")
    return {"steps_per_second": rate, "trainer_vs_course": ratio, "steps_per_repeat": args.train_steps}


SEED_IDS = tf.constant([[1, 2, 3, 4, 5]], tf.int32)


def transformer_training_flops_per_character(config, vocab_size):
    """Training FLOPs per character: 6 x the weights every position multiplies, plus attention's scores and mix.

    Forward, each position costs 2 FLOPs per weight of the blocks and the
    output layer, and per block 2 x 2 x T x d for ``Q K^T`` and the weighted
    values (T the window, half of it unmasked on average, counted in full as
    the kernels compute it); backward twice that.
    """
    d, layers, ff = config.d_model, config.num_layers, config.ff_dim
    per_block = 4 * d * d + 2 * d * ff
    forward = 2 * (layers * per_block + d * vocab_size) + layers * 4 * config.sequence_length * d
    return 3 * forward


def lstm_training_flops_per_character(config, vocab_size):
    """Training FLOPs per character of the LSTM: 6 x (its four gates' weights + the output layer's)."""
    units = config.rnn_units
    return 3 * 2 * (4 * units * (config.embedding_dim + units) + units * vocab_size)


def _training_rate(config, vocab_size, ids, steps, repeats):
    keras.utils.set_random_seed(0)
    model = build_model(vocab_size, config)
    trainer = Trainer(model, verbose=False)
    data = music_data.next_character_dataset(ids, config.sequence_length, config.batch_size, seed=0).repeat()
    median = alternate({"fit": lambda: trainer.fit(data, steps=steps, steps_per_epoch=steps)}, repeats, 1, 1)["fit"]
    return steps * config.batch_size * config.sequence_length / median


def transformer(args):
    config = MusicConfig.transformer("full")
    lab = MusicConfig.from_preset("lab")
    keras.utils.set_random_seed(0)
    model = build_model(90, config)
    cached, recompute = TransformerSampler(model), RecomputeSampler(model)
    length = args.transformer_length
    seed = tf.constant(3, tf.int64)
    contenders = {
        "key/value cache (ours)": lambda: cached.generate_ids(SEED_IDS, length, 1.0, seed).numpy(),
        "recompute the window each character": lambda: recompute.generate_ids(SEED_IDS, length, 1.0, seed).numpy(),
    }
    outputs = {name: fn() for name, fn in contenders.items()}
    same = float((outputs["key/value cache (ours)"] == outputs["recompute the window each character"]).mean())
    medians = alternate(contenders, repeats=args.repeats, iterations=1, warmup=0)
    rate = {name: length / seconds for name, seconds in medians.items()}
    cache_speedup = rate["key/value cache (ours)"] / rate["recompute the window each character"]
    print(
        f"transformer sampling ({model.count_params():,} parameters, context {config.sequence_length}), {length} chars"
    )
    for name, value in rate.items():
        print(f"  {name:44s} {value:8.0f} chars/s")
    print(f"  cache / recompute: {cache_speedup:.1f}x (same characters: {100 * same:.0f}%)")

    lstm = build_music_model(90, lab.embedding_dim, lab.rnn_units)
    lstm_sampler = CompiledSampler(lstm)
    per_batch = {}
    for batch in (1, args.songs_per_call):
        ids = tf.tile(SEED_IDS, [batch, 1])
        seeds = tf.range(3, 3 + batch, dtype=tf.int64)
        timed = alternate(
            {
                "transformer": lambda ids=ids, seeds=seeds: cached.generate_rows(ids, args.length, 1.0, seeds).numpy(),
                "lstm": lambda ids=ids, seeds=seeds: lstm_sampler.generate_rows(ids, args.length, 1.0, seeds).numpy(),
            },
            repeats=args.repeats,
            iterations=1,
            warmup=1,
        )
        per_batch[batch] = {name: batch * args.length / seconds for name, seconds in timed.items()}
        print(
            f"  batch {batch:3d}, {args.length} chars: transformer {per_batch[batch]['transformer']:8.0f} chars/s, "
            f"LSTM(1024) {per_batch[batch]['lstm']:8.0f} chars/s"
        )

    tunes = music_data.load_tunes()
    vocab = music_data.Vocabulary.from_text(music_data.join_tunes(tunes))
    ids = vocab.encode(music_data.join_tunes(tunes))
    ceiling = matmul_flops_per_second()
    training = {}
    for name, cfg, flops in (
        ("transformer full", config, transformer_training_flops_per_character(config, len(vocab))),
        ("lstm lab", lab, lstm_training_flops_per_character(lab, len(vocab))),
    ):
        chars = _training_rate(cfg, len(vocab), ids, args.train_steps, args.repeats)
        training[name] = {
            "chars_per_second": chars,
            "flops_per_char": flops,
            "share_of_matmul_ceiling": chars * flops / ceiling,
        }
        print(
            f"  training {name:16s} {chars:8.0f} chars/s, {flops / 1e6:6.1f} MFLOP/char -> "
            f"{chars * flops / 1e9:6.1f} GFLOP/s = {100 * chars * flops / ceiling:4.1f}% of the matmul ceiling "
            f"({ceiling / 1e9:.0f} GFLOP/s)"
        )
    return {
        "length": length,
        "chars_per_second": rate,
        "cache_vs_recompute": cache_speedup,
        "identical_output_fraction": same,
        "sampler_chars_per_second_by_batch": {str(k): v for k, v in per_batch.items()},
        "matmul_ceiling_flops": ceiling,
        "training": training,
    }


# `python -m benchmarks --quick`: a small run of every part, a few seconds to a minute on 2 CPU cores.
QUICK = ["--units", "256", "--length", "200", "--repeats", "2", "--train-steps", "3", "--only", "lstm"]


def headline(results):
    """The table's rows: the compiled samplers, the Trainer and the transformer's cache against their baselines."""
    sampling, training = results["sampling"]["chars_per_second"], results["training"]["steps_per_second"]
    rows = [
        ratio_row(
            "LSTM sampling, one song",
            ("compiled loop", sampling["compiled (ours)"]),
            ("course's eager loop", sampling["python loop, eager stateful model (course)"]),
            "chars/s",
            True,
        ),
        ratio_row(
            "LSTM sampling, 50 songs per call",
            ("batched compiled loop", sampling["compiled, 50 songs per call (ours)"]),
            ("one song per call", sampling["compiled (ours)"]),
            "chars/s",
            True,
        ),
        ratio_row(
            "LSTM training, lab preset",
            ("Trainer", training["Trainer (ours)"]),
            ("course's tf.function step", training["Sequential + tf.function step (course)"]),
            "steps/s",
            True,
        ),
    ]
    if "transformer" in results:
        cache = results["transformer"]["chars_per_second"]
        rows.append(
            ratio_row(
                "transformer sampling (full preset shape)",
                ("key/value cache", cache["key/value cache (ours)"]),
                ("recompute the window", cache["recompute the window each character"]),
                "chars/s",
                True,
            )
        )
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=1024)
    parser.add_argument("--length", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--train-steps", type=int, default=10, help="training steps per contender per repeat")
    parser.add_argument("--songs-per-call", type=int, default=50, help="songs in one batched sampler call")
    parser.add_argument("--transformer-length", type=int, default=1000, help="characters per transformer sample")
    parser.add_argument("--only", choices=("lstm", "transformer"), help="run one part only")
    args = parser.parse_args()
    results = {
        "units": args.units,
        "length": args.length,
        "repeats": args.repeats,
        "songs_per_call": args.songs_per_call,
        "what": "medians of alternating repeats in one process",
    }
    if args.only != "transformer":
        results.update(sampling=sampling(args), training=training(args))
    if args.only != "lstm":
        results["transformer"] = transformer(args)
    if args.only:  # keep the other part's last results
        previous = RESULTS / "music.json"
        kept = json.loads(previous.read_text()) if previous.exists() else {}
        results = {**{k: v for k, v in kept.items() if k in ("sampling", "training", "transformer")}, **results}
    write_results("music", results)


if __name__ == "__main__":
    main()
