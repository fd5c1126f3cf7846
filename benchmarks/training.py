"""Trainer vs model.fit vs an eager GradientTape loop, in one process.

Run: python -m benchmarks.training [--steps 60] [--repeats 5]

Two workloads: the course's MNIST CNN (Conv24-pool-Conv36-pool-Dense128-
Dense10, batch 64) on real Fashion-MNIST from ../shared/data (or $MIT_DL_DATA),
and a 64x64x3 convolutional VAE with the course's DB-VAE sizes (batch 32, deterministic synthetic images:
speed does not depend on the pixel values). Each contender trains its own
copy of the model with its own optimizer; contenders alternate (A-B-C, then
C-B-A) and every repeat runs the same number of steps. Results:
benchmarks/results/training.json.
"""

import argparse
import os
import pathlib

from mit_dl.environment import quiet_tensorflow_startup

quiet_tensorflow_startup()  # before TensorFlow prints its C++ start-up lines

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from benchmarks.timing import alternate, ratio_row, write_results  # noqa: E402
from benchmarks.vae import conv_vae  # noqa: E402
from mit_dl.data.idx import read_idx  # noqa: E402
from mit_dl.networks.cnn import cnn_classifier  # noqa: E402
from mit_dl.training import Trainer  # noqa: E402


def fashion_mnist(batch):
    folder = pathlib.Path(
        os.environ.get("MIT_DL_DATA", pathlib.Path(__file__).resolve().parents[2] / "shared" / "data")
    )
    folder = folder / "fashion-mnist" if (folder / "fashion-mnist").is_dir() else folder
    images = read_idx(folder / "train-images-idx3-ubyte.gz")[..., None]
    labels = read_idx(folder / "train-labels-idx1-ubyte.gz").astype("int32")
    data = tf.data.Dataset.from_tensor_slices((images, labels)).shuffle(10_000, seed=0).batch(batch)
    # uint8 through the shuffle buffer, scaled to [0, 1] once per batch.
    data = data.map(lambda x, y: (tf.cast(x, tf.float32) / 255.0, y))
    return data.repeat().prefetch(2)


def synthetic_images(batch):
    images = np.random.default_rng(0).random((512, 64, 64, 3), dtype=np.float32)
    return tf.data.Dataset.from_tensor_slices((images, images)).batch(batch).repeat().prefetch(2)


def contenders(make_model, loss, data, steps, steps_per_execution, jit_compile=False):
    def fresh():
        model = make_model()
        return model, keras.optimizers.Adam(1e-3)

    model_a, opt_a = fresh()
    # None: each engine's own default ("auto" for the Trainer, 1 for model.fit).
    trainer = Trainer(
        model_a,
        opt_a,
        loss=loss,
        verbose=False,
        steps_per_execution=steps_per_execution or "auto",
        jit_compile=jit_compile,
    )

    model_b, opt_b = fresh()
    model_b.compile(optimizer=opt_b, loss=loss, steps_per_execution=steps_per_execution or 1)

    model_c, opt_c = fresh()
    loss_fn = keras.losses.get(loss) if isinstance(loss, str) else loss
    eager_iterator = iter(data)

    def eager_loop():
        for _ in range(steps):
            x, y = next(eager_iterator)
            with tf.GradientTape() as tape:
                total = tf.reduce_mean(loss_fn(y, model_c(x, training=True)))
                if model_c.losses:
                    total += tf.add_n(model_c.losses)
            grads = tape.gradient(total, model_c.trainable_variables)
            opt_c.apply_gradients(zip(grads, model_c.trainable_variables))

    return {
        "Trainer": lambda: trainer.fit(data, steps=steps, steps_per_epoch=steps),
        "model.fit": lambda: model_b.fit(data, epochs=1, steps_per_epoch=steps, verbose=0, shuffle=False),
        "eager loop": eager_loop,
    }


# `python -m benchmarks --quick`: a small run of every part, a few seconds to a minute on 2 CPU cores.
QUICK = ["--steps", "20", "--repeats", "3"]


def headline(results):
    """The table's rows: the Trainer's steps per second beside model.fit's and an eager loop's."""
    rows = []
    for row in results["rows"]:
        speed = row["steps_per_second_median"]
        for other in ("model.fit", "eager loop"):
            rows.append(
                ratio_row(row["workload"], ("Trainer", speed["Trainer"]), (other, speed[other]), "steps/s", True)
            )
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=60, help="steps per repeat")
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument(
        "--steps-per-execution",
        type=int,
        default=None,
        help="steps per compiled call for both Trainer and model.fit "
        '(default: each one\'s default, "auto" for the Trainer and 1 for model.fit)',
    )
    args = parser.parse_args()
    workloads = {
        "MNIST CNN, Fashion-MNIST, batch 64": (
            lambda: cnn_classifier(),
            keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            fashion_mnist(64),
        ),
        # The course's DB-VAE sizes: encoder convs 12/24/48/72, mirrored decoder, latent 100.
        "64x64 conv VAE (12/24/48/72), batch 32": (
            lambda: conv_vae(filters=(12, 24, 48, 72), latent_dim=100, seed=0),
            "mse",
            synthetic_images(32),
        ),
    }
    rows = []
    for name, (make_model, loss, data) in workloads.items():
        keras.utils.set_random_seed(0)
        runs = contenders(make_model, loss, data, args.steps, args.steps_per_execution)
        medians, bests = alternate(runs, repeats=args.repeats, iterations=1, warmup=1, best=True)
        rate = {k: args.steps / v for k, v in medians.items()}
        best_rate = {k: args.steps / v for k, v in bests.items()}
        row = {
            "workload": name,
            "steps_per_second_median": rate,
            "steps_per_second_best": best_rate,
            "trainer_vs_model_fit": rate["Trainer"] / rate["model.fit"],
            "trainer_vs_eager": rate["Trainer"] / rate["eager loop"],
            "best_trainer_vs_model_fit": best_rate["Trainer"] / best_rate["model.fit"],
            "best_trainer_vs_eager": best_rate["Trainer"] / best_rate["eager loop"],
        }
        rows.append(row)
        print(f"{name}")
        for label, r in (("median", rate), ("best", best_rate)):
            print(
                f"  {label:6s}: Trainer {r['Trainer']:.1f} steps/s, model.fit {r['model.fit']:.1f}, "
                f"eager {r['eager loop']:.1f} -> Trainer/fit {r['Trainer'] / r['model.fit']:.2f}x, "
                f"Trainer/eager {r['Trainer'] / r['eager loop']:.2f}x"
            )
    suffix = "" if args.steps_per_execution is None else f"_spe{args.steps_per_execution}"
    write_results(
        f"training{suffix}",
        {
            "steps_per_execution": args.steps_per_execution or "defaults: Trainer auto, model.fit 1",
            "what": "training steps per second, median of repeats; each repeat = --steps steps per contender",
            "steps_per_repeat": args.steps,
            "repeats": args.repeats,
            "rows": rows,
        },
    )


if __name__ == "__main__":
    main()
