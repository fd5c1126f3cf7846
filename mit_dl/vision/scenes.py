"""Scenes for segmentation and detection, composed from real MNIST digits or Fashion-MNIST items (lecture 3).

Why composed: lecture 3 goes beyond classification to semantic segmentation
(a class for every pixel) and object detection (a box and a class for every
object). Neither a segmentation nor a detection set can be downloaded here,
and none ships in a package, so this module builds one from a seed out of
real 28x28 images, with exact labels.

What a scene is (128x128, grayscale, uint8):

- a background with clutter: a base level and a gradient, 0-4 straight
  strokes, and 0-3 *fragments*: dimmed crops of other images of the same
  pool, smaller than any object, that are **not** objects (a model must learn what
  a whole digit or garment looks like, not "bright pixels");
- 1-5 objects: real images resized by a random factor (21-49 pixels a
  side) and pasted at random positions, later objects over earlier ones
  (``Scenes.boxes[i, j]`` is the j-th drawn, so the occlusion order is the
  index order); a placement is redrawn while it would hide more than half
  of an earlier object's ink, so every object stays recognisable;
- sensor noise over everything.

Labels: ``masks`` give every pixel ``0`` (background) or ``1 + class`` of the
topmost object whose ink (the resized image at least ``INK`` of 255) covers
it; ``boxes`` are each object's tight box around all of its ink
(``(y_min, x_min, y_max, x_max)`` in pixels, ends exclusive), the parts
later objects hide included, so a box always covers its object's mask
pixels; ``classes`` are the source images' labels (0-9).

How it differs from photographs: one channel, no perspective, lighting or
texture, objects that are flat cut-outs on a flat background, at most five
of them, from ten classes whose shapes a small CNN tells apart in 28x28
crops. It measures whether a model can find, outline and name objects in
clutter, not detection in the wild. Train and test scenes are built from
disjoint source images (`mit_dl.vision.data`), so a test object is never a
training object.

Examples:
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> images = (rng.random((20, 28, 28)) > 0.6).astype(np.uint8) * 255
    >>> scenes = make_scenes(images, np.arange(20) % 10, count=3, seed=0)
    >>> scenes.images.shape, scenes.masks.dtype, scenes.boxes.shape
    ((3, 128, 128), dtype('uint8'), (3, 5, 4))
"""

import dataclasses

import numpy as np

from mit_dl.errors import DataError

CANVAS_SIZE = 128
NUM_CLASSES = 10
BACKGROUND = 0
MAX_OBJECTS = 5
# A source pixel at least this bright (of 255) after resizing is the object's ink: it is labelled in the mask.
INK = 48
# Pasted pixels this bright or brighter are opaque; darker ones blend with what lies below.
OPAQUE = 128
# Sides of a pasted object, in pixels (the 28-pixel source scaled by 0.75 to 1.75).
OBJECT_SIZES = (21, 49)
# A new object may hide at most this share of an earlier object's ink; otherwise its placement is redrawn.
MAX_HIDDEN = 0.5
PLACEMENT_TRIES = 20
# Fragments: square crops of 5-10 source pixels, enlarged at most 1.5x (at most 15 pixels, under the smallest
# object's 21) and dimmed to 40-80%: parts of digits or garments, never a whole one at full strength.
FRAGMENT_CROPS = (5, 10)


@dataclasses.dataclass
class Scenes:
    """Scene images with their per-pixel class masks and their objects' boxes and classes.

    Objects are stored in drawing order (later ones over earlier ones);
    rows past ``counts[i]`` are padding (box zeros, class and source -1).
    """

    images: np.ndarray  # uint8 [N, 128, 128]
    masks: np.ndarray  # uint8 [N, 128, 128]: 0 background, 1 + class of the topmost object's ink
    boxes: np.ndarray  # float32 [N, MAX_OBJECTS, 4]: (y_min, x_min, y_max, x_max), ends exclusive
    classes: np.ndarray  # int32 [N, MAX_OBJECTS]: 0-9, -1 for padding
    counts: np.ndarray  # int32 [N]: objects in each scene
    sources: np.ndarray  # int32 [N, MAX_OBJECTS]: index of each object's source image, -1 for padding

    def __len__(self):
        return len(self.images)

    def objects(self, index):
        """The boxes and classes of one scene's objects, without padding.

        Args:
            index: which scene.

        Returns:
            ``(boxes float32 [K, 4], classes int32 [K])`` for its ``K`` objects, in drawing order.
        """
        count = int(self.counts[index])
        return self.boxes[index, :count], self.classes[index, :count]

    def __getitem__(self, selection):
        return Scenes(*(getattr(self, field.name)[selection] for field in dataclasses.fields(self)))


