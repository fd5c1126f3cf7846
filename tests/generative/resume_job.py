"""A WGAN-GP training job for the kill-and-resume test (run as a script).

usage: python resume_job.py RUN_DIR

Two optimizers, two RNG streams (noise and interpolation weights), a
LayerNorm critic and a BatchNorm generator: 8 generator steps of
``n_critic = 2``, checkpointed every 2 steps through the lab's `fit`. The
final weights go to RUN_DIR/weights.npz.
"""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

from mit_dl.generative import data as data_lib  # noqa: E402
from mit_dl.generative import train  # noqa: E402
from mit_dl.generative.config import GenerativeConfig  # noqa: E402
from mit_dl.generative.model import build_model  # noqa: E402
from mit_dl.training import Run, enable_determinism  # noqa: E402


def main(run_dir):
    config = GenerativeConfig.from_preset(
        "quick",
        model="wgan-gp",
        dataset="mnist",
        train_count=256,
        batch_size=8,
        n_critic=2,
        steps=8,
        steps_per_epoch=2,
        seed=5,
    )
    data = data_lib.load_data(config)
    run = Run.start(run_dir, config, lab="generative", log=lambda *a: None)
    enable_determinism(config.seed)
    with run.scope():
        model = build_model(config, data.image_shape, data.num_classes)
        train.fit(model, config, data, run)
    weights = model.generator.get_weights() + model.discriminator.get_weights()
    weights += [v.numpy() for o in model.optimizers.values() for v in o.variables]
    np.savez(os.path.join(run_dir, "weights.npz"), *weights)


if __name__ == "__main__":
    main(sys.argv[1])
