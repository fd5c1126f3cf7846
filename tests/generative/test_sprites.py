import numpy as np
import pytest

from mit_dl.generative import sprites as sp


def test_sprites_are_deterministic_per_seed_and_split():
    a, b = sp.sprites(32, seed=3), sp.sprites(32, seed=3)
    assert np.array_equal(a.images, b.images) and np.array_equal(a.factors, b.factors)
    assert not np.array_equal(sp.sprites(32, "test", seed=3).factors, a.factors)
    assert not np.array_equal(sp.sprites(32, seed=4).factors, a.factors)


def test_factors_cover_their_grids_and_values_their_ranges():
    data = sp.sprites(4000, seed=0)
    for k, name in enumerate(sp.FACTORS):
        assert set(np.unique(data.factors[:, k])) == set(range(sp.GRID[name])), name
    assert data.values[:, 1].min() == 0.5 and data.values[:, 1].max() == 1.0
    assert 0 <= data.values[:, 2].min() and data.values[:, 2].max() < 2 * np.pi
    assert data.values[:, 3:].min() == 0.0 and data.values[:, 3:].max() == 1.0
    assert data.images.dtype == np.uint8 and set(np.unique(data.images)) == {0, 255}


def _one(shape, scale=5, rotation=0, x=16, y=16):
    return sp.render(np.array([[shape, scale, rotation, x, y]]))[0, ..., 0] > 0


def test_shapes_have_the_areas_of_their_equations_and_scale_with_the_square_of_the_size():
    half = sp._LARGEST * sp.SIZE  # the largest sprite's half-size in pixels
    square, ellipse = _one(0).sum(), _one(1).sum()
    assert square == pytest.approx((2 * 0.8 * half) ** 2, rel=0.08)
    assert ellipse == pytest.approx(np.pi * half * 0.5 * half, rel=0.08)
    assert _one(0, scale=0).sum() == pytest.approx(square / 4, rel=0.15)  # scale 0.5: a quarter of the area
    assert 0 < _one(2).sum() < square * 1.5


def test_rotation_and_position_move_the_sprite_and_it_stays_whole():
    ellipse = _one(1)
    turned = _one(1, rotation=10)  # a quarter turn
    assert np.array_equal(turned, ellipse.T)  # an ellipse turned by 90 degrees swaps its axes
    assert np.array_equal(_one(0, rotation=10), _one(0))  # a square looks the same after a quarter turn
    moved = _one(2, x=31)
    assert moved.any(axis=0).nonzero()[0].mean() > _one(2, x=0).any(axis=0).nonzero()[0].mean() + 20
    corners = sp.render(
        np.array([[s, 5, r, x, y] for s in range(3) for r in (5, 15) for x in (0, 31) for y in (0, 31)])
    )
    edges = np.concatenate([corners[:, 0], corners[:, -1], corners[:, :, 0], corners[:, :, -1]], axis=1)
    assert not edges.any()  # no sprite touches the border, at any angle or corner position


@pytest.mark.parametrize("count, split", [(0, "train"), (-3, "train"), (2.5, "train"), (4, "validation")])
def test_bad_arguments_are_clear_errors(count, split):
    with pytest.raises(ValueError, match="count|split"):
        sp.sprites(count, split)
