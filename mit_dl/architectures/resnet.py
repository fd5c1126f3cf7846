"""Residual networks (He et al. 2016): the residual block in its three forms, and CIFAR-style ResNets.

A residual block learns the change ``F`` to its input rather than the whole
mapping, and adds the input back:

    basic:          y = ReLU( x_s + BN(W_2 * ReLU(BN(W_1 * x))) )         two 3x3 convolutions
    bottleneck:     y = ReLU( x_s + BN(W_3 * ReLU(BN(W_2 * ReLU(BN(W_1 * x))))) )
                        1x1 to filters/4, 3x3 at filters/4, 1x1 back to filters
    pre-activation: y = x_s + W_2 * ReLU(BN(W_1 * ReLU(BN(x))))          (He et al. 2016b)

with ``x_s = x`` when shape is kept, and the *projection shortcut*
``x_s = BN(W_s * x)`` (a strided 1x1 convolution) when the block halves the
resolution or changes the channels: the identity cannot be added to a
tensor of another shape. In the basic and bottleneck blocks the ReLU comes
*after* the addition (a ReLU inside the branch's end would make every change
non-negative). A *plain* block is the same two convolutions with no
shortcut: the degradation experiment (He et al. 2016, figure 1) compares
plain and residual networks of equal depth.

::

    x ──┬── conv-BN-ReLU ── conv-BN ──(+)── ReLU ── y
        └──────── identity or 1x1 conv-BN ─┘

The CIFAR networks (section 4.2) have ``6n + 2`` layers: a 3x3 convolution
to 16 channels, three stages of ``n`` blocks at 16, 32, 64 channels (the
second and third start with stride 2), global average pooling, one dense
layer. ResNet-20 is ``n = 3``, ResNet-56 ``n = 9``. The paper's CIFAR
networks widen with zero-padded identity shortcuts (its option A: 0.27M and
0.85M parameters); these project (option B), 2,752 parameters more.
"""

import keras

from mit_dl.architectures.units import bn_relu_conv, classifier_head, conv_bn

KINDS = ("basic", "bottleneck", "preact")


