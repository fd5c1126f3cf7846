"""Lecture 4 lab speed: the GAN step under the Trainer vs the Keras idiom, and scoring 10,000 samples.

Run: python -m benchmarks.generative [--steps 40] [--repeats 5] [--count 10000]

1. One DCGAN step (the lab's generator and discriminator, batch 64, real
   Fashion-MNIST from ../shared/data or $MIT_DL_DATA): `GAN.train_step` under
   the shared `Trainer` against what users copy from Keras' DCGAN example, a
   ``keras.Model`` subclass with its own ``train_step`` run by ``model.fit``
   (same networks, losses, optimizers and batch). Contenders alternate.
2. Drawing ``count`` samples, embedding them in the feature classifier and
   computing the Fréchet distance: in compiled batches (`Sampler`,
   `FeatureSpace.embed`) against the same functions run eagerly batch by
   batch. Weights are untrained: speed does not depend on them.

Results: benchmarks/results/generative.json.
"""

import argparse
import time

from mit_dl.environment import quiet_tensorflow_startup

quiet_tensorflow_startup()  # before TensorFlow prints its C++ start-up lines

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from benchmarks.timing import alternate, ratio_row, write_results  # noqa: E402
from benchmarks.training import fashion_mnist  # noqa: E402
from mit_dl.generative import metrics, networks, quality  # noqa: E402
from mit_dl.generative.gan import GAN  # noqa: E402
from mit_dl.generative.sampling import Sampler  # noqa: E402
from mit_dl.networks.cnn import cnn_classifier  # noqa: E402
from mit_dl.training import Trainer  # noqa: E402

SHAPE, LATENT = (28, 28, 1), 64


class KerasIdiomGAN(keras.Model):
    """The pattern of Keras' DCGAN example: two networks, two optimizers, ``train_step`` for ``model.fit``."""

    def __init__(self):
        super().__init__()
        self.generator = networks.generator(SHAPE, LATENT)
        self.discriminator = networks.discriminator(SHAPE)
        self.bce = keras.losses.BinaryCrossentropy(from_logits=True)

    def compile(self, d_optimizer, g_optimizer):
        super().compile()
        self.d_optimizer, self.g_optimizer = d_optimizer, g_optimizer

    def train_step(self, data):
        images, _ = data
        batch = tf.shape(images)[0]
        noise = tf.random.normal((batch, LATENT))
        fake = self.generator(noise, training=True)
        with tf.GradientTape() as tape:
            real_logits = self.discriminator(images, training=True)
            fake_logits = self.discriminator(fake, training=True)
            d_loss = self.bce(tf.ones_like(real_logits), real_logits) + self.bce(
                tf.zeros_like(fake_logits), fake_logits
            )
        grads = tape.gradient(d_loss, self.discriminator.trainable_variables)
        self.d_optimizer.apply_gradients(zip(grads, self.discriminator.trainable_variables))
        noise = tf.random.normal((batch, LATENT))
        with tf.GradientTape() as tape:
            fake_logits = self.discriminator(self.generator(noise, training=True), training=True)
            g_loss = self.bce(tf.ones_like(fake_logits), fake_logits)
        grads = tape.gradient(g_loss, self.generator.trainable_variables)
        self.g_optimizer.apply_gradients(zip(grads, self.generator.trainable_variables))
        return {"d_loss": d_loss, "g_loss": g_loss}


def adam():
    return keras.optimizers.Adam(2e-4, beta_1=0.5)


def gan_step_rates(steps, repeats):
    data = fashion_mnist(64)
    keras.utils.set_random_seed(0)
    ours = GAN(SHAPE, LATENT, seed=0)
    ours.compile(generator_optimizer=adam(), discriminator_optimizer=adam())
    trainer = Trainer(ours, optimizer=ours.optimizers, train_step=ours.train_step, verbose=False)
    idiom = KerasIdiomGAN()
    idiom.compile(adam(), adam())
    runs = {
        "Trainer + GAN.train_step": lambda: trainer.fit(data, steps=steps, steps_per_epoch=steps),
        "model.fit + custom train_step": lambda: idiom.fit(
            data, epochs=1, steps_per_epoch=steps, verbose=0, shuffle=False
        ),
    }
    medians, bests = alternate(runs, repeats=repeats, iterations=1, warmup=1, best=True)
    return {name: steps / seconds for name, seconds in medians.items()}, {
        name: steps / seconds for name, seconds in bests.items()
    }


def scoring_seconds(count, repeats):
    keras.utils.set_random_seed(0)
    model = GAN(SHAPE, LATENT, seed=0)
    space = quality.FeatureSpace(cnn_classifier(SHAPE, 10))
    reference = np.random.default_rng(0).normal(size=(count, 128))
    compiled, eager = Sampler(model), Sampler(model, compiled=False)

    def score(sampler, compiled_features):
        images, _ = sampler.images(count, seed=0)
        features, _ = space.embed(images, compiled=compiled_features)
        return metrics.frechet_distance(features, reference)

    runs = {"compiled batches": lambda: score(compiled, True), "eager batches": lambda: score(eager, False)}
    return alternate(runs, repeats=repeats, iterations=1, warmup=1)


# `python -m benchmarks --quick`: a small run of every part, a few seconds to a minute on 2 CPU cores.
QUICK = ["--steps", "10", "--repeats", "2", "--count", "2000"]


def headline(results):
    """The table's rows: GAN training under the Trainer vs model.fit, and compiled vs eager scoring."""
    steps, scoring = results["gan_steps_per_second"], results["scoring_seconds"]
    return [
        ratio_row(
            "DCGAN training",
            ("Trainer", steps["Trainer + GAN.train_step"]),
            ("model.fit", steps["model.fit + custom train_step"]),
            "steps/s",
            True,
        ),
        ratio_row(
            f"scoring {results['count']} samples (FD, KID, coverage)",
            ("compiled batches", scoring["compiled batches"]),
            ("eager batches", scoring["eager batches"]),
            "s",
            False,
        ),
    ]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=40, help="GAN steps per repeat")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--count", type=int, default=10000, help="samples drawn and scored per repeat")
    args = parser.parse_args()
    started = time.perf_counter()
    rates, best_rates = gan_step_rates(args.steps, args.repeats)
    ratio = rates["Trainer + GAN.train_step"] / rates["model.fit + custom train_step"]
    print("DCGAN step, batch 64 (steps/s, median of repeats):")
    for name, rate in rates.items():
        print(f"  {name:32s} {rate:7.2f}  (best {best_rates[name]:.2f})")
    print(f"  Trainer / model.fit: {ratio:.2f}x")
    seconds = scoring_seconds(args.count, max(3, args.repeats - 2))
    speedup = seconds["eager batches"] / seconds["compiled batches"]
    print(f"draw + embed + FD of {args.count} samples (s, median):")
    for name, value in seconds.items():
        print(f"  {name:32s} {value:7.2f}")
    print(f"  compiled / eager speed-up: {speedup:.2f}x")
    write_results(
        "generative",
        {
            "gan_steps_per_second": rates,
            "gan_steps_per_second_best": best_rates,
            "trainer_vs_model_fit": ratio,
            "scoring_seconds": seconds,
            "scoring_compiled_speedup": speedup,
            "count": args.count,
            "steps": args.steps,
            "repeats": args.repeats,
            "seconds": round(time.perf_counter() - started, 1),
        },
    )


if __name__ == "__main__":
    main()
