"""The lab's networks by name, each checked against the input size it can take, compiled with its recipe.

`NETWORKS` maps ``mit-dl architectures train --model`` names to builders
(`mit_dl.architectures.vgg`, ``inception``, ``resnet``, ``densenet``,
``vit``) and the smallest image side each can take.
"""

import functools

import keras

from mit_dl.architectures import densenet, inception, resnet, vgg, vit
from mit_dl.errors import ConfigError
from mit_dl.training.optimizers import build_optimizer


def _resnet(depth, residual):
    return lambda shape, classes, width: resnet.resnet(shape, classes, depth, residual, width)


def _fixed(builder):
    return lambda shape, classes, width: builder(shape, classes)


# name -> (builder(input_shape, classes, width), smallest side, why).
NETWORKS = {
    "vgg": (_fixed(vgg.vgg), 8, "its three 2x2 max poolings need at least 8 pixels"),
    "inception": (_fixed(inception.inception), 2, "its stride-2 pooling needs at least 2 pixels"),
    **{
        f"{kind}{depth}": (_resnet(depth, kind == "resnet"), 4, "its two stride-2 stages need at least 4 pixels")
        for kind in ("resnet", "plain")
        for depth in (8, 20, 56)
    },
    "densenet": (_fixed(densenet.densenet), 4, "its two 2x2 average poolings need at least 4 pixels"),
    "vit": (_fixed(functools.partial(vit.vit, patch_size=4)), 4, "its 4x4 patches need sides that are multiples of 4"),
}


def build_network(name, input_shape, classes=10, width=16):
    """The network ``name`` for images of ``input_shape``, after checking that it can take them.

    Args:
        name: a key of `NETWORKS`.
        input_shape: ``(height, width, channels)``.
        classes: number of classes.
        width: a ResNet's (plain network's) first-stage channels.

    Returns:
        An uncompiled `keras.Model` from images in [0, 1] to logits.

    Raises:
        ConfigError: an unknown network, or images it cannot take (the message names the smallest size).
    """
    if name not in NETWORKS:
        raise ConfigError("model", f"must be one of {', '.join(NETWORKS)}, received {name!r}")
    builder, smallest, why = NETWORKS[name]
    height, side = input_shape[:2]
    if min(height, side) < smallest or (name == "vit" and (height % 4 or side % 4)):
        raise ConfigError(
            "model",
            f"{name} cannot take {height}x{side} images: {why} (the smallest it takes is {smallest}x{smallest})",
        )
    return builder(tuple(input_shape), classes, width)


def build_model(config, input_shape, steps_per_epoch, classes=10):
    """The config's network, compiled with the cross-entropy of its logits and the config's recipe.

    Args:
        config: the run's `ArchitecturesConfig`.
        input_shape: one image's shape.
        steps_per_epoch: training steps per epoch (for the schedule).
        classes: number of classes.

    Returns:
        The compiled model, ready for `Trainer(model)`.
    """
    model = build_network(config.model, input_shape, classes, config.width)
    settings = config.optimizer_settings(steps_per_epoch)
    model.compile(
        optimizer=build_optimizer(settings, total_steps=config.epochs * steps_per_epoch),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    return model


def from_run(run_dir, values):
    """The classifier of an architectures run, built from its recorded config (the registry's ``rebuild``).

    Args:
        run_dir: the run directory (its checkpoint is restored by the caller).
        values: the config values its ``settings.json`` records.

    Returns:
        ``(model, config)``.
    """
    from mit_dl.architectures.config import ArchitecturesConfig
    from mit_dl.architectures.data import SHAPES

    config = ArchitecturesConfig(**values)
    return build_model(config, SHAPES[config.dataset], steps_per_epoch=1), config
