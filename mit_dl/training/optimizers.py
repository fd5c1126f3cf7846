"""Optimisers from a config's recipe: the optimiser's name, its peak learning rate, a cosine schedule with warm-up."""

import keras


def build_optimizer(settings, total_steps):
    """The optimiser a config's ``optimizer_settings()`` describes (the images and vision labs').

    Args:
        settings: ``{"optimizer", "learning_rate", "schedule"}`` and optionally ``"warmup_steps"`` (a cosine
            schedule then rises linearly from 0 to the learning rate over them first), ``"arguments"``
            (the optimizer's other arguments: ``{"weight_decay": 0.1, "global_clipnorm": 1.0}``) and
            ``"no_decay"`` (names of variables AdamW does not decay: ``["bias", "gamma", "beta"]``).
        total_steps: the run's steps; a cosine schedule decays to 0 over them.

    Returns:
        A Keras optimizer.
    """
    learning_rate = settings["learning_rate"]
    if settings["schedule"] == "cosine":
        warmup = min(settings.get("warmup_steps", 0), total_steps - 1)
        if warmup > 0:
            learning_rate = keras.optimizers.schedules.CosineDecay(
                0.0, decay_steps=total_steps - warmup, warmup_target=learning_rate, warmup_steps=warmup
            )
        else:
            learning_rate = keras.optimizers.schedules.CosineDecay(learning_rate, decay_steps=total_steps)
    optimizer = getattr(keras.optimizers, settings["optimizer"])(learning_rate, **settings.get("arguments", {}))
    if settings.get("no_decay"):
        optimizer.exclude_from_weight_decay(var_names=list(settings["no_decay"]))
    return optimizer
