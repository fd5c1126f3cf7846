"""The foundations lab's entry in the registry (`mit_dl.registry`): lecture 1 from scratch."""

import dataclasses

from mit_dl.cli import train_with
from mit_dl.foundations import commands
from mit_dl.foundations.config import FoundationsConfig
from mit_dl.registry import Command, DemoPart, Lab

EXPERIMENT_HELP = {
    "optimizers": "the seven optimizers on a valley, a banana and a saddle, then on Fashion-MNIST at each one's best "
    "swept learning rate",
    "init": "activation and gradient variance through 20 and 50 layers, the symmetry problem, which schemes train a "
    "tanh MLP of 20 layers (quick) or 50 (full) with and without BatchNorm",
    "norm": "none / BatchNorm / LayerNorm / GroupNorm on the CNN, and BatchNorm against GroupNorm as the batch falls "
    "to 2",
    "regularise": "1,000 training images: none, L2, dropout, augmentation, early stopping; an L2 penalty against "
    "decoupled decay",
    "gradients": "gradient norms through a deep sigmoid / tanh / ReLU MLP and through time in an RNN and an LSTM; "
    "clipping",
}

# The settings each experiment chooses itself: no option for them (the gradients experiment trains nothing).
EXPERIMENT_SETS = {
    "optimizers": ("optimizer", "learning_rate", "weight_decay"),
    "init": ("model", "depth", "width", "activation", "init", "norm", "groups"),
    "norm": ("model", "norm", "depth", "width", "activation"),
    "regularise": ("train_images", "epochs", "width", "l2", "dropout", "augment", "patience"),
    "gradients": tuple(f.name for f in dataclasses.fields(FoundationsConfig) if f.name != "preset"),
}

LAB = Lab(
    name="foundations",
    title="Foundations from scratch",
    course="Lecture 1",
    summary="automatic differentiation, optimizers, initialisation, normalisation, regularisation from scratch",
    lectures=(
        "Lecture 1: the perceptron, loss, gradient descent, backpropagation, regularisation",
        "CSC413 2-5, 7-8 and UvA 2-3: automatic differentiation, initialisation, optimizers, normalisation",
    ),
    commands=(
        Command(
            "train",
            "train one Fashion-MNIST classifier with the lab's own optimizer, initialisation and normalisation; "
            "test, plot, export",
            train_with("mit_dl.foundations.train", lambda config: f"foundations-{config.model}-{config.optimizer}"),
            FoundationsConfig,
            out="run directory (default: runs/foundations-<model>-<optimizer>-<time>)",
        ),
        *(
            Command(
                name,
                help,
                commands.experiment(name),
                FoundationsConfig,
                commands.experiment_options,
                out=f"the experiment's folder (default: runs/foundations-{name}-<time>)",
                exclude=("seed", *EXPERIMENT_SETS[name]),
            )
            for name, help in EXPERIMENT_HELP.items()
        ),
    ),
    configs=(FoundationsConfig,),
    demo=DemoPart(
        "mit_dl.foundations.demo:run",
        seconds=12,
        describe="the from-scratch autodiff engine trains an MLP and agrees with GradientTape; Adam vs SGD on a valley",
    ),
    assets="mit_dl.foundations.assets:build",
    graders=("foundations",),
    notebooks=("foundations/foundations",),
    exports=("foundations classifier",),
    rebuild="mit_dl.foundations.model:from_run",
    benchmark="foundations",
)
