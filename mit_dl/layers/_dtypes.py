"""Dtype helpers for mixed precision."""

import keras

_HALF = ("float16", "bfloat16")


def at_least_float32(dtype):
    """The dtype to do sensitive math in: float32 for half types, else ``dtype``.

    Softmax scores and KL terms overflow or lose all precision in float16 /
    bfloat16; float64 inputs keep float64 (finite-difference checks need it).
    """
    dtype = keras.backend.standardize_dtype(dtype)
    return "float32" if dtype in _HALF else dtype
