"""The uncertainty lab's out-of-distribution scores and its report of a classifier's predictions.

Every score is "higher means more unusual": one minus the maximum softmax
probability, the predictive entropy, the mutual information (epistemic),
the VAE's reconstruction error raw and corrected (by the pixels' own
entropy, and by the PNG length of Serrà et al. 2020), and the latent- or
feature-histogram rarity. `image_report` measures calibration and OOD
detection with them, before and after temperature scaling; the metrics are
`mit_dl.evaluation`'s.
"""

import io

import numpy as np
from PIL import Image

from mit_dl import evaluation

RESAMPLES = 1000  # bootstrap resamples of the 95% intervals
SCORES = {
    "max_softmax": "1 - max probability",
    "entropy": "predictive entropy",
    "epistemic": "mutual information",
    "reconstruction_error": "VAE reconstruction error",
    "reconstruction_divergence": "reconstruction - pixel entropy",
    "complexity_corrected": "reconstruction error - PNG length",
    "latent_rarity": "VAE latent rarity (histograms)",
    "feature_rarity": "feature rarity (histograms)",
}


def png_bits(images):
    """Each uint8 image's PNG length in bits: the input-complexity estimate of Serrà et al. (2020).

    Args:
        images: uint8 ``[N, H, W]``.

    Returns:
        ``[N]`` float64.
    """
    lengths = []
    for image in images:
        buffer = io.BytesIO()
        Image.fromarray(np.asarray(image, np.uint8)).save(buffer, format="PNG", optimize=True)
        lengths.append(8 * buffer.tell())
    return np.asarray(lengths, np.float64)


def ood_scores(outputs, images):
    """The out-of-distribution scores an output dict allows (higher: more unusual).

    Args:
        outputs: a prediction dict (``probabilities``, and ``epistemic`` / ``reconstruction_error`` when
            the method has them).
        images: the uint8 images they were predicted from (for the complexity correction).

    Returns:
        ``{score name: [N]}`` over `SCORES`' names that apply.
    """
    p = np.asarray(outputs["probabilities"], np.float64)
    scores = {"max_softmax": 1.0 - p.max(axis=1), "entropy": -(p * np.log(np.clip(p, 1e-12, None))).sum(axis=1)}
    if "epistemic" in outputs:
        scores["epistemic"] = np.asarray(outputs["epistemic"], np.float64)
    if "reconstruction_error" in outputs:
        error = np.asarray(outputs["reconstruction_error"], np.float64)
        scores["reconstruction_error"] = error
        # Serrà et al. 2020: -log2 p(x) - L(x); here the reconstruction error stands in for -log p(x).
        scores["reconstruction_divergence"] = np.asarray(outputs["reconstruction_divergence"], np.float64)
        scores["complexity_corrected"] = error / np.log(2.0) - png_bits(images)
    for name in ("latent_rarity", "feature_rarity"):
        if name in outputs:
            scores[name] = np.asarray(outputs[name], np.float64)
    return scores


def image_report(test_outputs, test, ood_outputs, ood_images, temperature, resamples=RESAMPLES):
    """Calibration on the test set and OOD detection against MNIST, before and after temperature scaling.

    Args:
        test_outputs: the prediction dict of the Fashion-MNIST test images.
        test: ``(test images, test labels)``.
        ood_outputs: the prediction dict of the out-of-distribution images.
        ood_images: those images.
        temperature: the temperature fitted on the validation split.
        resamples: bootstrap resamples of the intervals.

    Returns:
        ``{"calibration", "ood", "temperature", "temperature_scaled": {"calibration", "ood"}, "scores"}``
        (``scores`` holds the raw score arrays for the figures; `train` leaves them out of metrics.json).
    """
    test_images, labels = test
    in_scores, out_scores = ood_scores(test_outputs, test_images), ood_scores(ood_outputs, ood_images)
    scaled_in = {"probabilities": evaluation.temperature_scaled(test_outputs["probabilities"], temperature)}
    scaled_out = {"probabilities": evaluation.temperature_scaled(ood_outputs["probabilities"], temperature)}
    scaled_in_scores, scaled_out_scores = ood_scores(scaled_in, test_images), ood_scores(scaled_out, ood_images)
    return {
        "calibration": evaluation.calibration_report(labels, test_outputs["probabilities"], resamples),
        "ood": evaluation.ood_report(in_scores, out_scores, resamples),
        "temperature": temperature,
        "temperature_scaled": {
            "calibration": evaluation.calibration_report(labels, scaled_in["probabilities"], resamples),
            "ood": evaluation.ood_report(scaled_in_scores, scaled_out_scores, resamples),
        },
        "scores": {name: (in_scores[name], out_scores[name]) for name in in_scores},
    }
