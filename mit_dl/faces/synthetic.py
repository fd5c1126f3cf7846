"""A deterministic synthetic face-detection benchmark with known hidden attributes (Lab 2, part 2).

Why synthetic: the debiasing lab needs faces whose sensitive attributes are
*known* for every image, a training set in which some attribute groups are
rare, and a large test set balanced over every group. Real face datasets
with such labels cannot be shipped or downloaded here; this generator makes
one from a seed, with no files to download. Drawing takes about 2 ms per image
(40 s for the full preset's 20,000 on 2 CPU cores), so the images of each
``(count, split, seed, ...)`` are kept in the mit_dl cache folder
(`mit_dl.data.locations.cache_dir`), keyed by this module's own source: a
change to the drawing code draws them anew.

What it models (64x64 RGB, drawn with NumPy):

- faces: a head oval in a skin tone, hair or a hat, two eyes with pupils and
  brows, a nose and a mouth in the facial arrangement, with pose jitter
  (position, scale, in-plane rotation);
- hidden attributes of every face: ``skin`` (light / dark), ``lighting``
  (bright / dim, with a directional gradient) and ``accessory`` (none / hat /
  glasses);
- non-faces that are hard negatives: the same parts, colours and lighting in
  a wrong arrangement (the eyes one above the other, a mouth above the eyes,
  a head without features, features without a head, a textured field of skin
  blobs and dark dots, a hat or glasses alone); a non-face's hat or glasses
  lie beside its head, never on it, so no non-face has a face's eye line;
- background clutter (colour gradients, random shapes) and sensor noise.

The training split is biased the way real face data often is: among faces,
dark skin is ``RARE`` (5%) and hats are rare (5%), while non-faces use both
skin tones equally, so "dark" correlates with "not a face" in training. The
test split is balanced: every (skin, lighting, accessory) group has the same
number of faces and of non-faces. Group labels are for evaluation (and the
label-aware baselines) only.

What makes a group hard is its rarity and that shortcut, not the images: a
CNN trained on a balanced split of the same size (``balanced=True``, the
``oracle``) detects 96.5% or more of every group of faces and non-faces on
five seeds (docs page), while on the biased split its worst face group
(dark skin with a hat; dark skin, dim light and a hat are 8 to 16 of the
10,000 training faces) falls to 59.5-75%.

How it differs from real photos: cartoon geometry with no texture of skin,
no identity, no expressions beyond pose, two skin tones instead of a
continuum, and hard negatives built from face parts rather than the
cats, cars and scenes of real negative sets. It measures whether a method
finds and corrects under-represented *latent* groups, not face-detection
accuracy in the wild (the ``lfw_subset`` check covers real faces).
"""

import dataclasses
import hashlib
import os
import pathlib

import numpy as np

from mit_dl.data import locations

IMAGE_SIZE = 64
SKIN = ("light", "dark")
LIGHTING = ("bright", "dim")
ACCESSORY = ("none", "hat", "glasses")
ATTRIBUTES = {"skin": SKIN, "lighting": LIGHTING, "accessory": ACCESSORY}
RARE = 0.05  # share of the training faces with a rare attribute value (dark skin, a hat)
# Share of faces in the training split that have each attribute value.
TRAIN_FACE_FREQUENCIES = {
    "skin": {"light": 1 - RARE, "dark": RARE},
    "lighting": {"bright": 0.6, "dim": 0.4},
    "accessory": {"none": 0.75, "hat": RARE, "glasses": 0.20},
}
# Non-faces in training: every value equally often.
TRAIN_NONFACE_FREQUENCIES = {name: {v: 1 / len(values) for v in values} for name, values in ATTRIBUTES.items()}
SKIN_COLOURS = {"light": (0.96, 0.80, 0.66), "dark": (0.42, 0.27, 0.17)}
HAIR_COLOURS = ((0.08, 0.06, 0.05), (0.35, 0.20, 0.08), (0.85, 0.70, 0.35), (0.55, 0.22, 0.08))
NONFACE_KINDS = ("scrambled", "upside_features", "blank_head", "features_only", "texture", "accessory_only")
_SPLITS = {"train": 0, "test": 1, "validation": 2}


