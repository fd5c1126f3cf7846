"""Real face data for Lab 2 part 2, all returned as uint8 RGB ``[N, 64, 64, 3]`` with labels.

- `lfw_subset`: scikit-image's 100 real faces + 100 non-faces (25x25 grey,
  shipped inside the package, so always offline).
- `course_h5`: the course's ``train_face.h5`` (datasets ``images``: uint8
  HxWx3 stored **BGR**, and ``labels``). BGR -> RGB happens here, once; the
  course notebook fed BGR to one encoder and RGB to another.
- `image_folder`: test faces grouped in sub-folders (``light_female/``,
  ``dark_male/`` ...); the sub-folder names are the groups.
- `celeb_a`: tensorflow-datasets ``celeb_a`` faces, for users who have it.
"""

import pathlib

import h5py
import numpy as np
import tensorflow as tf
from PIL import Image

from mit_dl.errors import DataError
from mit_dl.faces.synthetic import IMAGE_SIZE

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif")


class FaceDataError(DataError):
    """Face data that cannot be used as given."""


def resize_images(images, size=IMAGE_SIZE):
    """uint8 ``[N, H, W, C]`` (C = 1 or 3) -> uint8 RGB ``[N, size, size, 3]`` (bilinear, antialiased).

    Args:
        images: the images.
        size: the output height and width.

    Returns:
        The resized RGB images.
    """
    images = np.asarray(images)
    if images.ndim == 3:
        images = images[..., None]
    if images.shape[-1] == 1:
        images = np.repeat(images, 3, axis=-1)
    if images.shape[1:3] == (size, size):
        return images.astype(np.uint8)
    resized = tf.image.resize(tf.cast(images, tf.float32), (size, size), antialias=True)
    return np.clip(np.round(resized.numpy()), 0, 255).astype(np.uint8)


def lfw_subset(size=IMAGE_SIZE):
    """scikit-image's LFW subset: 100 faces (label 1) then 100 non-faces (label 0).

    Args:
        size: the output height and width.

    Returns:
        ``(images uint8 [200, size, size, 3], labels)``.

    Raises:
        FaceDataError: scikit-image is not installed.
    """
    try:
        from skimage import data
    except ImportError as error:
        raise FaceDataError("the LFW subset ships with scikit-image: pip install scikit-image.") from error
    grey = data.lfw_subset()  # float in [0, 1], (200, 25, 25)
    images = resize_images(np.round(grey * 255).astype(np.uint8), size)
    labels = np.r_[np.ones(100, np.int32), np.zeros(100, np.int32)]
    return images, labels


def course_h5(path, size=IMAGE_SIZE):
    """The images and labels of the course's ``train_face.h5`` (stored BGR), as RGB.

    Args:
        path: the ``.h5`` file.
        size: the output height and width.

    Returns:
        ``(images RGB uint8, labels)``.

    Raises:
        FaceDataError: the file is missing or does not hold the course's datasets.
    """
    path = pathlib.Path(path)
    if not path.is_file():
        raise FaceDataError(f"{path} does not exist; pass the course's train_face.h5.")
    with h5py.File(path, "r") as f:
        missing = [name for name in ("images", "labels") if name not in f]
        if missing:
            raise FaceDataError(
                f"{path} has no dataset(s) {missing} (found {sorted(f.keys())}); "
                "expected the course's train_face.h5 with 'images' and 'labels'."
            )
        _check_h5_datasets(path, f["images"], f["labels"])  # from the headers, before reading any data
        images, labels = f["images"][()], f["labels"][()]
    labels = np.asarray(labels).reshape(-1)
    if not np.isin(labels, (0, 1)).all():
        raise FaceDataError(f"{path}: 'labels' must be 0 (not a face) or 1 (face), found {np.unique(labels)[:10]}.")
    rgb = images[..., ::-1]  # the file stores OpenCV's BGR order
    return resize_images(rgb, size), labels.astype(np.int32)


def _check_h5_datasets(path, images, labels):
    """Refuse datasets of the wrong shape or type from their headers (a wrong file may be gigabytes)."""
    if not isinstance(images, h5py.Dataset) or not isinstance(labels, h5py.Dataset):
        raise FaceDataError(f"{path}: 'images' and 'labels' must be datasets, not groups; pass the course's file.")
    if images.ndim != 4 or images.shape[-1] != 3:
        raise FaceDataError(f"{path}: 'images' has shape {images.shape}; expected [N, H, W, 3] colour images.")
    if images.dtype != np.uint8:
        raise FaceDataError(f"{path}: 'images' has dtype {images.dtype}; expected uint8 pixels in 0..255.")
    if labels.dtype.kind not in "iuf":
        raise FaceDataError(f"{path}: 'labels' has dtype {labels.dtype}; expected numbers 0 or 1.")
    if labels.size != images.shape[0]:
        raise FaceDataError(f"{path}: {images.shape[0]} images but {labels.size} labels; they must match.")


def image_folder(path, size=IMAGE_SIZE):
    """Every image of ``path/<group>/*.png|jpg`` with its sub-folder's name.

    Args:
        path: the folder.
        size: the output height and width.

    Returns:
        ``(images uint8, groups)``.

    Raises:
        FaceDataError: not a folder, or no images in it.
    """
    path = pathlib.Path(path)
    if not path.is_dir():
        raise FaceDataError(f"{path} is not a folder; pass a folder with one sub-folder of images per group.")
    files = sorted(p for p in path.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise FaceDataError(
            f"no images ({', '.join(IMAGE_SUFFIXES)}) found in {path}; put test faces in one sub-folder per group."
        )
    images, groups = [], []
    for file in files:
        with Image.open(file) as image:
            images.append(np.asarray(image.convert("RGB").resize((size, size), Image.BILINEAR)))
        groups.append(file.parent.name if file.parent != path else "all")
    return np.stack(images).astype(np.uint8), np.array(groups)


def celeb_a(split="train", count=None, size=IMAGE_SIZE, data_dir=None):
    """Faces from tensorflow-datasets ``celeb_a``, centre-cropped to squares.

    Args:
        split: the tfds split.
        count: how many (default all).
        size: the output height and width.
        data_dir: tfds' data folder.

    Returns:
        uint8 ``[N, size, size, 3]`` images.
    """
    import tensorflow_datasets as tfds

    take = f"{split}[:{count}]" if count else split
    data = tfds.load("celeb_a", split=take, data_dir=data_dir)

    def square(example):
        image = example["image"]
        side = tf.minimum(tf.shape(image)[0], tf.shape(image)[1])
        image = tf.image.resize_with_crop_or_pad(image, side, side)
        return tf.cast(
            tf.clip_by_value(tf.round(tf.image.resize(image, (size, size), antialias=True)), 0, 255), tf.uint8
        )

    images = np.stack(list(data.map(square).as_numpy_iterator()))
    return images
