"""SavedModel export with self-contained signatures, and its loader (docs/design.md, section 6).

An export is a plain TensorFlow SavedModel directory plus ``metadata.json``.
Its endpoints take raw inputs (uint8 images, token ids, strings) and hold the
preprocessing, so ``tf.saved_model.load(path)`` works in a process that has
TensorFlow but not ``mit_dl``:

    export_savedmodel(model, "saved_models/cnn", endpoints={
        "classify": Endpoint(classify_uint8, [tf.TensorSpec([None, 28, 28], tf.uint8)]),
    }, metadata={"data": "fashion_mnist", "test_accuracy": 0.91})

The directory is written to a temporary sibling and renamed into place, so an
interrupted export never leaves a half-written model behind.
"""

import dataclasses
import datetime
import inspect
import json
import os
import pathlib
import shutil
from collections.abc import Callable, Mapping, Sequence

import keras
import tensorflow as tf

import mit_dl
from mit_dl.errors import ExportError

METADATA_FILE = "metadata.json"
# Image endpoints take uint8 pixels; a float array (images in [0, 1]) given to a loaded function would be
# cast to uint8 zeros without a word, so these dtypes fail with a message naming uint8 instead.
IMAGE_REFUSED_DTYPES = (tf.float32, tf.float64)


@dataclasses.dataclass(frozen=True)
class Endpoint:
    """A named serving function: ``fn(*inputs)`` traced with ``input_signature``.

    ``refused_dtypes``: input dtypes that fail with a message naming the
    expected dtypes (given for one input at a time). Without them a loaded function converts a NumPy array
    of another dtype to its signature's, silently: float images in [0, 1]
    would become uint8 zeros.

    ``converted_dtypes``: ``input name -> dtypes`` also accepted for that
    input and cast to the signature's dtype (a seed given as int32 or
    int64). Without them a loaded function given a tensor of another dtype
    fails with a message listing its signatures, which a client cannot read.
    """

    fn: Callable
    input_signature: Sequence
    refused_dtypes: Sequence = ()
    converted_dtypes: Mapping = dataclasses.field(default_factory=dict)


def default_endpoint(model):
    """The ``serve`` endpoint: the model called on inputs shaped like ``model.inputs`` (batch size free).

    Args:
        model: a built Keras model.

    Returns:
        An `Endpoint`.

    Raises:
        ValueError: the model has no known inputs (a subclassed model never called).
    """
    if not getattr(model, "inputs", None):
        raise ValueError(
            "the model has no known inputs (a subclassed model that was never built); "
            "call it on data once or pass explicit endpoints."
        )
    specs = [tf.TensorSpec((None, *t.shape[1:]), t.dtype, name=getattr(t, "name", None)) for t in model.inputs]
    if len(specs) == 1:
        return Endpoint(lambda x: model(x, training=False), specs)
    return Endpoint(lambda *xs: model(list(xs), training=False), specs)


def library_versions():
    """Versions of mit_dl, TensorFlow and Keras, as exports and run records state them.

    Returns:
        ``{"mit_dl": ..., "tensorflow": ..., "keras": ...}``.
    """
    return {"mit_dl": mit_dl.__version__, "tensorflow": tf.__version__, "keras": keras.__version__}


def export_savedmodel(
    model, directory, endpoints=None, metadata=None, overwrite=True, extra_trackables=(), extra_files=None
):
    """Write ``model`` as a SavedModel with ``endpoints`` and a ``metadata.json``.

    Args:
        model: the Keras model whose variables the endpoints use.
        directory: target folder (replaced if ``overwrite``).
        endpoints: ``name -> Endpoint``; default ``{"serve": default_endpoint(model)}``.
        metadata: JSON-serialisable facts (data, metrics, hyper-parameters);
            model name, endpoints, library versions and the date are added.
        overwrite: replace an existing export; otherwise raise.
        extra_trackables: more objects the endpoints use (lookup tables, other models).
        extra_files: ``file name -> text`` written beside ``metadata.json``
            (e.g. the training tunes a generator is compared against).

    Returns:
        The export's ``pathlib.Path``.
    """
    directory = pathlib.Path(directory)
    if directory.exists() and not overwrite:
        raise FileExistsError(f"{directory} already exists; pass overwrite=True or choose another folder.")
    endpoints = endpoints or {"serve": default_endpoint(model)}
    archive = keras.export.ExportArchive()
    archive.track(model)
    for trackable in extra_trackables:
        archive.track(trackable)
    for name, endpoint in endpoints.items():
        if endpoint.refused_dtypes or endpoint.converted_dtypes:
            archive.add_endpoint(name=name, fn=_with_variants(name, endpoint))
        else:
            archive.add_endpoint(name=name, fn=endpoint.fn, input_signature=list(endpoint.input_signature))

    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = directory.with_name(f".{directory.name}.partial")
    if staging.exists():
        shutil.rmtree(staging)
    archive.write_out(str(staging), verbose=False)
    info = {
        "model": model.name,
        "endpoints": {
            name: [
                {"shape": None if s.shape.rank is None else s.shape.as_list(), "dtype": s.dtype.name, "name": s.name}
                for s in e.input_signature
            ]
            for name, e in endpoints.items()
        },
        "versions": library_versions(),
        "exported_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        **(metadata or {}),
    }
    (staging / METADATA_FILE).write_text(json.dumps(info, indent=2, default=str) + "\n")
    for name, text in (extra_files or {}).items():
        (staging / name).write_text(text, encoding="utf-8")
    if directory.exists():
        shutil.rmtree(directory)
    os.replace(staging, directory)
    return directory


