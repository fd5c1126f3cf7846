"""The spatial transformer (Jaderberg et al. 2015, UvA 4.4): a CNN that learns to undo the distortions it is shown.

A small localisation network reads the image and predicts an affine map
``theta``; the sampler of `mit_dl.architectures.spatial` warps the image by
it; the course CNN classifies the warped image. Nothing tells the
localisation network what "upright" is: the classifier's loss alone, through
the differentiable sampler, teaches it to rotate, scale and centre the
digits. Its last layer starts at the identity map (zero weights, bias
``[1, 0, 0, 0, 1, 0]``), so training starts from the plain CNN.

The data: MNIST's 10,000 test digits (the split available offline), each
rotated, scaled and shifted at random (`distort`), split into training and
test digits. ``train`` trains the plain CNN and the CNN behind a spatial
transformer with the same recipe, writes both accuracies on the distorted
test digits to ``metrics.json`` and ``rectified.png`` (distorted test digits
and what the transformer made of them).
"""

import keras
import numpy as np
import tensorflow as tf

from mit_dl import plots
from mit_dl.architectures import data, spatial
from mit_dl.architectures.config import SpatialConfig
from mit_dl.data import mnist
from mit_dl.networks.cnn import cnn_classifier
from mit_dl.training import Run, Trainer


def random_affine(count, rotation, scale, shift, seed):
    """``count`` random affine maps: a rotation, a uniform scaling and a shift each (output -> input coordinates).

    Args:
        count: how many.
        rotation: the largest rotation in degrees either way.
        scale: sizes from ``1 - scale`` to ``1 + scale``.
        shift: the largest shift, a fraction of the side.
        seed: the draws' seed.

    Returns:
        ``[count, 2, 3]`` float32.
    """
    rng = np.random.default_rng(seed)
    angle = np.deg2rad(rng.uniform(-rotation, rotation, count))
    size = rng.uniform(1 - scale, 1 + scale, count)
    offset = rng.uniform(-shift, shift, (count, 2)) * 2  # normalised coordinates span 2
    cos, sin = np.cos(angle) / size, np.sin(angle) / size  # reading the input at 1/size draws the digit size x
    return np.stack([np.stack([cos, -sin, offset[:, 0]], 1), np.stack([sin, cos, offset[:, 1]], 1)], 1).astype(
        np.float32
    )


def distort(images, rotation, scale, shift, seed):
    """uint8 digits rotated, scaled and shifted at random (zeros where the original is not).

    Args:
        images: uint8 ``[N, 28, 28, 1]``.
        rotation: the largest rotation in degrees.
        scale: the largest relative change of size.
        shift: the largest shift as a fraction of the side.
        seed: the seed.

    Returns:
        uint8 ``[N, 28, 28, 1]``.
    """
    theta = random_affine(len(images), rotation, scale, shift, seed)
    warped = spatial.transform(tf.constant(images, tf.float32), theta).numpy()
    return np.clip(np.round(warped), 0, 255).astype(np.uint8)


