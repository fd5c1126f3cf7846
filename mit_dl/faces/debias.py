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

import weakref

import numpy as np
import tensorflow as tf

from mit_dl.faces.bias import effective_faces
from mit_dl.faces.config import COMBINE_RULES
from mit_dl.training.callbacks import Callback


def sampling_probabilities(latent_means, bins=10, smoothing=0.001, combine="product"):
    """Probability of drawing each example from its latent means: rare latent values are drawn more often.

    Per dimension: a ``bins``-bin density histogram over that dimension's
    range, ``smoothing`` added, normalised to sum 1 over the bins; an example's
    weight in that dimension is ``1 / smoothed_density[its bin]``. ``combine``
    joins the dimensions by product (the paper, computed in log space) or by
    maximum of the per-dimension weights normalised over examples (the course
    notebook). All dimensions are histogrammed at once in TensorFlow.

    Args:
        latent_means: ``[N, D]``.
        bins: histogram bins per dimension.
        smoothing: added to each bin's density (the course's ``alpha``).
        combine: ``"product"`` or ``"max"``.

    Returns:
        ``[N]`` probabilities summing to 1.

    Raises:
        ValueError: an unknown rule, or bins or smoothing out of range.
    """
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


def latent_histograms(latent_means, bins, smoothing):
    """Per-dimension smoothed density histograms of latent means: what `sampling_probabilities` rates rarity by.

    Each dimension gets ``bins`` equal-width bins over its range; a bin's
    density (as ``np.histogram(density=True)``) plus ``smoothing`` is then
    normalised to sum 1 over the dimension's bins. The uncertainty lab's
    `HistogramWrapper` fits these on training features and scores new
    inputs with `latent_rarity`.

    Args:
        latent_means: ``[N, D]`` float32 tensor.
        bins: bins per dimension (int or int32 scalar tensor).
        smoothing: added to each bin's density (float32 scalar).

    Returns:
        ``(low [D], width [D], smoothed [D, bins])``.
    """
    mu = tf.convert_to_tensor(latent_means, tf.float32)
    n, d = tf.shape(mu)[0], tf.shape(mu)[1]
    low, high = tf.reduce_min(mu, 0), tf.reduce_max(mu, 0)
    width = (high - low) / tf.cast(bins, tf.float32)
    width = tf.where(width > 0, width, tf.ones_like(width))  # a constant dimension: one bin holds everything
    index = _bin_index(mu, low, width, bins)
    # Histograms of all dimensions at once: segment (dimension, bin).
    segment = index + tf.range(d)[None, :] * bins
    counts = tf.math.unsorted_segment_sum(tf.ones([n * d]), tf.reshape(segment, [-1]), d * bins)
    counts = tf.reshape(counts, [d, bins])
    density = counts / (tf.cast(n, tf.float32) * width[:, None])  # as np.histogram(density=True)
    smoothed = density + smoothing
    return low, width, smoothed / tf.reduce_sum(smoothed, axis=1, keepdims=True)


def latent_rarity(latent_means, low, width, smoothed):
    """``-log`` of each example's smoothed bin density in every dimension (higher: rarer); out-of-range values
    fall in the first or last bin.

    Args:
        latent_means: ``[N, D]``.
        low: the histograms' lower edges ``[D]`` (from `latent_histograms`).
        width: their bin widths ``[D]``.
        smoothed: their smoothed densities ``[D, bins]``.

    Returns:
        ``[N, D]`` float32.
    """
    mu = tf.convert_to_tensor(latent_means, tf.float32)
    return -tf.math.log(_per_example(smoothed, _bin_index(mu, low, width, tf.shape(smoothed)[1])))


def _bin_index(mu, low, width, bins):
    return tf.clip_by_value(tf.cast(tf.floor((mu - low) / width), tf.int32), 0, bins - 1)  # [N, D]


def _probabilities(mu, bins, smoothing, product):
    log_weight = latent_rarity(mu, *latent_histograms(mu, bins, smoothing))  # [N, D]
    if product:
        return tf.nn.softmax(tf.reduce_sum(log_weight, axis=1))
    per_dimension = tf.nn.softmax(log_weight, axis=0)  # 1/density normalised over examples, per dimension
    combined = tf.reduce_max(per_dimension, axis=1)
    return combined / tf.reduce_sum(combined)


def _per_example(smoothed, index):
    """``smoothed[d, index[n, d]]`` for every example ``n`` and dimension ``d`` -> ``[N, D]``."""
    return tf.transpose(tf.gather(smoothed, tf.transpose(index), batch_dims=1))


