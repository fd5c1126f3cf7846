"""Single-shot detection as centres: heatmap targets, the penalty-reduced focal loss, and decoding with NMS.

The detector (CenterNet, Zhou et al. 2019, "Objects as Points") sees an
object as the point at its box's centre. On a grid ``STRIDE`` times coarser
than the image it predicts, per cell:

- a **heatmap** score per class, trained towards a Gaussian bump around each
  object's centre cell (1 at the centre);
- the box's **size** ``(height, width)`` in pixels, trained at centre cells only;
- the **offset** of the true centre inside its cell (the grid's rounding),
  in cells, trained at centre cells only.

Decoding keeps the cells whose score is the maximum of its 3x3
neighbourhood (the "NMS by max-pooling" of the paper), takes the best
``top_k`` over all classes, turns each into a box, and runs
``tf.image.combined_non_max_suppression`` (per-class NMS, batched) so the
exported signature returns clean, padded detections.

Heatmap loss (Law and Deng 2018), with ``p`` the predicted score and ``y``
the target, summed over cells and classes and divided by the number of
objects::

    -(1 - p)^alpha log(p)                 where y = 1 (a centre)
    -(1 - y)^beta p^alpha log(1 - p)      elsewhere (near a centre, y close to 1, costs little)

with ``alpha = 2``, ``beta = 4``.
"""

import numpy as np
import tensorflow as tf

from mit_dl.vision.scenes import CANVAS_SIZE, NUM_CLASSES

STRIDE = 4
FOCAL_ALPHA = 2.0
FOCAL_BETA = 4.0
# A Gaussian's standard deviation, in cells, per cell of the box's smaller side (at least MIN_SIGMA).
SIGMA_PER_CELL = 1 / 6
MIN_SIGMA = 0.5


def center_targets(boxes, classes, counts, image_size=CANVAS_SIZE, stride=STRIDE, num_classes=NUM_CLASSES):
    """The heatmap, size and offset targets of a batch of scenes.

    Args:
        boxes: float ``[N, K, 4]`` boxes ``(y_min, x_min, y_max, x_max)`` in pixels (`Scenes.boxes`).
        classes: int ``[N, K]`` their classes, -1 for padding.
        counts: int ``[N]`` objects per scene.
        image_size: the images' side, a multiple of ``stride``.
        stride: pixels per grid cell.
        num_classes: heatmap channels.

    Returns:
        ``{"heatmap": float32 [N, G, G, C], "size": float32 [N, G, G, 2], "offset": float32 [N, G, G, 2],
        "centers": float32 [N, G, G]}`` with ``G = image_size // stride``; ``centers`` is 1 at the cells that
        hold an object's centre (where size and offset are trained). Two objects sharing a centre cell: the
        one drawn later (on top) sets the cell's size and offset.

    Raises:
        ValueError: ``image_size`` is not a multiple of ``stride``.
    """
    if image_size % stride:
        raise ValueError(f"image_size {image_size} must be a multiple of stride {stride}.")
    boxes, classes = np.asarray(boxes, np.float64), np.asarray(classes)
    grid = image_size // stride
    count = len(boxes)
    heatmap = np.zeros((count, grid, grid, num_classes), np.float32)
    size = np.zeros((count, grid, grid, 2), np.float32)
    offset = np.zeros((count, grid, grid, 2), np.float32)
    centers = np.zeros((count, grid, grid), np.float32)
    cells = np.arange(grid)
    for scene in range(count):
        for (y0, x0, y1, x1), label in zip(boxes[scene, : counts[scene]], classes[scene, : counts[scene]], strict=True):
            cy, cx = (y0 + y1) / 2 / stride, (x0 + x1) / 2 / stride  # the centre, in cells
            row, column = min(int(cy), grid - 1), min(int(cx), grid - 1)
            sigma = max(MIN_SIGMA, SIGMA_PER_CELL * min(y1 - y0, x1 - x0) / stride)
            bump = np.exp(-((cells[:, None] - row) ** 2 + (cells[None, :] - column) ** 2) / (2 * sigma**2))
            np.maximum(heatmap[scene, :, :, label], bump, out=heatmap[scene, :, :, label])
            size[scene, row, column] = (y1 - y0, x1 - x0)
            offset[scene, row, column] = (cy - row, cx - column)
            centers[scene, row, column] = 1.0
    return {"heatmap": heatmap, "size": size, "offset": offset, "centers": centers}


