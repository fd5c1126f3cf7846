r"""What a CNN looks at: attribution maps of a classifier's or a segmenter's class score.

Every method explains one number per image, the **score** $S_c(x)$ of the
class ``c`` asked for:

- a classifier (logits ``[N, K]``): the class's logit;
- a segmenter (logits ``[N, H, W, K]``): the mean of the class's logit over
  the pixels the model gives to that class (zero where it gives it none), so
  the map explains "why these pixels are a 3".

Methods (all batched: one compiled call per batch, the images of a batch
each with its own class):

- `saliency` (Simonyan et al. 2014): $|\partial S_c / \partial x|$;
- `smoothgrad` (Smilkov et al. 2017): the mean gradient magnitude over
  ``samples`` noisy copies $x + \mathcal{N}(0, \sigma^2)$, $\sigma$ = ``noise``
  of the [0, 1] range;
- `grad_cam` (Selvaraju et al. 2017): the feature maps $A^k$ of a
  convolution layer weighted by their average gradient,
  $\alpha_k = \frac{1}{HW}\sum_{ij} \partial S_c / \partial A^k_{ij}$,
  $\mathrm{ReLU}(\sum_k \alpha_k A^k)$, resized to the image;
- `integrated_gradients` (Sundararajan et al. 2017):
  $(x - x')\,\frac{1}{m}\sum_{s} \partial S_c(x' + \tfrac{s}{m}(x - x'))/\partial x$
  by the trapezoid rule over ``steps`` points, all in one batch; its
  **completeness**, $\sum \mathrm{IG} = S_c(x) - S_c(x')$, is checked by
  `completeness_gap`;
- `occlusion` (Zeiler and Fergus 2014): how much the class's probability
  drops when a ``patch`` square is greyed out, averaged over the patches
  covering each pixel.

`sanity_check` is the model-randomisation test of Adebayo et al. 2018: a
map that is still the same when the weights are random explains the image,
not the model.

Gradients are taken with respect to images in [0, 1]; maps are float32
``[N, H, W]`` (the gradient's channels summed in absolute value).

Examples:
    >>> import keras, numpy as np
    >>> model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(2, 3, padding="same"),
    ...                           keras.layers.GlobalAveragePooling2D()])
    >>> images = np.random.default_rng(0).uniform(size=(3, 8, 8, 1)).astype("float32")
    >>> saliency(model, images, [0, 1, 0]).shape
    (3, 8, 8)
    >>> gap = completeness_gap(model, images, [0, 1, 0], integrated_gradients(model, images, [0, 1, 0]))
    >>> bool(np.all(np.abs(gap) < 1e-3))
    True
"""

import keras
import numpy as np
import tensorflow as tf

from mit_dl.errors import ConfigError
from mit_dl.vision.config import EXPLAIN_METHODS as METHODS


def as_images(images):
    """Images as float32 ``[N, H, W, C]`` in [0, 1]: uint8 is divided by 255, ``[N, H, W]`` gains a channel.

    Args:
        images: uint8 (0-255) or float (0-1) images, ``[N, H, W]`` or ``[N, H, W, C]``.

    Returns:
        A float32 NumPy array ``[N, H, W, C]``.

    Raises:
        ConfigError: the images are not of rank 3 or 4.
    """
    images = np.asarray(images)
    if images.ndim not in (3, 4):
        raise ConfigError("images", f"must be [N, H, W] or [N, H, W, C], received shape {images.shape}")
    scaled = images.astype(np.float32) / 255.0 if images.dtype == np.uint8 else images.astype(np.float32)
    return scaled[..., None] if scaled.ndim == 3 else scaled


