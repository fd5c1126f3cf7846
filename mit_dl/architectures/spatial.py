"""The spatial transformer's sampler (Jaderberg et al. 2015, UvA 4.4): warp an image by a predicted transform.

A localisation network predicts, per image, an affine map ``theta``
(2x3) from *output* pixel coordinates to *input* ones, in coordinates
normalised to [-1, 1] (-1: the first pixel's centre, 1: the last's):

    (x_s, y_s)^T = theta (x_t, y_t, 1)^T

and the output pixel ``(x_t, y_t)`` takes the input's value at ``(x_s,
y_s)`` by bilinear interpolation of its four neighbours, zero outside
the image:

    V = sum_{n, m} U_nm max(0, 1 - |x_s - m|) max(0, 1 - |y_s - n|)      (pixel units)

This is differentiable in the image and in ``theta``, so the
localisation network learns, from the classifier's loss alone, to undo
rotations, shifts and scalings. The identity ``theta = [[1, 0, 0], [0, 1,
0]]`` returns the input unchanged.
"""

import tensorflow as tf

IDENTITY = ((1.0, 0.0, 0.0), (0.0, 1.0, 0.0))


def affine_grid(theta, height, width):
    """Where each output pixel samples the input: ``theta`` applied to the output's normalised grid.

    Args:
        theta: ``[B, 2, 3]`` affine maps (output coordinates -> input coordinates, normalised).
        height: the output's height.
        width: the output's width.

    Returns:
        ``[B, height, width, 2]``: the input's normalised ``(x_s, y_s)`` for each output pixel.
    """
    theta = tf.cast(theta, tf.float32)
    ys, xs = tf.meshgrid(tf.linspace(-1.0, 1.0, height), tf.linspace(-1.0, 1.0, width), indexing="ij")
    target = tf.stack([tf.reshape(xs, [-1]), tf.reshape(ys, [-1]), tf.ones([height * width])])  # [3, HW]
    source = tf.einsum("bij,jk->bki", theta, target)  # [B, HW, 2]
    return tf.reshape(source, [-1, height, width, 2])


def bilinear_sample(images, grid):
    """Sample ``images`` at the normalised points of ``grid`` by bilinear interpolation, zeros outside.

    Args:
        images: ``[B, H, W, C]``.
        grid: ``[B, h, w, 2]`` normalised ``(x, y)`` (`affine_grid`).

    Returns:
        ``[B, h, w, C]``.

    Examples:
        >>> images = tf.reshape(tf.range(16.0), (1, 4, 4, 1))
        >>> same = bilinear_sample(images, affine_grid([IDENTITY], 4, 4))
        >>> bool(tf.reduce_all(same == images))
        True
    """
    images = tf.convert_to_tensor(images)
    height, width = tf.shape(images)[1], tf.shape(images)[2]
    x = (grid[..., 0] + 1.0) * tf.cast(width - 1, tf.float32) / 2.0  # pixel units
    y = (grid[..., 1] + 1.0) * tf.cast(height - 1, tf.float32) / 2.0
    x0, y0 = tf.floor(x), tf.floor(y)
    total = 0.0
    for dy in (0.0, 1.0):
        for dx in (0.0, 1.0):
            xi, yi = x0 + dx, y0 + dy
            weight = (1.0 - tf.abs(x - xi)) * (1.0 - tf.abs(y - yi))
            inside = (
                (xi >= 0) & (yi >= 0) & (xi <= tf.cast(width - 1, tf.float32)) & (yi <= tf.cast(height - 1, tf.float32))
            )
            xi = tf.clip_by_value(tf.cast(xi, tf.int32), 0, width - 1)
            yi = tf.clip_by_value(tf.cast(yi, tf.int32), 0, height - 1)
            values = tf.gather_nd(images, tf.stack([yi, xi], axis=-1), batch_dims=1)
            total += values * tf.cast(weight * tf.cast(inside, tf.float32), images.dtype)[..., None]
    return total


def transform(images, theta):
    """``images`` warped by ``theta``, at their own size.

    Args:
        images: ``[B, H, W, C]``.
        theta: ``[B, 2, 3]``.

    Returns:
        ``[B, H, W, C]``.
    """
    shape = images.shape
    return bilinear_sample(images, affine_grid(theta, shape[1], shape[2]))
