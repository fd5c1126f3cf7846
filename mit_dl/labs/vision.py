"""Checkers for the lecture 3 lab beyond classification: upsampling, boxes, NMS, Grad-CAM, FGSM.

Each runs the learner's function on fixed inputs, compares it with the
formula (and `mit_dl.vision`) and names the typical mistake when it
differs: the transposed convolution's size computed as a convolution's,
boxes' areas without the intersection subtracted or with end-inclusive
pixels, NMS that keeps overlapping boxes or forgets to sort, Grad-CAM
weights summed instead of averaged or taken from the activations, FGSM
stepping down the loss or by the gradient instead of its sign.
"""

import keras
import numpy as np
import tensorflow as tf

from mit_dl.labs.grading import Mistake, call_learner, checker, explain_mismatch, values
from mit_dl.vision import attribution, metrics

__all__ = [
    "check_transposed_conv_size",
    "check_box_iou",
    "check_non_max_suppression",
    "check_grad_cam_weights",
    "check_fgsm_step",
]

# (input size, kernel, stride, padding) of Conv2DTranspose layers; "valid" and "same" as Keras has them.
_UPSAMPLINGS = [(7, 3, 2, "valid"), (7, 4, 2, "same"), (8, 2, 2, "valid"), (5, 5, 3, "valid"), (16, 3, 1, "same")]


@checker
def check_transposed_conv_size(transposed_output_size):
    """transposed_output_size(n, kernel, stride, padding): (n - 1) * stride + kernel ("valid"), n * stride ("same").

    Args:
        transposed_output_size: the learner's function of ints and ``"valid"`` / ``"same"``.

    Returns:
        A `CheckResult`: passed, or what was expected, what was received and the likely mistake.
    """
    for n, kernel, stride, padding in _UPSAMPLINGS:
        layer = keras.layers.Conv2DTranspose(1, kernel, strides=stride, padding=padding)
        expected = layer(np.zeros((1, n, n, 1), np.float32)).shape[1]
        received = call_learner(
            f"transposed_output_size({n}, {kernel}, {stride}, {padding!r})",
            transposed_output_size,
            n,
            kernel,
            stride,
            padding,
        )
        explain_mismatch(
            values(received, "the output size"),
            expected,
            f"Conv2DTranspose(kernel={kernel}, strides={stride}, padding={padding!r}) on {n}x{n}",
            [
                ((n - kernel) // stride + 1, "that is a convolution's output size: a transposed convolution "
                 "goes the other way, (n - 1) * stride + kernel."),
                ((n + stride - 1) // stride, "that is a strided 'same' convolution's size; the transposed "
                 "one multiplies: n * stride."),
                (n * stride + kernel - 1, "off by one stride: the first input pixel's kernel starts at 0, so it "
                 "is (n - 1) * stride + kernel."),
                ((n - 1) * stride + kernel if padding == "same" else n * stride,
                 "the two paddings are swapped: 'same' gives n * stride, 'valid' (n - 1) * stride + kernel."),
            ],
        )  # fmt: skip


_BOXES_A = np.array([[0, 0, 10, 10], [0, 0, 10, 10], [5, 5, 15, 25], [0, 0, 4, 4], [2, 3, 8, 9]], np.float32)
_BOXES_B = np.array([[5, 5, 15, 15], [0, 0, 10, 10], [10, 0, 20, 10], [4, 4, 8, 8], [4, 1, 6, 12]], np.float32)