def checked_classes(model, images, classes):
    """The class of every image as int32 ``[N]``, checked against the model's classes.

    Args:
        model: the explained model (its last output axis counts the classes).
        images: the ``[N, ...]`` images.
        classes: one class id, or one per image.

    Returns:
        An int32 NumPy array ``[N]``.

    Raises:
        ConfigError: a class id is outside ``0 .. K-1`` or their count is not N.
    """
    count = int(model.outputs[0].shape[-1]) if getattr(model, "outputs", None) else None
    classes = np.broadcast_to(np.asarray(classes), (len(images),)) if np.ndim(classes) == 0 else np.asarray(classes)
    if classes.shape != (len(images),):
        raise ConfigError("classes", f"must give one class per image ({len(images)}), received {classes.shape[0]}")
    if not np.issubdtype(classes.dtype, np.integer):
        raise ConfigError("classes", f"must be integer class ids, received {classes.dtype}")
    if count is not None and (classes.min() < 0 or classes.max() >= count):
        raise ConfigError(
            "classes", f"must be ids of the model's {count} classes (0 to {count - 1}), received {classes.tolist()}"
        )
    return classes.astype(np.int32)


def class_score(outputs, classes):
    """$S_c$: each image's logit of its class; for per-pixel logits, its mean over the pixels given that class.

    Args:
        outputs: logits ``[N, K]`` or ``[N, H, W, K]``.
        classes: int ``[N]``.

    Returns:
        float32 ``[N]``.
    """
    outputs = tf.cast(outputs, tf.float32)
    chosen = tf.gather(outputs, classes, axis=-1, batch_dims=1)
    if outputs.shape.rank == 2:
        return chosen
    classes = tf.cast(classes, tf.int64)
    region = tf.cast(tf.equal(tf.argmax(outputs, axis=-1), classes[:, None, None]), tf.float32)
    area = tf.reduce_sum(region, axis=[1, 2])
    return tf.reduce_sum(chosen * region, axis=[1, 2]) / tf.maximum(area, 1.0)


@tf.function(reduce_retracing=True)
def _gradients(model, images, classes):
    with tf.GradientTape() as tape:
        tape.watch(images)
        scores = class_score(model(images, training=False), classes)
    return tape.gradient(scores, images), scores


def _channel_magnitude(gradients):
    return np.abs(np.asarray(gradients)).sum(axis=-1)


def scores(model, images, classes):
    """$S_c(x)$ of every image.

    Args:
        model: maps float images in [0, 1] to logits.
        images: uint8 or float images.
        classes: one class id, or one per image.

    Returns:
        float32 ``[N]``.
    """
    images = as_images(images)
    return class_score(model(images, training=False), checked_classes(model, images, classes)).numpy()


def saliency(model, images, classes):
    """Vanilla gradient saliency: $|\\partial S_c / \\partial x|$.

    Args:
        model: maps float images in [0, 1] to logits.
        images: uint8 or float images.
        classes: one class id, or one per image.

    Returns:
        float32 ``[N, H, W]``.
    """
    images = as_images(images)
    classes = checked_classes(model, images, classes)
    gradients, _ = _gradients(model, tf.constant(images), tf.constant(classes))
    return _channel_magnitude(gradients)


def smoothgrad(model, images, classes, samples=16, noise=0.15, seed=0):
    """SmoothGrad: the mean gradient magnitude over noisy copies of each image.

    Args:
        model: maps float images in [0, 1] to logits.
        images: uint8 or float images.
        classes: one class id, or one per image.
        samples: noisy copies per image (computed in one batch per image group).
        noise: the noise's standard deviation, as a share of the [0, 1] range.
        seed: the noise's seed.

    Returns:
        float32 ``[N, H, W]``.

    Raises:
        ConfigError: ``samples`` < 1 or ``noise`` < 0.
    """
    if samples < 1:
        raise ConfigError("samples", f"must be at least 1, received {samples}")
    if noise < 0:
        raise ConfigError("noise", f"must be 0 or more, received {noise}")
    images = as_images(images)
    classes = checked_classes(model, images, classes)
    rng = np.random.default_rng(seed)
    noisy = images[:, None] + rng.normal(0, noise, (len(images), samples, *images.shape[1:])).astype(np.float32)
    flat = noisy.reshape(-1, *images.shape[1:])
    gradients, _ = _gradients(model, tf.constant(flat), tf.constant(np.repeat(classes, samples)))
    return _channel_magnitude(gradients).reshape(len(images), samples, *images.shape[1:3]).mean(axis=1)


