# %% [markdown]
# # Modern CNNs: residual blocks, Inception modules, metric learning and spatial transformers
#
# MIT 6.S191 lecture 3, UvA's lecture 4 and CSC413's lecture 9 with the `mit_dl` companion package.
# The course's CNN has two convolutions. The networks that won ImageNet went deeper — VGG with
# stacks of 3x3 convolutions, Inception with parallel branches, ResNet with **shortcuts** — and a
# 56-layer network without shortcuts trains *worse* than a 20-layer one (He et al. 2016). You will
# write a residual block and an Inception module's channel count, the two losses that train a
# Siamese network on distances instead of labels, and the bilinear sampler of a spatial
# transformer; check each; and use them on real Fashion-MNIST images. Cells marked `# TODO` are
# yours; a checker from `mit_dl.labs.architectures` follows each exercise. `QUICK = True` trains
# for a few seconds; `QUICK = False` longer (better on a GPU). `mit-dl architectures degradation`
# runs the whole experiment over three seeds; the docs page has its measured results.

# %%
from mit_dl.environment import quiet_tensorflow_startup

quiet_tensorflow_startup()  # TensorFlow without its C++ start-up lines (errors still show)

import pathlib

import keras
import numpy as np
import tensorflow as tf
from IPython.display import Image, display

from mit_dl import labs, plots
from mit_dl.architectures import counting, inception, spatial
from mit_dl.architectures.model import NETWORKS, build_network
from mit_dl.data import mnist
from mit_dl.labs import architectures as checks

QUICK = labs.quick_mode()
OUT = pathlib.Path("architectures_outputs")
OUT.mkdir(exist_ok=True)
images, labels, _ = mnist.load_arrays("fashion_mnist", "train")

# %% [markdown]
# ## 1. The residual block
#
# A residual block learns the *change* `F(x)` to its input and adds the input back:
# `y = ReLU(x + F(x))`, with `F(x) = conv2(ReLU(conv1(x)))`. The ReLU comes **after** the addition.
# When the block halves the resolution (`conv1` has stride 2) or changes the number of channels, `x`
# no longer has the shape of `F(x)`: the shortcut becomes a **projection**, a strided 1x1
# convolution, `y = ReLU(projection(x) + F(x))`. (The lab's `ResidualBlock` puts a batch
# normalisation after each convolution; here there is none, to keep the exercise to the idea.)
#
# **Exercise:** `conv1`, `conv2` and `projection` are Keras layers; `projection` is `None` when the
# block keeps the shape.


# %%
def residual_block(x, conv1, conv2, projection):
    # TODO: y = ReLU(shortcut + conv2(ReLU(conv1(x)))), the shortcut x, or projection(x) when it is given
    ### BEGIN SOLUTION
    change = conv2(tf.nn.relu(conv1(x)))
    shortcut = x if projection is None else projection(x)
    return tf.nn.relu(shortcut + change)
    ### END SOLUTION


checks.check_residual_block(residual_block)


# %% [markdown]
# Your block in a network: a stem, three stages of `n` blocks at 8, 16 and 32 channels (the second
# and third start with stride 2), global pooling and a dense layer — a CIFAR-style ResNet with
# `6n + 2` layers. Here `conv1` and `conv2` are each a convolution followed by batch normalisation,
# as in the lab's `ResidualBlock`. Its **plain** twin has the same layers without the shortcuts.
# Both train with the same SGD recipe on real Fashion-MNIST: the deeper the network, the further the
# plain one falls behind, in *training* loss — not over-fitting, an optimisation problem (He et al.
# 2016, figure 1).


# %%
def conv_bn(filters, strides=1):
    conv = keras.layers.Conv2D(filters, 3, strides=strides, padding="same", use_bias=False)
    return keras.Sequential([conv, keras.layers.BatchNormalization(momentum=0.9)])


class YourBlock(keras.layers.Layer):
    def __init__(self, filters, strides, residual):
        super().__init__()
        self.conv1, self.conv2 = conv_bn(filters, strides), conv_bn(filters)
        self.projection = keras.layers.Conv2D(filters, 1, strides=strides) if strides != 1 else None
        self.residual = residual

    def build(self, input_shape):
        self.conv1.build(input_shape)
        self.conv2.build(self.conv1.compute_output_shape(input_shape))
        if self.projection is not None:
            self.projection.build(input_shape)

    def call(self, x):
        if self.residual:
            return residual_block(x, self.conv1, self.conv2, self.projection)
        return tf.nn.relu(self.conv2(tf.nn.relu(self.conv1(x))))


