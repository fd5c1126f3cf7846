"""A small vision transformer (Dosovitskiy et al. 2021): image patches as tokens, the lecture's transformer blocks.

The image is cut into ``P x P`` patches, each flattened and projected to
``d`` dimensions (one strided convolution does both), a learnt class token
is put first, and learnt position embeddings are added:

    z_0 = [x_class; x_p^1 E; x_p^2 E; ...; x_p^N E] + E_pos      N = HW / P^2 patches, E: (P^2 C) x d
    z_l = TransformerBlock(z_{l-1})                              l = 1..L, no causal mask
    logits = W LayerNorm(z_L^0)                                  the class token's final state

The blocks are the lecture's `mit_dl.layers.TransformerBlock` (pre-norm,
GELU) with ``causal=False``: every patch attends to every patch. With
no convolutional prior, a ViT needs far more data or augmentation than a
ResNet of its size; the side-by-side table shows it on 60,000 images.
"""

import keras

from mit_dl.layers import TransformerBlock


@keras.saving.register_keras_serializable(package="mit_dl.architectures")
class PatchEmbedding(keras.layers.Layer):
    """Patches to tokens: the projection ``E``, the class token and the position embeddings ``E_pos``.

    Args:
        patch_size: the patches' side ``P``; it must divide the image's height and width.
        dim: the token width ``d``.
        **kwargs: base `keras.layers.Layer` arguments.

    Call arguments:
        inputs: ``(batch, height, width, channels)``.

    Returns:
        ``(batch, 1 + (height / P) (width / P), dim)``: the class token, then the patches row by row.

    Examples:
        >>> tuple(PatchEmbedding(4, 32)(keras.ops.ones((2, 28, 28, 1))).shape)
        (2, 50, 32)

    Reference:
        Dosovitskiy et al., "An Image is Worth 16x16 Words", ICLR 2021, equation 1. keras-hub's
        ``ViTPatchingAndEmbedding`` is the twin.
    """

    def __init__(self, patch_size, dim, **kwargs):
        super().__init__(**kwargs)
        self.patch_size, self.dim = int(patch_size), int(dim)
        self.projection = keras.layers.Conv2D(self.dim, self.patch_size, strides=self.patch_size, name="projection")

    def build(self, input_shape):
        height, width = input_shape[1:3]
        if height % self.patch_size or width % self.patch_size:
            raise ValueError(
                f"PatchEmbedding: the patch size {self.patch_size} must divide the image's height and width, "
                f"received {height}x{width}"
            )
        self.patches = (height // self.patch_size) * (width // self.patch_size)
        self.projection.build(input_shape)
        self.class_token = self.add_weight((1, 1, self.dim), initializer="zeros", name="class_token")
        self.positions = self.add_weight(
            (1, 1 + self.patches, self.dim),
            initializer=keras.initializers.TruncatedNormal(stddev=0.02),
            name="positions",
        )

    def call(self, inputs):
        tokens = self.projection(inputs)
        tokens = keras.ops.reshape(tokens, (-1, self.patches, self.dim))
        first = keras.ops.tile(keras.ops.cast(self.class_token, tokens.dtype), (keras.ops.shape(tokens)[0], 1, 1))
        return keras.ops.concatenate([first, tokens], axis=1) + keras.ops.cast(self.positions, tokens.dtype)

    def compute_output_shape(self, input_shape):
        patches = (input_shape[1] // self.patch_size) * (input_shape[2] // self.patch_size)
        return (input_shape[0], 1 + patches, self.dim)

    def get_config(self):
        return {**super().get_config(), "patch_size": self.patch_size, "dim": self.dim}


def vit(input_shape, classes=10, patch_size=4, dim=64, depth=6, heads=4, mlp_dim=128, dropout=0.1, name="vit"):
    """ViT-small for small images: patch embedding, ``depth`` transformer blocks, the class token's logits.

    Args:
        input_shape: one image's shape (height and width multiples of ``patch_size``).
        classes: number of classes.
        patch_size: ``P``.
        dim: the token width ``d``.
        depth: transformer blocks ``L``.
        heads: attention heads (they must divide ``dim``).
        mlp_dim: the blocks' feed-forward width.
        dropout: the blocks' residual dropout.
        name: the model's name.

    Returns:
        A `keras.Model` from images in [0, 1] to logits.
    """
    inputs = keras.Input(input_shape)
    x = PatchEmbedding(patch_size, dim, name="patches")(inputs)
    for index in range(depth):
        x = TransformerBlock(dim, heads, ff_dim=mlp_dim, dropout=dropout, causal=False, name=f"block{index + 1}")(x)
    x = keras.layers.LayerNormalization(epsilon=1e-6, name="final_norm")(x[:, 0])
    outputs = keras.layers.Dense(classes, dtype="float32", name="logits")(x)
    return keras.Model(inputs, outputs, name=name)