@dataclasses.dataclass
class FaceData:
    """Images, face labels and the hidden attribute of every image."""

    images: np.ndarray  # uint8 [N, 64, 64, 3], RGB
    labels: np.ndarray  # int32 [N], 1 = face
    attributes: dict  # name -> int array [N], an index into ATTRIBUTES[name]

    def __len__(self):
        return len(self.labels)

    def group_names(self):
        """The group name of every image: ``"face/light/bright/hat"`` style.

        Returns:
            A string array; ``"face"`` / ``"non-face"`` for real data, whose attributes are unknown.
        """
        kinds = np.where(self.labels == 1, "face", "non-face")
        parts = [kinds] + [
            np.array(ATTRIBUTES[name])[self.attributes[name]] for name in ATTRIBUTES if name in self.attributes
        ]
        return np.array(["/".join(p) for p in zip(*parts)])


def synthetic_faces(count, split="train", seed=0, face_fraction=0.5, balanced=None):
    """``count`` images of the synthetic benchmark (see the module docstring).

    Deterministic: the same ``(count, split, seed)`` gives the same images.
    ``split="train"`` (or ``"validation"``) samples attributes with the biased
    training frequencies; ``split="test"`` (or ``balanced=True``) cycles
    through every group equally.

    Args:
        count: number of images.
        split: ``"train"``, ``"validation"`` or ``"test"``.
        seed: the benchmark's seed.
        face_fraction: share of faces.
        balanced: every (label, skin, lighting, accessory) group equally often;
            the default is ``True`` for the test split, ``False`` otherwise
            (the oracle's training split passes ``True``).

    Returns:
        A `FaceData` with the hidden attributes.

    Raises:
        ValueError: an unknown split or a count that is not positive.
    """
    if split not in _SPLITS:
        raise ValueError(f"unknown split {split!r}; choose one of {sorted(_SPLITS)}.")
    if not isinstance(count, (int, np.integer)) or count <= 0:
        raise ValueError(f"count must be a positive number of images, received {count!r}.")
    rng = np.random.default_rng([seed, _SPLITS[split]])
    labels = (np.arange(count) < round(face_fraction * count)).astype(np.int32)
    attributes = {name: np.zeros(count, np.int64) for name in ATTRIBUTES}
    if balanced is None:
        balanced = split == "test"
    if balanced:
        groups = np.array(np.meshgrid(*[np.arange(len(v)) for v in ATTRIBUTES.values()], indexing="ij"))
        groups = groups.reshape(len(ATTRIBUTES), -1).T  # every combination once
        for label in (0, 1):
            rows = np.flatnonzero(labels == label)
            chosen = groups[np.arange(len(rows)) % len(groups)]
            for column, name in enumerate(ATTRIBUTES):
                attributes[name][rows] = chosen[:, column]
    else:
        for label, table in ((1, TRAIN_FACE_FREQUENCIES), (0, TRAIN_NONFACE_FREQUENCIES)):
            rows = np.flatnonzero(labels == label)
            for name, values in ATTRIBUTES.items():
                p = [table[name][v] for v in values]
                attributes[name][rows] = rng.choice(len(values), size=len(rows), p=p)
    order = rng.permutation(count)
    labels = labels[order]
    attributes = {name: a[order] for name, a in attributes.items()}
    image_seeds = rng.integers(0, 2**63 - 1, size=count)
    cached = _cache_path(count, split, seed, face_fraction, balanced)
    if cached.is_file():
        return FaceData(np.load(cached)["images"], labels, attributes)
    images = np.empty((count, IMAGE_SIZE, IMAGE_SIZE, 3), np.uint8)
    for i in range(count):
        values = {name: ATTRIBUTES[name][attributes[name][i]] for name in ATTRIBUTES}
        images[i] = _draw(np.random.default_rng(image_seeds[i]), labels[i] == 1, **values)
    _save(cached, images)
    return FaceData(images, labels, attributes)


def _cache_path(count, split, seed, face_fraction, balanced):
    """Where the images of these arguments are kept, keyed by the drawing code's own source."""
    code = hashlib.sha256(pathlib.Path(__file__).read_bytes()).hexdigest()[:12]
    name = f"{split}-n{count}-s{seed}-f{face_fraction:g}-b{int(balanced)}-{code}.npz"
    return locations.cache_dir("faces", "synthetic", name)