def last_conv_layer(model):
    """The model's last 2-D convolution (plain or transposed): Grad-CAM's default layer.

    Args:
        model: a Keras model.

    Returns:
        The layer.

    Raises:
        ConfigError: the model has no convolution.
    """
    convolutions = [layer for layer in _layers(model) if isinstance(layer, keras.layers.Conv2D)]
    if not convolutions:
        raise ConfigError("layer", f"cannot be found: {model.name} has no Conv2D layer for Grad-CAM")
    return convolutions[-1]


def _layers(model):
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            yield from _layers(layer)
        else:
            yield layer


def _feature_model(model, layer):
    """A model returning ``(the layer's output, the model's output)``."""
    names = [each.name for each in _layers(model)]
    if layer is None:
        layer = last_conv_layer(model)
    elif isinstance(layer, str):
        if layer not in names:
            raise ConfigError("layer", f"must be one of {model.name}'s layers ({', '.join(names)}), received {layer!r}")
        layer = next(each for each in _layers(model) if each.name == layer)
    return keras.Model(model.inputs[0], [layer.output, model.outputs[0]]), layer


def grad_cam_weights(features, gradients):
    """Grad-CAM's channel weights $\\alpha_k$: the gradient of the score averaged over each feature map.

    Args:
        features: ``[N, h, w, K]`` activations $A^k$ (unused: the weights depend on gradients only;
            kept so the call reads like the paper's equation).
        gradients: ``[N, h, w, K]`` $\\partial S_c / \\partial A^k$.

    Returns:
        ``[N, K]``.
    """
    del features
    return tf.reduce_mean(gradients, axis=[1, 2])


def grad_cam(model, images, classes, layer=None):
    """Grad-CAM: a convolution layer's feature maps weighted by their mean gradient, rectified and resized.

    Args:
        model: a functional or sequential Keras model of float images in [0, 1].
        images: uint8 or float images.
        classes: one class id, or one per image.
        layer: the layer's name (or the layer); default: the last ``Conv2D``.

    Returns:
        float32 ``[N, H, W]`` (0 where no feature argues for the class).

    Raises:
        ConfigError: no layer of that name, or no convolution at all.
    """
    images = as_images(images)
    classes = checked_classes(model, images, classes)
    features_model, _ = _feature_model(model, layer)
    x, c = tf.constant(images), tf.constant(classes)
    with tf.GradientTape() as tape:
        features, outputs = features_model(x, training=False)
        score = class_score(outputs, c)
    gradients = tape.gradient(score, features)
    weights = grad_cam_weights(features, gradients)
    cam = tf.nn.relu(tf.einsum("nhwk,nk->nhw", tf.cast(features, tf.float32), tf.cast(weights, tf.float32)))
    resized = tf.image.resize(cam[..., None], images.shape[1:3], method="bilinear")[..., 0]
    return resized.numpy()


@tf.function(reduce_retracing=True)
def _integrated(model, image, baseline, cls, alphas):
    path = baseline[None] + alphas[:, None, None, None] * (image - baseline)[None]
    gradients, _ = _gradients(model, path, tf.fill(tf.shape(alphas), cls))
    trapezoid = (gradients[:-1] + gradients[1:]) / 2.0
    return (image - baseline) * tf.reduce_mean(trapezoid, axis=0)


