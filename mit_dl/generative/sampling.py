"""Drawing many samples in compiled batches, with the same noise as the exported ``generate`` signatures.

`Sampler` wraps a model's ``generate_from(z, labels)`` in the export's own
functions (`mit_dl.generative.endpoints.generate_endpoint`, `generate_class_endpoint`)
compiled with ``tf.function``, so the images a run scores are those its
export draws for the same seeds; `ExportSampler` draws through a loaded
export's signatures instead (for `mit-dl generative evaluate`).
"""

import numpy as np
import tensorflow as tf

from mit_dl.generative.endpoints import generate_class_endpoint, generate_endpoint

BATCH = 1000


def batch_seed(seed, index):
    """The seed of batch ``index`` of a draw seeded ``seed`` (distinct for every pair).

    Args:
        seed: the draw's seed.
        index: the batch's index.

    Returns:
        An int.
    """
    return int(seed) * 100_003 + int(index)


class _Batches:
    def images(self, count, seed=0, labels=None):
        """``count`` uint8 images in batches of `BATCH`; ``labels`` asks for one class per image.

        Args:
            count: number of images.
            seed: the draw's seed (batch ``i`` uses `batch_seed` ``(seed, i)``).
            labels: int ``[count]`` classes to draw (conditional models only).

        Returns:
            ``(images uint8 [count, H, W, C], labels or None)``: for an unconditional draw of a
            conditional model, the labels drawn uniformly.
        """
        images, drawn = [], []
        for index, start in enumerate(range(0, count, BATCH)):
            size, batch = min(BATCH, count - start), tf.constant(batch_seed(seed, index), tf.int64)
            if labels is not None:
                out = self._generate_class(tf.constant(np.asarray(labels[start : start + size], np.int32)), batch)
            else:
                out = self._generate(tf.constant(size, tf.int32), batch)
            images.append(out["images"].numpy())
            if "labels" in out:
                drawn.append(out["labels"].numpy())
        if labels is not None:
            return np.concatenate(images), np.asarray(labels)
        return np.concatenate(images), (np.concatenate(drawn) if drawn else None)


class Sampler(_Batches):
    """A model's ``generate`` and ``generate_class``, compiled (``compiled=False``: eager, for the benchmark).

    Args:
        model: a `VAE`, `GAN` or `WGANGP`.
        compiled: wrap the functions in ``tf.function``.
    """

    def __init__(self, model, compiled=True):
        classes = model.num_classes if model.conditional else None
        wrap = tf.function if compiled else (lambda fn: fn)
        self._generate = wrap(generate_endpoint(model.generate_from, model.latent_dim, classes).fn)
        self._generate_class = (
            wrap(generate_class_endpoint(model.generate_from, model.latent_dim, classes).fn) if classes else None
        )


class ExportSampler(_Batches):
    """The ``generate`` / ``generate_class`` signatures of a loaded export.

    Args:
        served: the object `tf.saved_model.load` returned.
    """

    def __init__(self, served):
        self._generate = served.generate
        self._generate_class = getattr(served, "generate_class", None)
