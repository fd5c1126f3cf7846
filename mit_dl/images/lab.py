"""The images lab's entry in the registry (`mit_dl.registry`): MIT 6.S191 Lab 2, part 1."""

from mit_dl.cli import train_with
from mit_dl.images import commands
from mit_dl.images.config import ImagesConfig
from mit_dl.registry import Command, DemoPart, Lab

LAB = Lab(
    name="images",
    title="Image classification",
    course="Lab 2",
    summary="digit and clothing classifiers",
    lectures=("Lecture 3: convolutional neural networks",),
    commands=(
        Command(
            "train",
            "train, evaluate, plot and export a classifier",
            train_with("mit_dl.images.train", lambda config: f"images-{config.dataset}-{config.model}"),
            ImagesConfig,
            out="run directory (default: runs/images-<dataset>-<model>-<time>)",
        ),
        Command(
            "evaluate",
            "accuracy of an exported classifier on a test set",
            commands.evaluate,
            options=commands.evaluate_options,
        ),
    ),
    configs=(ImagesConfig,),
    demo=DemoPart(
        "mit_dl.images.demo:run",
        seconds=60,
        describe="the lab's CNN for one epoch on Fashion-MNIST (when the files are reachable)",
    ),
    assets="mit_dl.images.assets:build",
    graders=("images",),
    notebooks=("images/part1_images",),
    exports=("image classifier",),
    rebuild="mit_dl.images.model:from_run",
    benchmark="training",
)
