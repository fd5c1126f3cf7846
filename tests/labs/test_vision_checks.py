"""Lecture 3 (vision) lab checkers: each accepts the reference answer and rejects typical mistakes, explained."""

import numpy as np
import tensorflow as tf
from support import failed, todo

from mit_dl.labs import vision as checks
from mit_dl.vision import metrics


def test_transposed_conv_size():
    def right(n, kernel, stride, padding):
        return n * stride if padding == "same" else (n - 1) * stride + kernel

    assert checks.check_transposed_conv_size(right)
    failed(checks.check_transposed_conv_size(lambda n, k, s, p: (n - k) // s + 1), "convolution's output size")
    failed(checks.check_transposed_conv_size(lambda n, k, s, p: n * s + k - 1), "off by one stride")
    failed(
        checks.check_transposed_conv_size(lambda n, k, s, p: (n - 1) * s + k if p == "same" else n * s),
        "paddings are swapped",
    )
    failed(checks.check_transposed_conv_size(todo), "not implemented yet")


def _iou(a, b, inclusive=0, twice=False):
    inter_h = np.clip(np.minimum(a[:, 2], b[:, 2]) - np.maximum(a[:, 0], b[:, 0]) + inclusive, 0, None)
    inter_w = np.clip(np.minimum(a[:, 3], b[:, 3]) - np.maximum(a[:, 1], b[:, 1]) + inclusive, 0, None)
    inter = inter_h * inter_w
    area = lambda box: (box[:, 2] - box[:, 0] + inclusive) * (box[:, 3] - box[:, 1] + inclusive)  # noqa: E731
    return inter / (area(a) + area(b) - (0 if twice else inter))


def test_box_iou():
    assert checks.check_box_iou(lambda a, b: _iou(a, b))
    assert checks.check_box_iou(lambda a, b: tf.constant(np.diag(metrics.box_iou(a, b))))
    failed(checks.check_box_iou(lambda a, b: _iou(a, b, twice=True)), "counts the intersection twice")
    failed(checks.check_box_iou(lambda a, b: _iou(a, b, inclusive=1)), "end-inclusive")
    failed(checks.check_box_iou(metrics.box_iou), "5x5 table")
    failed(checks.check_box_iou(todo), "not implemented yet")


def _nms(boxes, scores, threshold, only_best=False, sort=True):
    order = list(np.argsort(-scores, kind="stable"))
    kept = []
    while order:
        best = order.pop(0)
        kept.append(best)
        if not only_best or len(kept) == 1:
            order = [i for i in order if metrics.box_iou(boxes[best : best + 1], boxes[i : i + 1])[0, 0] <= threshold]
    return np.array(kept if sort else sorted(kept))


def test_non_max_suppression():
    assert checks.check_non_max_suppression(_nms)
    assert checks.check_non_max_suppression(
        lambda b, s, t: tf.image.non_max_suppression(b, s, max_output_size=len(s), iou_threshold=t)
    )
    failed(checks.check_non_max_suppression(lambda b, s, t: np.argsort(-s)), "nothing was suppressed")
    failed(checks.check_non_max_suppression(lambda b, s, t: _nms(b, s, t, sort=False)), "input order")
    failed(checks.check_non_max_suppression(lambda b, s, t: _nms(b, s, t, only_best=True)), "only the best box")
    failed(checks.check_non_max_suppression(todo), "not implemented yet")


def test_grad_cam_weights():
    assert checks.check_grad_cam_weights(lambda f, g: tf.reduce_mean(g, axis=[1, 2]))
    failed(checks.check_grad_cam_weights(lambda f, g: tf.reduce_sum(g, axis=[1, 2])), "summed over the positions")
    failed(checks.check_grad_cam_weights(lambda f, g: tf.reduce_mean(f, axis=[1, 2])), "activations were averaged")
    failed(checks.check_grad_cam_weights(lambda f, g: tf.reduce_mean(f * g, axis=[1, 2])), "gradient x activation")
    failed(checks.check_grad_cam_weights(lambda f, g: tf.reduce_mean(g, axis=3)), "over the channels")
    failed(checks.check_grad_cam_weights(lambda f, g: tf.reduce_mean(tf.abs(g), axis=[1, 2])), "magnitudes")
    failed(checks.check_grad_cam_weights(lambda f, g: tf.reduce_mean(tf.nn.relu(g), axis=[1, 2])), "rectified")
    failed(checks.check_grad_cam_weights(todo), "not implemented yet")


def _fgsm(direction=1.0, sign=True, clip=True, scale=1.0):
    def attack(model, images, labels, epsilon):
        with tf.GradientTape() as tape:
            tape.watch(images)
            loss = tf.nn.sparse_softmax_cross_entropy_with_logits(labels, model(images))
        gradient = tape.gradient(loss, images)
        step = tf.sign(gradient) if sign else gradient
        attacked = images + direction * epsilon * scale * step
        return tf.clip_by_value(attacked, 0.0, 1.0) if clip else attacked

    return attack


def test_fgsm_step():
    assert checks.check_fgsm_step(_fgsm())
    failed(checks.check_fgsm_step(_fgsm(direction=-1.0)), "goes down the loss")
    failed(checks.check_fgsm_step(_fgsm(clip=False)), "not clipped")
    failed(checks.check_fgsm_step(_fgsm(sign=False)), "raw gradient")
    failed(checks.check_fgsm_step(_fgsm(scale=255.0)), "multiplied by 255")
    failed(checks.check_fgsm_step(_fgsm(scale=1 / 255)), "divided by 255")
    failed(checks.check_fgsm_step(todo), "not implemented yet")
