"""VGG (Simonyan and Zisserman 2015): stacks of 3x3 convolutions, halved by max pooling.

A VGG block is ``convs`` units of ``Conv 3x3 -> BN -> ReLU`` at ``filters``
channels, then a 2x2 max pooling:

    x -> [conv3x3-BN-ReLU] x convs -> MaxPool 2x2 -> y        (H, W, C) -> (H/2, W/2, filters)

Two stacked 3x3 convolutions see a 5x5 window with ``2 * 9 C^2`` weights
instead of ``25 C^2``, and put a non-linearity between them: VGG's
argument for small kernels. (The 2015 network has no batch normalisation;
BN, added by later reimplementations, lets a 9-convolution stack train
from a random start without VGG's staged initialisation.)
"""

import keras

from mit_dl.architectures.units import conv_bn


@keras.saving.register_keras_serializable(package="mit_dl.architectures")
class VGGBlock(keras.layers.Layer):
    """``convs`` 3x3 conv-BN-ReLU units, then 2x2 max pooling (the module docstring's diagram).

    Args:
        filters: output channels of every convolution.
        convs: convolutions in the block (VGG-16's blocks have 2 or 3).
        **kwargs: base `keras.layers.Layer` arguments.

    Call arguments:
        inputs: ``(batch, height, width, channels)``, height and width at least 2.
        training: BatchNorm's mode.

    Returns:
        ``(batch, height // 2, width // 2, filters)``.

    Examples:
        >>> tuple(VGGBlock(32, convs=2)(keras.ops.ones((1, 28, 28, 1))).shape)
        (1, 14, 14, 32)

    Reference:
        Simonyan and Zisserman, "Very Deep Convolutional Networks for Large-Scale Image Recognition", ICLR
        2015. The Keras twin is ``keras.applications.VGG16``'s blocks (no BN there).
    """

    def __init__(self, filters, convs=2, **kwargs):
        super().__init__(**kwargs)
        self.filters, self.convs = int(filters), int(convs)
        self.units = [conv_bn(self.filters, 3, name=f"conv{i + 1}") for i in range(self.convs)]
        self.pool = keras.layers.MaxPooling2D(2, name="pool")

    def build(self, input_shape):
        shape = input_shape
        for unit in self.units:
            unit.build(shape)
            shape = (*shape[:-1], self.filters)

    def call(self, inputs, training=None):
        x = inputs
        for unit in self.units:
            x = unit(x, training=training)
        return self.pool(x)

    def compute_output_shape(self, input_shape):
        side = [None if n is None else n // 2 for n in input_shape[1:3]]
        return (input_shape[0], *side, self.filters)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "convs": self.convs}


def vgg(input_shape, classes=10, stages=((32, 2), (64, 2), (128, 2)), dense=256, name="vgg"):
    """A VGG-style network for small images: VGG blocks, then two dense layers as VGG's classifier.

    Args:
        input_shape: one image's shape (each side at least ``2 ** len(stages)``).
        classes: number of classes.
        stages: ``(filters, convs)`` per block.
        dense: units of the hidden dense layer (VGG-16: 4096).
        name: the model's name.

    Returns:
        A `keras.Model` from images in [0, 1] to logits.
    """
    inputs = keras.Input(input_shape)
    x = inputs
    for index, (filters, convs) in enumerate(stages):
        x = VGGBlock(filters, convs, name=f"block{index + 1}")(x)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dense(dense, activation="relu", name="fc")(x)
    x = keras.layers.Dropout(0.5)(x)
    outputs = keras.layers.Dense(classes, dtype="float32", name="logits")(x)
    return keras.Model(inputs, outputs, name=name)