def make_scenes(images, labels, count, seed=0, max_objects=MAX_OBJECTS, canvas_size=CANVAS_SIZE):
    """Compose ``count`` scenes from source images, deterministically from ``seed``.

    Scene ``i`` depends only on the sources, ``seed`` and ``i``: the first
    ten of a thousand scenes are the ten scenes of ``count=10``.

    Args:
        images: uint8 ``[M, 28, 28]`` source images (bright objects on a dark ground, as MNIST's).
        labels: int ``[M]`` their classes, 0-9.
        count: how many scenes.
        seed: the scenes' seed.
        max_objects: at most this many objects per scene (1 to ``MAX_OBJECTS``); each scene draws 1 to it.
        canvas_size: the scenes' side in pixels (128; smaller canvases make fast tests).

    Returns:
        A `Scenes`.

    Raises:
        DataError: the sources are not uint8 ``[M, 28, 28]`` with one label in 0-9 each, or fewer than two.
        ValueError: ``count`` below 1, ``max_objects`` outside 1 to ``MAX_OBJECTS``, or a canvas smaller
            than the largest object.
    """
    images, labels = _checked_sources(images, labels)
    if count < 1:
        raise ValueError(f"count must be at least 1, received {count}.")
    if not 1 <= max_objects <= MAX_OBJECTS:
        raise ValueError(f"max_objects must be between 1 and {MAX_OBJECTS}, received {max_objects}.")
    if canvas_size < OBJECT_SIZES[1]:
        raise ValueError(
            f"canvas_size must be at least {OBJECT_SIZES[1]} (the largest object), received {canvas_size}."
        )
    scenes = Scenes(
        images=np.zeros((count, canvas_size, canvas_size), np.uint8),
        masks=np.zeros((count, canvas_size, canvas_size), np.uint8),
        boxes=np.zeros((count, MAX_OBJECTS, 4), np.float32),
        classes=np.full((count, MAX_OBJECTS), -1, np.int32),
        counts=np.zeros(count, np.int32),
        sources=np.full((count, MAX_OBJECTS), -1, np.int32),
    )
    for index in range(count):
        _compose(scenes, index, images, labels, np.random.default_rng([seed, index]), max_objects)
    return scenes


def _checked_sources(images, labels):
    images, labels = np.asarray(images), np.asarray(labels)
    if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != (28, 28):
        raise DataError(
            f"scene sources must be uint8 images of shape [M, 28, 28], received {images.dtype} {images.shape}."
        )
    if labels.shape != (len(images),) or len(images) < 2:
        raise DataError(f"scene sources need one label per image and at least two images, received {labels.shape}.")
    if labels.min() < 0 or labels.max() >= NUM_CLASSES:
        raise DataError(f"scene labels must be classes 0-{NUM_CLASSES - 1}, received {labels.min()}-{labels.max()}.")
    return images, labels.astype(np.int32)


def _compose(scenes, index, images, labels, rng, max_objects):
    side = scenes.images.shape[1]
    canvas = _background(rng, images, side)
    owner = np.full((side, side), -1, np.int32)  # topmost object whose ink covers the pixel
    ink_areas = []
    wanted = int(rng.integers(1, max_objects + 1))
    for slot in range(wanted):
        placed = _place(rng, images, owner, ink_areas)
        if placed is None:
            break
        source, pixels, ink, (top, left) = placed
        size = len(pixels)
        window = canvas[top : top + size, left : left + size]
        alpha = np.clip(pixels / OPAQUE, 0.0, 1.0)
        window[...] = window * (1.0 - alpha) + pixels * alpha
        owner[top : top + size, left : left + size][ink] = slot
        ys, xs = np.nonzero(ink)
        scenes.boxes[index, slot] = (top + ys.min(), left + xs.min(), top + ys.max() + 1, left + xs.max() + 1)
        scenes.classes[index, slot] = labels[source]
        scenes.sources[index, slot] = source
        ink_areas.append(int(ink.sum()))
    count = len(ink_areas)
    scenes.counts[index] = count
    noise = rng.normal(0.0, rng.uniform(0.0, 12.0), canvas.shape)
    scenes.images[index] = np.clip(np.rint(canvas + noise), 0, 255).astype(np.uint8)
    classes = np.append(scenes.classes[index, :count], -1)  # owner -1 indexes the appended background
    scenes.masks[index] = (classes[owner] + 1).astype(np.uint8)


