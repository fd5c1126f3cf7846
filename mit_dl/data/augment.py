"""Image augmentation the labs share: a random shift (zeros shifted in) and a left-right flip."""

import tensorflow as tf


def shift_and_flip(images, seed, shift=2):
    """Shift a batch by up to ``shift`` pixels each way (zeros shifted in) and flip half the batches left-right.

    One shift and one flip decision per batch (cheap on a CPU); over an epoch every image sees many.

    Args:
        images: float ``[B, H, W, C]``.
        seed: a ``[2]`` int seed of the stateless random ops (a new one each batch).
        shift: the largest shift in pixels.

    Returns:
        Images of the same shape.
    """
    shift_seed, flip_seed = tf.unstack(tf.random.experimental.stateless_split(seed, 2))
    padded = tf.pad(images, [[0, 0], [shift, shift], [shift, shift], [0, 0]])
    shifted = tf.image.stateless_random_crop(padded, tf.shape(images), shift_seed)
    return tf.image.stateless_random_flip_left_right(shifted, flip_seed)


def augmented(batches, seed, shift=2):
    """A dataset of ``(images, labels)`` batches with `shift_and_flip` applied, seeded.

    Args:
        batches: the `tf.data.Dataset`.
        seed: the augmentation's seed.
        shift: the largest shift in pixels.

    Returns:
        The augmented dataset.
    """
    seeds = tf.data.Dataset.random(seed=seed).batch(2)
    return tf.data.Dataset.zip(batches, seeds).map(lambda batch, s: (shift_and_flip(batch[0], s, shift), batch[1]))
