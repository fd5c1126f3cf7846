"""The generative lab's entry in the registry (`mit_dl.registry`): lecture 4, deep generative models."""

from mit_dl.cli import train_with
from mit_dl.generative import commands
from mit_dl.generative.config import GenerativeConfig
from mit_dl.registry import Command, DemoPart, Lab

LAB = Lab(
    name="generative",
    title="Deep generative models",
    course="Lecture 4",
    summary="VAE, beta-VAE, conditional VAE, DCGAN, conditional GAN, WGAN-GP",
    lectures=("Lecture 4: deep generative models (VAEs, GANs)",),
    commands=(
        Command(
            "train",
            "train a generative model; write samples, figures, quality scores and the export",
            train_with("mit_dl.generative.train", lambda config: f"generative-{config.model}-{config.dataset}"),
            GenerativeConfig,
            out="run directory (default: runs/generative-<model>-<dataset>-<time>)",
        ),
        Command("sample", "draw images from an exported generator", commands.sample, options=commands.sample_options),
        Command(
            "evaluate",
            "score an exported generator's samples against held-out images and the reference sets",
            commands.evaluate,
            options=commands.evaluate_options,
        ),
    ),
    configs=(GenerativeConfig,),
    demo=DemoPart(
        "mit_dl.generative.demo:run",
        seconds=200,
        describe="a beta-VAE on 2,000 sprites with known factors: samples, traversals, quality, MIG",
    ),
    assets="mit_dl.generative.assets:build",
    graders=("generative",),
    notebooks=("generative/generative_models",),
    exports=("generative model",),
    benchmark="generative",
)
