"""Inception (Szegedy et al. 2015): four branches side by side, concatenated along the channels.

::

              ┌─ 1x1 ───────────────┐
              ├─ 1x1 ─ 3x3 ─────────┤
    x ────────┼─ 1x1 ─ 5x5 ─────────┼── concatenate ── y
              └─ 3x3 max pool ─ 1x1 ┘

Each branch sees the input at another scale; the module lets the network
choose. The *naive* module has no 1x1 convolutions: its branches are
``1x1``, ``3x3`` and ``5x5`` convolutions of the input and its 3x3 max
pooling, so its output channels are

    C_out = f_1 + f_3 + f_5 + C_in                      (naive: the pooled input passes whole)
    C_out = f_1 + f_3 + f_5 + f_pool                    (with 1x1 reductions)

and a stack of naive modules grows without end, each 5x5 costing
``25 C_in f_5`` multiply-adds per pixel. The 1x1 *reductions* shrink
``C_in`` to ``r_3`` and ``r_5`` channels before the 3x3 and 5x5
convolutions (``9 C_in f_3`` becomes ``C_in r_3 + 9 r_3 f_3``) and project the
pooled branch to ``f_pool``. Every convolution here is conv-BN-ReLU (the
BN-Inception of Ioffe and Szegedy 2015).
"""

import keras

from mit_dl.architectures.units import classifier_head, conv_bn


@keras.saving.register_keras_serializable(package="mit_dl.architectures")
class InceptionModule(keras.layers.Layer):
    """Four parallel branches concatenated (the module docstring's diagram).

    Args:
        filters_1x1: channels of the 1x1 branch (``f_1``).
        filters_3x3: channels of the 3x3 branch (``f_3``).
        filters_5x5: channels of the 5x5 branch (``f_5``).
        reduce_3x3: the 1x1 reduction before the 3x3 (``r_3``; ignored when ``reduce=False``).
        reduce_5x5: the 1x1 reduction before the 5x5 (``r_5``).
        pool_projection: channels of the 1x1 after the max pooling (``f_pool``).
        reduce: use the 1x1 reductions and projection (``False``: the naive module).
        **kwargs: base `keras.layers.Layer` arguments.

    Call arguments:
        inputs: ``(batch, height, width, channels)``.
        training: BatchNorm's mode.

    Returns:
        ``(batch, height, width, output_channels(channels))``.

    Examples:
        >>> module = InceptionModule(16, 32, 8, reduce_3x3=24, reduce_5x5=4, pool_projection=8)
        >>> tuple(module(keras.ops.ones((1, 7, 7, 64))).shape)
        (1, 7, 7, 64)
        >>> InceptionModule(16, 32, 8, reduce=False).output_channels(64)
        120

    Reference:
        Szegedy et al., "Going Deeper with Convolutions", CVPR 2015 (GoogLeNet, figure 2). The Keras twin
        is ``keras.applications.InceptionV3``'s mixed blocks (factorised later versions).
    """

    def __init__(
        self,
        filters_1x1,
        filters_3x3,
        filters_5x5,
        reduce_3x3=None,
        reduce_5x5=None,
        pool_projection=None,
        reduce=True,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.filters_1x1, self.filters_3x3, self.filters_5x5 = int(filters_1x1), int(filters_3x3), int(filters_5x5)
        self.reduce = bool(reduce)
        if self.reduce and None in (reduce_3x3, reduce_5x5, pool_projection):
            raise ValueError(
                "InceptionModule: with reduce=True give reduce_3x3, reduce_5x5 and pool_projection "
                "(or reduce=False for the naive module)"
            )
        self.reduce_3x3, self.reduce_5x5, self.pool_projection = reduce_3x3, reduce_5x5, pool_projection
        pool = keras.layers.MaxPooling2D(3, strides=1, padding="same")

        def branch(name, *units):
            return keras.Sequential(list(units), name=name)

        if self.reduce:
            self.branches = [
                branch("b1x1", conv_bn(self.filters_1x1, 1)),
                branch("b3x3", conv_bn(reduce_3x3, 1), conv_bn(self.filters_3x3, 3)),
                branch("b5x5", conv_bn(reduce_5x5, 1), conv_bn(self.filters_5x5, 5)),
                branch("bpool", pool, conv_bn(pool_projection, 1)),
            ]
        else:
            self.branches = [
                branch("b1x1", conv_bn(self.filters_1x1, 1)),
                branch("b3x3", conv_bn(self.filters_3x3, 3)),
                branch("b5x5", conv_bn(self.filters_5x5, 5)),
                branch("bpool", pool),
            ]

    def output_channels(self, input_channels):
        """The module's output channels (the module docstring's ``C_out``).

        Args:
            input_channels: ``C_in``.

        Returns:
            An int.
        """
        last = self.pool_projection if self.reduce else input_channels
        return self.filters_1x1 + self.filters_3x3 + self.filters_5x5 + last

    def build(self, input_shape):
        for branch in self.branches:
            branch.build(input_shape)

    def call(self, inputs, training=None):
        return keras.ops.concatenate([branch(inputs, training=training) for branch in self.branches], axis=-1)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.output_channels(input_shape[-1]))

    def get_config(self):
        config = super().get_config()
        names = ("filters_1x1", "filters_3x3", "filters_5x5", "reduce_3x3", "reduce_5x5", "pool_projection", "reduce")
        config.update({name: getattr(self, name) for name in names})
        return config


# GoogLeNet's modules 3a-4a at a quarter of their width (f_1, r_3, f_3, r_5, f_5, f_pool), then a pooling.
SMALL_MODULES = (
    ((16, 24, 32, 4, 8, 8), (32, 32, 48, 8, 24, 16)),
    ((48, 24, 52, 4, 12, 16), (40, 28, 56, 6, 16, 16)),
)


def inception(input_shape, classes=10, stages=SMALL_MODULES, stem=32, name="inception"):
    """An Inception-style network for small images: a stem, stages of modules, max pooling between them.

    Args:
        input_shape: one image's shape (each side at least ``2 ** (len(stages) - 1)``).
        classes: number of classes.
        stages: per stage, its modules' ``(f_1, r_3, f_3, r_5, f_5, f_pool)``.
        stem: channels of the first 3x3 convolution.
        name: the model's name.

    Returns:
        A `keras.Model` from images in [0, 1] to logits.
    """
    inputs = keras.Input(input_shape)
    x = conv_bn(stem, 3, name="stem")(inputs)
    for stage, modules in enumerate(stages):
        if stage:
            x = keras.layers.MaxPooling2D(3, strides=2, padding="same", name=f"pool{stage}")(x)
        for index, (f1, r3, f3, r5, f5, fp) in enumerate(modules):
            x = InceptionModule(f1, f3, f5, r3, r5, fp, name=f"inception{stage + 1}{'abcdef'[index]}")(x)
    outputs = classifier_head(classes)(x)
    return keras.Model(inputs, outputs, name=name)
