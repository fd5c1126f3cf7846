"""The modern CNNs lab's networks: multiply-adds and a training step's time each; the Trainer against model.fit.

Run: python -m benchmarks.architectures [--steps 10] [--repeats 3] [--batch 128]

- Every network of ``mit-dl architectures train --model`` on 28x28x1 images: parameters,
  multiply-adds per image (`mit_dl.architectures.counting`, read from the traced graph) and the
  time of one compiled training step (the shared `Trainer`, SGD with momentum) at ``--batch``,
  so the step time can be read against the multiply-adds (a ViT's attention and a DenseNet's
  concatenations cost more time per multiply-add than a ResNet's convolutions).
- ResNet-56's training step XLA-compiled (``jit_compile=True``, the lab's default) against the
  plain ``tf.function`` step, alternating.
- ResNet-20 on real Fashion-MNIST batches, ``4 * steps`` a call: the Trainer's XLA-compiled steps against ``model.fit``
  (whose ``jit_compile="auto"`` is XLA too) with the same model, optimizer and data, alternating
  (`benchmarks.training.contenders`).

Results: benchmarks/results/architectures.json.
"""

import argparse

from mit_dl.environment import quiet_tensorflow_startup

quiet_tensorflow_startup()  # before TensorFlow prints its C++ start-up lines

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from benchmarks.timing import alternate, ratio_row, write_results  # noqa: E402
from benchmarks.training import contenders, fashion_mnist  # noqa: E402
from mit_dl.architectures import counting  # noqa: E402
from mit_dl.architectures.model import build_network  # noqa: E402
from mit_dl.training import Trainer  # noqa: E402

NETWORKS = ("vgg", "inception", "resnet20", "plain20", "resnet56", "densenet", "vit")
LOSS = keras.losses.SparseCategoricalCrossentropy(from_logits=True)


def random_batches(batch):
    """The same random 28x28 batch, repeated (speed does not depend on the pixels)."""
    rng = np.random.default_rng(0)
    images = rng.random((batch, 28, 28, 1), dtype=np.float32)
    labels = rng.integers(0, 10, batch).astype(np.int32)
    return tf.data.Dataset.from_tensors((images, labels)).repeat()


def training_call(name, data, steps, jit_compile=True):
    """``(model, call)``: a fresh network ``name`` and a call training it ``steps`` steps (the lab's Trainer)."""
    keras.utils.set_random_seed(0)
    model = build_network(name, (28, 28, 1))
    trainer = Trainer(
        model, keras.optimizers.SGD(0.01, momentum=0.9), loss=LOSS, verbose=False, jit_compile=jit_compile
    )
    return model, lambda: trainer.fit(data, steps=steps, steps_per_epoch=steps)


def step_seconds(name, batch, steps, repeats):
    """The network and the seconds of one XLA-compiled training step on random 28x28 images.

    A call of ``2 * steps`` steps minus a call of ``steps`` (alternating, medians), per step: the fit
    call's fixed cost (the iterator, the first batch, the progress) cancels out.
    """
    data = random_batches(batch)
    model, short = training_call(name, data, steps)
    _, long = training_call(name, data, 2 * steps)
    seconds = alternate({"short": short, "long": long}, repeats=repeats, iterations=1, warmup=1)
    return model, max(seconds["long"] - seconds["short"], 1e-9) / steps


# `python -m benchmarks --quick`: a small run of every part, about a minute on 2 CPU cores.
QUICK = ["--steps", "3", "--repeats", "1", "--batch", "32"]


def headline(results):
    """The table's rows: ResNet-56's XLA step beside the plain one; ResNet-20's Trainer beside model.fit."""
    xla, speed = results["resnet56_xla"], results["resnet20_engines"]
    return [
        ratio_row("ResNet-56 training step", ("XLA", xla["XLA"]), ("tf.function", xla["tf.function"]), "s", False),
        ratio_row(
            "ResNet-20 training step", ("Trainer", speed["Trainer"]), ("model.fit", speed["model.fit"]), "steps/s", True
        ),
    ]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=10, help="training steps per timed call")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch", type=int, default=128)
    args = parser.parse_args()
    results = {"batch": args.batch, "steps": args.steps, "networks": {}}
    print(f"one compiled training step at batch {args.batch}, 28x28x1 images:")
    print(f"  {'network':10s} {'parameters':>11s} {'MACs/image':>11s} {'step (ms)':>10s} {'GMAC/s':>7s}")
    for name in NETWORKS:
        model, seconds = step_seconds(name, args.batch, args.steps, args.repeats)
        macs = counting.multiply_adds(model)
        # A training step is about three forward passes (forward, and twice its work backwards).
        rate = 3 * macs * args.batch / seconds / 1e9
        results["networks"][name] = {
            "parameters": counting.parameter_counts(model)["total"],
            "multiply_adds": macs,
            "step_seconds": seconds,
            "training_gmacs_per_second": rate,
        }
        parameters = results["networks"][name]["parameters"]
        print(f"  {name:10s} {parameters:11,d} {macs / 1e6:9.1f} M {1000 * seconds:10.1f} {rate:7.1f}")
    data = random_batches(args.batch)
    calls = {}
    for label, jit in (("XLA", True), ("tf.function", False)):
        calls[f"{label} short"] = training_call("resnet56", data, args.steps, jit)[1]
        calls[f"{label} long"] = training_call("resnet56", data, 2 * args.steps, jit)[1]
    medians = alternate(calls, repeats=args.repeats, iterations=1, warmup=1)
    results["resnet56_xla"] = {
        label: (medians[f"{label} long"] - medians[f"{label} short"]) / args.steps for label in ("XLA", "tf.function")
    }
    print(
        f"ResNet-56 step at batch {args.batch}: XLA {1000 * results['resnet56_xla']['XLA']:.0f} ms, "
        f"tf.function {1000 * results['resnet56_xla']['tf.function']:.0f} ms"
    )
    keras.utils.set_random_seed(0)
    runs = contenders(
        lambda: build_network("resnet20", (28, 28, 1)),
        LOSS,
        fashion_mnist(args.batch),
        4 * args.steps,  # whole fit calls: long enough that their fixed costs weigh little
        None,
        jit_compile=True,
    )
    runs.pop("eager loop")
    medians = alternate(runs, repeats=args.repeats, iterations=1, warmup=1)
    results["resnet20_engines"] = {name: 4 * args.steps / value for name, value in medians.items()}
    speed = results["resnet20_engines"]
    print(
        f"ResNet-20 on Fashion-MNIST, batch {args.batch}: Trainer {speed['Trainer']:.2f} steps/s, "
        f"model.fit {speed['model.fit']:.2f} steps/s"
    )
    write_results("architectures", results)


if __name__ == "__main__":
    main()