def scene_targets(boxes, classes, count, image_size=CANVAS_SIZE, stride=STRIDE, num_classes=NUM_CLASSES):
    """`center_targets` of one scene in TensorFlow ops, for a `tf.data` pipeline (checkpointable, no Python).

    Args:
        boxes: float ``[K, 4]`` boxes in pixels.
        classes: int ``[K]`` classes, -1 for padding.
        count: the scene's objects (the first ``count`` rows).
        image_size: the image's side, a multiple of ``stride``.
        stride: pixels per grid cell.
        num_classes: heatmap channels.

    Returns:
        ``{"heatmap": [G, G, C], "size": [G, G, 2], "offset": [G, G, 2], "centers": [G, G]}`` float32, equal
        to `center_targets` of the scene (tested).
    """
    grid = image_size // stride
    boxes = tf.cast(boxes, tf.float32)
    valid = tf.range(tf.shape(boxes)[0]) < tf.cast(count, tf.int32)
    center = (boxes[:, :2] + boxes[:, 2:]) / 2 / stride  # [K, 2] in cells
    cell = tf.minimum(tf.cast(tf.floor(center), tf.int32), grid - 1)
    extent = boxes[:, 2:] - boxes[:, :2]
    sigma = tf.maximum(MIN_SIGMA, SIGMA_PER_CELL * tf.reduce_min(extent, axis=-1) / stride)
    cells = tf.range(grid, dtype=tf.float32)
    position = tf.cast(cell, tf.float32)
    distance = (cells[None, :, None] - position[:, 0, None, None]) ** 2 + (
        cells[None, None, :] - position[:, 1, None, None]
    ) ** 2
    bump = tf.exp(-distance / (2 * sigma[:, None, None] ** 2)) * tf.cast(valid, tf.float32)[:, None, None]
    one_hot = tf.one_hot(tf.maximum(tf.cast(classes, tf.int32), 0), num_classes) * tf.cast(valid, tf.float32)[:, None]
    heatmap = tf.reduce_max(bump[..., None] * one_hot[:, None, None, :], axis=0)
    # A centre cell shared by several objects takes the last one's size and offset (the one drawn on top).
    same_cell = tf.reduce_all(tf.equal(cell[:, None, :], cell[None, :, :]), axis=-1) & valid[None, :]
    later = tf.linalg.band_part(tf.ones_like(same_cell, tf.float32), 0, -1) - tf.eye(tf.shape(cell)[0])
    keep = valid & ~tf.reduce_any(same_cell & (later > 0), axis=1)
    indices = tf.boolean_mask(cell, keep)
    values = {
        "size": tf.boolean_mask(extent, keep),
        "offset": tf.boolean_mask(center - position, keep),
        "centers": tf.ones_like(tf.boolean_mask(sigma, keep)),
    }
    maps = {name: tf.scatter_nd(indices, value, [grid, grid, *value.shape[1:]]) for name, value in values.items()}
    return {"heatmap": heatmap, **maps}