def course_sampling_probabilities(latent_means, bins=10, smoothing=0.001):
    """The course notebook's loop (NumPy, one histogram per dimension, max rule), kept as a reference.

    Used by the tests and ``benchmarks/debias.py`` to check and time
    `sampling_probabilities` against what the lab does.

    Args:
        latent_means: ``[N, D]``.
        bins: histogram bins per dimension.
        smoothing: added to each bin's density.

    Returns:
        ``[N]`` probabilities summing to 1.
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


_COMPILED_ENCODERS = weakref.WeakKeyDictionary()


def latent_means(model, images, batch_size=1024):
    """Latent means of uint8 images from a `DBVAE`, in one compiled batched pass.

    Same preprocessing as training (RGB, ``/255``) and inference-mode
    BatchNorm, so the histograms describe what the classifier sees.

    Args:
        model: the `DBVAE`.
        images: uint8 ``[N, 64, 64, 3]``.
        batch_size: images per slice.

    Returns:
        A ``[N, latent_dim]`` tensor.
    """
    encode = _COMPILED_ENCODERS.get(model)
    if encode is None:  # compiled once per model, reused at every recompute

        @tf.function(reduce_retracing=True)
        def encode(batch):
            return model.encode(tf.cast(batch, tf.float32) / 255.0, training=False)[1]

        _COMPILED_ENCODERS[model] = encode
    # Plain slices: a tf.data pipeline built from the array at each call took
    # 35-40% longer for 20,000 faces (measured by benchmarks/debias.py).
    return tf.concat(
        [encode(images[start : start + batch_size]) for start in range(0, len(images), batch_size)], axis=0
    )


def resampled_batches(faces, non_faces, probabilities, batch_size=32, seed=0):
    """Endless ``(images in [0, 1], labels)`` batches: half faces drawn by ``probabilities``, half non-faces.

    ``probabilities`` is a ``tf.Variable``; each batch reads its current value,
    so assigning new probabilities (see `ResampleEvery`) changes the batches
    that follow without rebuilding the pipeline. Non-faces are drawn uniformly.
    Draws are stateless, keyed by a seeded stream: the same seed gives the
    same batches. Nothing is prefetched, so batch ``k`` uses the probabilities
    current at step ``k`` (an interrupted and resumed run draws exactly what
    an uninterrupted one does).

    Args:
        faces: uint8 face images ``[F, 64, 64, 3]``.
        non_faces: uint8 non-face images.
        probabilities: a ``tf.Variable`` of shape ``[F]``.
        batch_size: images per batch.
        seed: the draws' seed.

    Returns:
        The endless `tf.data.Dataset`.
    """
    faces = tf.constant(faces)
    non_faces = tf.constant(non_faces)
    n_faces = batch_size // 2
    n_other = batch_size - n_faces
    labels = tf.concat([tf.ones([n_faces], tf.int32), tf.zeros([n_other], tf.int32)], 0)

    def draw(key):
        pair = tf.stack([key, tf.constant(seed, tf.int64)])
        logits = tf.math.log(tf.convert_to_tensor(probabilities))[None, :]
        face_index = tf.random.stateless_categorical(logits, n_faces, seed=pair)[0]
        other_index = tf.random.stateless_uniform(
            [n_other], seed=pair + 1, maxval=tf.shape(non_faces, tf.int64)[0], dtype=tf.int64
        )
        images = tf.concat([tf.gather(faces, face_index), tf.gather(non_faces, other_index)], 0)
        return tf.cast(images, tf.float32) / 255.0, labels

    options = tf.data.Options()
    options.experimental_optimization.inject_prefetch = False  # tf.data would otherwise read ahead
    return tf.data.Dataset.random(seed=seed).map(draw).with_options(options)


class ResampleEvery(Callback):
    """Trainer callback: recompute the faces' sampling probabilities on a schedule.

    Uniform until ``warmup_steps`` (the encoder knows nothing yet), then from
    the current encoder at ``warmup_steps`` and every ``every_steps`` after,
    written into the ``probabilities`` variable that `resampled_batches`
    reads. The trainer stops its compiled calls at those steps, and the
    schedule depends on the step alone, so a resumed run (with the variable
    in the checkpoint) resamples exactly where an uninterrupted one does.

    Args:
        model: the `DBVAE` being trained.
        faces: the training faces, uint8.
        probabilities: the variable `resampled_batches` reads.
        every_steps: steps between recomputes.
        warmup_steps: the first recompute's step.
        bins: histogram bins per dimension.
        smoothing: added to each bin's density.
        combine: ``"product"`` or ``"max"``.
        probabilities_fn: ``fn(mu, bins, smoothing)`` on NumPy ``mu`` replacing
            `sampling_probabilities` and ``combine`` (the notebook passes the learner's own).
        log: receives one line per recompute, or ``None``.
    """

    def __init__(
        self,
        model,
        faces,
        probabilities,
        every_steps,
        warmup_steps=0,
        bins=10,
        smoothing=0.001,
        combine="product",
        probabilities_fn=None,
        log=None,
    ):
        if every_steps <= 0 or warmup_steps < 0:
            raise ValueError("every_steps must be positive and warmup_steps >= 0.")
        self.model, self.faces, self.probabilities = model, faces, probabilities
        self.every, self.warmup = every_steps, warmup_steps
        self.options = {"bins": bins, "smoothing": smoothing, "combine": combine}
        self.probabilities_fn = probabilities_fn
        self.log = log
        self.updates = []  # steps at which the probabilities were recomputed

    def steps_until_event(self, step):
        """Steps from ``step`` to the next recompute.

        Args:
            step: the current step.

        Returns:
            The number of steps.
        """
        if step < self.warmup:
            return self.warmup - step
        return self.every - (step - self.warmup) % self.every

    def on_step_end(self, trainer, step, logs):
        if step >= self.warmup and (step - self.warmup) % self.every == 0:
            self.update(step)

    def update(self, step=None):
        """Recompute the probabilities from the current encoder and assign them.

        Args:
            step: the step recorded in ``updates``.
        """
        mu = latent_means(self.model, self.faces)
        if self.probabilities_fn is None:
            self.probabilities.assign(sampling_probabilities(mu, **self.options))
        else:
            chosen = self.probabilities_fn(mu.numpy(), self.options["bins"], self.options["smoothing"])
            self.probabilities.assign(np.asarray(chosen, np.float32))
        self.updates.append(step)
        if self.log:
            p = self.probabilities.numpy()
            self.log(
                f"resampled at step {step}: max/mean face probability {p.max() * len(p):.1f}x, "
                f"effective faces {effective_faces(p):.0f} of {len(p)}"
            )
