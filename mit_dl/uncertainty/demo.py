"""The uncertainty lab's part of ``mit-dl demo``: a deep ensemble of mean-variance networks on the regression toy."""

from mit_dl.uncertainty import train
from mit_dl.uncertainty.config import UncertaintyConfig


def run(out_dir, steps, seed, log, earlier):
    """Three MVE networks as an ensemble for ``2 * steps`` steps: the aleatoric band, the epistemic one, the export.

    Args:
        out_dir: the part's folder.
        steps: the demo's steps per model (the small networks get twice as many).
        seed: the ensemble's seed.
        log: where progress lines go.
        earlier: the figures of the parts run before (unused).

    Returns:
        The regression toy's figures of merit and the run directory.
    """
    steps = 2 * steps
    log(f"uncertainty: a deep ensemble of 3 mean-variance networks on y = x^3 + noise, {steps} steps")
    config = UncertaintyConfig.from_preset(
        "quick", method="ensemble", task="regression", members=3, steps=steps, seed=seed
    )
    metrics = train.train(config, out_dir, log=log)
    log("(the uncertainty lab's docs page has every method on the toy and on Fashion-MNIST vs MNIST)")
    return {**metrics["regression"], "run_directory": str(out_dir)}
