"""The uncertainty lab's prediction costs, side by side in one run.

Run: python -m benchmarks.uncertainty [--images 10000] [--samples 20] [--members 5] [--batch 250] [--repeats 3]

- MC dropout, T passes over the images (the images lab's CNN with dropout
  added after its Dense and convolution layers, then after its Dense
  128 layer only), batch by batch:
  `DropoutWrapper`'s one batched compiled call per batch (the batch repeated
  T times) against the course's Python loop of T ``model(x, training=True)``
  calls per batch, and against the same T calls unrolled in one compiled
  function (to separate what batching buys from what compiling buys);
- a deep ensemble's prediction: all members inside one compiled call
  against one compiled call per member and against eager member calls;
- one training step of an MLP (784 -> 256 -> 256 -> 10, batch 128) whose
  Dense layers are `BayesByBackprop` against the same MLP of
  ``keras.layers.Dense``: what drawing the weights and paying the KL cost.

Images are deterministic random uint8 (speed does not depend on pixel values).
Also prints MC dropout's compute floor on the machine it runs on: T passes
of the CNN's multiply-adds at the rate of a large matrix product, measured
in the same run. Results: benchmarks/results/uncertainty.json.
"""

import argparse

from mit_dl.environment import quiet_tensorflow_startup

quiet_tensorflow_startup()  # before TensorFlow prints its C++ start-up lines

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from benchmarks.timing import alternate, encoder_multiply_adds, matmul_flops_per_second, ratio_row, write_results  # noqa: E402
from mit_dl.networks.cnn import cnn_classifier  # noqa: E402
from mit_dl.training.trainer import losses_step  # noqa: E402
from mit_dl.uncertainty import BayesByBackprop, BayesianModel, DropoutWrapper, EnsembleWrapper  # noqa: E402


def _batches(images, batch):
    return [
        tf.constant(images[i : i + batch].astype(np.float32)[..., None] / 255.0) for i in range(0, len(images), batch)
    ]


def dropout_contenders(batches, samples, head_only=False):
    model = cnn_classifier()
    wrapped = DropoutWrapper(model, samples=samples, after=[model.layers[-2].name] if head_only else None)
    network = wrapped.network  # the same layers, MCDropout on whatever training says
    # The same layers with Keras' Dropout, switched on by training=True.
    plain = keras.Sequential([keras.Input((28, 28, 1)), *[_as_keras_dropout(layer) for layer in _flat_layers(network)]])
    batched = tf.function(lambda x: wrapped(x)["probabilities"], reduce_retracing=True)

    def loop():
        for x in batches:
            draws = tf.stack([tf.nn.softmax(plain(x, training=True)) for _ in range(samples)])
            tf.reduce_mean(draws, 0).numpy()

    unrolled_fn = tf.function(
        lambda x: tf.reduce_mean(tf.stack([tf.nn.softmax(plain(x, training=True)) for _ in range(samples)]), 0),
        reduce_retracing=True,
    )
    return {
        "one batched compiled call": lambda: [batched(x).numpy() for x in batches],
        "T calls in one compiled function": lambda: [unrolled_fn(x).numpy() for x in batches],
        "Python loop of T model(x, training=True)": loop,
    }


def _flat_layers(model):
    for layer in model.layers:
        if isinstance(layer, keras.Sequential):
            yield from _flat_layers(layer)
        else:
            yield layer


def _as_keras_dropout(layer):
    if isinstance(layer, keras.layers.Dropout):
        return keras.layers.Dropout(layer.rate)
    return layer


def ensemble_contenders(batches, members):
    ensemble = EnsembleWrapper(cnn_classifier, members=members)
    one_call = tf.function(lambda x: ensemble(x)["probabilities"], reduce_retracing=True)
    per_member = [tf.function(lambda x, m=m: tf.nn.softmax(m(x)), reduce_retracing=True) for m in ensemble.members]

    def member_by_member(calls):
        for x in batches:
            tf.reduce_mean(tf.stack([call(x) for call in calls]), 0).numpy()

    eager = [lambda x, m=m: tf.nn.softmax(m(x)) for m in ensemble.members]
    return {
        "all members in one compiled call": lambda: [one_call(x).numpy() for x in batches],
        "one compiled call per member": lambda: member_by_member(per_member),
        "eager member calls": lambda: member_by_member(eager),
    }


