"""The ``distribute`` setting of every lab's config as a ``tf.distribute`` strategy.

- ``"none"``: ``None``, the default strategy (one device: the GPU if there is one, else the CPU);
- ``"mirrored"``: ``tf.distribute.MirroredStrategy`` over every GPU of this
  machine (or every logical CPU device when there is none; one unless
  ``tf.config.set_logical_device_configuration`` split it): each replica
  gets a slice of the global batch and gradients are summed across them;
- ``"multi-worker"``: ``tf.distribute.MultiWorkerMirroredStrategy`` across
  the machines that ``$TF_CONFIG`` describes (start the same command on each
  worker with its own ``TF_CONFIG``; worker 0 writes the checkpoints).

Batch sizes in a config are *global*: with two replicas each sees half the
batch, so the loss curve matches one device up to float rounding.
"""

import json
import os

import tensorflow as tf

from mit_dl.config import DISTRIBUTIONS
from mit_dl.errors import ConfigError


def make_strategy(name):
    """The `tf.distribute` strategy for a config's ``distribute`` value.

    Args:
        name: ``"none"``, ``"mirrored"`` (every GPU, else the logical CPUs) or
            ``"multi-worker"`` (the machines ``$TF_CONFIG`` describes).

    Returns:
        The strategy, or ``None`` for ``"none"`` (the default strategy).

    Raises:
        ConfigError: an unknown name, or ``multi-worker`` without ``$TF_CONFIG``.
    """
    if name not in DISTRIBUTIONS:
        raise ConfigError("distribute", f"must be one of {', '.join(DISTRIBUTIONS)}, received {name!r}")
    if name == "none":
        return None  # the default strategy
    if name == "mirrored":
        # Every GPU; on a machine without one, every logical CPU device (one, unless configured otherwise).
        devices = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
        return tf.distribute.MirroredStrategy([device.name for device in devices])
    if not os.environ.get("TF_CONFIG"):
        raise ConfigError(
            "distribute",
            "is multi-worker but $TF_CONFIG is not set; set it on every worker to "
            "describe the cluster and this worker's task, or use mirrored",
        )
    try:
        json.loads(os.environ["TF_CONFIG"])
    except json.JSONDecodeError as error:
        raise ConfigError("distribute", f"is multi-worker but $TF_CONFIG is not valid JSON ({error})") from None
    return tf.distribute.MultiWorkerMirroredStrategy()