def _save(path, images):
    """Write the images where the next call finds them; a folder that cannot be written is skipped."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f"{path.stem}.{os.getpid()}.partial.npz")
        np.savez_compressed(partial, images=images)
        os.replace(partial, path)  # atomic: a concurrent reader sees the whole file or none
    except OSError:
        pass


# ----------------------------------------------------------------- drawing
_YY, _XX = (np.mgrid[0:IMAGE_SIZE, 0:IMAGE_SIZE] + 0.5) / IMAGE_SIZE


def _ellipse(cx, cy, rx, ry, angle=0.0):
    """Soft mask (0..1, anti-aliased over ~1 pixel) of a rotated ellipse."""
    c, s = np.cos(angle), np.sin(angle)
    dx, dy = _XX - cx, _YY - cy
    u, v = (c * dx + s * dy) / rx, (-s * dx + c * dy) / ry
    distance = np.sqrt(u * u + v * v)
    edge = 1.0 / (IMAGE_SIZE * max(min(rx, ry), 1e-3))
    return np.clip((1.0 - distance) / edge, 0.0, 1.0)


def _paint(canvas, mask, colour):
    canvas *= 1.0 - mask[..., None]
    canvas += mask[..., None] * np.asarray(colour)


def _jitter(rng, colour, amount=0.05):
    return np.clip(np.asarray(colour) + rng.normal(0, amount, 3), 0, 1)


def _background(rng):
    top, bottom = rng.uniform(0.1, 0.95, 3), rng.uniform(0.1, 0.95, 3)
    t = _YY[..., None]
    canvas = top * (1 - t) + bottom * t
    for _ in range(rng.integers(3, 9)):  # clutter
        colour = rng.uniform(0, 1, 3)
        cx, cy = rng.uniform(0, 1, 2)
        if rng.random() < 0.5:
            _paint(canvas, _ellipse(cx, cy, *rng.uniform(0.03, 0.2, 2), rng.uniform(0, np.pi)), colour)
        else:
            w, h = rng.uniform(0.03, 0.3, 2)
            mask = ((abs(_XX - cx) < w) & (abs(_YY - cy) < h)).astype(float)
            _paint(canvas, mask, colour)
    return canvas


class _Pose:
    """Maps face-local coordinates (head centre at 0, head height ~0.7) to the image."""

    def __init__(self, rng):
        self.cx, self.cy = rng.uniform(0.4, 0.6, 2)
        self.scale = rng.uniform(0.8, 1.1)
        self.angle = rng.uniform(-0.26, 0.26)  # about +-15 degrees

    def beside(self, rng):
        """A smaller pose whose centre is 0.3-0.4 of the image away from this one's, in a random direction."""
        other = _Pose.__new__(_Pose)
        direction, distance = rng.uniform(0, 2 * np.pi), rng.uniform(0.3, 0.4)
        other.cx, other.cy = self.cx + distance * np.cos(direction), self.cy + distance * np.sin(direction)
        other.scale, other.angle = 0.6 * self.scale, rng.uniform(-0.5, 0.5)
        return other

    def at(self, x, y):
        c, s = np.cos(self.angle), np.sin(self.angle)
        return self.cx + self.scale * (c * x - s * y), self.cy + self.scale * (s * x + c * y)

    def ellipse(self, x, y, rx, ry, angle=0.0):
        cx, cy = self.at(x, y)
        return _ellipse(cx, cy, rx * self.scale, ry * self.scale, self.angle + angle)


def _head(canvas, pose, skin, rng, hair=True):
    if hair:
        _paint(canvas, pose.ellipse(0, -0.05, 0.29, 0.33), HAIR_COLOURS[rng.integers(len(HAIR_COLOURS))])
    _paint(canvas, pose.ellipse(0, 0.02, 0.25, 0.31), skin)


def _eye(canvas, pose, x, y, skin):
    _paint(canvas, pose.ellipse(x, y - 0.065, 0.06, 0.012), np.asarray(skin) * 0.35)  # brow
    _paint(canvas, pose.ellipse(x, y, 0.055, 0.032), (0.97, 0.97, 0.95))
    _paint(canvas, pose.ellipse(x, y, 0.024, 0.026), (0.1, 0.08, 0.08))


def _features(canvas, pose, skin, rng, positions=None):
    """Eyes, nose, mouth; ``positions`` overrides the facial arrangement (for non-faces)."""
    eyes = [(-0.1, -0.04), (0.1, -0.04)]
    nose, mouth = (0.0, 0.06), (0.0, 0.16)
    if positions is not None:
        eyes, nose, mouth = positions
    for x, y in eyes:
        _eye(canvas, pose, x, y, skin)
    _paint(canvas, pose.ellipse(*nose, 0.03, 0.045), np.asarray(skin) * 0.8)
    _paint(canvas, pose.ellipse(*mouth, 0.085, 0.025), _jitter(rng, (0.7, 0.2, 0.22)))


