"""DenseNet (Huang et al. 2017): every layer reads the concatenation of all the earlier layers' outputs.

Inside a dense block, layer ``l`` adds ``k`` (the *growth rate*) new
channels to what it reads:

    x_l = H_l([x_0, x_1, ..., x_{l-1}])          [.]: concatenation along the channels
    H_l = BN-ReLU-Conv1x1(4k) -> BN-ReLU-Conv3x3(k)       (the "B" of DenseNet-BC: a 1x1 bottleneck)

so a block of ``L`` layers on ``C`` channels outputs ``C + L k`` channels.
Between blocks a *transition* compresses and halves the resolution:

    T(x) = AvgPool2x2(Conv1x1(ReLU(BN(x))))  to floor(theta C) channels     ("C": theta = 0.5)

::

    x0 ─┬──────────────┬─────────────┬──── [x0, x1, x2, x3] ── transition
        └─ H1 ─ x1 ─┬──┤             │
                    └──┴─ H2 ─ x2 ──┬┤
                                    └┴─ H3 ─ x3

Reusing every feature map lets each layer stay narrow (``k = 12``).
"""

import keras

from mit_dl.architectures.units import bn_relu_conv, classifier_head


@keras.saving.register_keras_serializable(package="mit_dl.architectures")
class DenseBlock(keras.layers.Layer):
    """``layers`` densely connected layers of growth ``k`` (the module docstring's ``x_l``).

    Args:
        layers: number of layers ``L``.
        growth_rate: channels each layer adds (``k``).
        bottleneck: start each layer with the 1x1 convolution to ``4k`` channels (DenseNet-B).
        **kwargs: base `keras.layers.Layer` arguments.

    Call arguments:
        inputs: ``(batch, height, width, C)``.
        training: BatchNorm's mode.

    Returns:
        ``(batch, height, width, C + layers * growth_rate)``.

    Examples:
        >>> tuple(DenseBlock(4, growth_rate=12)(keras.ops.ones((1, 8, 8, 24))).shape)
        (1, 8, 8, 72)

    Reference:
        Huang, Liu, van der Maaten, Weinberger, "Densely Connected Convolutional Networks", CVPR 2017. The
        Keras twin is ``keras.applications.DenseNet121``'s ``dense_block``.
    """

    def __init__(self, layers, growth_rate=12, bottleneck=True, **kwargs):
        super().__init__(**kwargs)
        self.layers_count, self.growth_rate, self.bottleneck = int(layers), int(growth_rate), bool(bottleneck)
        k = self.growth_rate
        self.units = [
            keras.Sequential(
                ([bn_relu_conv(4 * k, 1)] if self.bottleneck else []) + [bn_relu_conv(k, 3)], name=f"layer{i + 1}"
            )
            for i in range(self.layers_count)
        ]

    def build(self, input_shape):
        channels = input_shape[-1]
        for unit in self.units:
            unit.build((*input_shape[:-1], channels))
            channels += self.growth_rate

    def call(self, inputs, training=None):
        features = inputs
        for unit in self.units:
            features = keras.ops.concatenate([features, unit(features, training=training)], axis=-1)
        return features

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], input_shape[-1] + self.layers_count * self.growth_rate)

    def get_config(self):
        config = super().get_config()
        config.update({"layers": self.layers_count, "growth_rate": self.growth_rate, "bottleneck": self.bottleneck})
        return config


@keras.saving.register_keras_serializable(package="mit_dl.architectures")
class Transition(keras.layers.Layer):
    """BN-ReLU-Conv1x1 to ``floor(compression * C)`` channels, then 2x2 average pooling.

    Args:
        compression: ``theta`` in (0, 1] (DenseNet-BC: 0.5).
        **kwargs: base `keras.layers.Layer` arguments.

    Call arguments:
        inputs: ``(batch, height, width, C)``, height and width at least 2.
        training: BatchNorm's mode.

    Returns:
        ``(batch, height // 2, width // 2, floor(compression * C))``.

    Examples:
        >>> tuple(Transition(0.5)(keras.ops.ones((1, 8, 8, 72))).shape)
        (1, 4, 4, 36)
    """

    def __init__(self, compression=0.5, **kwargs):
        super().__init__(**kwargs)
        if not 0 < compression <= 1:
            raise ValueError(f"Transition: `compression` must be in (0, 1], received {compression!r}")
        self.compression = float(compression)
        self.unit = None
        self.pool = keras.layers.AveragePooling2D(2, name="pool")

    def build(self, input_shape):
        self.unit = bn_relu_conv(int(self.compression * input_shape[-1]), 1, name="compress")
        self.unit.build(input_shape)

    def call(self, inputs, training=None):
        return self.pool(self.unit(inputs, training=training))

    def compute_output_shape(self, input_shape):
        side = [None if n is None else n // 2 for n in input_shape[1:3]]
        return (input_shape[0], *side, int(self.compression * input_shape[-1]))

    def get_config(self):
        return {**super().get_config(), "compression": self.compression}


def densenet(input_shape, classes=10, depth=40, growth_rate=12, compression=0.5, name="densenet"):
    """DenseNet-BC for small images: three dense blocks, two transitions (Huang et al. 2017, section 3).

    Args:
        input_shape: one image's shape (each side at least 4).
        classes: number of classes.
        depth: ``6L + 4`` for bottleneck layers (DenseNet-BC-40: ``L = 6`` per block; each layer is two
            convolutions).
        growth_rate: ``k``.
        compression: the transitions' ``theta``.
        name: the model's name.

    Returns:
        A `keras.Model` from images in [0, 1] to logits.

    Raises:
        ValueError: ``depth`` is not ``6L + 4``.
    """
    if depth < 10 or (depth - 4) % 6:
        raise ValueError(f"DenseNet-BC has 6L + 4 layers (10, 16, 22, 40, 100, ...), received {depth}")
    layers = (depth - 4) // 6
    inputs = keras.Input(input_shape)
    x = keras.layers.Conv2D(2 * growth_rate, 3, padding="same", use_bias=False, name="stem")(inputs)
    for block in range(3):
        x = DenseBlock(layers, growth_rate, name=f"dense{block + 1}")(x)
        if block < 2:
            x = Transition(compression, name=f"transition{block + 1}")(x)
    x = keras.layers.ReLU()(keras.layers.BatchNormalization(momentum=0.9, name="final_norm")(x))
    outputs = classifier_head(classes)(x)
    return keras.Model(inputs, outputs, name=name)
