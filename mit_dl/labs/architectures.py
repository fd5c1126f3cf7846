"""Checkers for the modern CNNs lab: the residual block, an Inception module's channels, metric losses, the sampler.

Each runs the learner's function on fixed inputs with known weights,
compares it with the formula (and `mit_dl.architectures`) and names the
typical mistake: a ReLU before the residual addition or none after it, the
identity added where the shape changed, the naive module's pooled input
forgotten or the 1x1 reductions counted as outputs, a contrastive loss
with its labels swapped or without its hinge, a triplet loss without the
hinge or with the margin's sign turned, a sampler with x and y swapped,
rounding to the nearest pixel, or clamping at the border instead of zeros.
"""

import keras
import numpy as np
import tensorflow as tf

from mit_dl.architectures import metric, spatial
from mit_dl.labs.grading import Mistake, call_learner, checker, expect_shape, explain_mismatch, values

__all__ = [
    "check_residual_block",
    "check_inception_channels",
    "check_contrastive_loss",
    "check_triplet_loss",
    "check_bilinear_sample",
]


def _block_case(strides, channels, seed):
    """A fixed input and the block's three convolutions with known weights (the projection when needed)."""
    rng = np.random.default_rng(seed)
    x = tf.constant(rng.normal(size=(2, 8, 8, 8)), tf.float32)
    layers = []
    for filters, kernel, stride, inputs in (
        (channels, 3, strides, 8),
        (channels, 3, 1, channels),
        (channels, 1, strides, 8),
    ):
        layer = keras.layers.Conv2D(filters, kernel, strides=stride, padding="same", use_bias=False)
        layer.build((None, 8, 8, inputs))
        layer.set_weights([rng.normal(0, 0.3, (kernel, kernel, inputs, filters)).astype(np.float32)])
        layers.append(layer)
    conv1, conv2, projection = layers
    return x, conv1, conv2, (projection if strides != 1 or channels != 8 else None)


@checker
def check_residual_block(residual_block):
    """residual_block(x, conv1, conv2, projection): ReLU(shortcut + conv2(ReLU(conv1(x)))), the shortcut projected.

    Args:
        residual_block: the learner's function of a ``[B, H, W, C]`` tensor, two convolution layers and
            the projection layer (None when the block keeps the shape).

    Returns:
        A `CheckResult`: passed, or what was expected, what was received and the likely mistake.
    """
    for strides, channels, seed in ((1, 8, 0), (2, 16, 1)):
        x, conv1, conv2, projection = _block_case(strides, channels, seed)
        what = "an identity block (8 -> 8 channels)" if projection is None else "a block with stride 2, 8 -> 16"
        received = call_learner(
            f"residual_block on {what}",
            residual_block,
            x,
            conv1,
            conv2,
            projection,
            on_error_hint="when the block changes the shape (stride 2 or new channels) the identity cannot be added; "
            "add projection(x) instead of x.",
        )
        shortcut = x if projection is None else projection(x)
        change = conv2(tf.nn.relu(conv1(x)))
        expect_shape(received, shortcut.shape, f"residual_block on {what}")
        explain_mismatch(
            values(received, "the block's output"),
            tf.nn.relu(shortcut + change),
            f"residual_block on {what}",
            [
                (shortcut + tf.nn.relu(change), "the ReLU comes before the addition: it belongs after it, "
                 "y = ReLU(x + F(x)) (a ReLU inside the branch's end would make every change non-negative)."),
                (shortcut + change, "no ReLU after the addition: y = ReLU(shortcut + F(x))."),
                (tf.nn.relu(shortcut + conv2(conv1(x))), "no ReLU between the two convolutions: "
                 "F(x) = conv2(ReLU(conv1(x)))."),
                (tf.nn.relu(change), "the shortcut is missing: that is a plain block; add x (or projection(x))."),
            ],
        )  # fmt: skip


def _inception_cases():
    # (C_in, f1, r3, f3, r5, f5, f_pool): r3, r5 and f_pool None for the naive module.
    return [(64, 16, None, 32, None, 8, None), (192, 64, 96, 128, 16, 32, 32), (256, 128, 128, 192, 32, 96, 64)]