def _with_variants(name, endpoint):
    """A `tf.function` traced for the endpoint's signature, its converted dtypes and (failing clearly) refused ones."""
    specs = list(endpoint.input_signature)
    accepted = [spec.dtype for spec in specs]
    converted = {spec.name: tuple(endpoint.converted_dtypes.get(spec.name, ())) for spec in specs}

    def fn(*inputs):
        if any(x.dtype != d and x.dtype not in converted[s.name] for x, d, s in zip(inputs, accepted, specs)):
            expected = ", ".join(dtype.name for dtype in accepted)
            received = ", ".join(x.dtype.name for x in inputs)
            check = tf.debugging.Assert(False, [f"{name} expects {expected} inputs; received {received}"])
            with tf.control_dependencies([check]):
                inputs = [tf.identity(x) for x in inputs]
        return endpoint.fn(*[x if x.dtype == d else tf.cast(x, d) for x, d in zip(inputs, accepted)])

    # Traced as ``fn(*inputs)``, the function would be callable positionally only: the signature names
    # each input, so a loaded export takes ``generate(seed_text=..., length=...)`` as well.
    fn.__signature__ = inspect.Signature(
        [inspect.Parameter(spec.name, inspect.Parameter.POSITIONAL_OR_KEYWORD) for spec in specs]
    )
    fn = tf.function(fn)
    fn.get_concrete_function(*specs)
    for dtype in endpoint.refused_dtypes:  # one input of a refused dtype at a time, the others as expected
        for i, spec in enumerate(specs):
            if spec.dtype != dtype:
                variant = list(specs)
                variant[i] = tf.TensorSpec(spec.shape, dtype, name=spec.name)
                fn.get_concrete_function(*variant)
    for i, spec in enumerate(specs):
        for dtype in converted[spec.name]:
            variant = list(specs)
            variant[i] = tf.TensorSpec(spec.shape, dtype, name=spec.name)
            fn.get_concrete_function(*variant)
    return fn


def load_savedmodel(directory):
    """Load an export and its metadata.

    Args:
        directory: the export's folder (holding ``saved_model.pb``).

    Returns:
        ``(loaded, metadata)``: the object `tf.saved_model.load` returns and
        the ``metadata.json`` dict (empty when there is none).

    Raises:
        ExportError: the folder is not a SavedModel export (the message names exports inside it).
    """
    directory = pathlib.Path(directory)
    if not (directory / "saved_model.pb").is_file():
        inside = sorted(str(p.parent) for p in directory.glob("*/saved_model.pb")) if directory.is_dir() else []
        hint = f" (this folder holds: {', '.join(inside)})" if inside else ""
        raise ExportError(
            f"{directory} is not a SavedModel export (no saved_model.pb); pass the folder an export wrote{hint}."
        )
    metadata_path = directory / METADATA_FILE
    metadata = json.loads(metadata_path.read_text()) if metadata_path.exists() else {}
    return tf.saved_model.load(str(directory)), metadata


