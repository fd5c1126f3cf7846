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
