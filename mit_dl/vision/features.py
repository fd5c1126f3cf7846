"""What the layers of a CNN respond to: its first layer's filters and every convolution's activations.

The lecture's feature hierarchy (low-level edges, mid-level parts,
high-level shapes) drawn from a trained model: `first_filters` shows the
kernels of the first convolution as small images, `activations` the
feature maps every convolution computes for one image.

Examples:
    >>> import keras, numpy as np
    >>> model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(3, 3, name="c1"),
    ...                           keras.layers.Conv2D(2, 3, name="c2")])
    >>> first_filters(model).shape
    (3, 3, 3)
    >>> {name: maps.shape for name, maps in activations(model, np.zeros((8, 8), np.uint8)).items()}
    {'c1': (3, 6, 6), 'c2': (2, 4, 4)}
"""

import keras
import numpy as np

from mit_dl.vision.attribution import _layers, as_images, last_conv_layer


def convolutions(model):
    """The model's 2-D convolutions, input to output.

    Args:
        model: a Keras model.

    Returns:
        A list of layers.
    """
    return [layer for layer in _layers(model) if isinstance(layer, keras.layers.Conv2D)]


def first_filters(model):
    """The first convolution's kernels (first input channel), each scaled to [0, 1].

    Args:
        model: a Keras model with a convolution (`last_conv_layer` fails clearly otherwise).

    Returns:
        float32 ``[filters, k, k]``.
    """
    last_conv_layer(model)  # a model without convolutions fails with its clear sentence
    kernel = np.asarray(convolutions(model)[0].kernel)[:, :, 0, :]
    kernel = np.moveaxis(kernel, -1, 0)
    low = kernel.min(axis=(1, 2), keepdims=True)
    high = kernel.max(axis=(1, 2), keepdims=True)
    return ((kernel - low) / np.maximum(high - low, 1e-12)).astype(np.float32)


def activations(model, image):
    """Every convolution's feature maps for one image, each map scaled to [0, 1].

    Args:
        model: a functional or sequential Keras model.
        image: one uint8 or float image, ``[H, W]`` or ``[H, W, C]``.

    Returns:
        ``{layer name: float32 [channels, h, w]}``, input to output.
    """
    layers = convolutions(model)
    probe = keras.Model(model.inputs[0], [layer.output for layer in layers])
    outputs = probe(as_images(np.asarray(image)[None]), training=False)
    outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
    maps = {}
    for layer, output in zip(layers, outputs):
        values = np.moveaxis(np.asarray(output, np.float32)[0], -1, 0)
        low, high = values.min(axis=(1, 2), keepdims=True), values.max(axis=(1, 2), keepdims=True)
        maps[layer.name] = (values - low) / np.maximum(high - low, 1e-12)
    return maps
