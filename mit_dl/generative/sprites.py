"""A dSprites-like benchmark: 64x64 binary sprites drawn from known factors, to measure disentanglement.

Each image holds one white shape on black, drawn from five independent
factors on the grids of DeepMind's dSprites (Matthey et al. 2017):

====================  ======================================  ========
factor                values                                  grid
====================  ======================================  ========
``shape``             square, ellipse, heart                  3
``scale``             0.5 ... 1.0 of the largest size         6
``rotation``          0 ... 2 pi (end excluded)               40
``x``, ``y``          the centre, 0 ... 1 across the canvas   32 each
====================  ======================================  ========

The factors are drawn uniformly and independently from a seed, and kept
beside the images (as grid indices and as values), so that a model's latent
means can be compared with the true factors (`mit_dl.generative.metrics.
mutual_information_gap`). What it models: a world of a few independent
generative factors that a VAE must find without labels. How it differs from
dSprites and from photographs: shapes are rendered here from their
equations (no anti-aliasing, binary pixels), the centre stays within the
middle 46% of the canvas so that every sprite is whole at any angle, and as in dSprites
a square looks the same after a quarter turn and an ellipse after a half
turn, so rotation is only partly identifiable from the pixels.
"""

import dataclasses

import numpy as np

SIZE = 64
SHAPES = ("square", "ellipse", "heart")
FACTORS = ("shape", "scale", "rotation", "x", "y")
GRID = {"shape": 3, "scale": 6, "rotation": 40, "x": 32, "y": 32}
_SPLITS = {"train": 0, "test": 1}
_LARGEST = 0.2  # the largest sprite's half-size, as a share of the canvas
_CENTRE_RANGE = (0.27, 0.73)  # x and y of the centre: the largest sprite, turned, stays whole


@dataclasses.dataclass
class Sprites:
    """Sprite images and the factors they were drawn from.

    Attributes:
        images: uint8 ``[N, 64, 64, 1]``, 0 or 255.
        factors: int ``[N, 5]`` grid indices of (shape, scale, rotation, x, y).
        values: float ``[N, 5]``: the shape index, scale in [0.5, 1], rotation
            in radians, and x, y of the centre in [0, 1].
    """

    images: np.ndarray
    factors: np.ndarray
    values: np.ndarray

    def __len__(self):
        return len(self.images)


def factor_values(factors):
    """The values of factor grid indices.

    Args:
        factors: int ``[N, 5]`` grid indices of (shape, scale, rotation, x, y).

    Returns:
        float ``[N, 5]``: the shape index, scale in [0.5, 1], rotation in
        radians in [0, 2 pi), x and y of the centre in [0, 1].
    """
    factors = np.asarray(factors)
    return np.stack(
        [
            factors[:, 0].astype(np.float64),
            0.5 + 0.5 * factors[:, 1] / (GRID["scale"] - 1),
            2 * np.pi * factors[:, 2] / GRID["rotation"],
            factors[:, 3] / (GRID["x"] - 1),
            factors[:, 4] / (GRID["y"] - 1),
        ],
        axis=1,
    )


def render(factors, size=SIZE):
    """Draw one sprite per row of factor grid indices.

    Args:
        factors: int ``[N, 5]`` grid indices of (shape, scale, rotation, x, y).
        size: height and width of the images.

    Returns:
        uint8 ``[N, size, size, 1]`` images, 255 inside the shape and 0 outside.
    """
    values = factor_values(factors)
    shape, scale, angle = values[:, 0].astype(int), values[:, 1], values[:, 2]
    low, high = _CENTRE_RANGE
    centre_x, centre_y = low + (high - low) * values[:, 3], low + (high - low) * values[:, 4]
    grid = (np.arange(size) + 0.5) / size
    dx = grid[None, None, :] - centre_x[:, None, None]
    dy = grid[None, :, None] - centre_y[:, None, None]
    cos, sin = np.cos(angle)[:, None, None], np.sin(angle)[:, None, None]
    half = (_LARGEST * scale)[:, None, None]
    u = (cos * dx + sin * dy) / half  # the pixel in the sprite's own frame, the shape spanning [-1, 1]
    v = (-sin * dx + cos * dy) / half
    inside = np.where(
        (shape == 0)[:, None, None],
        np.maximum(np.abs(u), np.abs(v)) <= 0.8,
        np.where(
            (shape == 1)[:, None, None],
            u**2 + (v / 0.5) ** 2 <= 1.0,
            _heart(u * 1.25, -v * 1.25 + 0.15),
        ),
    )
    return (inside[..., None] * 255).astype(np.uint8)


def _heart(u, v):
    """Inside the heart curve ``(u^2 + v^2 - 1)^3 - u^2 v^3 <= 0`` (spans about [-1.14, 1.14] x [-1, 1.24])."""
    return (u**2 + v**2 - 1.0) ** 3 - u**2 * v**3 <= 0.0


def sprites(count, split="train", seed=0):
    """``count`` sprites with independent, uniformly drawn factors (see the module docstring).

    Deterministic: the same ``(count, split, seed)`` gives the same sprites;
    the train and test splits of one seed are drawn from different streams.

    Args:
        count: number of images.
        split: ``"train"`` or ``"test"``.
        seed: the benchmark's seed.

    Returns:
        A `Sprites`.

    Raises:
        ValueError: an unknown split or a count that is not positive.

    Examples:
        >>> data = sprites(8, seed=0)
        >>> data.images.shape, data.factors.shape
        ((8, 64, 64, 1), (8, 5))
    """
    if split not in _SPLITS:
        raise ValueError(f"unknown split {split!r}; choose one of {sorted(_SPLITS)}.")
    if isinstance(count, bool) or not isinstance(count, (int, np.integer)) or count <= 0:
        raise ValueError(f"count must be a positive number of images, received {count!r}.")
    rng = np.random.default_rng([seed, _SPLITS[split]])
    factors = np.stack([rng.integers(0, GRID[name], count) for name in FACTORS], axis=1)
    return Sprites(render(factors), factors, factor_values(factors))
