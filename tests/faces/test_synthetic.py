"""The synthetic face benchmark: determinism, group frequencies, balance, learnable groups, bad arguments."""

import numpy as np
import pytest

from mit_dl.faces import synthetic as faces


def test_same_seed_same_images_other_seed_other_images(tmp_path, monkeypatch):
    monkeypatch.setenv("MIT_DL_CACHE", str(tmp_path / "first"))
    a, b = faces.synthetic_faces(40, "train", seed=3), faces.synthetic_faces(40, "train", seed=3)  # drawn, then read
    assert len(list((tmp_path / "first" / "faces" / "synthetic").glob("train-n40-s3-*.npz"))) == 1
    monkeypatch.setenv("MIT_DL_CACHE", str(tmp_path / "second"))
    drawn_again = faces.synthetic_faces(40, "train", seed=3)  # an empty cache: drawn anew from the seed
    for other in (b, drawn_again):
        np.testing.assert_array_equal(a.images, other.images)
        np.testing.assert_array_equal(a.labels, other.labels)
        assert all(np.array_equal(a.attributes[k], other.attributes[k]) for k in a.attributes)
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


def test_a_balanced_training_split_has_every_group_equally_often_and_other_images_than_the_test_split():
    train = faces.synthetic_faces(24 * 4, "train", seed=2, balanced=True)
    names, counts = np.unique(train.group_names(), return_counts=True)
    assert len(names) == 24 and set(counts) == {4}
    test = faces.synthetic_faces(24 * 4, "test", seed=2)
    assert not np.array_equal(train.images, test.images)
    biased = faces.synthetic_faces(24 * 4, "train", seed=2)
    assert len(np.unique(biased.group_names())) < 24  # the rare groups: 0.25% of faces are dark with a hat


def test_a_short_balanced_run_separates_faces_from_non_faces_in_every_group():
    from mit_dl import evaluation
    from mit_dl.faces import FacesConfig, bias
    from mit_dl.faces import train as faces_train

    train = faces.synthetic_faces(2400, "train", seed=11, balanced=True)
    test = faces.synthetic_faces(960, "test", seed=11)  # 40 faces and 40 non-faces per attribute group
    # 600 steps at 4x the preset's rate: seconds, far from the oracle's 4,000 steps.
    config = FacesConfig(model="oracle", steps=600, seed=11, learning_rate=2e-3, steps_per_epoch=100)
    model, _, _ = faces_train.train_detector(config, train, log=lambda _: None)
    p = bias.face_probabilities(model, test.images)
    attributes = np.array([name.split("/", 1)[1] for name in test.group_names()])
    for group in np.unique(attributes):
        face, other = (attributes == group) & (test.labels == 1), (attributes == group) & (test.labels == 0)
        # P(a face of the group scores above a non-face of the same group): chance is 0.5.
        assert evaluation.ood_auroc(p[other], p[face]) > 0.8, group
    report = bias.evaluate(model, test)
    assert min(g["accuracy"] for g in report["groups"].values()) > 0.6, report["groups"]


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
