"""The synthetic face benchmark: determinism, group frequencies, balance, bad arguments."""

import numpy as np
import pytest

from mit_dl.faces import synthetic as faces


def test_same_seed_same_images_other_seed_other_images():
    a, b = faces.synthetic_faces(40, "train", seed=3), faces.synthetic_faces(40, "train", seed=3)
    np.testing.assert_array_equal(a.images, b.images)
    np.testing.assert_array_equal(a.labels, b.labels)
    c = faces.synthetic_faces(40, "train", seed=4)
    assert not np.array_equal(a.images, c.images)
    assert a.images.dtype == np.uint8 and a.images.shape == (40, 64, 64, 3)
    assert not np.array_equal(a.images, faces.synthetic_faces(40, "test", seed=3).images)


def test_training_split_has_the_specified_rare_groups():
    data = faces.synthetic_faces(3000, "train", seed=0)
    is_face = data.labels == 1
    assert is_face.mean() == pytest.approx(0.5, abs=1e-3)
    for name, table in faces.TRAIN_FACE_FREQUENCIES.items():
        for index, value in enumerate(faces.ATTRIBUTES[name]):
            share = np.mean(data.attributes[name][is_face] == index)
            # binomial standard error at n=1500 is <= 1.3 points
            assert share == pytest.approx(table[value], abs=0.035), (name, value)
    dark = faces.ATTRIBUTES["skin"].index("dark")
    assert np.mean(data.attributes["skin"][~is_face] == dark) == pytest.approx(0.5, abs=0.05)


def test_test_split_is_balanced_over_every_group():
    data = faces.synthetic_faces(24 * 5, "test", seed=0)
    names, counts = np.unique(data.group_names(), return_counts=True)
    assert len(names) == 2 * 2 * 2 * 3  # face/non-face x skin x lighting x accessory
    assert set(counts) == {5}


def test_dark_skin_is_darker_and_dim_light_is_dimmer():
    data = faces.synthetic_faces(480, "test", seed=1)
    face = data.labels == 1
    centre = data.images[:, 24:40, 24:40].astype(float).mean(axis=(1, 2, 3))
    dark, dim = data.attributes["skin"] == 1, data.attributes["lighting"] == 1
    assert centre[face & dark & ~dim].mean() < centre[face & ~dark & ~dim].mean() - 40
    overall = data.images.astype(float).mean(axis=(1, 2, 3))
    assert overall[dim].mean() < 0.7 * overall[~dim].mean()


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"count": 0}, "count must be a positive number"),
        ({"count": 10, "split": "dev"}, "unknown split 'dev'"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        faces.synthetic_faces(**kwargs)
