"""The foundations lab's optimizers and autodiff engine against TensorFlow / Keras, side by side in one run.

Run: python -m benchmarks.foundations [--batch 128] [--repeats 5] [--iterations 50]

- One compiled training step (``tf.function``: forward, ``GradientTape``, ``apply_gradients``)
  of an MLP 784 -> 256 -> 256 -> 10 on a batch of random images, with each of the lab's
  optimizers (`mit_dl.foundations.optimizers`) against its Keras twin on the same model.
  Target: within 1.1x of Keras.
- One gradient of the same MLP's loss by the from-scratch NumPy engine
  (`mit_dl.foundations.autodiff`) against ``tf.GradientTape`` (eager and compiled): a teaching
  engine, so the ratio is reported, not targeted.

Results: benchmarks/results/foundations.json.
"""

import argparse

from mit_dl.environment import quiet_tensorflow_startup

quiet_tensorflow_startup()  # before TensorFlow prints its C++ start-up lines

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from benchmarks.timing import alternate, ratio_row, write_results  # noqa: E402
from mit_dl.foundations import autodiff, optimizers  # noqa: E402

SIZES = (784, 256, 256, 10)
# Each optimizer of the lab and its Keras twin, with the same settings.
TWINS = {
    "SGD": (lambda: optimizers.GradientDescent(0.01), lambda: keras.optimizers.SGD(0.01)),
    "momentum": (
        lambda: optimizers.GradientDescent(0.01, momentum=0.9),
        lambda: keras.optimizers.SGD(0.01, momentum=0.9),
    ),
    "AdaGrad": (lambda: optimizers.AdaGrad(0.01), lambda: keras.optimizers.Adagrad(0.01)),
    "RMSProp": (lambda: optimizers.RMSProp(1e-3), lambda: keras.optimizers.RMSprop(1e-3)),
    "Adam": (lambda: optimizers.Adam(1e-3), lambda: keras.optimizers.Adam(1e-3)),
    "AdamW": (lambda: optimizers.AdamW(1e-3, decay=0.004), lambda: keras.optimizers.AdamW(1e-3, weight_decay=0.004)),
}


def _mlp():
    keras.utils.set_random_seed(0)
    return keras.Sequential(
        [keras.Input((SIZES[0],))]
        + [keras.layers.Dense(n, activation="tanh") for n in SIZES[1:-1]]
        + [keras.layers.Dense(SIZES[-1])]
    )


def compiled_step(optimizer, x, y):
    """A compiled training step of a fresh MLP with ``optimizer``."""
    model = _mlp()
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            loss = loss_fn(y, model(x, training=True))
        optimizer.apply_gradients(zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables))
        return loss

    return lambda: step().numpy()


def gradient_contenders(x, y):
    """One gradient of the MLP's loss: the NumPy engine, eager GradientTape, compiled GradientTape (float64)."""
    parameters = autodiff.mlp_parameters(SIZES, seed=0)
    variables = [tf.Variable(p.value) for p in parameters]
    x64 = tf.constant(x.astype(np.float64))

    def tape_gradient():
        with tf.GradientTape() as tape:
            h = x64
            for index in range(0, len(variables) - 2, 2):
                h = tf.tanh(h @ variables[index] + variables[index + 1])
            logits = h @ variables[-2] + variables[-1]
            loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(y, logits))
        return tape.gradient(loss, variables)

    compiled = tf.function(tape_gradient)

    def engine():
        for p in parameters:
            p.grad = None
        autodiff.mlp_loss(parameters, x.astype(np.float64), y).backward()

    return {
        "from-scratch engine (NumPy)": engine,
        "GradientTape, eager": lambda: [g.numpy() for g in tape_gradient()],
        "GradientTape, compiled": lambda: [g.numpy() for g in compiled()],
    }


# `python -m benchmarks --quick`: a small run of every part, seconds on 2 CPU cores.
QUICK = ["--repeats", "1", "--iterations", "10"]


def headline(results):
    """The table's rows: Adam and AdamW steps against Keras', and the engine against GradientTape."""
    rows = [
        ratio_row(
            f"compiled training step, {name}",
            ("ours", results["steps"][name]["ours"]),
            ("Keras", results["steps"][name]["Keras"]),
            "s",
            False,
        )
        for name in ("Adam", "AdamW")
    ]
    gradient = results["gradient"]
    rows.append(
        ratio_row(
            "one MLP gradient (teaching engine)",
            ("NumPy engine", gradient["from-scratch engine (NumPy)"]),
            ("GradientTape, compiled", gradient["GradientTape, compiled"]),
            "s",
            False,
        )
    )
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--iterations", type=int, default=50)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    x = rng.random((args.batch, SIZES[0]), dtype=np.float32)
    y = rng.integers(0, SIZES[-1], args.batch)
    results = {"batch": args.batch, "mlp": list(SIZES), "steps": {}}
    print(f"compiled training step of an MLP {'-'.join(map(str, SIZES))}, batch {args.batch} (ms):")
    for name, (ours, twin) in TWINS.items():
        seconds = alternate(
            {"ours": compiled_step(ours(), x, y), "Keras": compiled_step(twin(), x, y)},
            repeats=args.repeats,
            iterations=args.iterations,
            warmup=3,
        )
        results["steps"][name] = seconds
        print(
            f"  {name:9s} ours {1000 * seconds['ours']:7.3f}  Keras {1000 * seconds['Keras']:7.3f}  "
            f"ours / Keras {seconds['ours'] / seconds['Keras']:.2f}x"
        )
    seconds = alternate(gradient_contenders(x, y), repeats=args.repeats, iterations=args.iterations, warmup=2)
    fastest = min(seconds.values())
    print("one gradient of the same MLP's loss, float64 (ms):")
    for name, value in seconds.items():
        print(f"  {name:30s} {1000 * value:8.3f}  {value / fastest:5.1f}x the fastest")
    results["gradient"] = seconds
    write_results("foundations", results)


if __name__ == "__main__":
    main()
