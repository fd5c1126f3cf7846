"""Latent-structure resampling for the DB-VAE (Amini et al., AIES 2019; Lab 2 part 2).

The encoder maps every training face to latent means ``mu`` ``[N, D]``. For
each latent dimension ``i`` a histogram estimates the density ``Q_i(z_i)``;
faces in sparse regions of the latent space are rare, so they are drawn more
often:

    W(x) = prod_i 1 / (Q_i(z_i(x)) + alpha)          (the paper: combine="product")
    W(x) = max_i  1 / (Q_i(z_i(x)) + alpha)          (the course notebook: combine="max")

normalised so that ``sum_x W(x) = 1``. Here both rules run as a few
vectorised TensorFlow ops over all dimensions at once (no Python loop over
dimensions), and the product is taken in log space so that 100+ dimensions
neither overflow nor underflow.
"""

import numpy as np

COMBINE_RULES = ("product", "max")


def sampling_probabilities(latent_means, bins=10, smoothing=0.001, combine="product"):
    """Probability of drawing each example, ``[N]`` summing to 1, from its latent means ``[N, D]``.

    Per dimension: a ``bins``-bin density histogram over that dimension's
    range, ``smoothing`` added, normalised to sum 1 over the bins; an example's
    weight in that dimension is ``1 / smoothed_density[its bin]``. ``combine``
    joins the dimensions by product (the paper) or by maximum of the
    per-dimension weights normalised over examples (the course notebook).
    """
    import tensorflow as tf

    if combine not in COMBINE_RULES:
        raise ValueError(f"combine must be one of {COMBINE_RULES}, received {combine!r}.")
    if not isinstance(bins, int) or bins < 1:
        raise ValueError(f"bins must be a positive integer, received {bins!r}.")
    if smoothing < 0:
        raise ValueError(f"smoothing must be >= 0, received {smoothing!r}.")
    mu = tf.convert_to_tensor(latent_means, tf.float32)
    if mu.shape.rank != 2 or mu.shape[0] == 0:
        raise ValueError(f"latent_means must be a non-empty [N, D] array, received shape {tuple(mu.shape)}.")
    return _probabilities(mu, tf.constant(bins), tf.constant(float(smoothing)), combine == "product")


def _probabilities(mu, bins, smoothing, product):
    import tensorflow as tf

    n, d = tf.shape(mu)[0], tf.shape(mu)[1]
    low, high = tf.reduce_min(mu, 0), tf.reduce_max(mu, 0)
    width = (high - low) / tf.cast(bins, tf.float32)
    width = tf.where(width > 0, width, tf.ones_like(width))  # a constant dimension: one bin holds everything
    index = tf.clip_by_value(tf.cast(tf.floor((mu - low) / width), tf.int32), 0, bins - 1)  # [N, D]
    # Histograms of all dimensions at once: segment (dimension, bin).
    segment = index + tf.range(d)[None, :] * bins
    counts = tf.math.unsorted_segment_sum(tf.ones([n * d]), tf.reshape(segment, [-1]), d * bins)
    counts = tf.reshape(counts, [d, bins])
    density = counts / (tf.cast(n, tf.float32) * width[:, None])  # as np.histogram(density=True)
    smoothed = density + smoothing
    smoothed = smoothed / tf.reduce_sum(smoothed, axis=1, keepdims=True)
    log_weight = -tf.math.log(_per_example(smoothed, index))  # [N, D]
    if product:
        return tf.nn.softmax(tf.reduce_sum(log_weight, axis=1))
    per_dimension = tf.nn.softmax(log_weight, axis=0)  # 1/density normalised over examples, per dimension
    combined = tf.reduce_max(per_dimension, axis=1)
    return combined / tf.reduce_sum(combined)


def _per_example(smoothed, index):
    """``smoothed[d, index[n, d]]`` for every example ``n`` and dimension ``d`` -> ``[N, D]``."""
    import tensorflow as tf

    return tf.transpose(tf.gather(smoothed, tf.transpose(index), batch_dims=1))


def course_sampling_probabilities(latent_means, bins=10, smoothing=0.001):
    """The course notebook's loop (NumPy, one histogram per dimension, max rule), kept as a reference.

    Used by the tests and ``benchmarks/debias.py`` to check and time
    `sampling_probabilities` against what the lab does.
    """
    mu = np.asarray(latent_means, np.float64)
    probabilities = np.zeros(mu.shape[0])
    for i in range(mu.shape[1]):
        density, edges = np.histogram(mu[:, i], density=True, bins=bins)
        edges[0], edges[-1] = -np.inf, np.inf
        index = np.digitize(mu[:, i], edges)
        smoothed = density + smoothing
        smoothed = smoothed / smoothed.sum()
        p = 1.0 / smoothed[index - 1]
        probabilities = np.maximum(probabilities, p / p.sum())
    return probabilities / probabilities.sum()