def _place(rng, images, owner, ink_areas):
    """An object that hides at most ``MAX_HIDDEN`` of any earlier object's ink, or None after the tries."""
    for _ in range(PLACEMENT_TRIES):
        source = int(rng.integers(len(images)))
        size = int(rng.integers(OBJECT_SIZES[0], OBJECT_SIZES[1] + 1))
        pixels = resize(images[source], size)
        ink = pixels >= INK
        if ink.sum() < 8:  # a nearly blank source image: not an object anyone could label
            continue
        top, left = (int(v) for v in rng.integers(0, len(owner) - size + 1, size=2))
        covered = owner[top : top + size, left : left + size][ink]
        hidden = np.bincount(covered[covered >= 0], minlength=len(ink_areas))
        remaining = np.bincount(owner[owner >= 0], minlength=len(ink_areas)) - hidden
        if all(remaining[k] >= (1.0 - MAX_HIDDEN) * area for k, area in enumerate(ink_areas)):
            return source, pixels, ink, (top, left)
    return None


def _background(rng, images, side):
    """A float canvas: a base level with a gradient, straight strokes and fragments of other images."""
    ys, xs = np.mgrid[0:side, 0:side] / side
    angle = rng.uniform(0.0, 2.0 * np.pi)
    canvas = rng.uniform(0.0, 30.0) + rng.uniform(0.0, 30.0) * (np.cos(angle) * xs + np.sin(angle) * ys)
    for _ in range(int(rng.integers(0, 5))):
        _stroke(canvas, rng)
    for _ in range(int(rng.integers(0, 4))):
        crop = int(rng.integers(FRAGMENT_CROPS[0], FRAGMENT_CROPS[1] + 1))
        source = images[int(rng.integers(len(images)))]
        y, x = (int(v) for v in rng.integers(0, 28 - crop + 1, size=2))
        piece = resize(source[y : y + crop, x : x + crop], int(crop * rng.uniform(1.0, 1.5))) * rng.uniform(0.4, 0.8)
        size = len(piece)
        top, left = (int(v) for v in rng.integers(0, side - size + 1, size=2))
        window = canvas[top : top + size, left : left + size]
        np.maximum(window, piece, out=window)
    return canvas


def _stroke(canvas, rng):
    """A straight line 1-2 pixels wide, 15-60 pixels long, at a random brightness."""
    side = len(canvas)
    y0, x0 = rng.uniform(0, side, size=2)
    length, angle = rng.uniform(15, 60), rng.uniform(0, np.pi)
    steps = np.linspace(0.0, length, int(length * 2))
    width, brightness = int(rng.integers(1, 3)), rng.uniform(60, 200)
    for dy in range(width):
        ys = np.clip(np.rint(y0 + steps * np.sin(angle)) + dy, 0, side - 1).astype(int)
        xs = np.clip(np.rint(x0 + steps * np.cos(angle)), 0, side - 1).astype(int)
        canvas[ys, xs] = np.maximum(canvas[ys, xs], brightness)


def resize(image, size):
    """Bilinear resize of a square image to ``size`` x ``size`` (pixel centres aligned, as ``tf.image.resize``).

    Args:
        image: ``[n, n]`` array.
        size: the new side.

    Returns:
        float32 ``[size, size]``.
    """
    image = np.asarray(image, np.float32)
    n = image.shape[0]
    coords = np.clip((np.arange(size) + 0.5) * n / size - 0.5, 0, n - 1)
    low = np.floor(coords).astype(int)
    high = np.minimum(low + 1, n - 1)
    weight = (coords - low).astype(np.float32)
    rows = image[low] * (1 - weight)[:, None] + image[high] * weight[:, None]
    return rows[:, low] * (1 - weight)[None, :] + rows[:, high] * weight[None, :]
