"""The convolutional networks of lecture 4: VAE encoder and decoder, DCGAN generator and discriminator.

Sizes follow the image: 28x28 (MNIST, Fashion-MNIST) has two stride-2
stages (28 -> 14 -> 7), 64x64 (sprites) three (64 -> 32 -> 16 -> 8). Every
network takes and gives images in [0, 1]; inside, the discriminator works on
``2x - 1`` and the generator ends in ``tanh`` mapped back, as DCGAN does.

- Encoder: strided 4x4 convolutions (32, 64, 64 filters) with ReLU, Dense
  256, and ``2 * latent`` outputs ``[mu, log sigma^2]``.
- Decoder: Dense to the smallest feature map, ``Conv2DTranspose`` stages
  back up, and one logit per pixel (``x_hat = sigmoid(logit)``).
- Generator (Radford et al. 2016): Dense, BatchNorm, ReLU; ``Conv2DTranspose``
  stride 2 with BatchNorm and ReLU; ``tanh`` at the end.
- Discriminator: strided 4x4 convolutions with LeakyReLU(0.2), BatchNorm
  on each but the first (LayerNorm for a WGAN-GP critic: a batch-normalised critic
  makes the gradient penalty of one example depend on the others), one logit
  without sigmoid.

Conditional networks (``num_classes``) take a second input, the class id:
the encoder joins its one-hot code to the features before the latent head,
the decoder and the generator join it to ``z`` (the generator through a
learned embedding), and the discriminator gets it as an extra image channel
(an embedding reshaped to the image).
"""

import keras

_STAGES = {28: 2, 64: 3}
_FILTERS = (32, 64, 64)
_GAN_FILTERS = (64, 128, 256)
_EMBEDDING = 32


def stages(image_shape):
    """The stride-2 stages for an image size.

    Args:
        image_shape: ``(height, width, channels)``, square, 28 or 64 pixels.

    Returns:
        2 for 28x28, 3 for 64x64.

    Raises:
        ValueError: another size.
    """
    height, width = image_shape[:2]
    if height != width or height not in _STAGES:
        raise ValueError(f"the networks take square 28x28 or 64x64 images, received {tuple(image_shape)}.")
    return _STAGES[height]


def _label_input(num_classes):
    return keras.Input((), dtype="int32", name="labels") if num_classes else None


def encoder(image_shape, latent_dim, num_classes=None):
    """``images [B, H, W, C] (+ labels) -> [B, 2 * latent_dim]``: ``[mu, log sigma^2]``.

    Args:
        image_shape: ``(H, W, C)``.
        latent_dim: latent dimensions.
        num_classes: for a conditional encoder, the number of classes.

    Returns:
        A functional `keras.Model`.
    """
    images = keras.Input(image_shape, name="images")
    x = images
    for filters in _FILTERS[: stages(image_shape)]:
        x = keras.layers.Conv2D(filters, 4, strides=2, padding="same", activation="relu")(x)
    x = keras.layers.Flatten()(x)
    labels = _label_input(num_classes)
    if labels is not None:
        x = keras.layers.Concatenate()([x, keras.ops.one_hot(labels, num_classes, dtype=x.dtype)])
    x = keras.layers.Dense(256, activation="relu")(x)
    out = keras.layers.Dense(2 * latent_dim, dtype="float32", name="mean_log_variance")(x)
    return keras.Model([images, labels] if labels is not None else images, out, name="encoder")


