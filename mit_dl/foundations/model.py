"""Lecture 1 lab classifiers: an MLP or the course CNN, built from the lab's own initialisation and normalisation.

Each hidden layer is ``kernel (drawn by the config's scheme) -> normalisation (none, the lab's
BatchNorm, LayerNorm or GroupNorm) -> activation``; inverted dropout comes before the output
layer; an L2 penalty adds ``l2 * sum(w^2)`` of every kernel to the loss (Keras' regularizer
losses, which the Trainer adds). `build_optimizer` returns the lab's own optimizer the config
names.
"""

import keras

from mit_dl.foundations import optimizers
from mit_dl.foundations.config import CNN_CHANNELS
from mit_dl.foundations.initialisation import SchemeInitializer
from mit_dl.foundations.normalization import BatchNorm, GroupNorm, LayerNorm

# The moving averages' decay of the classifiers' BatchNorm: 0.9 (PyTorch's 0.1 in its convention) where Keras
# defaults to 0.99, whose averages still hold 72% of their initial values after 32 steps (a short run's
# test accuracy was 56% against 77% in training at 0.99: the moving statistics had not caught up).
BATCH_NORM_MOMENTUM = 0.9

OPTIMIZER_CLASSES = {
    "sgd": lambda rate, config: optimizers.GradientDescent(rate),
    "momentum": lambda rate, config: optimizers.GradientDescent(rate, momentum=0.9),
    "nesterov": lambda rate, config: optimizers.GradientDescent(rate, momentum=0.9, nesterov=True),
    "adagrad": lambda rate, config: optimizers.AdaGrad(rate),
    "rmsprop": lambda rate, config: optimizers.RMSProp(rate),
    "adam": lambda rate, config: optimizers.Adam(rate),
    "adamw": lambda rate, config: optimizers.AdamW(rate, decay=config.decay()),
}


def build_optimizer(config):
    """The lab's own optimizer of ``config`` at its learning rate.

    Args:
        config: a `FoundationsConfig`.

    Returns:
        A `keras.optimizers.Optimizer` from `mit_dl.foundations.optimizers`.
    """
    return OPTIMIZER_CLASSES[config.optimizer](config.rate(), config)


def normalisation(config, name):
    """The normalisation layer ``config.norm`` names, or None.

    Args:
        config: a `FoundationsConfig`.
        name: the layer's name.

    Returns:
        A layer, or None for ``norm="none"``.
    """
    layers = {
        "batch": lambda name: BatchNorm(momentum=BATCH_NORM_MOMENTUM, name=name),
        "layer": LayerNorm,
        "group": lambda name: GroupNorm(config.groups, name=name),
    }
    return layers[config.norm](name=name) if config.norm != "none" else None


def _hidden(config, layer, index, activation):
    """``layer -> normalisation -> activation`` as a list of layers."""
    norm = normalisation(config, f"norm_{index}")
    return [layer, *([norm] if norm is not None else []), keras.layers.Activation(activation, name=f"act_{index}")]


def _kernel(config, index):
    """The config's scheme, seeded per layer (equal seeds would draw equal kernels)."""
    return {"kernel_initializer": SchemeInitializer(config.init, seed=1000 * config.seed + index)} | (
        {"kernel_regularizer": keras.regularizers.L2(config.l2)} if config.l2 else {}
    )


def build_classifier(config, classes=10):
    """The classifier ``config`` describes: float images ``[B, 28, 28, 1]`` in [0, 1] -> logits.

    Args:
        config: a `FoundationsConfig`.
        classes: output classes.

    Returns:
        An uncompiled `keras.Sequential` (float32 logits under mixed precision).
    """
    layers = [keras.Input((28, 28, 1))]
    if config.model == "cnn":
        for index, channels in enumerate(CNN_CHANNELS):
            conv = keras.layers.Conv2D(channels, 3, name=f"conv_{index}", **_kernel(config, index))
            layers += _hidden(config, conv, index, "relu") + [keras.layers.MaxPooling2D(2)]
        layers += [keras.layers.Flatten()] + _hidden(
            config, keras.layers.Dense(128, name="dense_2", **_kernel(config, 2)), 2, "relu"
        )
    else:
        layers.append(keras.layers.Flatten())
        for index in range(config.depth):
            dense = keras.layers.Dense(config.width, name=f"dense_{index}", **_kernel(config, index))
            layers += _hidden(config, dense, index, config.activation)
    if config.dropout:
        layers.append(keras.layers.Dropout(config.dropout))
    layers.append(keras.layers.Dense(classes, dtype="float32", name="logits", **_kernel(config, 999)))
    return keras.Sequential(layers, name=f"{config.model}_classifier")


def from_run(run_dir, values):
    """The classifier of a foundations run, built from its recorded config (the registry's ``rebuild``).

    Args:
        run_dir: the run directory (its checkpoint is restored by the caller).
        values: the config values its ``settings.json`` records.

    Returns:
        ``(model, config)``.
    """
    from mit_dl.foundations.config import FoundationsConfig

    config = FoundationsConfig(**values)
    return build_classifier(config), config
