"""The vision lab's costs, side by side in one run.

Run: python -m benchmarks.vision [--images 16] [--steps 64] [--scenes 64] [--repeats 3]

- Integrated gradients of the images lab's CNN on 28x28 images, ``steps``
  intervals per image: every point of an image's path in one batched
  compiled call (`attribution.integrated_gradients`, the library's way)
  against a Python loop over the points with one compiled gradient call
  each (``batched=False``, the method as it is usually written), and
  against the same loop of eager `tf.GradientTape` calls;
- the exported detector's ``detect`` signature (`CenterDetector` of the
  ``quick`` preset's width, NMS inside), reloaded with
  `tf.saved_model.load`: a batch of ``scenes`` 128x128 scenes in one call
  against the same scenes one call each.

Weights are random and images deterministic random uint8: the costs do not
depend on what a model learned. Results: benchmarks/results/vision.json.
"""

import argparse
import pathlib
import tempfile

from mit_dl.environment import quiet_tensorflow_startup

quiet_tensorflow_startup()  # before TensorFlow prints its C++ start-up lines

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from benchmarks.timing import alternate, ratio_row, write_results  # noqa: E402
from mit_dl.export import export_savedmodel, image_endpoint  # noqa: E402
from mit_dl.networks.cnn import cnn_classifier  # noqa: E402
from mit_dl.vision import attribution  # noqa: E402
from mit_dl.vision.config import VisionConfig  # noqa: E402
from mit_dl.vision.model import CenterDetector  # noqa: E402
from mit_dl.vision.scenes import CANVAS_SIZE  # noqa: E402


def ig_contenders(images, steps):
    model = cnn_classifier()
    classes = np.arange(len(images)) % 10
    scaled = attribution.as_images(images)

    def eager_loop():
        for image, cls in zip(scaled, classes):
            total = np.zeros_like(image)
            previous = None
            for alpha in np.linspace(0, 1, steps + 1, dtype=np.float32):
                point = tf.constant(alpha * image[None])
                with tf.GradientTape() as tape:
                    tape.watch(point)
                    score = model(point, training=False)[0, cls]
                gradient = tape.gradient(score, point).numpy()[0]
                if previous is not None:
                    total += (previous + gradient) / 2
                previous = gradient

    return {
        "all points in one batched compiled call": lambda: attribution.integrated_gradients(
            model, images, classes, steps=steps
        ),
        "Python loop, one compiled call per point": lambda: attribution.integrated_gradients(
            model, images, classes, steps=steps, batched=False
        ),
        "Python loop of eager GradientTapes": eager_loop,
    }


def detector_contenders(scenes, folder):
    model = CenterDetector(width=VisionConfig().width)
    model(tf.zeros([1, CANVAS_SIZE, CANVAS_SIZE, 1]))
    endpoint = image_endpoint(model.detect, CANVAS_SIZE, CANVAS_SIZE, 1, "detect")
    export_savedmodel(model, folder, endpoints={"detect": endpoint})
    served = tf.saved_model.load(str(folder))
    return {
        f"one call on {len(scenes)} scenes": lambda: served.detect(scenes)["count"].numpy(),
        "one call per scene": lambda: [served.detect(scenes[i : i + 1])["count"].numpy() for i in range(len(scenes))],
    }


# `python -m benchmarks --quick`: a small run of every part, a few seconds to a minute on 2 CPU cores.
QUICK = ["--images", "4", "--steps", "16", "--scenes", "16", "--repeats", "1"]


def headline(results):
    """The table's rows: batched integrated gradients and batched detection against per-item loops."""
    rows = []
    for name, seconds in results.items():
        if isinstance(seconds, dict) and "seconds" in seconds:
            (best, best_seconds), *others = sorted(seconds["seconds"].items(), key=lambda item: item[1])
            for other, other_seconds in others:
                rows.append(ratio_row(name, (best, best_seconds), (other, other_seconds), "s", False))
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=16, help="images explained by integrated gradients")
    parser.add_argument("--steps", type=int, default=64, help="integrated gradients' intervals per image")
    parser.add_argument("--scenes", type=int, default=64, help="scenes given to the exported detector")
    parser.add_argument("--repeats", type=int, default=3, help="alternating rounds per comparison")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (args.images, 28, 28), dtype=np.uint8)
    scenes = rng.integers(0, 256, (args.scenes, CANVAS_SIZE, CANVAS_SIZE), dtype=np.uint8)
    results = {"images": args.images, "steps": args.steps, "scenes": args.scenes}
    with tempfile.TemporaryDirectory() as folder:
        parts = {
            f"integrated gradients ({args.images} images, {args.steps} intervals)": ig_contenders(images, args.steps),
            f"exported detector ({args.scenes} scenes)": detector_contenders(scenes, pathlib.Path(folder) / "d"),
        }
        for part, contenders in parts.items():
            seconds = alternate(contenders, repeats=args.repeats, iterations=1, warmup=1)
            fastest = min(seconds.values())
            print(f"{part}:")
            for name, value in seconds.items():
                print(f"  {name:44s} {value:8.3f} s  {value / fastest:6.2f}x the fastest")
            results[part] = {"seconds": seconds, "ratio_to_fastest": {n: v / fastest for n, v in seconds.items()}}
    write_results("vision", results)


if __name__ == "__main__":
    main()
