"""Lecture layers vs their Keras twins: forward + backward under tf.function.

Run: python -m benchmarks.layers [--repeats 7]

For each pair, one compiled training-like step (forward, a scalar loss,
gradients for the weights and the input) is timed for both layers,
alternating in one process; the ratio is twin time / ours (>= 1.0 means the
lecture layer is at least as fast). Results: benchmarks/results/layers.json.
"""

import argparse

from mit_dl.environment import quiet_tensorflow_startup

quiet_tensorflow_startup()  # before TensorFlow prints its C++ start-up lines

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from keras import ops  # noqa: E402

from benchmarks.timing import alternate, ratio_row, write_results  # noqa: E402
from mit_dl import layers  # noqa: E402


class PrecomputedSinusoids(keras.layers.Layer):
    """Twin for PositionalEncoding (Keras core has none): the common table-in-a-constant approach."""

    def __init__(self, max_length, depth, **kwargs):
        super().__init__(**kwargs)
        self.table = layers.sinusoidal_encoding(max_length, depth)

    def call(self, x):
        return x + ops.cast(self.table[: ops.shape(x)[1]], x.dtype)[None]


class EmbeddingOfPositions(keras.layers.Layer):
    """Twin for PositionEmbedding: keras.layers.Embedding looked up at arange(T), added."""

    def __init__(self, length, depth, **kwargs):
        super().__init__(**kwargs)
        self.embedding = keras.layers.Embedding(length, depth)

    def call(self, x):
        return x + self.embedding(ops.arange(ops.shape(x)[1]))[None]


class KerasExampleSampling(keras.layers.Layer):
    """Twin for Sampling: the reparameterization as in the Keras VAE example."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.seed_generator = keras.random.SeedGenerator(1337)

    def call(self, inputs):
        mean, log_var = inputs
        eps = keras.random.normal(ops.shape(mean), seed=self.seed_generator)
        return mean + ops.exp(0.5 * log_var) * eps


def _mha_twin(heads, key_dim):
    mha = keras.layers.MultiHeadAttention(heads, key_dim)
    return lambda x: mha(x, x), mha


def _pairs():
    rng = np.random.default_rng(0)

    def normal(*shape):
        return tf.constant(rng.normal(size=shape).astype("float32"))

    seq = normal(32, 100, 64)
    tokens = normal(32, 128, 256)
    yield (
        "MyDenseLayer(1024, sigmoid)",
        "(256, 1024)",
        normal(256, 1024),
        layers.MyDenseLayer(1024),
        keras.layers.Dense(1024, activation="sigmoid"),
    )
    yield (
        "RNN(MyRNNCell(256))",
        "(32, 100, 64)",
        seq,
        keras.layers.RNN(layers.MyRNNCell(256), return_sequences=True),
        keras.layers.SimpleRNN(256, use_bias=False, return_sequences=True),
    )
    twin = keras.Sequential(
        [keras.layers.SimpleRNN(256, use_bias=False, return_sequences=True), keras.layers.Dense(64, use_bias=False)]
    )
    yield (
        "RNN(MyRNNCell(256, output_dim=64))",
        "(32, 100, 64)",
        seq,
        keras.layers.RNN(layers.MyRNNCell(256, output_dim=64), return_sequences=True),
        twin,
    )
    one_head, mha1 = _mha_twin(1, 64)
    yield (
        "SelfAttention(64) [twin adds W^O]",
        "(32, 128, 256)",
        tokens,
        layers.SelfAttention(64, use_bias=True),
        (one_head, mha1),
    )
    eight, mha8 = _mha_twin(8, 32)
    yield (
        "MultiHeadSelfAttention(256, 8)",
        "(32, 128, 256)",
        tokens,
        layers.MultiHeadSelfAttention(256, 8),
        (eight, mha8),
    )
    yield (
        "PositionalEncoding [twin: precomputed table]",
        "(32, 128, 256)",
        tokens,
        layers.PositionalEncoding(),
        PrecomputedSinusoids(512, 256),
    )
    yield (
        "PositionEmbedding(512) [twin: Embedding(arange)]",
        "(32, 128, 256)",
        tokens,
        layers.PositionEmbedding(512),
        EmbeddingOfPositions(512, 256),
    )
    yield (
        "Sampling [twin: Keras VAE example]",
        "2 x (4096, 128)",
        [normal(4096, 128), normal(4096, 128)],
        layers.Sampling(seed=0),
        KerasExampleSampling(),
    )


def _train_step(call, owner, x):
    """A compiled forward+backward step of ``call`` with loss sum(y^2)."""
    call(x)  # build the weights before tracing
    inputs = x if isinstance(x, list) else [x]

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            tape.watch(inputs)
            y = call(x)
            loss = tf.reduce_sum(tf.square(y))
        return tape.gradient(loss, owner.trainable_variables + inputs)

    return step


# `python -m benchmarks --quick`: a small run of every part, a few seconds to a minute on 2 CPU cores.
QUICK = ["--repeats", "3", "--iterations", "3"]


def headline(results):
    """The table's rows: each lecture layer's step time beside its Keras twin's."""
    return [
        ratio_row(row["layer"], ("ours", row["ours_ms"]), ("Keras twin", row["twin_ms"]), "ms", higher_is_better=False)
        for row in results["rows"]
    ]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--iterations", type=int, default=10)
    args = parser.parse_args()

    rows = []
    print(f"{'layer':50s} {'input':16s} {'ours ms':>9s} {'twin ms':>9s} {'speed ratio':>11s}")
    for name, shape, x, ours, twin in _pairs():
        twin_call, twin_owner = twin if isinstance(twin, tuple) else (twin, twin)
        steps = {"ours": _train_step(ours, ours, x), "twin": _train_step(twin_call, twin_owner, x)}
        times = alternate(steps, repeats=args.repeats, iterations=args.iterations)
        ratio = times["twin"] / times["ours"]
        rows.append(
            {
                "layer": name,
                "input": shape,
                "ours_ms": 1e3 * times["ours"],
                "twin_ms": 1e3 * times["twin"],
                "speed_ratio": ratio,
            }
        )
        print(f"{name:50s} {shape:16s} {1e3 * times['ours']:9.2f} {1e3 * times['twin']:9.2f} {ratio:10.2f}x")
    write_results(
        "layers",
        {
            "what": "forward+backward step under tf.function; speed_ratio = twin_ms / ours_ms (median of repeats)",
            "repeats": args.repeats,
            "iterations_per_repeat": args.iterations,
            "rows": rows,
        },
    )


if __name__ == "__main__":
    main()
