"""The uncertainty lab's figures for the docs site (``python -m docs.build_assets --only uncertainty``)."""

from mit_dl.training.runs import finished_or_trained
from mit_dl.uncertainty import bias as uncertainty_bias
from mit_dl.uncertainty import train
from mit_dl.uncertainty.config import BiasConfig, UncertaintyConfig

IMAGE_METHODS = ("deterministic", "dropout", "ensemble", "bayes", "vae")
REGRESSION_METHODS = ("mve", "dropout", "ensemble", "bayes")
SEEDS = (0, 1, 2)


def build(work, site):
    """Every uncertainty method on the regression toy and on Fashion-MNIST vs MNIST, seeds 0-2, and the bias run.

    About 75 minutes on 2 CPU cores (the Fashion-MNIST runs); with ``--resume`` finished runs are read back.

    Args:
        work: the scratch folder of the runs.
        site: the docs' asset writer (``docs/build_assets.py``'s `Site`).

    Returns:
        The manifest entry: the command, the files, every run's figures of merit.
    """
    regression, images = {}, {}
    for method in REGRESSION_METHODS:
        for seed in SEEDS:
            config = UncertaintyConfig.from_preset("quick", method=method, task="regression", seed=seed)
            metrics = finished_or_trained(train.train, config, work / f"regression-{method}-s{seed}")
            regression.setdefault(method, []).append(metrics["regression"])
    for method in IMAGE_METHODS:
        for seed in SEEDS:
            config = UncertaintyConfig.from_preset("quick", method=method, task="fashion_mnist", seed=seed)
            metrics = finished_or_trained(train.train, config, work / f"{method}-s{seed}")
            images.setdefault(method, []).append({k: metrics[k] for k in ("calibration", "ood", "temperature_scaled")})
    bias = finished_or_trained(uncertainty_bias.bias, BiasConfig(), work / "bias-s0")["bias"]
    files = [
        site.copy(work / source, name, colours=64)
        for source, name in (
            ("regression-ensemble-s0/regression.png", "regression-ensemble.png"),
            ("regression-dropout-s0/regression.png", "regression-dropout.png"),
            ("ensemble-s0/reliability.png", "reliability-ensemble.png"),
            ("ensemble-s0/ood_scores.png", "ood-ensemble.png"),
            ("vae-s0/ood_scores.png", "ood-vae.png"),
            ("bias-s0/bias_scores.png", "bias-scores.png"),
        )
    ]
    return {
        "command": "mit-dl uncertainty train --method M --task T --seed S (quick preset) for each method, task "
        "and seed 0-2; mit-dl uncertainty bias",
        "files": files,
        "regression": regression,
        "fashion_mnist": images,
        "bias": bias,
    }