def small_resnet(depth, residual):
    n = (depth - 2) // 6
    inputs = keras.Input((28, 28, 1))
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu")(inputs)
    for stage, filters in enumerate((8, 16, 32)):
        for index in range(n):
            x = YourBlock(filters, 2 if stage and not index else 1, residual)(x)
    outputs = keras.layers.Dense(10)(keras.layers.GlobalAveragePooling2D()(x))
    return keras.Model(inputs, outputs)


count = 2048 if QUICK else 20000
depth = 32 if QUICK else 56
x_train, y_train = images[:count, ..., None] / 255.0, labels[:count]
curves = {}
for residual in (True, False):
    keras.utils.set_random_seed(0)
    model = small_resnet(depth, residual)
    model.compile(
        keras.optimizers.SGD(0.02, momentum=0.9), keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    )
    losses = []
    callback = keras.callbacks.LambdaCallback(
        on_train_batch_end=lambda batch, logs, losses=losses: losses.append(logs["loss"])
    )
    model.fit(x_train, y_train, batch_size=64, epochs=2 if QUICK else 5, verbose=0, callbacks=[callback])
    curves[f"{'residual' if residual else 'plain'}-{depth}"] = losses
    print(f"{'residual' if residual else 'plain'}-{depth}: training loss {losses[-1]:.3f} (running mean, last epoch)")
figure, axis = plots.figure()
for name, losses in curves.items():
    axis.plot(losses, label=name)
axis.set(xlabel="step", ylabel="training loss (epoch's running mean)", title="your residual network and its plain twin")
axis.legend()
plots.save(figure, OUT / "residual_vs_plain.png")
display(Image(str(OUT / "residual_vs_plain.png")))

# %% [markdown]
# ## 2. The Inception module
#
# Four branches see the same input side by side — a 1x1 convolution, a 3x3, a 5x5 and a 3x3 max
# pooling — and their outputs are concatenated along the channels. In the **naive** module the
# pooling branch passes all `c_in` input channels through, so every module adds channels. GoogLeNet's
# module puts 1x1 **reductions** (`r3`, `r5` channels) before the 3x3 and 5x5 convolutions and a 1x1
# projection to `f_pool` channels after the pooling; the reductions are inputs of the larger
# convolutions, not outputs of the module.
#
# **Exercise:** the module's output channels; `r3`, `r5` and `f_pool` are `None` for the naive module.


# %%
def inception_channels(c_in, f1, r3, f3, r5, f5, f_pool):
    # TODO: f1 + f3 + f5, plus f_pool (with reductions) or c_in (naive: the pooled input passes whole)
    ### BEGIN SOLUTION
    return f1 + f3 + f5 + (c_in if f_pool is None else f_pool)
    ### END SOLUTION


checks.check_inception_channels(inception_channels)

# %% [markdown]
# What the reductions save, counted from the operations TensorFlow runs (GoogLeNet's module 3a on
# 28x28x192):

# %%
for reduce in (False, True):
    module = inception.InceptionModule(64, 128, 32, reduce_3x3=96, reduce_5x5=16, pool_projection=32, reduce=reduce)
    inputs = keras.Input((28, 28, 192))
    model = keras.Model(inputs, module(inputs))
    print(
        f"{'with 1x1 reductions' if reduce else 'naive':20s} output channels {model.output_shape[-1]:4d}, "
        f"multiply-adds {counting.multiply_adds(model) / 1e6:6.1f} M, parameters {counting.parameter_counts(model)['total']:,}"
    )

# %% [markdown]
# ## 3. Learning a distance: the contrastive and triplet losses
#
# A Siamese network embeds two images with the same weights and is trained on the distance
# `d = ||f(a) - f(b)||` of the embeddings, so it can compare classes it never saw. The
# **contrastive** loss pulls pairs of one class together and pushes other pairs apart until they are
# a margin `m` away: `mean(y d² + (1 - y) max(0, m - d)²)` (`y = 1` for a pair of one class). The
# **triplet** loss asks an anchor to be closer to a positive (its class) than to a negative by the
# margin: `mean(max(0, d(a, p)² - d(a, n)² + m))` (FaceNet's squared distances). The hinge
# `max(0, .)` is the point: pairs already far enough apart cost nothing.
#
# **Exercise:** both losses, on NumPy arrays `[N, D]` (return a number).


# %%
def contrastive_loss(a, b, same, margin):
    # TODO: d = the Euclidean distance of each pair; mean of same * d^2 + (1 - same) * max(0, margin - d)^2
    ### BEGIN SOLUTION
    d = np.sqrt(((a - b) ** 2).sum(axis=-1))
    return np.mean(same * d**2 + (1 - same) * np.maximum(0.0, margin - d) ** 2)
    ### END SOLUTION