def _iou_variants(a, b):
    ya0, xa0, ya1, xa1 = a.T
    yb0, xb0, yb1, xb1 = b.T
    inter = np.clip(np.minimum(ya1, yb1) - np.maximum(ya0, yb0), 0, None) * np.clip(
        np.minimum(xa1, xb1) - np.maximum(xa0, xb0), 0, None
    )
    area_a, area_b = (ya1 - ya0) * (xa1 - xa0), (yb1 - yb0) * (xb1 - xb0)
    plus = lambda lo, hi: hi - lo + 1  # noqa: E731 (end-inclusive pixels)
    inter_incl = np.clip(np.minimum(ya1, yb1) - np.maximum(ya0, yb0) + 1, 0, None) * np.clip(
        np.minimum(xa1, xb1) - np.maximum(xa0, xb0) + 1, 0, None
    )
    union_incl = plus(ya0, ya1) * plus(xa0, xa1) + plus(yb0, yb1) * plus(xb0, xb1) - inter_incl
    unclipped = (np.minimum(ya1, yb1) - np.maximum(ya0, yb0)) * (np.minimum(xa1, xb1) - np.maximum(xa0, xb0))
    return [
        (inter / (area_a + area_b), "the union counts the intersection twice: union = area A + area B - intersection."),
        (inter / np.minimum(area_a, area_b), "divided by the smaller box: IoU divides by the union."),
        (inter_incl / union_incl, "the pixels are counted end-inclusive (+1): these boxes end one past their "
         "last pixel, so a box's height is y_max - y_min."),
        (unclipped / (area_a + area_b - unclipped), "the overlap is not clipped at zero: boxes that do not meet "
         "have a negative width or height of overlap, and their IoU is 0."),
    ]  # fmt: skip


@checker
def check_box_iou(box_iou):
    """box_iou(a, b): intersection over union of paired boxes (y_min, x_min, y_max, x_max), ends exclusive.

    Args:
        box_iou: the learner's function of two ``[N, 4]`` arrays, returning ``[N]``.

    Returns:
        A `CheckResult`: passed, or what was expected, what was received and the likely mistake.
    """
    received = values(call_learner("box_iou(a, b)", box_iou, _BOXES_A.copy(), _BOXES_B.copy()), "box_iou(a, b)")
    expected = np.diag(metrics.box_iou(_BOXES_A, _BOXES_B))
    if received.shape == (5, 5):
        raise Mistake("expected one IoU per pair of boxes (shape (5,)); received the 5x5 table of every pair.")
    explain_mismatch(
        received.reshape(-1), expected, "the IoU of five pairs of boxes", _iou_variants(_BOXES_A, _BOXES_B)
    )


_NMS_BOXES = np.array(
    [[0, 0, 10, 10], [1, 1, 11, 11], [0, 20, 10, 30], [30, 30, 40, 40], [2, 0, 12, 10], [0, 21, 10, 31]], np.float32
)
_NMS_SCORES = np.array([0.6, 0.9, 0.8, 0.3, 0.75, 0.85], np.float32)


@checker
def check_non_max_suppression(non_max_suppression):
    """non_max_suppression(boxes, scores, iou_threshold): indices kept, best first, as tf.image.non_max_suppression.

    Args:
        non_max_suppression: the learner's function ``(boxes [N, 4], scores [N], iou_threshold) -> indices``.

    Returns:
        A `CheckResult`: passed, or what was expected, what was received and the likely mistake.
    """
    threshold = 0.5
    received = values(
        call_learner(
            "non_max_suppression(boxes, scores, 0.5)",
            non_max_suppression,
            _NMS_BOXES.copy(),
            _NMS_SCORES.copy(),
            threshold,
        ),
        "the kept indices",
    ).reshape(-1)
    expected = tf.image.non_max_suppression(_NMS_BOXES, _NMS_SCORES, len(_NMS_SCORES), threshold).numpy()
    by_score = np.argsort(-_NMS_SCORES, kind="stable")
    iou = metrics.box_iou(_NMS_BOXES, _NMS_BOXES)
    best = by_score[0]
    only_best = [int(i) for i in by_score if i == best or iou[best, i] <= threshold]
    explain_mismatch(
        received,
        expected,
        "the boxes kept from six (two overlapping groups, one box alone)",
        [
            (by_score, "nothing was suppressed: drop each box whose IoU with a kept, higher-scoring box is above "
             "the threshold."),
            (np.sort(expected), "the right boxes in input order: return them best first (sorted by score)."),
            (np.array(only_best), "only the best box suppresses others: every kept box suppresses the "
             "lower-scoring boxes it overlaps."),
        ],
    )  # fmt: skip


def _grad_cam_case():
    rng = np.random.default_rng(7)
    features = rng.uniform(0, 2, (2, 3, 4, 5)).astype(np.float32)
    gradients = rng.normal(0, 1, (2, 3, 4, 5)).astype(np.float32)
    return features, gradients