def _hat(canvas, pose, rng):
    colour = rng.uniform(0.05, 0.9, 3)
    _paint(canvas, pose.ellipse(0, -0.27, 0.36, 0.05), colour)  # brim
    _paint(canvas, pose.ellipse(0, -0.36, 0.22, 0.12), colour)  # crown


def _glasses(canvas, pose, rng):
    colour = rng.uniform(0.0, 0.3, 3)
    for x in (-0.1, 0.1):
        ring = np.clip(pose.ellipse(x, -0.04, 0.085, 0.065) - pose.ellipse(x, -0.04, 0.065, 0.047), 0, 1)
        _paint(canvas, ring, colour)
    _paint(canvas, pose.ellipse(0, -0.045, 0.03, 0.008), colour)  # bridge


def _accessory(canvas, pose, accessory, rng):
    if accessory == "hat":
        _hat(canvas, pose, rng)
    elif accessory == "glasses":
        _glasses(canvas, pose, rng)


def _light(canvas, lighting, rng):
    level = rng.uniform(0.9, 1.1) if lighting == "bright" else rng.uniform(0.45, 0.6)
    direction = rng.uniform(0, 2 * np.pi)
    gradient = 1.0 + rng.uniform(0.1, 0.4) * ((_XX - 0.5) * np.cos(direction) + (_YY - 0.5) * np.sin(direction))
    canvas *= (level * gradient)[..., None]
    canvas += rng.normal(0, 0.025, canvas.shape)  # sensor noise
    return canvas


def _draw(rng, is_face, skin, lighting, accessory):
    skin_colour = _jitter(rng, SKIN_COLOURS[skin], 0.04)
    canvas = _background(rng)
    pose = _Pose(rng)
    if is_face:
        _head(canvas, pose, skin_colour, rng, hair=accessory != "hat" or rng.random() < 0.5)
        _features(canvas, pose, skin_colour, rng)
        _accessory(canvas, pose, accessory, rng)
    else:
        _nonface(canvas, pose, skin_colour, accessory, rng)
    canvas = _light(canvas, lighting, rng)
    return np.clip(canvas * 255.0 + 0.5, 0, 255).astype(np.uint8)


def _nonface(canvas, pose, skin, accessory, rng):
    kind = NONFACE_KINDS[rng.integers(len(NONFACE_KINDS))]
    if kind == "scrambled":  # head and parts, the eyes one above the other on one side, nose and mouth on the other
        _head(canvas, pose, skin, rng)
        side, shift = rng.choice((-1.0, 1.0)), rng.uniform(-0.03, 0.03, (4, 2))
        eyes = [(side * 0.11 + shift[0, 0], -0.11 + shift[0, 1]), (side * 0.11 + shift[1, 0], 0.09 + shift[1, 1])]
        nose = (-side * 0.1 + shift[2, 0], -0.08 + shift[2, 1])
        mouth = (-side * 0.08 + shift[3, 0], 0.12 + shift[3, 1])
        _features(canvas, pose, skin, rng, (eyes, nose, mouth))
    elif kind == "upside_features":  # mouth above the eyes
        _head(canvas, pose, skin, rng, hair=False)
        _features(canvas, pose, skin, rng, ([(-0.1, 0.12), (0.1, 0.12)], (0.0, 0.0), (0.0, -0.14)))
    elif kind == "blank_head":  # a skin oval with hair and no features
        _head(canvas, pose, skin, rng)
    elif kind == "features_only":  # features on the background, no head
        _features(canvas, pose, skin, rng)
    elif kind == "texture":  # a field of skin blobs and dark dots
        for _ in range(rng.integers(4, 9)):
            cx, cy = rng.uniform(0.1, 0.9, 2)
            _paint(canvas, _ellipse(cx, cy, *rng.uniform(0.05, 0.15, 2), rng.uniform(0, np.pi)), skin)
            _paint(canvas, _ellipse(cx, cy, 0.02, 0.02), (0.1, 0.08, 0.08))
    if kind == "accessory_only" or accessory != "none":
        if accessory == "none":
            accessory = "hat" if rng.random() < 0.5 else "glasses"
        # Beside a head, the accessory lies elsewhere in the scene: glasses over a
        # head's eye line would draw the facial arrangement a non-face must not have.
        _accessory(canvas, pose if kind in ("accessory_only", "texture") else pose.beside(rng), accessory, rng)