def image_classifier_endpoint(model, height, width, channels, output="softmax"):
    """``classify(images uint8)`` -> ``{"probabilities", "class_ids"}``, with the preprocessing inside.

    Accepts ``[N, H, W, C]`` and, for one channel, ``[N, H, W]``. A wrong rank,
    size or channel count fails inside the signature with a message saying
    what was expected (the caller may not have mit_dl to explain it).

    Args:
        model: maps float images in [0, 1] to logits.
        height: image height the model takes.
        width: image width.
        channels: channels (1 allows ``[N, H, W]`` too).
        output: ``"softmax"`` for multi-class logits, ``"sigmoid"`` for one logit.

    Returns:
        An `Endpoint` taking ``images``.
    """

    def classify(images):
        logits = model(scaled_images(images, height, width, channels, "classify"), training=False)
        if output == "sigmoid":
            probabilities = tf.sigmoid(tf.cast(logits, tf.float32))
            return {"probabilities": probabilities, "class_ids": tf.cast(probabilities[:, 0] > 0.5, tf.int64)}
        probabilities = tf.nn.softmax(tf.cast(logits, tf.float32))
        return {"probabilities": probabilities, "class_ids": tf.argmax(probabilities, axis=-1)}

    return Endpoint(classify, [tf.TensorSpec(None, tf.uint8, name="images")], refused_dtypes=IMAGE_REFUSED_DTYPES)


def scaled_images(images, height, width, channels, name):
    """uint8 images checked for their size and scaled to float32 in [0, 1], inside a signature.

    A wrong rank, size or channel count fails with a message naming
    ``name`` and the expected shape (the caller may not have mit_dl to
    explain it).

    Args:
        images: a uint8 tensor, ``[N, H, W, C]`` (or ``[N, H, W]`` for one channel).
        height: the expected image height.
        width: the expected image width.
        channels: the expected channel count.
        name: the signature's name, for the message.

    Returns:
        float32 ``[N, height, width, channels]`` in [0, 1].
    """
    expected = f"uint8 images [N, {height}, {width}, {channels}]" + (
        f" or [N, {height}, {width}]" if channels == 1 else ""
    )
    shape, rank = tf.shape(images), tf.rank(images)
    # Branches run only for their rank, so the comparisons have matching lengths.
    ok = tf.case(
        [
            (tf.equal(rank, 4), lambda: tf.reduce_all(tf.equal(shape[1:], [height, width, channels]))),
            (tf.equal(rank, 3) & (channels == 1), lambda: tf.reduce_all(tf.equal(shape[1:], [height, width]))),
        ],
        default=lambda: tf.constant(False),
    )
    check = tf.debugging.Assert(ok, [f"{name} expects {expected}; received shape", shape])
    with tf.control_dependencies([check]):  # check before the reshape can fail less clearly
        # A target that is only known at run time: shape inference of a function called on an
        # input of known (wrong) size cannot fail on the reshape before the check has run.
        target = tf.where(ok, tf.constant([-1, height, width, channels]), tf.constant([-1, 1, 1, 1]))
        images = tf.reshape(images, target)
    return tf.ensure_shape(tf.cast(images, tf.float32), [None, height, width, channels]) / 255.0


def image_endpoint(function, height, width, channels, name):
    """An endpoint of uint8 images: checked and scaled by `scaled_images`, then ``function(float images)``.

    Float images fail with a message naming uint8 (they are not cast).

    Args:
        function: float images in [0, 1] -> a dict of tensors.
        height: the images' height.
        width: the images' width.
        channels: the images' channel count.
        name: the endpoint's name (for its error message).

    Returns:
        An `Endpoint` taking ``images`` (uint8).
    """
    return Endpoint(
        lambda images: function(scaled_images(images, height, width, channels, name)),
        [tf.TensorSpec(None, tf.uint8, name="images")],
        refused_dtypes=IMAGE_REFUSED_DTYPES,
    )


def face_detector_endpoint(model, size=64):
    """``detect(images uint8 [N, size, size, 3])`` -> ``{"probability": [N], "is_face": [N]}``.

    Args:
        model: maps images in [0, 1] to one face logit (the face CNN or a DB-VAE).
        size: the images' height and width.

    Returns:
        An `Endpoint`, with the same input checks as `image_classifier_endpoint`.
    """
    inner = image_classifier_endpoint(model, size, size, 3, output="sigmoid")

    def detect(images):
        out = inner.fn(images)
        return {"probability": out["probabilities"][:, 0], "is_face": out["class_ids"]}

    return Endpoint(detect, inner.input_signature, refused_dtypes=IMAGE_REFUSED_DTYPES)


def decoder_endpoint(decoder, latent_dim):
    """``decode(z float32 [N, latent_dim])`` -> ``{"images": uint8 [N, H, W, 3]}`` from a [0, 1] decoder.

    Args:
        decoder: maps latent vectors to images in [0, 1].
        latent_dim: the latent size.

    Returns:
        An `Endpoint` taking ``z``.
    """

    def decode(z):
        images = decoder(z, training=False)
        return {"images": tf.cast(tf.round(tf.clip_by_value(images, 0.0, 1.0) * 255.0), tf.uint8)}

    return Endpoint(decode, [tf.TensorSpec([None, latent_dim], tf.float32, name="z")])


