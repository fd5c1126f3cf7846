"""The vision lab's figures for the docs site (``python -m docs.build_assets --only vision``)."""

import pathlib

from mit_dl.images import ImagesConfig
from mit_dl.images import train as train_images
from mit_dl.training.runs import finished_or_trained
from mit_dl.vision import inspect
from mit_dl.vision import train as vision_train
from mit_dl.vision.config import VisionConfig

FIGURES = (  # (file in the scratch folder, name on the site)
    ("unet/segmentation.png", "segmentation-unet.png"),
    ("detector/detection.png", "detection.png"),
    ("explain-saliency-smoothgrad-gradcam-ig-occlusion.png", "attributions-cnn.png"),
    ("explain-gradcam-saliency.png", "attributions-unet.png"),
    ("attack-fgsm.png", "attack-fgsm.png"),
    ("attack-pgd.png", "attack-pgd.png"),
    ("filters.png", "filters.png"),
    ("activations.png", "activations.png"),
)


def build(work, site):
    """The vision lab: U-Net and detector quick runs, and what the images lab's CNN looks at, with attacks.

    Trains the course's Fashion-MNIST CNN, the same CNN trained against PGD at epsilon 25.5 (0.1),
    the quick U-Net and the quick detector (seed 0, MNIST scenes); then every attribution method on
    the CNN and Grad-CAM on the U-Net, FGSM and PGD curves of both CNNs on 1,000 test images, and
    the CNN's filters and activations. About 45 minutes on 2 CPU cores (the PGD training: 25).

    Args:
        work: the scratch folder of the runs.
        site: the docs' asset writer (``docs/build_assets.py``'s `Site`).

    Returns:
        The manifest entry: the command, the files, the runs' test figures, the checks and the attacks.
    """
    runs = {
        "cnn": (train_images, ImagesConfig()),
        "cnn-pgd": (train_images, ImagesConfig(adversarial_epsilon=25.5)),
        "unet": (vision_train.train, VisionConfig()),
        "detector": (vision_train.train, VisionConfig(task="detection")),
    }
    measured = {name: finished_or_trained(train, config, work / name)["test"] for name, (train, config) in runs.items()}
    explained = inspect.explain(work / "cnn", ("saliency", "smoothgrad", "gradcam", "ig", "occlusion"), 6, work)
    segmenter = inspect.explain(work / "unet", ("gradcam", "saliency"), 2, work)
    attacks = {
        method: inspect.attack([work / "cnn", work / "cnn-pgd"], method, out_dir=work) for method in ("fgsm", "pgd")
    }
    inspect.feature_figures(work / "cnn", work)
    # Noisy scenes compress badly: 16 colours keep the site under its budget; the rest keep 64.
    files = [
        site.copy(
            work / source,
            name,
            colours=16 if name.startswith(("segmentation", "detection", "attributions-unet")) else 64,
        )
        for source, name in FIGURES
    ]
    return {
        "command": "mit-dl images train [--adversarial-epsilon 25.5]; mit-dl vision train --task T (quick, seed 0); "
        "mit-dl vision explain --run RUN --method ...; mit-dl vision attack --run CNN CNN_PGD --method M; "
        "mit-dl vision features --run CNN",
        "files": files,
        "runs": {
            name: {k: v for k, v in test.items() if not isinstance(v, (list, dict))} for name, test in measured.items()
        },
        "explain": {"cnn": explained["methods"], "unet": segmenter["methods"]},
        "attacks": {
            method: {pathlib.Path(r).name: c["accuracy"] for r, c in a["runs"].items()} for method, a in attacks.items()
        },
        "epsilons": attacks["fgsm"]["runs"][str(work / "cnn")]["epsilon"],
    }