checks.check_contrastive_loss(contrastive_loss)


# %%
def triplet_loss(anchor, positive, negative, margin):
    # TODO: squared distances anchor-positive and anchor-negative; mean of max(0, d_ap - d_an + margin)
    ### BEGIN SOLUTION
    closer = ((anchor - positive) ** 2).sum(-1) - ((anchor - negative) ** 2).sum(-1)
    return np.mean(np.maximum(0.0, closer + margin))
    ### END SOLUTION


checks.check_triplet_loss(triplet_loss)

# %% [markdown]
# ## 4. The spatial transformer's sampler
#
# A spatial transformer predicts an affine map `theta` (2x3) from each *output* pixel to where it
# reads the *input*, in coordinates normalised to [-1, 1] (`spatial.affine_grid` computes these
# points). The sampler reads the input there by **bilinear interpolation**: in pixel units
# `x = (g_x + 1)(W - 1) / 2`, `y = (g_y + 1)(H - 1) / 2`, the four neighbours `(floor, floor + 1)`
# each weighted by `(1 - |x - x_i|)(1 - |y - y_i|)`, and a neighbour outside the image counts as 0.
# It is differentiable in `theta`, so the network learns where to look from the classifier's loss.
#
# **Exercise:** `images` is `[B, H, W, C]`, `grid` is `[B, h, w, 2]` with `grid[..., 0]` the x
# (column) and `grid[..., 1]` the y (row); return `[B, h, w, C]` (NumPy is fine).


# %%
def bilinear_sample(images, grid):
    # TODO: pixel coordinates, the four neighbours with their weights, zeros outside the image
    ### BEGIN SOLUTION
    images, grid = np.asarray(images), np.asarray(grid)
    batch, height, width, _ = images.shape
    x = (grid[..., 0] + 1) * (width - 1) / 2
    y = (grid[..., 1] + 1) * (height - 1) / 2
    x0, y0 = np.floor(x), np.floor(y)
    out = np.zeros(grid.shape[:3] + images.shape[3:])
    rows = np.arange(batch)[:, None, None]
    for xi in (x0, x0 + 1):
        for yi in (y0, y0 + 1):
            weight = (1 - np.abs(x - xi)) * (1 - np.abs(y - yi))
            inside = (xi >= 0) & (xi <= width - 1) & (yi >= 0) & (yi <= height - 1)
            picked = images[rows, np.clip(yi, 0, height - 1).astype(int), np.clip(xi, 0, width - 1).astype(int)]
            out += picked * (weight * inside)[..., None]
    return out
    ### END SOLUTION


checks.check_bilinear_sample(bilinear_sample)

# %% [markdown]
# Your sampler on real images: rotate six Fashion-MNIST items by 30 degrees, shrink them and move
# them, then apply the inverse map to undo it. A spatial transformer's localisation network learns
# to predict that inverse from the distorted image.

# %%
angle = np.deg2rad(30)
rotate = np.array([[np.cos(angle), -np.sin(angle), 0.2], [np.sin(angle), np.cos(angle), -0.1]]) * [[1.3], [1.3]]
full = np.vstack([rotate, [0, 0, 1]])
undo = np.linalg.inv(full)[:2]
shown = images[:6, ..., None] / 255.0
warped = bilinear_sample(shown, spatial.affine_grid(np.repeat(rotate[None], 6, 0), 28, 28).numpy())
restored = bilinear_sample(warped, spatial.affine_grid(np.repeat(undo[None], 6, 0), 28, 28).numpy())
plots.image_mosaic(
    np.concatenate([shown, warped, restored])[..., 0],
    OUT / "sampler.png",
    columns=6,
    row_titles=["original", "warped", "undone"],
)
display(Image(str(OUT / "sampler.png")))

# %% [markdown]
# ## 5. The lab's networks, counted
#
# Every network `mit-dl architectures train --model` offers, on 28x28x1 images: parameters and
# multiply-adds per image, both read from the model (the multiply-adds from the traced graph, so a
# ViT's attention products count too). `mit-dl architectures compare` adds their training time and
# test accuracy; `mit-dl architectures degradation` trains plain and residual networks of 8, 20 and
# 56 layers on three seeds.

# %%
for name in NETWORKS:
    model = build_network(name, (28, 28, 1))
    sizes = counting.parameter_counts(model)
    print(f"{name:10s} parameters {sizes['total']:>9,d}   multiply-adds {counting.multiply_adds(model) / 1e6:6.1f} M")
