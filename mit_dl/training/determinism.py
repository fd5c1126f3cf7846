"""Reproducible runs: one seed for Python, NumPy, TensorFlow and Keras."""

import keras
import tensorflow as tf


def enable_determinism(seed, op_determinism=True):
    """Seed every random source and (optionally) make TensorFlow ops deterministic.

    ``tf.config.experimental.enable_op_determinism`` makes GPU kernels
    reproducible at some speed cost; on the CPU it mostly pins reductions.

    Args:
        seed: the seed of Python's ``random``, NumPy, TensorFlow and Keras.
        op_determinism: also turn on deterministic ops.
    """
    keras.utils.set_random_seed(int(seed))  # python `random`, NumPy, TF, Keras
    if op_determinism:
        tf.config.experimental.enable_op_determinism()
