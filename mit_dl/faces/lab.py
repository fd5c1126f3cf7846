"""The faces lab's entry in the registry (`mit_dl.registry`): MIT 6.S191 Lab 2, part 2."""

from mit_dl.cli import train_with
from mit_dl.faces import commands
from mit_dl.faces.config import FacesConfig
from mit_dl.registry import Command, DemoPart, Lab

LAB = Lab(
    name="faces",
    title="Faces and debiasing",
    course="Lab 2",
    summary="face detection and a debiasing VAE (DB-VAE)",
    lectures=(
        "Lecture 3: convolutional networks (the face detector)",
        "Lecture 4: variational autoencoders (the DB-VAE)",
    ),
    commands=(
        Command(
            "train",
            "train, evaluate per group, plot and export a face detector",
            train_with("mit_dl.faces.train", lambda config: f"faces-{config.model}"),
            FacesConfig,
            out="run directory (default: runs/faces-<model>-<time>)",
            presets=("quick", "full"),
        ),
        Command(
            "evaluate",
            "per-group accuracy of an exported face detector",
            commands.evaluate,
            options=commands.evaluate_options,
        ),
        Command(
            "compare",
            "train the standard CNN, both DB-VAE rules, the reweighting baseline and the oracle for each seed; "
            "write one table with 95% intervals over the seeds",
            commands.compare,
            FacesConfig,
            commands.compare_options,
            exclude=("model", "seed", "combine"),
            presets=("full", "quick"),
        ),
    ),
    configs=(FacesConfig,),
    demo=DemoPart(
        "mit_dl.faces.demo:run",
        seconds=280,
        describe="the standard face CNN and the DB-VAE on the same small synthetic face set",
    ),
    assets="mit_dl.faces.assets:build",
    graders=("faces",),
    notebooks=("faces/part2_debiasing",),
    exports=("face detector", "face decoder"),
    benchmark="debias",
)