def _as_uint8(images):
    return tf.cast(tf.round(tf.clip_by_value(tf.cast(images, tf.float32), 0.0, 1.0) * 255.0), tf.uint8)


def _check_labels(labels, num_classes, name):
    return tf.debugging.Assert(
        tf.reduce_all((labels >= 0) & (labels < num_classes)),
        [f"{name}: labels must be class ids 0..{num_classes - 1}; received", labels],
        summarize=8,
    )


def _noise(count, latent_dim, seed):
    return tf.random.stateless_normal(tf.stack([count, latent_dim]), seed=tf.stack([seed, tf.constant(0, tf.int64)]))


def generate_endpoint(generate, latent_dim, num_classes=None):
    """``generate(count, seed)`` -> ``{"images": uint8}`` (and ``"labels"``, drawn uniformly, for conditional models).

    The noise is ``tf.random.stateless_normal`` of the seed: the same
    ``(count, seed)`` gives the same images in any process.

    Args:
        generate: ``generate(z)`` (``generate(z, labels)`` with ``num_classes``) -> images in [0, 1].
        latent_dim: the noise (latent) size.
        num_classes: for a conditional model, the number of classes.

    Returns:
        An `Endpoint` taking ``count`` (int32 scalar, >= 1) and ``seed`` (int64 scalar).
    """

    def fn(count, seed):
        check = tf.debugging.Assert(count > 0, ["generate: count must be at least 1; received", count])
        with tf.control_dependencies([check]):
            z = _noise(count, latent_dim, seed)
        if not num_classes:
            return {"images": _as_uint8(generate(z))}
        labels = tf.random.stateless_uniform(
            tf.reshape(count, [1]), seed=tf.stack([seed, tf.constant(1, tf.int64)]), maxval=num_classes, dtype=tf.int32
        )
        return {"images": _as_uint8(generate(z, labels)), "labels": labels}

    return Endpoint(fn, [tf.TensorSpec([], tf.int32, name="count"), tf.TensorSpec([], tf.int64, name="seed")])


def generate_class_endpoint(generate, latent_dim, num_classes):
    """``generate_class(labels, seed)`` -> ``{"images": uint8}``: one image of each requested class.

    Args:
        generate: ``generate(z, labels)`` -> images in [0, 1].
        latent_dim: the noise (latent) size.
        num_classes: the number of classes (labels outside 0..num_classes-1 fail with a message).

    Returns:
        An `Endpoint` taking ``labels`` (int32 ``[N]``) and ``seed`` (int64 scalar).
    """

    def fn(labels, seed):
        with tf.control_dependencies([_check_labels(labels, num_classes, "generate_class")]):
            z = _noise(tf.shape(labels)[0], latent_dim, seed)
        return {"images": _as_uint8(generate(z, labels))}

    return Endpoint(fn, [tf.TensorSpec([None], tf.int32, name="labels"), tf.TensorSpec([], tf.int64, name="seed")])


def encode_endpoint(encode, image_shape, num_classes=None):
    """``encode(images uint8 [N, H, W, C]` (, labels)) -> ``{"mean", "log_variance"}``: a VAE's encoder.

    Args:
        encode: ``encode(images in [0, 1] (, labels)) -> (mean, log_variance)``.
        image_shape: ``(H, W, C)``.
        num_classes: for a conditional VAE, the number of classes.

    Returns:
        An `Endpoint` taking ``images`` (and ``labels``), with the shape checked inside.
    """
    expected = list(image_shape)

    def prepared(images):
        shape = tf.shape(images)
        ok = tf.cond(  # the comparison runs only for rank 4, so its lengths match
            tf.equal(tf.size(shape), 4),
            lambda: tf.reduce_all(tf.equal(shape[1:], expected)),
            lambda: tf.constant(False),
        )
        wanted = f"encode expects uint8 images [N, {', '.join(map(str, expected))}]; received shape"
        check = tf.debugging.Assert(ok, [wanted, shape])
        with tf.control_dependencies([check]):
            return tf.cast(tf.reshape(images, [-1, *expected]), tf.float32) / 255.0

    def named(out):
        return {"mean": tf.cast(out[0], tf.float32), "log_variance": tf.cast(out[1], tf.float32)}

    image_spec = tf.TensorSpec(None, tf.uint8, name="images")
    if not num_classes:
        return Endpoint(lambda images: named(encode(prepared(images))), [image_spec], IMAGE_REFUSED_DTYPES)

    def fn(images, labels):
        with tf.control_dependencies([_check_labels(labels, num_classes, "encode")]):
            return named(encode(prepared(images), labels))

    return Endpoint(fn, [image_spec, tf.TensorSpec([None], tf.int32, name="labels")], IMAGE_REFUSED_DTYPES)


