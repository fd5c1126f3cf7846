"""The modern CNNs lab's entry in the registry (`mit_dl.registry`): UvA 4 and CSC413 9."""

from mit_dl.architectures import commands
from mit_dl.architectures.config import ArchitecturesConfig
from mit_dl.cli import train_with
from mit_dl.registry import Command, DemoPart, Lab

# The settings the experiments choose themselves: no option for them.
EXPERIMENT_SETS = {"degradation": ("seed", "model"), "compare": ("seed", "model")}

LAB = Lab(
    name="architectures",
    title="Modern CNN architectures",
    course="Lecture 3",
    summary="VGG, Inception, ResNet, DenseNet and a small ViT; the degradation experiment",
    lectures=(
        "UvA 4: VGG, Inception, ResNet, DenseNet, transfer learning",
        "CSC413 9: CNN architectures",
    ),
    commands=(
        Command(
            "train",
            "train one network on Fashion-MNIST (or CIFAR-10): test, count, plot, export",
            train_with("mit_dl.architectures.train", lambda config: f"architectures-{config.model}"),
            ArchitecturesConfig,
            out="run directory (default: runs/architectures-<model>-<time>)",
            presets=("quick", "full"),
        ),
        Command(
            "degradation",
            "plain against residual networks of 8, 20 and 56 layers with one recipe, on each seed (He et al. 2016, "
            "figure 1)",
            commands.degradation,
            ArchitecturesConfig,
            commands.seeds_option,
            out="the experiment's folder (default: runs/architectures-degradation-<time>)",
            exclude=EXPERIMENT_SETS["degradation"],
            presets=("degradation", "full"),
        ),
        Command(
            "compare",
            "the networks side by side: parameters, multiply-adds, training time, test accuracy",
            commands.side_by_side,
            ArchitecturesConfig,
            commands.compare_options,
            out="the experiment's folder (default: runs/architectures-compare-<time>)",
            exclude=EXPERIMENT_SETS["compare"],
            presets=("quick", "full"),
        ),
    ),
    configs=(ArchitecturesConfig,),
    demo=DemoPart(
        "mit_dl.architectures.demo:run",
        seconds=40,
        describe="ResNet-8 against its plain twin for 60 steps on Fashion-MNIST; every network's multiply-adds",
    ),
    assets="mit_dl.architectures.assets:build",
    graders=("architectures",),
    notebooks=("architectures/architectures",),
    exports=("architectures classifier",),
    rebuild="mit_dl.architectures.model:from_run",
    benchmark="architectures",
)