@keras.saving.register_keras_serializable(package="mit_dl.architectures")
class ResidualBlock(keras.layers.Layer):
    """One residual (or plain) block; the equations and diagram are the module docstring's.

    Args:
        filters: the block's output channels.
        strides: 2 to halve the resolution (the first block of a stage), else 1.
        kind: ``"basic"``, ``"bottleneck"`` or ``"preact"``.
        shortcut: add the shortcut (``False``: a plain block, the degradation experiment's control).
        zero_init: start the branch's last BN scale (pre-activation: its last kernel) at 0, so the block
            starts as the identity on non-negative inputs (Goyal et al. 2017).
        **kwargs: base `keras.layers.Layer` arguments.

    Call arguments:
        inputs: ``(batch, height, width, channels)``.
        training: BatchNorm's mode.

    Returns:
        ``(batch, ceil(height / strides), ceil(width / strides), filters)``.

    Examples:
        >>> block = ResidualBlock(32, strides=2)
        >>> tuple(block(keras.ops.ones((2, 8, 8, 16))).shape)
        (2, 4, 4, 32)

    Reference:
        He, Zhang, Ren, Sun, "Deep Residual Learning for Image Recognition", CVPR 2016 and "Identity
        Mappings in Deep Residual Networks", ECCV 2016. The Keras twin is ``keras.applications.ResNet50``'s
        ``stack_residual_blocks_v1`` blocks (bottleneck, projection on the first block of a stage).
    """

    def __init__(self, filters, strides=1, kind="basic", shortcut=True, zero_init=False, **kwargs):
        super().__init__(**kwargs)
        if kind not in KINDS:
            raise ValueError(f"ResidualBlock: `kind` must be one of {KINDS}, received {kind!r}")
        if kind == "bottleneck" and filters % 4:
            raise ValueError(f"ResidualBlock: a bottleneck block's `filters` ({filters}) must be divisible by 4")
        self.filters, self.strides, self.kind = int(filters), int(strides), kind
        self.shortcut, self.zero_init = bool(shortcut), bool(zero_init)
        self.branch = self._branch()
        self.projection = None

    def _branch(self):
        f, s, zero = self.filters, self.strides, self.zero_init
        if self.kind == "basic":
            units = [conv_bn(f, 3, s, name="conv1"), conv_bn(f, 3, relu=False, name="conv2", zero_gamma=zero)]
        elif self.kind == "bottleneck":
            units = [
                conv_bn(f // 4, 1, name="reduce"),
                conv_bn(f // 4, 3, s, name="conv"),
                conv_bn(f, 1, relu=False, name="expand", zero_gamma=zero),
            ]
        else:
            units = [bn_relu_conv(f, 3, s, name="conv1"), bn_relu_conv(f, 3, name="conv2", zero_kernel=zero)]
        return keras.Sequential(units, name="branch")

    def build(self, input_shape):
        self.branch.build(input_shape)
        if self.shortcut and (self.strides != 1 or input_shape[-1] != self.filters):
            self.projection = conv_bn(self.filters, 1, self.strides, relu=False, name="projection")
            self.projection.build(input_shape)

    def call(self, inputs, training=None):
        change = self.branch(inputs, training=training)
        if not self.shortcut:
            return change if self.kind == "preact" else keras.ops.relu(change)
        identity = inputs if self.projection is None else self.projection(inputs, training=training)
        total = identity + change
        return total if self.kind == "preact" else keras.ops.relu(total)

    def compute_output_shape(self, input_shape):
        side = [None if n is None else -(-n // self.strides) for n in input_shape[1:3]]
        return (input_shape[0], *side, self.filters)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "filters": self.filters,
                "strides": self.strides,
                "kind": self.kind,
                "shortcut": self.shortcut,
                "zero_init": self.zero_init,
            }
        )
        return config


def blocks_per_stage(depth):
    """``n`` of a CIFAR-style network of ``depth = 6n + 2`` layers.

    Args:
        depth: 8, 14, 20, 32, 44, 56, 110, ...

    Returns:
        ``n``.

    Raises:
        ValueError: ``depth`` is not ``6n + 2`` with ``n >= 1``.
    """
    if depth < 8 or (depth - 2) % 6:
        raise ValueError(f"a CIFAR-style network has 6n + 2 layers (8, 20, 56, ...), received {depth}")
    return (depth - 2) // 6


def resnet(input_shape, classes=10, depth=20, residual=True, width=16, kind="basic", name=None):
    """A CIFAR-style ResNet of ``depth`` layers (or the plain network of the same layers).

    Args:
        input_shape: one image's shape, e.g. ``(28, 28, 1)`` or ``(32, 32, 3)``.
        classes: number of classes.
        depth: ``6n + 2`` layers (weighted layers of the basic blocks, the stem and the head).
        residual: add the shortcuts (``False``: the plain network).
        width: the first stage's channels (16 in the paper); the stages have ``width``, ``2 width``,
            ``4 width``.
        kind: the blocks' kind (`KINDS`).
        name: the model's name (default ``resnet<depth>`` or ``plain<depth>``).

    Returns:
        A `keras.Model` from images in [0, 1] to logits. A ResNet's blocks start as the identity (their last
        BN scale, or pre-activation kernel, at 0: Goyal et al. 2017), so a deep one first trains like a
        shallow one; a plain network cannot (a zero there would cut the signal).
    """
    n = blocks_per_stage(depth)
    inputs = keras.Input(input_shape)
    x = conv_bn(width, 3, name="stem")(inputs)
    for stage in range(3):
        for index in range(n):
            x = ResidualBlock(
                width * 2**stage,
                strides=2 if stage and not index else 1,
                kind=kind,
                shortcut=residual,
                zero_init=residual,
                name=f"stage{stage + 1}_block{index + 1}",
            )(x)
    if kind == "preact":
        x = keras.layers.ReLU()(keras.layers.BatchNormalization(momentum=0.9, name="final_norm")(x))
    outputs = classifier_head(classes)(x)
    return keras.Model(inputs, outputs, name=name or f"{'resnet' if residual else 'plain'}{depth}")
