"""The vision lab's part of ``mit-dl demo``: a detector on scenes of real digits; what the images CNN looks at."""

from mit_dl.data import mnist
from mit_dl.data.mnist import DatasetNotFound
from mit_dl.vision import inspect, train
from mit_dl.vision.config import VisionConfig


def run(out_dir, steps, seed, log, earlier):
    """The single-shot detector for half of ``steps`` on 1,000 scenes; with the images part's CNN, its maps and FGSM.

    Needs MNIST (``$MIT_DL_DATA`` or a cache); without it the part says so and is skipped.

    Args:
        out_dir: the part's folder.
        steps: the demo's steps per model (the detector gets half, at least 10).
        seed: the detector's and the scenes' seed.
        log: where progress lines go.
        earlier: the figures of the parts run before; the images part's run directory is explained and attacked.

    Returns:
        The detector's mAP@0.5, the folder, and (with the CNN) its accuracy under FGSM; or ``{"skipped": why}``.
    """
    steps = max(10, steps // 2)
    try:
        mnist.load_arrays("mnist", "test")
    except DatasetNotFound as error:
        log(f"vision skipped: {error}")
        return {"skipped": str(error)}
    log(f"vision: a single-shot detector on 1,000 scenes of real MNIST digits, {steps} steps")
    config = VisionConfig(
        task="detection", train_scenes=1000, test_scenes=200, steps=steps, eval_every=steps, seed=seed
    )
    detected = train.train(config, out_dir / "detector", log=log)
    result = {"map_50": detected["test"]["map_50"], "run_directory": str(out_dir / "detector")}
    cnn_run = earlier.get("images", {}).get("run_directory")
    if cnn_run:
        explained = inspect.explain(cnn_run, ("saliency", "gradcam", "ig"), 6, out_dir)
        attacked = inspect.attack([cnn_run], "fgsm", (0, 8, 25.5), 500, out_dir)
        accuracy = next(iter(attacked["runs"].values()))["accuracy"]
        log(
            f"the images CNN: attribution maps in {explained['figure']}; FGSM on 500 test images: accuracy "
            f"{100 * accuracy[0]:.1f}% clean, {100 * accuracy[2]:.1f}% at epsilon 25.5 pixel units (0.1)"
        )
        result["fgsm_accuracy"] = dict(zip(("0", "8", "25.5"), accuracy))
    log(
        "(a smoke run: `mit-dl vision train --task segmentation|detection` trains on 8,000 scenes; the "
        "vision lab's docs page has the measured times and figures)"
    )
    return result