def integrated_gradients(model, images, classes, baseline=None, steps=128, batched=True):
    """Integrated gradients from a baseline (black images by default), by the trapezoid rule.

    Args:
        model: maps float images in [0, 1] to logits.
        images: uint8 or float images.
        classes: one class id, or one per image.
        baseline: images of the same shape (or one image) to integrate from; default all zeros.
        steps: intervals of the path (``steps + 1`` gradient evaluations per image).
        batched: all points of an image's path in one compiled call (``False``: a Python loop over
            the points, one call each, as the method is often written; `benchmarks.vision` times both).

    Returns:
        float32 ``[N, H, W, C]`` signed attributions (the channels kept, so they sum to the
        score difference; `attribution_map` turns them into a map).

    Raises:
        ConfigError: ``steps`` < 1 or a baseline of another shape.
    """
    if steps < 1:
        raise ConfigError("steps", f"must be at least 1, received {steps}")
    images = as_images(images)
    classes = checked_classes(model, images, classes)
    baselines = _baselines(baseline, images)
    alphas = np.linspace(0.0, 1.0, steps + 1, dtype=np.float32)
    out = np.empty_like(images)
    for i in range(len(images)):
        if batched:
            out[i] = _integrated(
                model, tf.constant(images[i]), tf.constant(baselines[i]), tf.constant(classes[i]), tf.constant(alphas)
            ).numpy()
            continue
        total = np.zeros_like(images[i])
        previous = None
        for alpha in alphas:
            point = baselines[i] + alpha * (images[i] - baselines[i])
            gradient, _ = _gradients(model, tf.constant(point[None]), tf.constant(classes[i : i + 1]))
            gradient = gradient.numpy()[0]
            if previous is not None:
                total += (previous + gradient) / 2.0
            previous = gradient
        out[i] = (images[i] - baselines[i]) * total / steps
    return out


def _baselines(baseline, images):
    """Baseline images shaped like ``images`` (scaled like them): zeros, one image for all, or one per image."""
    if baseline is None:
        return np.zeros_like(images)
    baseline = np.asarray(baseline)
    if baseline.shape in (images.shape[1:3], images.shape[1:]):  # one image for every image
        baseline = baseline[None]
    try:
        return np.broadcast_to(as_images(baseline), images.shape)
    except ValueError:
        raise ConfigError(
            "baseline", f"must be one image or one per image of shape {images.shape[1:]}, received {baseline.shape}"
        ) from None


def completeness_gap(model, images, classes, attributions, baseline=None):
    """How far integrated gradients miss completeness: $\\sum IG - (S_c(x) - S_c(x'))$, relative.

    Args:
        model: the explained model.
        images: the images explained.
        classes: their classes.
        attributions: `integrated_gradients` of them.
        baseline: the baseline they were integrated from (default zeros).

    Returns:
        ``[N]``: the gap divided by ``max(|S_c(x) - S_c(x')|, 1e-6)`` (within 0.01: complete to 1%).
    """
    images = as_images(images)
    baselines = _baselines(baseline, images)
    difference = scores(model, images, classes) - scores(model, baselines, classes)
    total = np.asarray(attributions).reshape(len(images), -1).sum(axis=1)
    return (total - difference) / np.maximum(np.abs(difference), 1e-6)


