"""Real-face loaders: LFW subset, the course's h5 (BGR), image folders, celeb_a via tfds mock data."""

import h5py
import numpy as np
import pytest

from mit_dl.faces import sources as face_sources


def test_lfw_subset_is_100_faces_then_100_non_faces():
    images, labels = face_sources.lfw_subset()
    assert images.shape == (200, 64, 64, 3) and images.dtype == np.uint8
    assert labels.tolist() == [1] * 100 + [0] * 100
    assert (images[..., 0] == images[..., 2]).all()  # grey copied to RGB
    assert 40 < images.mean() < 200


def _h5(path, images, labels=None, **extra):
    with h5py.File(path, "w") as f:
        f["images"] = images
        if labels is not None:
            f["labels"] = labels
        for name, value in extra.items():
            f[name] = value
    return path


def test_course_h5_turns_bgr_into_rgb_once(tmp_path):
    bgr = np.zeros((2, 64, 64, 3), np.uint8)
    bgr[..., 0] = 200  # blue channel first in the file
    images, labels = face_sources.course_h5(_h5(tmp_path / "f.h5", bgr, np.array([[1], [0]])))
    assert images[..., 2].min() == 200 and images[..., 0].max() == 0  # blue is last in RGB
    assert labels.tolist() == [1, 0]


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda p: _h5(p, np.zeros((2, 64, 64, 3), np.uint8)), r"no dataset\(s\) \['labels'\]"),
        (
            lambda p: _h5(p, np.zeros((2, 64, 64), np.uint8), np.ones(2)),
            r"shape \(2, 64, 64\); expected \[N, H, W, 3\]",
        ),
        (lambda p: _h5(p, np.zeros((2, 8, 8, 3), np.float32), np.ones(2)), "dtype float32; expected uint8"),
        (lambda p: _h5(p, np.zeros((2, 8, 8, 3), np.uint8), np.ones(3)), "2 images but 3 labels"),
        (lambda p: _h5(p, np.zeros((2, 8, 8, 3), np.uint8), np.array([0, 7])), "must be 0 .* or 1"),
    ],
)
def test_bad_h5_files_are_clear_errors(tmp_path, make, match):
    with pytest.raises(face_sources.FaceDataError, match=match):
        face_sources.course_h5(make(tmp_path / "bad.h5"))


def test_a_wrong_h5_file_is_refused_from_its_headers_before_any_data_is_read(tmp_path, monkeypatch):
    path = _h5(tmp_path / "big.h5", np.zeros((3, 8, 8), np.uint8), np.ones(3), other=np.zeros(2))

    def no_reading(*args):
        raise AssertionError("the data was read before its shape was checked")

    monkeypatch.setattr(h5py.Dataset, "__getitem__", no_reading)
    with pytest.raises(face_sources.FaceDataError, match=r"shape \(3, 8, 8\)"):
        face_sources.course_h5(path)


def test_image_folder_groups_by_sub_folder(tmp_path):
    from PIL import Image

    for group, colour in (("dark_female", (60, 40, 30)), ("light_male", (230, 200, 180))):
        (tmp_path / group).mkdir()
        for i in range(2):
            Image.new("RGB", (100, 120), colour).save(tmp_path / group / f"{i}.png")
    images, groups = face_sources.image_folder(tmp_path)
    assert images.shape == (4, 64, 64, 3) and sorted(set(groups)) == ["dark_female", "light_male"]
    assert images[groups == "dark_female"].mean() < images[groups == "light_male"].mean()
    (tmp_path / "empty").mkdir()
    with pytest.raises(face_sources.FaceDataError, match="no images"):
        face_sources.image_folder(tmp_path / "empty")


def test_celeb_a_through_tfds_mock_data():
    import tensorflow_datasets as tfds

    with tfds.testing.mock_data(num_examples=5):
        images = face_sources.celeb_a("train", count=5)
    assert images.shape == (5, 64, 64, 3) and images.dtype == np.uint8