def focal_loss(heatmap_target, heatmap_logits):
    """The penalty-reduced focal loss per scene (module docstring), divided by the scene's objects.

    Args:
        heatmap_target: ``[N, G, G, C]`` Gaussian targets, exactly 1 at centres.
        heatmap_logits: ``[N, G, G, C]`` predicted logits.

    Returns:
        float32 ``[N]``.
    """
    target = tf.cast(heatmap_target, tf.float32)
    logits = tf.cast(heatmap_logits, tf.float32)
    probability = tf.sigmoid(logits)
    # log(p) and log(1 - p) from the logits, stable where p is near 0 or 1.
    log_p, log_not_p = tf.math.log_sigmoid(logits), tf.math.log_sigmoid(-logits)
    is_center = tf.cast(target >= 1.0, tf.float32)
    positive = -((1 - probability) ** FOCAL_ALPHA) * log_p * is_center
    negative = -((1 - target) ** FOCAL_BETA) * probability**FOCAL_ALPHA * log_not_p * (1 - is_center)
    objects = tf.maximum(tf.reduce_sum(is_center, axis=[1, 2, 3]), 1.0)
    return tf.reduce_sum(positive + negative, axis=[1, 2, 3]) / objects


def masked_l1(target, predicted, centers):
    """Mean absolute error over the centre cells of each scene.

    Args:
        target: ``[N, G, G, 2]``.
        predicted: ``[N, G, G, 2]``.
        centers: ``[N, G, G]``, 1 at centre cells.

    Returns:
        float32 ``[N]`` (0 for a scene without objects).
    """
    centers = tf.cast(centers, tf.float32)
    error = tf.reduce_sum(tf.abs(tf.cast(predicted, tf.float32) - tf.cast(target, tf.float32)), axis=-1) * centers
    return tf.reduce_sum(error, axis=[1, 2]) / tf.maximum(tf.reduce_sum(centers, axis=[1, 2]), 1.0)


def decode(
    heatmap_logits, size, offset, stride=STRIDE, top_k=100, iou_threshold=0.5, max_detections=100, min_score=0.05
):
    """Boxes, classes and scores from the three maps: peaks, top-k, boxes, per-class NMS (batched).

    Args:
        heatmap_logits: ``[N, G, G, C]`` logits.
        size: ``[N, G, G, 2]`` box heights and widths in pixels.
        offset: ``[N, G, G, 2]`` centre offsets within the cell, in cells.
        stride: pixels per cell.
        top_k: peaks kept per image before NMS.
        iou_threshold: per-class NMS threshold.
        max_detections: detections kept per image.
        min_score: detections scoring below this are dropped.

    Returns:
        ``{"boxes": float32 [N, max_detections, 4] (y_min, x_min, y_max, x_max) in pixels,
        "classes": int32 [N, max_detections], "scores": float32 [N, max_detections], "count": int32 [N]}``,
        padded with zeros past ``count``, best score first.
    """
    scores = tf.sigmoid(tf.cast(heatmap_logits, tf.float32))
    peaks = tf.cast(tf.equal(scores, tf.nn.max_pool2d(scores, 3, 1, "SAME")), tf.float32)
    shape = tf.shape(scores)
    batch, grid_w, classes = shape[0], shape[2], shape[3]
    flat = tf.reshape(scores * peaks, [batch, -1])
    k = tf.minimum(top_k, tf.shape(flat)[1])
    best, index = tf.math.top_k(flat, k=k)
    cell, label = index // classes, index % classes
    row, column = cell // grid_w, cell % grid_w
    gathered = tf.stack([row, column], axis=-1)
    box_size = tf.gather_nd(tf.cast(size, tf.float32), gathered, batch_dims=1)
    box_offset = tf.gather_nd(tf.cast(offset, tf.float32), gathered, batch_dims=1)
    center = (tf.cast(gathered, tf.float32) + box_offset) * stride
    corners = tf.concat([center - box_size / 2, center + box_size / 2], axis=-1)
    # combined_non_max_suppression wants [N, k, classes or 1, 4] boxes and [N, k, classes] scores.
    per_class = tf.one_hot(label, classes) * best[..., None]
    boxes, kept_scores, kept_classes, count = tf.image.combined_non_max_suppression(
        corners[:, :, None, :],
        per_class,
        max_output_size_per_class=max_detections,
        max_total_size=max_detections,
        iou_threshold=iou_threshold,
        score_threshold=min_score,
        clip_boxes=False,
    )
    return {"boxes": boxes, "classes": tf.cast(kept_classes, tf.int32), "scores": kept_scores, "count": count}