def occlusion(model, images, classes, patch=4, stride=2, value=0.0):
    """Occlusion sensitivity: the drop of the class's probability when a square around a pixel is greyed out.

    Args:
        model: maps float images in [0, 1] to logits (a classifier: probabilities are its softmax;
            a segmenter: the score's drop, in logits).
        images: uint8 or float images.
        classes: one class id, or one per image.
        patch: the square's side in pixels.
        stride: pixels between squares.
        value: the grey put in the square (in [0, 1]).

    Returns:
        float32 ``[N, H, W]``: per pixel, the mean drop over the squares covering it.

    Raises:
        ConfigError: ``patch`` or ``stride`` < 1.
    """
    if patch < 1 or stride < 1:
        raise ConfigError("patch" if patch < 1 else "stride", f"must be at least 1, received {min(patch, stride)}")
    images = as_images(images)
    classes = checked_classes(model, images, classes)
    height, width = images.shape[1:3]
    corners = [(y, x) for y in range(0, height - patch + 1, stride) for x in range(0, width - patch + 1, stride)]
    masks = np.ones((len(corners), height, width, 1), np.float32)
    for k, (y, x) in enumerate(corners):
        masks[k, y : y + patch, x : x + patch] = 0.0
    coverage = (1.0 - masks[..., 0]).sum(axis=0)
    out = np.zeros((len(images), height, width), np.float32)
    for i in range(len(images)):
        occluded = images[i][None] * masks + value * (1.0 - masks)
        base = _probability(model, images[i][None], classes[i : i + 1])
        dropped = base - _probability(model, occluded, np.full(len(corners), classes[i], np.int32))
        out[i] = np.tensordot(dropped, 1.0 - masks[..., 0], axes=1) / np.maximum(coverage, 1.0)
    return out


def _probability(model, images, classes):
    outputs = tf.cast(model(tf.constant(images), training=False), tf.float32)
    if outputs.shape.rank == 2:
        return tf.gather(tf.nn.softmax(outputs), classes, axis=-1, batch_dims=1).numpy()
    return class_score(outputs, tf.constant(classes)).numpy()


def attribution_map(model, images, classes, method="saliency", **options):
    """One map per image by the named method.

    Args:
        model: maps float images in [0, 1] to logits.
        images: uint8 or float images.
        classes: one class id, or one per image.
        method: one of `METHODS` (``ig``: integrated gradients, their magnitude summed over channels).
        **options: the method's own arguments (``layer`` for Grad-CAM, ``steps`` for IG, ...).

    Returns:
        float32 ``[N, H, W]``.

    Raises:
        ConfigError: an unknown method.
    """
    if method == "saliency":
        return saliency(model, images, classes, **options)
    if method == "smoothgrad":
        return smoothgrad(model, images, classes, **options)
    if method == "gradcam":
        return grad_cam(model, images, classes, **options)
    if method == "ig":
        return np.abs(integrated_gradients(model, images, classes, **options)).sum(axis=-1)
    if method == "occlusion":
        return occlusion(model, images, classes, **options)
    raise ConfigError("method", f"must be one of {', '.join(METHODS)}, received {method!r}")


EXPORTED = ("saliency", "smoothgrad", "ig")


def map_function(model, method="saliency", samples=16, noise=0.15, steps=64):
    """The map of ``method`` in TF ops only, for the ``explain`` signature (`endpoints.image_explainer_endpoint`).

    Args:
        model: maps float images in [0, 1] to logits.
        method: ``"saliency"``, ``"smoothgrad"`` (a fixed stateless noise: the same images give the same maps)
            or ``"ig"`` (the magnitude of integrated gradients from black, the channels summed).
        samples: SmoothGrad's noisy copies.
        noise: SmoothGrad's noise, as a share of the [0, 1] range.
        steps: integrated gradients' intervals.

    Returns:
        ``fn(images float32 [N, H, W, C], classes int32 [N]) -> [N, H, W]``.

    Raises:
        ConfigError: a method that is not exported (Grad-CAM and occlusion are computed by `attribution_map`).
    """
    if method not in EXPORTED:
        raise ConfigError("method", f"must be one of {', '.join(EXPORTED)} for an export, received {method!r}")

    def gradients_of(images, classes):
        with tf.GradientTape() as tape:
            tape.watch(images)
            score = class_score(model(images, training=False), classes)
        return tape.gradient(score, images)

    def saliency_map(images, classes):
        return tf.reduce_sum(tf.abs(gradients_of(images, classes)), axis=-1)

    def smoothgrad_map(images, classes):
        shape = tf.shape(images)
        draws = tf.random.stateless_normal(
            tf.concat([[samples], shape], 0), seed=[0, 0], stddev=noise, dtype=images.dtype
        )
        noisy = tf.reshape(images[None] + draws, tf.concat([[-1], shape[1:]], 0))
        maps = saliency_map(noisy, tf.tile(classes, [samples]))
        return tf.reduce_mean(tf.reshape(maps, tf.concat([[samples], shape[:3]], 0)), axis=0)

    def ig_map(images, classes):
        alphas = tf.linspace(0.0, 1.0, steps + 1)

        def one(args):
            image, cls = args
            path = alphas[:, None, None, None] * image[None]
            g = gradients_of(path, tf.fill([steps + 1], cls))
            return tf.reduce_sum(tf.abs(image * tf.reduce_mean((g[:-1] + g[1:]) / 2.0, axis=0)), axis=-1)

        return tf.map_fn(one, (images, classes), fn_output_signature=tf.float32)

    return {"saliency": saliency_map, "smoothgrad": smoothgrad_map, "ig": ig_map}[method]


