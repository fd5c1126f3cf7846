"""Mixed precision for the ``train`` commands: the same code on a CPU, a GPU or a TPU.

``mixed_float16`` (NVIDIA GPUs with tensor cores) and ``mixed_bfloat16``
(TPUs, recent CPUs and GPUs) keep every variable in float32 and compute in
16 bits; the `Trainer` adds loss scaling for float16. On a CPU without
16-bit arithmetic they are slower than ``float32``, the default.
"""

import contextlib

PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16")


@contextlib.contextmanager
def precision_policy(name):
    """Build and train models under the Keras dtype policy ``name``; the previous policy returns on exit."""
    import keras

    if name not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, received {name!r}.")
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(name)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)
