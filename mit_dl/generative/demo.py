"""The generative lab's part of ``mit-dl demo``: a β-VAE on sprites with known factors, scored and measured."""

from mit_dl.generative import train
from mit_dl.generative.config import GenerativeConfig


def run(out_dir, steps, seed, log, earlier):
    """Train a β-VAE on 2,000 sprites for ``steps`` steps: samples, traversals, quality scores, MIG, export.

    Args:
        out_dir: the part's folder.
        steps: training steps.
        seed: the model's seed.
        log: where progress lines go.
        earlier: the figures of the parts run before (unused).

    Returns:
        The Fréchet distance, KID, 1-NN accuracy, the mutual information gap and the run directory.
    """
    log(f"deep generative models: a beta-VAE on 2,000 sprites with known factors, {steps} steps")
    config = GenerativeConfig.from_preset(
        "quick", model="beta-vae", dataset="sprites", sprites_count=2000, steps=steps, evaluation_count=500, seed=seed
    )
    trained = train.train(config, out_dir, log=log)
    log(
        "(a smoke run: `mit-dl generative train --model beta-vae --dataset sprites` trains 3,000 steps on 20,000 "
        "sprites; the generative lab's docs page has the measured figures)"
    )
    quality = trained["quality"]
    return {
        "fd": quality["fd"],
        "kid": quality["kid"],
        "one_nn_accuracy": quality["one_nn_accuracy"],
        "mig": trained["disentanglement"]["mig"],
        "run_directory": str(out_dir),
    }