@checker
def check_grad_cam_weights(grad_cam_weights):
    """grad_cam_weights(features, gradients): alpha_k, the gradient averaged over each feature map's positions.

    Args:
        grad_cam_weights: the learner's function of ``[N, h, w, K]`` activations and gradients, returning ``[N, K]``.

    Returns:
        A `CheckResult`: passed, or what was expected, what was received and the likely mistake.
    """
    features, gradients = _grad_cam_case()
    received = values(
        call_learner(
            "grad_cam_weights(features, gradients)",
            grad_cam_weights,
            tf.constant(features),
            tf.constant(gradients),
        ),
        "the weights",
    )
    expected = attribution.grad_cam_weights(features, tf.constant(gradients)).numpy()
    explain_mismatch(
        received,
        expected,
        "Grad-CAM's weights of 5 feature maps in 2 images",
        [
            (gradients.sum(axis=(1, 2)), "summed over the positions: Grad-CAM averages (divide by h * w)."),
            (features.mean(axis=(1, 2)), "the activations were averaged: the weights average the gradients."),
            ((features * gradients).mean(axis=(1, 2)), "gradient x activation averaged: the weights are the "
             "gradients' mean alone; the activations enter later, in sum_k alpha_k A^k."),
            (gradients.mean(axis=3), "averaged over the channels: average over the positions (axes 1 and 2), "
             "one weight per channel."),
            (np.abs(gradients).mean(axis=(1, 2)), "the gradients' magnitudes were averaged: keep their sign (a "
             "negative weight is a map that argues against the class)."),
            (np.maximum(gradients, 0).mean(axis=(1, 2)), "the gradients were rectified before averaging: the "
             "ReLU comes after the weighted sum of the maps."),
        ],
    )  # fmt: skip


def _fgsm_case():
    keras.utils.set_random_seed(11)
    model = keras.Sequential([keras.Input((6, 6, 1)), keras.layers.Flatten(), keras.layers.Dense(3)])
    for weight in model.trainable_weights:
        weight.assign(weight * 4.0)
    images = np.random.default_rng(3).uniform(0.2, 0.8, (4, 6, 6, 1)).astype(np.float32)
    labels = np.array([0, 1, 2, 1], np.int32)
    return model, images, labels


@checker
def check_fgsm_step(fgsm):
    """fgsm(model, images, labels, epsilon): clip(x + epsilon * sign(grad_x loss), 0, 1), epsilon in [0, 1] units.

    Args:
        fgsm: the learner's function ``(model, float images [N, H, W, 1] in [0, 1], labels, epsilon) -> images``.

    Returns:
        A `CheckResult`: passed, or what was expected, what was received and the likely mistake.
    """
    model, images, labels = _fgsm_case()
    epsilon = 0.25
    received = values(
        call_learner(
            "fgsm(model, images, labels, 0.25)",
            fgsm,
            model,
            tf.constant(images),
            tf.constant(labels),
            epsilon,
        ),
        "the adversarial images",
    )
    x = tf.constant(images)
    with tf.GradientTape() as tape:
        tape.watch(x)
        loss = tf.nn.sparse_softmax_cross_entropy_with_logits(labels, model(x))
    gradient = tape.gradient(loss, x).numpy()
    step = np.sign(gradient)
    expected = np.clip(images + epsilon * step, 0, 1)
    explain_mismatch(
        received,
        expected,
        "four images attacked at epsilon = 0.25",
        [
            (np.clip(images - epsilon * step, 0, 1), "the step goes down the loss: an attack climbs it, x + epsilon "
             "* sign(gradient)."),
            (images + epsilon * step, "not clipped: the attacked images must stay in [0, 1]."),
            (np.clip(images + epsilon * gradient, 0, 1), "the raw gradient was used: FGSM takes its sign, so every "
             "pixel moves by exactly epsilon."),
            (np.clip(images + epsilon * 255 * step, 0, 1), "epsilon was multiplied by 255: these images are in "
             "[0, 1], and so is this epsilon."),
            (np.clip(images + epsilon / 255 * step, 0, 1), "epsilon was divided by 255: it is already a share of "
             "the [0, 1] range here."),
        ],
    )  # fmt: skip
