"""IDX reader: real Fashion-MNIST files, and broken files raising clear errors."""

import gzip

import numpy as np
import pytest
from support import shared_data, write_idx

from mit_dl.data.idx import IDXError, read_idx


@pytest.mark.parametrize("compress", [True, False])
def test_round_trip(tmp_path, compress):
    array = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    write_idx(tmp_path / "a.idx", array, compress)
    np.testing.assert_array_equal(read_idx(tmp_path / "a.idx"), array)


def test_reads_the_real_fashion_mnist_files():
    folder = shared_data("fashion-mnist")
    images = read_idx(folder / "train-images-idx3-ubyte.gz")
    labels = read_idx(folder / "train-labels-idx1-ubyte.gz")
    assert images.shape == (60000, 28, 28) and labels.shape == (60000,)
    assert np.bincount(labels).tolist() == [6000] * 10  # Fashion-MNIST is balanced


def test_truncated_data_is_reported(tmp_path):
    raw = write_idx(tmp_path / "a", np.zeros((4, 5), np.uint8), compress=False)
    (tmp_path / "a").write_bytes(raw[:-3])
    with pytest.raises(IDXError, match="holds 17 data bytes but its header announces 20"):
        read_idx(tmp_path / "a")


def test_bad_magic_and_corrupt_gzip_are_reported(tmp_path):
    (tmp_path / "b").write_bytes(b"\x01\x02\x08\x01" + b"\x00" * 8)
    with pytest.raises(IDXError, match="bad magic number"):
        read_idx(tmp_path / "b")
    good = gzip.compress(b"\x00\x00\x08\x01\x00\x00\x00\x02ab")
    (tmp_path / "c.gz").write_bytes(good[: len(good) // 2])
    with pytest.raises(IDXError, match="corrupt or truncated gzip"):
        read_idx(tmp_path / "c.gz")


def test_an_array_of_no_dimensions_and_a_gzip_bomb_are_refused(tmp_path, monkeypatch):
    from mit_dl.data import idx

    (tmp_path / "d").write_bytes(b"\x00\x00\x08\x00\x07")
    with pytest.raises(IDXError, match="no dimensions"):
        read_idx(tmp_path / "d")
    monkeypatch.setattr(idx, "MAX_BYTES", 1000)  # a small cap stands for the 1 GiB one
    (tmp_path / "e.gz").write_bytes(gzip.compress(b"\x00\x00\x08\x01\x00\x00\x13\x88" + bytes(5000)))
    with pytest.raises(IDXError, match="decompresses to more than"):
        read_idx(tmp_path / "e.gz")
