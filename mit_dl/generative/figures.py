"""The lab's pictures: samples, interpolations, reconstructions, latent traversals, quality against references.

Every figure is drawn from fixed seeds, so two runs of one model draw the
same noise and differ only by their weights.
"""

import numpy as np
import tensorflow as tf

from mit_dl import plots

FIGURE_SEED = 1234


def _uint8(images):
    return np.round(np.clip(np.asarray(images, np.float32), 0.0, 1.0) * 255).astype(np.uint8)


def noise(count, latent_dim, seed):
    """Fixed noise (latent) vectors: the same for every run of one size.

    Args:
        count: vectors drawn.
        latent_dim: their size.
        seed: the draw's seed.

    Returns:
        float32 ``[count, latent_dim]`` from ``tf.random.stateless_normal``.
    """
    return tf.random.stateless_normal((count, latent_dim), seed=(seed, 0))


def sample_grid(model, class_names, path, title):
    """64 samples in an 8x8 grid; for a conditional model one row per class (10 columns).

    Args:
        model: a `VAE`, `GAN` or `WGANGP` (its ``generate_from(z, labels)``).
        class_names: the dataset's class names.
        path: the PNG file to write.
        title: the figure's title.

    Returns:
        ``path``.
    """
    if model.conditional:
        labels = np.repeat(np.arange(len(class_names)), 10).astype(np.int32)
        images = model.generate_from(noise(len(labels), model.latent_dim, FIGURE_SEED), labels)
        return plots.image_mosaic(_uint8(images), path, columns=10, row_titles=class_names, title=title)
    images = model.generate_from(noise(64, model.latent_dim, FIGURE_SEED))
    return plots.image_mosaic(_uint8(images), path, columns=8, title=title)


def interpolation(model, path, rows=6, steps=10, title=None):
    """Straight lines in noise (latent) space between pairs of draws, decoded: the generator as a smooth map.

    Args:
        model: a generative model (its ``generate_from``).
        path: the PNG file to write.
        rows: pairs of endpoints.
        steps: images per line, both ends included.
        title: the figure's title.

    Returns:
        ``path``.
    """
    ends = noise(2 * rows, model.latent_dim, FIGURE_SEED + 1).numpy().reshape(rows, 2, -1)
    weights = np.linspace(0.0, 1.0, steps)[None, :, None]
    z = ((1 - weights) * ends[:, :1] + weights * ends[:, 1:]).reshape(rows * steps, -1).astype(np.float32)
    labels = np.repeat(np.arange(rows) % model.num_classes, steps).astype(np.int32) if model.conditional else None
    images = model.generate_from(z, labels) if model.conditional else model.generate_from(z)
    return plots.image_mosaic(_uint8(images), path, columns=steps, title=title)


def reconstructions(model, images, labels, path, title=None):
    """Held-out images (top row of each pair) and the VAE's reconstructions from their latent means.

    Args:
        model: a `VAE`.
        images: uint8 ``[N, H, W, 1]`` (N a multiple of 10).
        labels: their class ids (used by a conditional VAE).
        path: the PNG file to write.
        title: the figure's title.

    Returns:
        ``path``.
    """
    x = images.astype(np.float32) / 255.0
    mean, _ = model.encode(x, labels if model.conditional else None)
    decoded = model.decode(mean, labels if model.conditional else None)
    rows = [block for i in range(0, len(x), 10) for block in (images[i : i + 10], _uint8(decoded[i : i + 10]))]
    return plots.image_mosaic(np.concatenate(rows), path, columns=10, title=title)


def traversals(model, image, label, kl_per_dimension, path, dimensions=10, span=2.5, steps=9, title=None):
    """One row per latent dimension (most used first): that dimension swept from -span to +span.

    The other dimensions stay at the latent mean of ``image``; a disentangled
    code moves one factor per row (on the sprites: position, size, angle, shape).

    Args:
        model: a `VAE`.
        image: uint8 ``[H, W, 1]``, the traversals' starting point.
        label: its class id (used by a conditional VAE).
        kl_per_dimension: mean KL of each dimension on held-out images (how much it is used).
        path: the PNG file to write.
        dimensions: rows drawn.
        span: the sweep's half-width, in prior standard deviations.
        steps: images per row.
        title: the figure's title.

    Returns:
        ``path``.
    """
    labels = np.array([label], np.int32) if model.conditional else None
    mean, _ = model.encode(image[None].astype(np.float32) / 255.0, labels)
    order = np.argsort(kl_per_dimension)[::-1][: min(dimensions, model.latent_dim)]
    values = np.linspace(-span, span, steps)
    z = np.repeat(mean.numpy(), len(order) * steps, axis=0)
    for row, dimension in enumerate(order):
        z[row * steps : (row + 1) * steps, dimension] = values
    repeated = np.full(len(z), label, np.int32) if model.conditional else None
    images = model.decode(z.astype(np.float32), repeated)
    names = [f"z{d} (KL {kl_per_dimension[d]:.2f})" for d in order]
    return plots.image_mosaic(
        _uint8(images), path, columns=steps, row_titles=names, column_titles=[f"{v:+.1f}" for v in values], title=title
    )