def decoder(image_shape, latent_dim, num_classes=None):
    """``z [B, latent_dim] (+ labels) -> logits [B, H, W, C]``.

    Args:
        image_shape: ``(H, W, C)``.
        latent_dim: latent dimensions.
        num_classes: for a conditional decoder, the number of classes.

    Returns:
        A functional `keras.Model` (logits in float32).
    """
    count = stages(image_shape)
    side = image_shape[0] // 2**count
    z = keras.Input((latent_dim,), name="z")
    labels = _label_input(num_classes)
    x = z
    if labels is not None:
        x = keras.layers.Concatenate()([x, keras.ops.one_hot(labels, num_classes, dtype=x.dtype)])
    x = keras.layers.Dense(256, activation="relu")(x)
    x = keras.layers.Dense(side * side * _FILTERS[count - 1], activation="relu")(x)
    x = keras.layers.Reshape((side, side, _FILTERS[count - 1]))(x)
    for filters in reversed(_FILTERS[: count - 1]):
        x = keras.layers.Conv2DTranspose(filters, 4, strides=2, padding="same", activation="relu")(x)
    logits = keras.layers.Conv2DTranspose(image_shape[-1], 4, strides=2, padding="same", dtype="float32")(x)
    return keras.Model([z, labels] if labels is not None else z, logits, name="decoder")


def generator(image_shape, latent_dim, num_classes=None):
    """``noise [B, latent_dim] (+ labels) -> images [B, H, W, C] in [0, 1]``: the DCGAN generator.

    Args:
        image_shape: ``(H, W, C)``.
        latent_dim: noise dimensions.
        num_classes: for a conditional generator, the number of classes.

    Returns:
        A functional `keras.Model` (output in float32).
    """
    count = stages(image_shape)
    side = image_shape[0] // 2**count
    noise = keras.Input((latent_dim,), name="noise")
    labels = _label_input(num_classes)
    x = noise
    if labels is not None:
        x = keras.layers.Concatenate()([x, keras.layers.Embedding(num_classes, _EMBEDDING)(labels)])
    widest = _GAN_FILTERS[count - 1]
    x = keras.layers.Dense(side * side * widest, use_bias=False)(x)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.ReLU()(x)
    x = keras.layers.Reshape((side, side, widest))(x)
    for filters in reversed(_GAN_FILTERS[: count - 1]):
        x = keras.layers.Conv2DTranspose(filters, 4, strides=2, padding="same", use_bias=False)(x)
        x = keras.layers.BatchNormalization()(x)
        x = keras.layers.ReLU()(x)
    x = keras.layers.Conv2DTranspose(image_shape[-1], 4, strides=2, padding="same", dtype="float32")(x)
    images = keras.layers.Rescaling(0.5, offset=0.5, dtype="float32")(keras.ops.tanh(x))
    return keras.Model([noise, labels] if labels is not None else noise, images, name="generator")


def discriminator(image_shape, num_classes=None, normalization="batch", name="discriminator"):
    """``images in [0, 1] (+ labels) -> one logit (a score, for a critic)``.

    Args:
        image_shape: ``(H, W, C)``.
        num_classes: for a conditional discriminator, the number of classes.
        normalization: ``"batch"`` (DCGAN) or ``"layer"`` (WGAN-GP's critic).
        name: the model's name.

    Returns:
        A functional `keras.Model` (logit in float32).
    """
    count = stages(image_shape)
    images = keras.Input(image_shape, name="images")
    labels = _label_input(num_classes)
    x = keras.layers.Rescaling(2.0, offset=-1.0)(images)
    if labels is not None:
        plane = keras.layers.Embedding(num_classes, image_shape[0] * image_shape[1])(labels)
        plane = keras.layers.Reshape((image_shape[0], image_shape[1], 1))(plane)
        x = keras.layers.Concatenate()([x, keras.ops.cast(plane, x.dtype)])
    for index, filters in enumerate(_GAN_FILTERS[:count]):
        x = keras.layers.Conv2D(filters, 4, strides=2, padding="same")(x)
        if index > 0:
            norm = keras.layers.BatchNormalization() if normalization == "batch" else keras.layers.LayerNormalization()
            x = norm(x)
        x = keras.layers.LeakyReLU(0.2)(x)
    x = keras.layers.Flatten()(x)
    logit = keras.layers.Dense(1, dtype="float32", name="logit")(x)
    return keras.Model([images, labels] if labels is not None else images, logit, name=name)
