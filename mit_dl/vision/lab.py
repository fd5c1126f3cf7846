"""The vision lab's entry in the registry (`mit_dl.registry`): lecture 3 beyond classification."""

from mit_dl.cli import train_with
from mit_dl.registry import Command, DemoPart, Lab
from mit_dl.vision import commands
from mit_dl.vision.config import VisionConfig

LAB = Lab(
    name="vision",
    title="Vision beyond classification",
    course="Lecture 3",
    summary="segmentation and detection in composed scenes; what a CNN looks at; adversarial examples",
    lectures=("Lecture 3: deep computer vision (segmentation, detection, attribution, adversarial examples)",),
    commands=(
        Command(
            "train",
            "train, evaluate, plot and export a scene segmenter or detector",
            train_with("mit_dl.vision.train", lambda config: f"vision-{config.dataset}-{config.model}"),
            VisionConfig,
            out="run directory (default: runs/vision-<dataset>-<model>-<time>)",
            preset_help={
                "quick": "a first look in minutes on 2 CPU cores",
                "full": "20,000 scenes, 4x the filters, twice the batch, 8x the steps (a GPU's run)",
            },
        ),
        Command(
            "evaluate",
            "mIoU of an exported segmenter, or mAP of a detector, on test scenes",
            commands.evaluate,
            options=commands.evaluate_options,
        ),
        Command(
            "explain",
            "attribution maps of a trained CNN's test images, with their checks",
            commands.explain,
            options=commands.explain_options,
        ),
        Command(
            "attack",
            "accuracy of trained classifiers on adversarial test images at each epsilon",
            commands.attack,
            options=commands.attack_options,
        ),
        Command(
            "features",
            "a trained CNN's first-layer filters and its activations for one image",
            commands.features,
            options=commands.features_options,
        ),
    ),
    configs=(VisionConfig,),
    demo=DemoPart(
        "mit_dl.vision.demo:run",
        seconds=185,
        describe="a detector on 1,000 scenes of real digits; the images CNN's attribution maps and FGSM",
    ),
    assets="mit_dl.vision.assets:build",
    graders=("vision",),
    notebooks=("vision/vision",),
    exports=("scene segmenter", "scene detector", "explainer"),
    rebuild="mit_dl.vision.model:from_run",
    benchmark="vision",
)