@keras.saving.register_keras_serializable(package="mit_dl.architectures")
class SpatialTransformer(keras.layers.Layer):
    """A localisation network predicting ``theta`` and the bilinear sampler applying it (module docstring).

    Args:
        **kwargs: base `keras.layers.Layer` arguments.

    Call arguments:
        inputs: ``(batch, height, width, channels)`` in [0, 1].

    Returns:
        The warped images, same shape.

    Examples:
        >>> layer = SpatialTransformer()
        >>> x = np.random.default_rng(0).random((2, 28, 28, 1)).astype("float32")
        >>> bool(np.allclose(layer(x), x, atol=1e-5))  # it starts as the identity
        True
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.localisation = keras.Sequential(
            [
                keras.layers.Conv2D(8, 5, activation="relu"),
                keras.layers.MaxPooling2D(2),
                keras.layers.Conv2D(12, 5, activation="relu"),
                keras.layers.MaxPooling2D(2),
                keras.layers.Flatten(),
                keras.layers.Dense(32, activation="relu"),
                keras.layers.Dense(
                    6, kernel_initializer="zeros", bias_initializer=keras.initializers.Constant([1, 0, 0, 0, 1, 0])
                ),
            ],
            name="localisation",
        )

    def build(self, input_shape):
        self.localisation.build(input_shape)

    def theta(self, inputs):
        """The predicted affine maps.

        Args:
            inputs: the images.

        Returns:
            ``[batch, 2, 3]``.
        """
        return tf.reshape(self.localisation(inputs), (-1, 2, 3))

    def call(self, inputs):
        shape = inputs.shape
        return spatial.bilinear_sample(inputs, spatial.affine_grid(self.theta(inputs), shape[1], shape[2]))

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)


def build_classifier(with_transformer):
    """The course CNN, behind a spatial transformer or not.

    Args:
        with_transformer: put a `SpatialTransformer` in front.

    Returns:
        ``(model, transformer or None)``.
    """
    cnn = cnn_classifier()
    if not with_transformer:
        return cnn, None
    inputs = keras.Input((28, 28, 1))
    transformer = SpatialTransformer(name="transformer")
    return keras.Model(inputs, cnn(transformer(inputs)), name="stn_classifier"), transformer


def load_distorted(config):
    """Distorted MNIST digits split into training and test digits.

    Args:
        config: the `SpatialConfig`.

    Returns:
        ``(train (x, y), test (x, y), source)``.
    """
    images, labels, source = mnist.load_arrays("mnist", "test", config.data)
    warped = distort(images[..., None], config.rotation, config.scale, config.shift, seed=1000 + config.seed)
    train, test = mnist.split_arrays(warped, labels, config.train_images, seed=config.seed)
    return train, test, source


def train(config=None, out_dir="runs/architectures-stn", log=print):
    """Train the plain CNN and the CNN behind a spatial transformer on distorted digits; compare them.

    Args:
        config: a `SpatialConfig` (default: the quick one).
        out_dir: the experiment's folder (``cnn/`` and ``stn/`` run directories; again: resumed).
        log: where progress lines go.

    Returns:
        The metrics written to ``metrics.json``.
    """
    import pathlib

    from mit_dl.architectures.train import probabilities
    from mit_dl.training.runs import write_json

    config = config or SpatialConfig()
    out = pathlib.Path(out_dir)
    train_split, test_split, source = load_distorted(config)
    log(f"data: MNIST from {source}, distorted: {len(train_split[0])} train / {len(test_split[0])} test digits")
    accuracy, transformer = {}, None
    for name in ("cnn", "stn"):
        model, transformer = _fit(config, name, train_split, test_split, out / name, log)
        accuracy[name] = float(np.mean(probabilities(model, test_split[0]).argmax(1) == test_split[1]))
        log(f"{name}: {100 * accuracy[name]:.2f}% on the distorted test digits")
    _rectified_figure(transformer, test_split[0][:8], out / "rectified.png")
    metrics = {"source": source, "test_accuracy": accuracy, "test_images": len(test_split[0])}
    write_json(out / "metrics.json", metrics)
    return metrics


def _fit(config, name, train_split, test_split, path, log):
    """One of the two classifiers trained in its own run directory; ``(model, transformer or None)``."""
    run = Run.start(path, config, lab="architectures", log=log)
    with run.scope():
        model, transformer = build_classifier(name == "stn")
        trainer = Trainer(
            model,
            keras.optimizers.Adam(config.learning_rate),
            keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            metrics=["accuracy"],
            strategy=run.strategy,
            checkpoint_dir=run.checkpoints,
            log_dir=run.logs,
        )
        train_data = data.to_dataset(*train_split, config.batch_size, shuffle=True, seed=config.seed)
        history = trainer.fit(
            train_data, epochs=config.epochs, validation_data=data.to_dataset(*test_split, 512), validation_name="test"
        )
    run.write_metrics({"history": history})
    return model, transformer


def _rectified_figure(transformer, images, path):
    """Distorted test digits (top) and the transformer's output for them (bottom)."""
    x = images.astype(np.float32) / 255.0
    rectified = transformer(x).numpy()
    plots.image_mosaic(
        np.concatenate([x, rectified])[..., 0], path, columns=len(images), row_titles=["distorted", "rectified"]
    )