def _mlp(layer):
    inputs = keras.Input((784,))
    hidden = layer(256, activation="relu")(inputs)
    hidden = layer(256, activation="relu")(hidden)
    return keras.Model(inputs, layer(10)(hidden))


def step_contenders(batch):
    x = tf.random.stateless_uniform((batch, 784), seed=(1, 2))
    y = tf.random.stateless_uniform((batch,), seed=(3, 4), maxval=10, dtype=tf.int32)
    bayesian = BayesianModel(_mlp(BayesByBackprop), samples=1, train_size=60_000)
    bayesian.compile(keras.optimizers.Adam(1e-3))
    dense = _mlp(keras.layers.Dense)
    optimizer = keras.optimizers.Adam(1e-3)
    optimizer.build(dense.trainable_variables)

    @tf.function
    def dense_step():
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(y, dense(x, training=True)))
        optimizer.apply_gradients(zip(tape.gradient(loss, dense.trainable_variables), dense.trainable_variables))
        return loss

    bayes_step = tf.function(lambda: losses_step(bayesian, (x, y))["loss"])
    return {"BayesByBackprop step": lambda: bayes_step().numpy(), "Dense step": lambda: dense_step().numpy()}


# `python -m benchmarks --quick`: a small run of every part, a few seconds to a minute on 2 CPU cores.
QUICK = ["--images", "1000", "--repeats", "1"]


def headline(results):
    """The table's rows: MC dropout and the ensemble in one compiled call against Python loops."""
    dropout = results[f"MC dropout, T = {results['samples']}"]
    ensemble = results[f"{results['members']}-member ensemble"]
    return [
        ratio_row(
            f"MC dropout, T = {results['samples']}, {results['images']} images",
            ("one batched compiled call", dropout["one batched compiled call"]),
            ("Python loop of T calls", dropout["Python loop of T model(x, training=True)"]),
            "s",
            False,
        ),
        ratio_row(
            f"{results['members']}-member ensemble, {results['images']} images",
            ("all members in one compiled call", ensemble["all members in one compiled call"]),
            ("eager member calls", ensemble["eager member calls"]),
            "s",
            False,
        ),
    ]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=10_000)
    parser.add_argument("--samples", type=int, default=20, help="MC dropout passes, T")
    parser.add_argument("--members", type=int, default=5)
    parser.add_argument("--batch", type=int, default=250, help="images per prediction call")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    keras.utils.set_random_seed(0)
    images = np.random.default_rng(0).integers(0, 256, (args.images, 28, 28), dtype=np.uint8)
    batches = _batches(images, args.batch)
    results = {"images": args.images, "samples": args.samples, "members": args.members, "batch": args.batch}
    for part, contenders, iterations in (
        (f"MC dropout, T = {args.samples}", dropout_contenders(batches, args.samples), 1),
        (f"MC dropout in the head only, T = {args.samples}", dropout_contenders(batches, args.samples, True), 1),
        (f"{args.members}-member ensemble", ensemble_contenders(batches, args.members), 1),
        ("training step, batch 128", step_contenders(128), 50),
    ):
        seconds = alternate(contenders, repeats=args.repeats, iterations=iterations, warmup=1)
        fastest = min(seconds.values())
        print(f"{part} ({args.images} images):" if iterations == 1 else f"{part}:")
        for name, value in seconds.items():
            shown = f"{value:.3f} s" if iterations == 1 else f"{1000 * value:.2f} ms"
            print(f"  {name:44s} {shown:>10s}  {value / fastest:5.2f}x the fastest")
        results[part] = seconds
    # The floor of any float32 MC-dropout prediction here: T passes of the CNN's multiply-adds per image
    # at the rate of a large matrix product (no convolution kernel does them faster).
    peak = matmul_flops_per_second()
    floor = 2 * encoder_multiply_adds(cnn_classifier()) * args.images * args.samples / peak
    print(f"MC dropout's compute floor: {floor:.1f} s at {peak / 1e9:.0f} GFLOP/s (a 4096-square matmul's rate)")
    results.update(matmul_flops_per_second=peak, mc_dropout_floor_seconds=floor)
    write_results("uncertainty", results)


if __name__ == "__main__":
    main()