@checker
def check_inception_channels(inception_channels):
    """inception_channels(c_in, f1, r3, f3, r5, f5, f_pool): f1 + f3 + f5 + (f_pool, or c_in for the naive module).

    Args:
        inception_channels: the learner's function of ints (``r3``, ``r5``, ``f_pool`` None for the naive
            module).

    Returns:
        A `CheckResult`: passed, or what was expected, what was received and the likely mistake.
    """
    for c_in, f1, r3, f3, r5, f5, pool in _inception_cases():
        received = call_learner(
            f"inception_channels({c_in}, {f1}, {r3}, {f3}, {r5}, {f5}, {pool})",
            inception_channels,
            c_in,
            f1,
            r3,
            f3,
            r5,
            f5,
            pool,
        )
        naive = pool is None
        expected = f1 + f3 + f5 + (c_in if naive else pool)
        explain_mismatch(
            values(received, "the channel count"),
            expected,
            f"the output channels of the {'naive module' if naive else 'module with 1x1 reductions'} on {c_in} "
            "channels",
            [(wrong, why) for wrong, why in [
                (f1 + f3 + f5, "the pooling branch is missing: its output is concatenated too "
                 + ("(the naive module passes all the input's channels through it)." if naive
                    else "(f_pool channels after its 1x1 projection).")),
                (None if naive else f1 + r3 + f3 + r5 + f5 + pool, "the 1x1 reductions are not outputs: they "
                 "feed the 3x3 and 5x5 convolutions, whose outputs are concatenated."),
                (None if naive else f1 + f3 + f5 + c_in, "with reductions the pooled branch is projected to "
                 "f_pool channels; only the naive module passes the input's channels through."),
            ] if wrong is not None],
        )  # fmt: skip


def _embeddings(seed, n=6, d=4):
    rng = np.random.default_rng(seed)
    return (rng.normal(size=(n, d)).astype(np.float32) for _ in range(3))


@checker
def check_contrastive_loss(contrastive_loss):
    """contrastive_loss(a, b, same, margin): mean(y d^2 + (1 - y) max(0, m - d)^2), d the Euclidean distance.

    Args:
        contrastive_loss: the learner's function of two ``[N, D]`` arrays, ``[N]`` labels (1: same class)
            and the margin.

    Returns:
        A `CheckResult`: passed, or what was expected, what was received and the likely mistake.
    """
    a, b, _ = _embeddings(3)
    same = np.array([1, 0, 1, 0, 0, 1], np.float32)
    margin = 3.0
    received = call_learner("contrastive_loss(a, b, same, 3.0)", contrastive_loss, a, b, same, margin)
    d = np.sqrt(((a - b) ** 2).sum(-1))
    explain_mismatch(
        values(received, "the loss"),
        float(metric.contrastive_loss(a, b, same, margin)),
        "the contrastive loss of six pairs with margin 3",
        [
            (np.mean((1 - same) * d**2 + same * np.maximum(0, margin - d) ** 2), "the labels are swapped: "
             "same = 1 marks a pair of one class, whose distance is pulled to 0."),
            (np.mean(same * d**2 + (1 - same) * (margin - d) ** 2), "no hinge: a dissimilar pair further than "
             "the margin must cost nothing, max(0, m - d)^2."),
            (np.mean(same * d**2 + (1 - same) * np.maximum(0, margin - d)), "the hinge is not squared: "
             "max(0, m - d)^2."),
            (np.mean(same * d**2 + (1 - same) * np.maximum(0, margin - d**2) ** 2), "the squared distance is "
             "compared with the margin: the hinge is on the distance itself, max(0, m - d)."),
            (np.sum(same * d**2 + (1 - same) * np.maximum(0, margin - d) ** 2), "summed over the pairs: "
             "take the mean."),
        ],
    )  # fmt: skip


