"""Checkers for Lab 2 part 1 (`labs/images/`): the dense classifier, the CNN, the loss and the training step."""

import numpy as np

from mit_dl.images.model import dense_classifier
from mit_dl.labs.grading import Mistake, call_learner, checker, expect_shape, explain_mismatch, values
from mit_dl.labs.shared_checks import check_loss, check_train_step
from mit_dl.networks.cnn import cnn_classifier

__all__ = ["check_dense_classifier", "check_cnn", "check_loss", "check_train_step"]

_IMAGES = (np.sin(np.arange(2 * 28 * 28, dtype=np.float32)).reshape(2, 28, 28, 1) + 1) / 2


def _classifier_outputs(build, description, reference):
    """Run the learner's classifier with its own weights copied into ``reference``; returns both outputs."""
    model = call_learner(f"{description}()", build)
    received = values(call_learner("model(images)", model, _IMAGES), "model(images)")
    if received.ndim == 4:
        raise Mistake(
            f"the output has shape {received.shape}: flatten the feature maps "
            "(keras.layers.Flatten()) before the Dense layers."
        )
    expect_shape(received, (2, 10), "model(images) for 2 images", " Expected one score per class.")
    if np.allclose(received.sum(-1), 1.0, atol=1e-4) and received.min() >= 0:
        raise Mistake(
            "the outputs are probabilities: end with Dense(10) without softmax (logits); the loss uses "
            "from_logits=True and tf.nn.softmax gives probabilities when you need them."
        )
    shapes = [tuple(np.shape(w)) for w in model.get_weights()]
    expected_shapes = [tuple(w.shape) for w in reference.weights]
    if shapes != expected_shapes:
        raise Mistake(
            f"the weights have shapes {shapes}, expected {expected_shapes}: compare your layers "
            "(sizes, kernel sizes, pooling) with the ones described above."
        )
    reference.set_weights(model.get_weights())
    return model, received


@checker
def check_dense_classifier(build_fc_model):
    """build_fc_model(): Flatten -> Dense(128, relu) -> Dense(10) logits.

    Args:
        build_fc_model: the learner's `build_fc_model` (function or class), called on fixed inputs.

    Returns:
        A `CheckResult`: passed, or what was expected, what was received and the likely mistake.
    """
    model, received = _classifier_outputs(build_fc_model, "build_fc_model", dense_classifier())
    kernel1, bias1, kernel2, bias2 = (w.astype(np.float64) for w in model.get_weights())
    flat = _IMAGES.reshape(2, -1).astype(np.float64)
    hidden = flat @ kernel1 + bias1
    explain_mismatch(
        received,
        np.maximum(hidden, 0) @ kernel2 + bias2,
        "the logits, recomputed with your weights",
        [
            (hidden @ kernel2 + bias2, "the hidden Dense layer needs activation='relu'."),
            (1 / (1 + np.exp(-hidden)) @ kernel2 + bias2, "the hidden layer uses the sigmoid; the lab uses ReLU."),
        ],
    )


@checker
def check_cnn(build_cnn_model):
    """build_cnn_model(): Conv(24, 3, relu) -> MaxPool(2) -> Conv(36, 3, relu) -> MaxPool(2) -> Flatten
    -> Dense(128, relu) -> Dense(10).

    Args:
        build_cnn_model: the learner's `build_cnn_model` (function or class), called on fixed inputs.

    Returns:
        A `CheckResult`: passed, or what was expected, what was received and the likely mistake.
    """
    reference = cnn_classifier()
    _, received = _classifier_outputs(build_cnn_model, "build_cnn_model", reference)
    explain_mismatch(
        received,
        reference(_IMAGES),
        "the logits, recomputed with your weights by the lab's CNN "
        "(check each layer's activation and the order of the layers)",
    )
