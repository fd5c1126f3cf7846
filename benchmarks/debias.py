"""One DB-VAE resampling recompute: ours vs the course notebook's, on the same data and weights.

Run: python -m benchmarks.debias [--faces 20000] [--latent 100] [--batch 32] [--repeats 5]

A recompute = latent means of every training face from the encoder, the
per-dimension histograms, and the face draws for one epoch of batches.

- ours: `mit_dl.faces.debias.latent_means` (one compiled pass over batches of 1024),
  `sampling_probabilities` (all dimensions at once in TensorFlow, the
  course's max rule here so both compute the same numbers), and the epoch's
  draws with one ``tf.random.stateless_categorical`` call per batch, as
  `resampled_batches` does;
- the course's: the encoder called eagerly on batches of 1024, a NumPy
  histogram loop over the latent dimensions, and ``np.random.choice(...,
  replace=False, p=p)`` for every batch.

Images are deterministic random uint8 (speed does not depend on pixel values).
Also times one DB-VAE training step against one standard-classifier step,
and prints the ceiling of any float32 recompute on the machine it runs on:
the encoder's multiply-adds divided by a large matrix product's rate,
measured in the same run (convolutions computed directly do those
multiply-adds, and no kernel does them faster than a large matrix product).
Results: benchmarks/results/debias.json.
"""

import argparse

from mit_dl.environment import quiet_tensorflow_startup

quiet_tensorflow_startup()  # before TensorFlow prints its C++ start-up lines

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from benchmarks.timing import alternate, encoder_multiply_adds, matmul_flops_per_second, ratio_row, write_results  # noqa: E402
from mit_dl.faces import debias  # noqa: E402
from mit_dl.faces.model import DBVAE, dbvae_losses, face_classifier  # noqa: E402


def course_latent_means(model, faces):
    """The course's encoder pass: eager calls on batches of 1024, into a NumPy array."""
    mu = np.zeros((len(faces), model.latent_dim))
    for start in range(0, len(faces), 1024):
        chunk = faces[start : start + 1024].astype(np.float32) / 255.0
        mu[start : start + 1024] = model.encode(chunk)[1].numpy()
    return mu


