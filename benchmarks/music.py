"""Compiled music sampler vs a per-character Python loop over the same model.

Run: python -m benchmarks.music [--units 1024] [--length 500] [--repeats 5]

Both generate ``length`` characters from the same (untrained, lab-sized)
Embedding-LSTM-Dense model with the same stateless random draws. Baselines:
the course's approach (a Python loop calling the model eagerly for each
character) and that loop made as fast as it can be (each step a
tf.function). Ours runs the whole loop inside one tf.function
(tf.while_loop). Results:
benchmarks/results/music.json.
"""

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402

from benchmarks.timing import alternate, write_results  # noqa: E402
from mit_dl.models.music import CompiledSampler, build_music_model  # noqa: E402


def python_loop_sampler(sampler, compiled_step=True):
    """Per-character Python loop; ``compiled_step=False`` is the course's eager model call per character."""
    step = tf.function(sampler._step) if compiled_step else sampler._step

    def generate(seed_ids, length, temperature, seed):
        logits, state = sampler.prime(seed_ids)
        out = []
        for i in range(length):
            draw_seed = tf.constant([seed, i], tf.int64)
            ids = tf.random.stateless_categorical(logits / temperature, 1, seed=draw_seed, dtype=tf.int32)[:, 0]
            out.append(ids)
            logits, state = step(ids, state)
        return tf.stack(out, 1)

    return generate


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=1024)
    parser.add_argument("--length", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    model = build_music_model(90, 256, args.units)
    sampler = CompiledSampler(model)
    loop = python_loop_sampler(sampler)
    seed_ids = tf.constant([[1, 2, 3, 4, 5]], tf.int32)
    compiled_ids = sampler.generate_ids(seed_ids, args.length, 1.0, 3).numpy()
    loop_ids = loop(seed_ids, args.length, 1.0, 3).numpy()
    same = float((compiled_ids == loop_ids).mean())
    eager = python_loop_sampler(sampler, compiled_step=False)
    medians = alternate({
        "compiled": lambda: sampler.generate_ids(seed_ids, args.length, 1.0, 3).numpy(),
        "python loop, compiled step": lambda: loop(seed_ids, args.length, 1.0, 3).numpy(),
        "python loop, eager step (course)": lambda: eager(seed_ids, args.length, 1.0, 3).numpy(),
    }, repeats=args.repeats, iterations=1, warmup=1)
    rate = {k: args.length / v for k, v in medians.items()}
    speedups = {k: rate["compiled"] / v for k, v in rate.items() if k != "compiled"}
    print(f"LSTM({args.units}), {args.length} characters (same characters: {100 * same:.0f}%)")
    for name, value in rate.items():
        extra = f" -> compiled is {speedups[name]:.2f}x faster" if name in speedups else ""
        print(f"  {name:34s} {value:8.0f} chars/s{extra}")
    write_results("music", {"what": "characters per second generating one song, median of repeats",
                            "units": args.units, "length": args.length, "repeats": args.repeats,
                            "chars_per_second": rate, "speedup": speedups, "identical_output_fraction": same})


if __name__ == "__main__":
    main()
