"""Mixed precision for the ``train`` commands: the same code on a CPU, a GPU or a TPU.

``mixed_float16`` (NVIDIA GPUs with tensor cores) and ``mixed_bfloat16``
(TPUs, recent CPUs and GPUs) keep every variable in float32 and compute in
16 bits; the `Trainer` adds loss scaling for float16. On a CPU without
16-bit arithmetic they are slower than ``float32``, the default.
"""

import contextlib

import keras

from mit_dl.config import PRECISIONS
from mit_dl.errors import ConfigError


def check_precision(name):
    """Raise `ConfigError` unless ``name`` is one of `PRECISIONS`.

    Args:
        name: a Keras dtype policy name.
    """
    if name not in PRECISIONS:
        raise ConfigError("precision", f"must be one of {', '.join(PRECISIONS)}, received {name!r}")


def with_loss_scaling(optimizer):
    """``optimizer`` in dynamic loss scaling under the ``mixed_float16`` policy, else unchanged.

    float16 gradients underflow without it; bfloat16 has float32's range and
    needs none. A step using the result computes gradients of
    ``optimizer.scale_loss(loss)``; ``apply_gradients`` unscales them and
    skips a step whose gradients overflowed.

    Args:
        optimizer: a Keras optimizer (one already wrapped is returned as it is).

    Returns:
        The optimizer to step with.
    """
    if keras.config.dtype_policy().name == "mixed_float16" and not isinstance(
        optimizer, keras.optimizers.LossScaleOptimizer
    ):
        return keras.optimizers.LossScaleOptimizer(optimizer)
    return optimizer


@contextlib.contextmanager
def precision_policy(name):
    """Build and train models under the Keras dtype policy ``name``; the previous policy returns on exit.

    Args:
        name: ``"float32"``, ``"mixed_float16"`` or ``"mixed_bfloat16"``.
    """
    check_precision(name)
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(name)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)