def decode_endpoint(decode, latent_dim, num_classes=None):
    """``decode(z float32 [N, latent_dim]` (, labels)) -> ``{"images": uint8}``: a VAE's decoder.

    Args:
        decode: ``decode(z (, labels)) -> images in [0, 1]``.
        latent_dim: the latent size.
        num_classes: for a conditional VAE, the number of classes.

    Returns:
        An `Endpoint` taking ``z`` (and ``labels``).
    """
    z_spec = tf.TensorSpec([None, latent_dim], tf.float32, name="z")
    if not num_classes:
        return Endpoint(lambda z: {"images": _as_uint8(decode(z))}, [z_spec])

    def fn(z, labels):
        with tf.control_dependencies([_check_labels(labels, num_classes, "decode")]):
            return {"images": _as_uint8(decode(z, labels))}

    return Endpoint(fn, [z_spec, tf.TensorSpec([None], tf.int32, name="labels")])


def _check_observations(observations, observation_shape, name):
    expected = tf.constant(observation_shape, tf.int32)
    shape = tf.shape(observations)[1:]
    matches = tf.reduce_all(tf.equal(shape, expected)) if len(observation_shape) else tf.constant(True)
    return tf.debugging.Assert(
        matches,
        [
            f"{name}: observations must be shaped [N, {', '.join(map(str, observation_shape))}]; received shape",
            tf.shape(observations),
        ],
    )


def policy_endpoints(act, observation_shape, q_values=None):
    """``act(observations) -> {"actions": int32 [N]}`` and, for a Q-network, ``q_values(observations)``.

    The observations' rank is free in the signature and checked inside, so
    a wrong shape fails with a sentence naming the shape expected.

    Args:
        act: ``act(observations float32 [N, *observation_shape]) -> actions [N]``.
        observation_shape: one observation's shape (``(4,)`` for CartPole).
        q_values: ``q_values(observations) -> [N, actions]`` or None.

    Returns:
        ``{"act": Endpoint}`` (and ``"q_values"``).
    """
    spec = [tf.TensorSpec([None] * (1 + len(observation_shape)), tf.float32, name="observations")]

    def act_fn(observations):
        with tf.control_dependencies([_check_observations(observations, observation_shape, "act")]):
            observations = tf.identity(observations)
        return {"actions": tf.cast(act(observations), tf.int32)}

    endpoints = {"act": Endpoint(act_fn, spec)}
    if q_values is not None:

        def q_fn(observations):
            with tf.control_dependencies([_check_observations(observations, observation_shape, "q_values")]):
                observations = tf.identity(observations)
            return {"q_values": tf.cast(q_values(observations), tf.float32)}

        endpoints["q_values"] = Endpoint(q_fn, spec)
    return endpoints


def image_explainer_endpoint(explain, height, width, channels, num_classes):
    """``explain(images uint8, classes int)`` -> ``{"maps": float32 [N, H, W]}``: attribution maps, checks inside.

    The images are checked and scaled by `scaled_images`; a class id outside
    ``0 .. num_classes - 1`` or a class count other than the image count
    fails with a message saying so.

    Args:
        explain: ``(float images in [0, 1], int32 classes [N]) -> [N, H, W] maps`` in TF ops.
        height: the images' height.
        width: the images' width.
        channels: the images' channel count.
        num_classes: the model's classes.

    Returns:
        An `Endpoint` taking ``images`` (uint8) and ``classes`` (int32; int64 converted).
    """

    def explain_images(images, classes):
        scaled = scaled_images(images, height, width, channels, "explain")
        same_count = tf.debugging.Assert(
            tf.equal(tf.shape(classes)[0], tf.shape(scaled)[0]),
            ["explain: one class per image; received classes and images", tf.shape(classes)[0], tf.shape(scaled)[0]],
        )
        with tf.control_dependencies([same_count, _check_labels(classes, num_classes, "explain")]):
            classes = tf.identity(classes)
        return {"maps": tf.cast(explain(scaled, classes), tf.float32)}

    return Endpoint(
        explain_images,
        [tf.TensorSpec(None, tf.uint8, name="images"), tf.TensorSpec([None], tf.int32, name="classes")],
        refused_dtypes=IMAGE_REFUSED_DTYPES,
        converted_dtypes={"classes": (tf.int64,)},
    )
