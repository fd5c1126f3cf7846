"""The unit every network of the lab is built from: a convolution, batch normalisation, a ReLU.

    y = ReLU(BN(W * x))        (``*``: a 2-D convolution; no bias, BN's beta is one)

Ioffe and Szegedy 2015 place BN between the convolution and its
non-linearity, as VGG's and Inception's later versions and every ResNet do.
BN's moving averages here use momentum 0.9 (PyTorch's 0.1), not Keras'
0.99: after a CPU run of a hundred steps the statistics used at test time
have settled (at 0.99, a 20-step run tests at chance).
"""

import keras


def conv_bn(filters, kernel_size=3, strides=1, relu=True, name=None, zero_gamma=False):
    """Conv (no bias, He-normal kernel, "same" padding) -> BatchNorm -> ReLU, as one `keras.Sequential`.

    Args:
        filters: output channels.
        kernel_size: the kernel's side.
        strides: the convolution's stride.
        relu: end with a ReLU (``False``: the unit before a residual addition).
        name: the unit's name.
        zero_gamma: start BN's scale gamma at 0, so the unit first outputs 0 (the last unit of a
            residual branch: Goyal et al. 2017).

    Returns:
        A `keras.Sequential`.
    """
    return keras.Sequential(
        [
            keras.layers.Conv2D(
                filters, kernel_size, strides=strides, padding="same", use_bias=False, kernel_initializer="he_normal"
            ),
            keras.layers.BatchNormalization(momentum=0.9, gamma_initializer="zeros" if zero_gamma else "ones"),
            *([keras.layers.ReLU()] if relu else []),
        ],
        name=name,
    )


def bn_relu_conv(filters, kernel_size=3, strides=1, name=None, zero_kernel=False):
    """BatchNorm -> ReLU -> Conv (no bias), the pre-activation order (He et al. 2016b; DenseNet's layers).

    Args:
        filters: output channels.
        kernel_size: the kernel's side.
        strides: the convolution's stride.
        name: the unit's name.
        zero_kernel: start the kernel at 0 (the last unit of a pre-activation residual branch).

    Returns:
        A `keras.Sequential`.
    """
    return keras.Sequential(
        [
            keras.layers.BatchNormalization(momentum=0.9),
            keras.layers.ReLU(),
            keras.layers.Conv2D(
                filters,
                kernel_size,
                strides=strides,
                padding="same",
                use_bias=False,
                kernel_initializer="zeros" if zero_kernel else "he_normal",
            ),
        ],
        name=name,
    )


def classifier_head(classes, name="head"):
    """Global average pooling -> the class logits (float32 under mixed precision).

    Args:
        classes: number of classes.
        name: the head's name.

    Returns:
        A `keras.Sequential`.
    """
    return keras.Sequential(
        [keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(classes, dtype="float32")], name=name
    )
