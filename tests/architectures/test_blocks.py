"""The blocks: shapes, parameters and multiply-adds against hand counts, and the properties that define them."""

import keras
import numpy as np
import pytest

from mit_dl.architectures import counting, densenet, inception, resnet, vgg, vit
from mit_dl.architectures.model import NETWORKS, build_network
from mit_dl.errors import ConfigError


def _wrapped(layer, shape):
    inputs = keras.Input(shape)
    return keras.Model(inputs, layer(inputs))


def test_a_basic_block_with_a_projection_counts_as_by_hand():
    # 8x8x16 -> 4x4x32: conv 3x3 16->32 stride 2, conv 3x3 32->32, projection 1x1 16->32 stride 2; BN after each.
    model = _wrapped(resnet.ResidualBlock(32, strides=2), (8, 8, 16))
    assert model.output_shape == (None, 4, 4, 32)
    kernels = 9 * 16 * 32 + 9 * 32 * 32 + 16 * 32
    assert counting.parameter_counts(model) == {"trainable": kernels + 3 * 2 * 32, "non_trainable": 3 * 2 * 32,
                                                "total": kernels + 3 * 4 * 32}  # fmt: skip
    assert counting.multiply_adds(model) == 16 * (9 * 16 * 32 + 9 * 32 * 32 + 16 * 32)  # 4x4 outputs each


def test_a_bottleneck_block_counts_as_by_hand():
    model = _wrapped(resnet.ResidualBlock(64, kind="bottleneck"), (8, 8, 64))  # 64 -> 16 -> 16 -> 64, no projection
    assert counting.multiply_adds(model) == 64 * (64 * 16 + 9 * 16 * 16 + 16 * 64)
    assert counting.parameter_counts(model)["trainable"] == 64 * 16 + 9 * 16 * 16 + 16 * 64 + 2 * (16 + 16 + 64)


def test_a_residual_block_with_its_last_bn_at_zero_is_the_identity_on_non_negative_inputs():
    x = np.random.default_rng(0).random((2, 6, 6, 16)).astype(np.float32)
    for kind in resnet.KINDS:
        block = resnet.ResidualBlock(16, kind=kind, zero_init=True)
        np.testing.assert_allclose(block(x, training=False), x, atol=1e-6, err_msg=kind)
    plain = resnet.ResidualBlock(16, shortcut=False, zero_init=True)
    np.testing.assert_allclose(plain(x, training=False), 0.0)  # no shortcut: nothing passes


def test_a_stride_or_channel_change_gets_a_projection_and_a_plain_block_never_does():
    block = resnet.ResidualBlock(16)
    block(np.zeros((1, 8, 8, 16), np.float32))
    assert block.projection is None
    for strides, channels in ((2, 16), (1, 8)):
        block = resnet.ResidualBlock(16, strides=strides)
        block(np.zeros((1, 8, 8, channels), np.float32))
        assert block.projection is not None
    plain = resnet.ResidualBlock(16, strides=2, shortcut=False)
    plain(np.zeros((1, 8, 8, 8), np.float32))
    assert plain.projection is None


def test_the_cifar_resnets_have_the_papers_sizes():
    # He et al. 2016, table 6: ResNet-20 0.27M, ResNet-56 0.85M parameters with zero-padded identity shortcuts;
    # ours project (1x1 conv + BN) where the two later stages start: 16 * 32 + 32 * 64 + 2 * (32 + 64) more.
    projections = 16 * 32 + 32 * 64 + 2 * (32 + 64)
    for depth, millions in ((20, 0.27), (56, 0.85)):
        model = resnet.resnet((32, 32, 3), depth=depth)
        trainable = counting.parameter_counts(model)["trainable"] - projections
        assert trainable / 1e6 == pytest.approx(millions, abs=0.005)
        convs = [w for w in model.trainable_weights if len(w.shape) == 4 and w.shape[0] == 3]
        assert len(convs) + 1 == depth  # the 3x3 convolutions and the dense layer
    with pytest.raises(ValueError, match="6n \\+ 2"):
        resnet.resnet((32, 32, 3), depth=21)


