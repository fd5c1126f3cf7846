"""The uncertainty lab's entry in the registry (`mit_dl.registry`): lecture 5."""

from mit_dl.cli import train_with
from mit_dl.registry import Command, DemoPart, Lab
from mit_dl.uncertainty import commands
from mit_dl.uncertainty.config import BiasConfig, UncertaintyConfig

LAB = Lab(
    name="uncertainty",
    title="Uncertainty",
    course="Lecture 5",
    summary="aleatoric and epistemic uncertainty, calibration, out-of-distribution inputs",
    lectures=("Lecture 5: robust and trustworthy deep learning (uncertainty, bias)",),
    commands=(
        Command(
            "train",
            "train a wrapped model; measure calibration and OOD detection (or the regression bands), plot, export",
            train_with("mit_dl.uncertainty.train", lambda config: f"uncertainty-{config.method}-{config.task}"),
            UncertaintyConfig,
            out="run directory (default: runs/uncertainty-<method>-<task>-<time>)",
        ),
        Command(
            "evaluate",
            "calibration and OOD detection of an exported classifier: metrics JSON, reliability diagrams, histograms",
            commands.evaluate,
            options=commands.evaluate_options,
        ),
        Command(
            "bias",
            "score the faces benchmark's training faces by a VAE and its latent histograms: AUROC of rare vs common "
            "groups",
            commands.bias,
            BiasConfig,
            out="run directory (default: runs/uncertainty-bias-<time>)",
        ),
    ),
    configs=(UncertaintyConfig, BiasConfig),
    demo=DemoPart(
        "mit_dl.uncertainty.demo:run",
        seconds=30,
        describe="a deep ensemble of three mean-variance networks on the regression toy: both kinds of uncertainty",
    ),
    assets="mit_dl.uncertainty.assets:build",
    graders=("uncertainty",),
    notebooks=("uncertainty/uncertainty",),
    exports=("uncertainty classifier", "uncertainty regression"),
    benchmark="uncertainty",
)