def course_probabilities_and_draws(mu, batch):
    p = debias.course_sampling_probabilities(mu)
    rng = np.random.default_rng(0)
    for _ in range(len(mu) // batch):
        rng.choice(len(mu), size=batch // 2, replace=False, p=p)


def our_probabilities_and_draws(mu, batch):
    p = debias.sampling_probabilities(mu, combine="max")
    epoch_draws(tf.math.log(p)[None, :], tf.constant(len(p) // batch), tf.constant(batch // 2)).numpy()


def course_recompute(model, faces, batch):
    course_probabilities_and_draws(course_latent_means(model, faces), batch)


def our_recompute(model, faces, batch):
    our_probabilities_and_draws(debias.latent_means(model, faces), batch)


@tf.function
def epoch_draws(logits, batches, per_batch):
    """One epoch of face draws, one stateless categorical call per batch (as `resampled_batches` does)."""
    for i in tf.range(batches):
        tf.random.stateless_categorical(logits, per_batch, seed=tf.stack([tf.cast(i, tf.int64), 0]))
    return batches


def step_times(latent, batch, repeats):
    """Seconds per training step: DB-VAE (custom step) vs the standard CNN (sigmoid cross-entropy)."""
    x = tf.constant(np.random.default_rng(1).random((batch, 64, 64, 3), np.float32))
    y = tf.constant(np.r_[np.ones(batch // 2), np.zeros(batch - batch // 2)].astype(np.int32))
    cnn, vae = face_classifier(), DBVAE(latent_dim=latent, seed=0)
    cnn_opt, vae_opt = keras.optimizers.Adam(5e-4), keras.optimizers.Adam(5e-4)

    @tf.function
    def cnn_step():
        with tf.GradientTape() as tape:
            logits = cnn(x, training=True)[:, 0]
            loss = tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(tf.cast(y, tf.float32), logits))
        cnn_opt.apply_gradients(zip(tape.gradient(loss, cnn.trainable_variables), cnn.trainable_variables))
        return loss

    @tf.function
    def vae_step():
        with tf.GradientTape() as tape:
            logit, mu, logvar = vae.encode(x, training=True)
            recon = vae.decoder(vae.sampling([mu, logvar], training=True), training=True)
            loss = tf.reduce_mean(dbvae_losses(x, y, logit, mu, logvar, recon)[0])
        vae_opt.apply_gradients(zip(tape.gradient(loss, vae.trainable_variables), vae.trainable_variables))
        return loss

    return alternate(
        {"standard CNN step": lambda: cnn_step().numpy(), "DB-VAE step": lambda: vae_step().numpy()},
        repeats=repeats,
        iterations=20,
        warmup=2,
    )


# `python -m benchmarks --quick`: a small run of every part, a few seconds to a minute on 2 CPU cores.
QUICK = ["--faces", "2000", "--repeats", "2"]


def headline(results):
    """The table's row: one resampling recompute, ours beside the course's."""
    seconds = results["recompute_seconds"]
    return [
        ratio_row(
            f"DB-VAE resampling recompute ({results['faces']} faces)",
            ("batched encoder + histograms", seconds["ours"]),
            ("course's", seconds["course"]),
            "s",
            False,
        )
    ]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faces", type=int, default=20000)
    parser.add_argument("--latent", type=int, default=100)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    faces = np.random.default_rng(0).integers(0, 256, (args.faces, 64, 64, 3), dtype=np.uint8)
    model = DBVAE(latent_dim=args.latent, seed=0)
    mu_ours = debias.latent_means(model, faces).numpy()
    mu_course = course_latent_means(model, faces)
    p_ours = debias.sampling_probabilities(mu_ours, combine="max").numpy()
    p_course = debias.course_sampling_probabilities(mu_course)
    agreement = float(np.max(np.abs(p_ours - p_course)) / p_course.max())
    # The whole recompute and its two parts, in one alternation so that all six meet the same machine.
    medians = alternate(
        {
            "ours": lambda: our_recompute(model, faces, args.batch),
            "course": lambda: course_recompute(model, faces, args.batch),
            "ours: encoder pass": lambda: debias.latent_means(model, faces).numpy(),
            "course: encoder pass": lambda: course_latent_means(model, faces),
            "ours: histograms + draws": lambda: our_probabilities_and_draws(mu_ours, args.batch),
            "course: histograms + draws": lambda: course_probabilities_and_draws(mu_course, args.batch),
        },
        repeats=args.repeats,
        iterations=1,
        warmup=1,
    )
    parts = {name: medians.pop(name) for name in list(medians) if ": " in name}
    speedup = medians["course"] / medians["ours"]
    steps = step_times(args.latent, args.batch, args.repeats + 2)
    encoder_flops = 2 * encoder_multiply_adds(model.encoder) * args.faces
    peak = matmul_flops_per_second()
    fastest_pass = encoder_flops / peak
    ceiling = medians["course"] / (fastest_pass + parts["ours: histograms + draws"])
    step_ratio = steps["DB-VAE step"] / steps["standard CNN step"]
    print(f"one recompute, {args.faces} faces, latent {args.latent}, {args.faces // args.batch} batches of draws:")
    print(
        f"  ours {medians['ours']:.2f} s, course {medians['course']:.2f} s -> ours is {speedup:.1f}x faster "
        f"(probabilities agree to {agreement:.1e} of the largest)"
    )
    for part in ("encoder pass", "histograms + draws"):
        ours, course = parts[f"ours: {part}"], parts[f"course: {part}"]
        print(f"  {part}: ours {ours:.2f} s, course {course:.2f} s ({course / ours:.1f}x)")
    print(
        f"ceiling here: the encoder pass is {encoder_flops / 1e9:.0f} GFLOP; at this machine's float32 "
        f"matrix-product rate ({peak / 1e9:.0f} GFLOP/s, measured now) it takes at least {fastest_pass:.2f} s "
        f"(ours: {encoder_flops / parts['ours: encoder pass'] / 1e9:.0f} GFLOP/s), so no float32 recompute "
        f"can be more than {ceiling:.1f}x faster than the course's on this machine"
    )
    print(
        f"training step, batch {args.batch}: standard CNN {1000 * steps['standard CNN step']:.1f} ms, "
        f"DB-VAE {1000 * steps['DB-VAE step']:.1f} ms ({step_ratio:.2f}x)"
    )
    write_results(
        "debias",
        {
            "what": "seconds per resampling recompute (median of alternating repeats) and per training step",
            "faces": args.faces,
            "latent_dim": args.latent,
            "batch": args.batch,
            "repeats": args.repeats,
            "recompute_seconds": medians,
            "speedup": speedup,
            "part_seconds": parts,
            "max_relative_probability_difference": agreement,
            "encoder_pass_flops": encoder_flops,
            "matmul_flops_per_second": peak,
            "fastest_possible_encoder_pass_seconds": fastest_pass,
            "ceiling_speedup": ceiling,
            "step_seconds": steps,
            "dbvae_step_vs_cnn_step": step_ratio,
        },
    )


if __name__ == "__main__":
    main()