def test_inception_modules_count_their_channels_and_the_reductions_save_multiply_adds():
    naive = inception.InceptionModule(64, 128, 32, reduce=False)
    reduced = inception.InceptionModule(64, 128, 32, reduce_3x3=96, reduce_5x5=16, pool_projection=32)
    assert naive.output_channels(192) == 64 + 128 + 32 + 192 and reduced.output_channels(192) == 256
    naive_model, reduced_model = _wrapped(naive, (7, 7, 192)), _wrapped(reduced, (7, 7, 192))
    assert naive_model.output_shape == (None, 7, 7, 416) and reduced_model.output_shape == (None, 7, 7, 256)
    pixels = 49
    assert counting.multiply_adds(naive_model) == pixels * 192 * (64 + 9 * 128 + 25 * 32)
    assert counting.multiply_adds(reduced_model) == pixels * (
        192 * 64 + 192 * 96 + 9 * 96 * 128 + 192 * 16 + 25 * 16 * 32 + 192 * 32
    )


def test_a_dense_block_grows_by_its_rate_and_a_transition_compresses():
    block = _wrapped(densenet.DenseBlock(3, growth_rate=4), (6, 6, 8))
    assert block.output_shape == (None, 6, 6, 8 + 3 * 4)
    # layer l reads 8 + 4 l channels: 1x1 to 16, then 3x3 to 4.
    assert counting.multiply_adds(block) == 36 * sum((8 + 4 * i) * 16 + 9 * 16 * 4 for i in range(3))
    x = np.random.default_rng(0).random((1, 6, 6, 8)).astype(np.float32)
    np.testing.assert_allclose(block(x)[..., :8], x)  # the input passes through the concatenation unchanged
    assert _wrapped(densenet.Transition(0.5), (6, 6, 20)).output_shape == (None, 3, 3, 10)


def test_a_vgg_block_halves_the_resolution():
    model = _wrapped(vgg.VGGBlock(8, convs=2), (8, 8, 3))
    assert model.output_shape == (None, 4, 4, 8)
    assert counting.multiply_adds(model) == 64 * (9 * 3 * 8 + 9 * 8 * 8)


def test_the_patch_embedding_and_the_vit_count_attention_too():
    patches = _wrapped(vit.PatchEmbedding(4, 16), (8, 8, 1))
    assert patches.output_shape == (None, 5, 16)
    assert counting.parameter_counts(patches)["trainable"] == 16 * 16 + 16 + 16 + 5 * 16
    model = vit.vit((8, 8, 1), patch_size=4, dim=16, depth=1, heads=2, mlp_dim=32)
    tokens = 5
    block = tokens * (16 * 48 + 16 * 16 + 2 * 16 * 32) + 2 * tokens * tokens * 16  # projections + QK^T and AV
    assert counting.multiply_adds(model) == 4 * 16 * 16 + block + 16 * 10
    with pytest.raises(ValueError, match="patch size 4 must divide"):
        vit.vit((30, 30, 1))


@pytest.mark.parametrize("name", list(NETWORKS))
def test_every_network_takes_both_image_kinds(name):
    for shape in ((28, 28, 1), (32, 32, 3)):
        model = build_network(name, shape)
        assert model(np.zeros((2, *shape), np.float32), training=False).shape == (2, 10)


def test_an_unknown_network_or_too_small_images_are_one_sentence():
    with pytest.raises(ConfigError, match="model must be one of vgg, inception"):
        build_network("alexnet", (28, 28, 1))
    with pytest.raises(ConfigError, match="model vgg cannot take 4x4 images: .*the smallest it takes is 8x8"):
        build_network("vgg", (4, 4, 1))
    with pytest.raises(ConfigError, match="vit cannot take 30x30 images"):
        build_network("vit", (30, 30, 3))
