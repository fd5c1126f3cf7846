"""SavedModel export with self-contained signatures, and its loader (docs/design.md, section 6).

An export is a plain TensorFlow SavedModel directory plus ``metadata.json``.
Its endpoints take raw inputs (uint8 images, token ids, strings) and hold the
preprocessing, so ``tf.saved_model.load(path)`` works in a process that has
TensorFlow but not ``mit_dl``:

    export_savedmodel(model, "saved_models/cnn", endpoints={
        "classify": Endpoint(classify_uint8, [tf.TensorSpec([None, 28, 28], tf.uint8)]),
    }, metadata={"data": "fashion_mnist", "test_accuracy": 0.91})

The directory is written to a temporary sibling and swapped into place, so a
process killed at any moment of an export leaves either the old export or the
new one, whole, never a half-written one (`recover_export`).
"""

import ctypes
import dataclasses
import datetime
import inspect
import json
import os
import pathlib
import shutil
import sys
from collections.abc import Callable, Mapping, Sequence

import keras
import tensorflow as tf
from google.protobuf import message

import mit_dl
from mit_dl.errors import CorruptFile, ExportError, first_line

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
    recover_export(directory)
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
    _replace_directory(staging, directory)
    return directory


def _previous(directory):
    return directory.with_name(f".{directory.name}.previous")


def _replace_directory(staging, directory):
    """Move ``staging`` to ``directory`` so that a kill at any moment leaves a whole export behind.

    On Linux the two folders are swapped in one atomic ``renameat2(RENAME_EXCHANGE)``; elsewhere the old
    export is first renamed to ``.<name>.previous``, which `recover_export` puts back if the process dies
    before the new one is in place. The old export is deleted last.
    """
    if not directory.exists():
        os.replace(staging, directory)
        return
    if _exchange(staging, directory):
        shutil.rmtree(staging)
        return
    previous = _previous(directory)
    if previous.exists():
        shutil.rmtree(previous)
    os.replace(directory, previous)
    os.replace(staging, directory)
    shutil.rmtree(previous)


def _exchange(first, second):
    """Swap two paths atomically with Linux's ``renameat2``; ``False`` where the system cannot."""
    if sys.platform != "linux":
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    result = renameat2(at_fdcwd, os.fsencode(first), at_fdcwd, os.fsencode(second), rename_exchange)
    return result == 0


def recover_export(directory):
    """Finish or undo an export replacement that a killed process left half done.

    Where the old export was renamed to ``.<name>.previous`` and the new one is not complete in
    ``directory``, the old one is put back; where both are whole, the old one is removed.

    Args:
        directory: the export's folder.

    Returns:
        ``True`` when the old export was put back.
    """
    directory = pathlib.Path(directory)
    previous = _previous(directory)
    if not previous.is_dir():
        return False
    if (directory / "saved_model.pb").is_file() and (directory / METADATA_FILE).is_file():
        shutil.rmtree(previous)
        return False
    if directory.exists():
        shutil.rmtree(directory)
    os.replace(previous, directory)
    return True


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
    recover_export(directory)
    if not (directory / "saved_model.pb").is_file():
        inside = sorted(str(p.parent) for p in directory.glob("*/saved_model.pb")) if directory.is_dir() else []
        hint = f" (this folder holds: {', '.join(inside)})" if inside else ""
        raise ExportError(
            f"{directory} is not a SavedModel export (no saved_model.pb); pass the folder an export wrote{hint}."
        )
    metadata_path = directory / METADATA_FILE
    again = "export it again (rerun the command that wrote it) or delete the folder"
    try:
        metadata = json.loads(metadata_path.read_text()) if metadata_path.exists() else {}
    except (ValueError, OSError) as error:
        raise CorruptFile(f"{metadata_path} cannot be read ({first_line(error, 200)}); {again}.") from None
    try:
        return tf.saved_model.load(str(directory)), metadata
    except (tf.errors.OpError, ValueError, OSError, message.DecodeError) as error:
        raise CorruptFile(
            f"the export in {directory} cannot be loaded: its saved_model.pb or variables/ are damaged "
            f"({first_line(error, 200)}); {again}."
        ) from None


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


def as_uint8(images):
    """Images in [0, 1] (any float dtype) as uint8 pixels, rounded, inside a signature.

    Args:
        images: a float tensor.

    Returns:
        The uint8 tensor.
    """
    return tf.cast(tf.round(tf.clip_by_value(tf.cast(images, tf.float32), 0.0, 1.0) * 255.0), tf.uint8)


def check_labels(labels, num_classes, name):
    """An assertion that ``labels`` are class ids ``0 .. num_classes - 1``, failing with a message naming ``name``.

    Args:
        labels: an integer tensor.
        num_classes: the number of classes.
        name: the signature's name, for the message.

    Returns:
        The assertion (use it as a control dependency).
    """
    return tf.debugging.Assert(
        tf.reduce_all((labels >= 0) & (labels < num_classes)),
        [f"{name}: labels must be class ids 0..{num_classes - 1}; received", labels],
        summarize=8,
    )
