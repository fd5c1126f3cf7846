"""Metric learning (UvA 4.3): losses that pull embeddings of the same class together and push others apart.

A Siamese network embeds two (or three) images with the same weights and is
trained on their distances, not on class labels, so it can compare classes
it never saw. With ``d(a, b) = ||f(a) - f(b)||_2``:

    contrastive (Hadsell, Chopra, LeCun 2006):
        L = mean( y d^2 + (1 - y) max(0, m - d)^2 )           y = 1 for a pair of one class, 0 otherwise
    triplet (Schroff, Kalenichenko, Philbin 2015, FaceNet):
        L = mean( max(0, d(a, p)^2 - d(a, n)^2 + m) )          anchor a, positive p (its class), negative n

The hinge ``max(0, .)`` is the point of both: a dissimilar pair further
apart than the margin, or a triplet whose negative is already ``m``
further than its positive, costs nothing, so the network stops pushing
everything apart for ever. (Hadsell et al. write the contrastive loss with
a factor 1/2 on both terms; it only rescales the gradient.)
"""

import tensorflow as tf


def pairwise_distance(a, b, epsilon=1e-12):
    """Euclidean distances of paired embeddings.

    Args:
        a: ``[N, D]``.
        b: ``[N, D]``.
        epsilon: added under the square root (its gradient at 0 is otherwise infinite).

    Returns:
        ``[N]``: ``||a_i - b_i||_2``.
    """
    return tf.sqrt(tf.reduce_sum(tf.square(a - b), axis=-1) + epsilon)


def contrastive_loss(a, b, same, margin=1.0):
    """Hadsell et al.'s contrastive loss of paired embeddings (module docstring).

    Args:
        a: ``[N, D]`` embeddings.
        b: ``[N, D]`` embeddings of their partners.
        same: ``[N]``, 1 where the pair shows one class, 0 where it shows two.
        margin: ``m``, the distance beyond which a dissimilar pair costs nothing.

    Returns:
        A scalar.

    Examples:
        >>> round(float(contrastive_loss([[0.0, 0.0]], [[3.0, 4.0]], [0.0], margin=6.0)), 4)
        1.0
    """
    a, b = tf.convert_to_tensor(a, tf.float32), tf.convert_to_tensor(b, tf.float32)
    same = tf.cast(same, tf.float32)
    distance = pairwise_distance(a, b)
    far_enough = tf.square(tf.nn.relu(margin - distance))
    return tf.reduce_mean(same * tf.square(distance) + (1.0 - same) * far_enough)


def triplet_loss(anchor, positive, negative, margin=0.2):
    """FaceNet's triplet loss with squared distances and a margin (module docstring).

    Args:
        anchor: ``[N, D]`` embeddings.
        positive: ``[N, D]`` embeddings of the anchors' classes.
        negative: ``[N, D]`` embeddings of other classes.
        margin: ``m``.

    Returns:
        A scalar.

    Examples:
        >>> round(float(triplet_loss([[0.0, 0.0]], [[1.0, 0.0]], [[2.0, 0.0]], margin=0.5)), 4)
        0.0
    """
    anchor, positive, negative = (tf.convert_to_tensor(t, tf.float32) for t in (anchor, positive, negative))
    closer = tf.reduce_sum(tf.square(anchor - positive), -1) - tf.reduce_sum(tf.square(anchor - negative), -1)
    return tf.reduce_mean(tf.nn.relu(closer + margin))


def _pairwise_squared(embeddings):
    """``[B, B]`` squared Euclidean distances between every two rows."""
    squares = tf.reduce_sum(tf.square(embeddings), -1)
    inner = tf.matmul(embeddings, embeddings, transpose_b=True)
    return tf.nn.relu(squares[:, None] - 2.0 * inner + squares[None, :])


def batch_hard_triplet_loss(labels, embeddings, margin=0.2):
    """The triplet loss of each example as anchor with its batch's hardest positive and hardest negative.

    Hermans, Beyer, Leibe 2017 ("In Defense of the Triplet Loss"): from a batch of labelled
    embeddings, each anchor takes the furthest example of its class and the closest of another, so
    no triplets are sampled by hand and the batch's informative ones are used. With squared distances
    as in `triplet_loss`. A Keras loss: ``loss(labels, embeddings)``.

    Args:
        labels: ``[B]`` class ids (or ``[B, 1]``).
        embeddings: ``[B, D]``.
        margin: ``m``.

    Returns:
        A scalar: the mean over the anchors that have a positive and a negative in the batch.
    """
    labels = tf.reshape(tf.cast(labels, tf.int32), [-1])
    embeddings = tf.cast(embeddings, tf.float32)
    distances = _pairwise_squared(embeddings)
    same = tf.equal(labels[:, None], labels[None, :])
    positive_mask = tf.logical_and(same, tf.logical_not(tf.eye(tf.shape(labels)[0], dtype=tf.bool)))
    hardest_positive = tf.reduce_max(tf.where(positive_mask, distances, 0.0), axis=1)
    hardest_negative = tf.reduce_min(tf.where(same, tf.reduce_max(distances) + 1.0, distances), axis=1)
    valid = tf.cast(tf.reduce_any(positive_mask, 1) & tf.reduce_any(~same, 1), tf.float32)
    losses = tf.nn.relu(hardest_positive - hardest_negative + margin) * valid
    return tf.reduce_sum(losses) / tf.maximum(tf.reduce_sum(valid), 1.0)


def batch_contrastive_loss(labels, embeddings, margin=1.0):
    """`contrastive_loss` over every pair of a batch of labelled embeddings (each pair once).

    A Keras loss: ``loss(labels, embeddings)``. Pairs of one class are far fewer than others in a
    batch of ten classes; the two kinds are averaged separately and then added, so both pull.

    Args:
        labels: ``[B]`` class ids (or ``[B, 1]``).
        embeddings: ``[B, D]``.
        margin: ``m``.

    Returns:
        A scalar.
    """
    labels = tf.reshape(tf.cast(labels, tf.int32), [-1])
    distance = tf.sqrt(_pairwise_squared(tf.cast(embeddings, tf.float32)) + 1e-12)
    size = tf.shape(labels)[0]
    upper = tf.linalg.band_part(tf.ones([size, size]), 0, -1) - tf.eye(size)  # each pair once, no self-pairs
    same = tf.cast(tf.equal(labels[:, None], labels[None, :]), tf.float32) * upper
    different = (1.0 - tf.cast(tf.equal(labels[:, None], labels[None, :]), tf.float32)) * upper
    pull = tf.reduce_sum(same * tf.square(distance)) / tf.maximum(tf.reduce_sum(same), 1.0)
    push = tf.reduce_sum(different * tf.square(tf.nn.relu(margin - distance))) / tf.maximum(
        tf.reduce_sum(different), 1.0
    )
    return pull + push