@checker
def check_triplet_loss(triplet_loss):
    """triplet_loss(anchor, positive, negative, margin): mean(max(0, ||a - p||^2 - ||a - n||^2 + m)).

    Args:
        triplet_loss: the learner's function of three ``[N, D]`` arrays and the margin.

    Returns:
        A `CheckResult`: passed, or what was expected, what was received and the likely mistake.
    """
    anchor, positive, negative = _embeddings(4)
    positive = anchor + 0.4 * (positive - anchor)  # some triplets already satisfied, some not
    margin = 1.0
    received = call_learner("triplet_loss(a, p, n, 1.0)", triplet_loss, anchor, positive, negative, margin)
    dp, dn = ((anchor - positive) ** 2).sum(-1), ((anchor - negative) ** 2).sum(-1)
    explain_mismatch(
        values(received, "the loss"),
        float(metric.triplet_loss(anchor, positive, negative, margin)),
        "the triplet loss of six triplets with margin 1",
        [
            (np.mean(dp - dn + margin), "no hinge: a triplet whose negative is already further than its positive "
             "by the margin must cost nothing, max(0, .)."),
            (np.mean(np.maximum(0, dp - dn - margin)), "the margin's sign: the loss is positive until "
             "d(a, n)^2 exceeds d(a, p)^2 + m, so + m."),
            (np.mean(np.maximum(0, np.sqrt(dp) - np.sqrt(dn) + margin)), "distances, not squared distances "
             "(FaceNet's loss uses ||a - p||^2)."),
            (np.mean(np.maximum(0, dn - dp + margin)), "positive and negative are swapped: the anchor is pulled "
             "towards the positive, d(a, p)^2 - d(a, n)^2."),
            (np.sum(np.maximum(0, dp - dn + margin)), "summed over the triplets: take the mean."),
        ],
    )  # fmt: skip


def _sampler_case():
    rng = np.random.default_rng(5)
    images = rng.random((2, 5, 6, 2)).astype(np.float32)
    angle = 0.4
    theta = np.array(
        [[[np.cos(angle), -np.sin(angle), 0.1], [np.sin(angle), np.cos(angle), -0.2]], [[1.3, 0, 0.3], [0, 0.8, 0]]],
        np.float32,
    )
    return images, spatial.affine_grid(theta, 5, 6).numpy()


@checker
def check_bilinear_sample(bilinear_sample):
    """bilinear_sample(images, grid): the four neighbours weighted by (1 - |dx|)(1 - |dy|), zeros outside.

    Args:
        bilinear_sample: the learner's function of ``[B, H, W, C]`` images and a ``[B, h, w, 2]`` grid of
            normalised ``(x, y)`` in [-1, 1].

    Returns:
        A `CheckResult`: passed, or what was expected, what was received and the likely mistake.
    """
    images, grid = _sampler_case()
    identity = spatial.affine_grid(np.array([spatial.IDENTITY] * 2, np.float32), 5, 6).numpy()
    same = call_learner("bilinear_sample(images, identity grid)", bilinear_sample, images, identity)
    expect_shape(same, images.shape, "bilinear_sample at the identity")
    explain_mismatch(
        values(same, "the sampled images"),
        images,
        "bilinear_sample at the identity transform (it must return the input)",
        [(spatial.bilinear_sample(images, identity[..., ::-1]).numpy(), "x and y are swapped: grid[..., 0] is "
          "x, the column (width), and grid[..., 1] is y, the row.")],
    )  # fmt: skip
    received = call_learner("bilinear_sample(images, grid)", bilinear_sample, images, grid)
    expected = spatial.bilinear_sample(images, grid).numpy()
    explain_mismatch(
        values(received, "the sampled images"),
        expected,
        "bilinear_sample of a rotation and a stretch",
        [
            (_nearest(images, grid), "the nearest pixel is taken: interpolate its four neighbours, weighted "
             "by (1 - |x - x_i|)(1 - |y - y_i|)."),
            (_clamped(images, grid), "points outside the image take the border's value: they are zeros "
             "(a neighbour outside the image contributes nothing)."),
        ],
    )  # fmt: skip
    if not np.isfinite(received).all():
        raise Mistake("bilinear_sample returned non-finite values.")


def _pixel(images, grid):
    height, width = images.shape[1:3]
    return (grid[..., 0] + 1) * (width - 1) / 2, (grid[..., 1] + 1) * (height - 1) / 2


def _nearest(images, grid):
    x, y = _pixel(images, grid)
    height, width = images.shape[1:3]
    xi, yi = np.round(x).astype(int), np.round(y).astype(int)
    inside = (xi >= 0) & (xi < width) & (yi >= 0) & (yi < height)
    batch = np.arange(len(images))[:, None, None]
    picked = images[batch, np.clip(yi, 0, height - 1), np.clip(xi, 0, width - 1)]
    return picked * inside[..., None]


def _clamped(images, grid):
    height, width = images.shape[1:3]
    x, y = _pixel(images, grid)
    clipped = np.stack(
        [np.clip(x, 0, width - 1) * 2 / (width - 1) - 1, np.clip(y, 0, height - 1) * 2 / (height - 1) - 1], -1
    )
    return spatial.bilinear_sample(images, clipped.astype(np.float32)).numpy()
