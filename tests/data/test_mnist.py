"""MNIST / Fashion-MNIST loaders: every local source, the tfds path (mocked), errors."""

import numpy as np
import pytest
from support import shared_data, write_idx

from mit_dl.data import locations
from mit_dl.data import mnist as images


def _fake_split(folder, split, n=12, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
    y = rng.integers(0, 10, n, dtype=np.uint8)
    folder.mkdir(parents=True, exist_ok=True)
    prefix = images.SPLITS[split]
    write_idx(folder / f"{prefix}-images-idx3-ubyte.gz", x)
    write_idx(folder / f"{prefix}-labels-idx1-ubyte.gz", y)
    return x, y


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """No real caches: HOME, $MIT_DL_DATA and the Debian folder all point into tmp."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv(locations.ENV_VARIABLE, raising=False)
    monkeypatch.setenv(locations.OFFLINE_VARIABLE, "1")
    monkeypatch.setattr(locations, "DEBIAN_DATASETS", tmp_path / "debian")
    return tmp_path


def test_explicit_folder_and_dataset_subfolder(isolated):
    x, y = _fake_split(isolated / "mine", "train")
    got_x, got_y, source = images.load_arrays("mnist", "train", data_dir=isolated / "mine")
    np.testing.assert_array_equal(got_x, x)
    np.testing.assert_array_equal(got_y, y)
    assert source.endswith("train-images-idx3-ubyte.gz")
    x2, _ = _fake_split(isolated / "root" / "fashion-mnist", "test", seed=1)
    np.testing.assert_array_equal(images.load_arrays("fashion_mnist", "test", data_dir=isolated / "root")[0], x2)


def test_environment_variable(isolated, monkeypatch):
    x, _ = _fake_split(isolated / "env" / "mnist", "test")
    monkeypatch.setenv(locations.ENV_VARIABLE, str(isolated / "env"))
    np.testing.assert_array_equal(images.load_arrays("mnist", "test")[0], x)


def test_keras_cache_npz(isolated):
    cache = isolated / "home" / ".keras" / "datasets"
    cache.mkdir(parents=True)
    rng = np.random.default_rng(2)
    arrays = {k: rng.integers(0, 256, (5, 28, 28), dtype=np.uint8) for k in ("x_train", "x_test")}
    arrays.update({k: rng.integers(0, 10, 5, dtype=np.uint8) for k in ("y_train", "y_test")})
    np.savez(cache / "mnist.npz", **arrays)
    got_x, got_y, source = images.load_arrays("mnist", "test")
    np.testing.assert_array_equal(got_x, arrays["x_test"])
    np.testing.assert_array_equal(got_y, arrays["y_test"])
    assert source.endswith("mnist.npz")


def test_debian_package_folder(isolated):
    x, _ = _fake_split(isolated / "debian" / "fashion-mnist", "train")
    np.testing.assert_array_equal(images.load_arrays("fashion_mnist", "train")[0], x)


def test_tensorflow_datasets_path_with_mock_data(isolated, monkeypatch):
    import tensorflow_datasets as tfds

    monkeypatch.setattr(locations, "downloads_possible", lambda timeout=3.0: True)
    with tfds.testing.mock_data(num_examples=7):
        x, y, source = images.load_arrays("fashion_mnist", "train")
    assert x.shape == (7, 28, 28) and x.dtype == np.uint8 and y.shape == (7,)
    assert source == "tfds:fashion_mnist"


def test_missing_dataset_names_the_ways_to_provide_it(isolated):
    with pytest.raises(images.DatasetNotFound) as error:
        images.load_arrays("mnist", "train")
    message = str(error.value)
    for hint in ("--data", "$MIT_DL_DATA", str(isolated / "debian")):
        assert hint in message
    assert "dataset-fashion-mnist" not in message  # Debian's package has Fashion-MNIST only
    with pytest.raises(images.DatasetNotFound) as error:
        images.load_arrays("fashion_mnist", "train")
    assert "dataset-fashion-mnist" in str(error.value)


def test_an_explicit_folder_wins_over_the_environment_variable(isolated, monkeypatch):
    _fake_split(isolated / "env" / "mnist", "test")
    monkeypatch.setenv(locations.ENV_VARIABLE, str(isolated / "env"))
    (isolated / "empty").mkdir()
    with pytest.raises(images.DatasetNotFound, match=r"is not in .*empty, the folder given as --data"):
        images.load_arrays("mnist", "test", data_dir=isolated / "empty")


def test_mismatched_files_and_bad_names_are_reported(isolated):
    folder = isolated / "bad"
    _fake_split(folder, "train", n=12)
    write_idx(folder / "train-labels-idx1-ubyte.gz", np.zeros(5, np.uint8))
    with pytest.raises(ValueError, match="5 labels for 12 images"):
        images.load_arrays("mnist", "train", data_dir=folder)
    with pytest.raises(ValueError, match="^dataset must be one of mnist, fashion_mnist, received 'cifar'.$"):
        images.load_arrays("cifar")
    with pytest.raises(ValueError, match="unknown split 'val'"):
        images.load_arrays("mnist", "val")


def test_pipeline_scales_and_shapes_real_images():
    x, y, _ = images.load_arrays("fashion_mnist", "test", data_dir=shared_data("fashion-mnist"), download=False)
    assert x.shape == (10000, 28, 28)
    batch_x, batch_y = next(iter(images.to_dataset(x[:100], y[:100], batch_size=32)))
    assert batch_x.shape == (32, 28, 28, 1) and batch_x.dtype.name == "float32"
    np.testing.assert_allclose(batch_x.numpy()[..., 0], x[:32] / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(batch_y, y[:32])
    (a, _), (b, _) = images.split_arrays(x, y, 8000, seed=0)
    assert len(a) == 8000 and len(b) == 2000