def rank_correlation(a, b):
    """Spearman's rank correlation of two maps (tied values share their mean rank).

    Ties matter here: the black background of an MNIST image gets the same
    attribution (0) from many methods, and breaking those ties by position
    would count the shared background as agreement.

    Args:
        a: an array.
        b: an array of the same size.

    Returns:
        A float in [-1, 1] (0 when either map is constant).
    """
    ranks = [_mean_ranks(np.ravel(m)) for m in (a, b)]
    centred = [r - r.mean() for r in ranks]
    scale = np.sqrt((centred[0] ** 2).sum() * (centred[1] ** 2).sum())
    return float((centred[0] * centred[1]).sum() / scale) if scale > 0 else 0.0


def _mean_ranks(values):
    _, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    last = np.cumsum(counts) - 1.0
    return (last - (counts - 1) / 2.0)[inverse]


def randomized_copy(model, seed=0):
    """A copy of ``model`` whose weights are all re-drawn (Glorot-uniform kernels, normal biases), for `sanity_check`.

    Args:
        model: a Keras model with a config (functional or sequential).
        seed: the draw's seed.

    Returns:
        The new model.
    """
    copy = keras.models.clone_model(model)
    rng = np.random.default_rng(seed)
    for variable in copy.weights:
        shape = tuple(variable.shape)
        if len(shape) >= 2:
            fan_in, fan_out = np.prod(shape[:-1]), shape[-1]
            if len(shape) == 4:
                fan_in, fan_out = np.prod(shape[:3]), shape[2] * shape[0] * shape[1]
            limit = np.sqrt(6.0 / (fan_in + fan_out))
            variable.assign(rng.uniform(-limit, limit, shape).astype(variable.dtype))
        elif "moving_variance" in variable.path or "gamma" in variable.path:
            variable.assign(np.ones(shape, variable.dtype))
        else:
            variable.assign(rng.normal(0, 0.1, shape).astype(variable.dtype))
    return copy


def sanity_check(model, images, classes, method="saliency", seed=0, trained_maps=None, **options):
    """Adebayo et al.'s model-randomisation test: rank correlation of each image's map before and after.

    Args:
        model: the trained model.
        images: uint8 or float images.
        classes: one class id, or one per image.
        method: one of `METHODS`.
        seed: the random weights' seed.
        trained_maps: the trained model's maps, when already computed (they are not computed again).
        **options: the method's own arguments.

    Returns:
        ``{"method", "rank_correlation": [N], "mean"}``: near 1 means the map does not depend on what
        the model learned (the method fails the test); a trained model's maps should differ.
    """
    trained = attribution_map(model, images, classes, method, **options) if trained_maps is None else trained_maps
    random = attribution_map(randomized_copy(model, seed), images, classes, method, **options)
    correlations = [rank_correlation(a, b) for a, b in zip(trained, random)]
    return {"method": method, "rank_correlation": correlations, "mean": float(np.mean(correlations))}
