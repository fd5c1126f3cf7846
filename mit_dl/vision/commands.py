"""`mit-dl vision train | evaluate | explain | attack | features`: what each action runs and prints."""

from mit_dl.vision.config import ATTACK_EPSILONS, EXPLAIN_METHODS

RUN_HELP = "a run directory: an images run (the classifier) or a vision segmentation run"


def evaluate(args):
    """mIoU of an exported segmenter, or mAP of a detector, on test scenes; per class.

    Args:
        args: the parsed command line.
    """
    from mit_dl.vision import evaluate as vision_evaluate

    report = vision_evaluate.evaluate_export(args.model, args.dataset, args.scenes, args.seed, args.data)
    print(
        f"{report['dataset']} test scenes ({args.scenes}, seed {args.seed}, from {report['source']}): "
        f"{report['summary']}"
    )
    per_class = report["class_iou"] if report["task"] == "segmentation" else report["class_ap_50"]
    measure = "IoU" if report["task"] == "segmentation" else "AP@0.5"
    for name, value in per_class.items():
        print(f"  {name:12s} {measure} {value:.3f}")


def evaluate_options(parser):
    """The arguments of ``vision evaluate``.

    Args:
        parser: the action's `argparse` parser.
    """
    parser.add_argument("--model", required=True, help="the exported SavedModel folder (<run>/saved_model)")
    parser.add_argument(
        "--dataset", choices=("mnist", "fashion_mnist"), help="whose test scenes (default: the export's)"
    )
    parser.add_argument("--scenes", type=int, default=1000, help="test scenes to compose (default 1000)")
    parser.add_argument("--seed", type=int, default=0, help="the scenes' seed (default 0: the run's test scenes)")
    parser.add_argument("--data", help="folder with the IDX files (default: $MIT_DL_DATA, caches, download)")


def explain(args):
    """Attribution maps of a trained CNN's test images, with their sanity check and completeness.

    Args:
        args: the parsed command line.
    """
    from mit_dl.vision import inspect

    report = inspect.explain(args.run, args.method, args.images, args.out, args.layer, args.export)
    print(f"attribution maps of {len(report['classes'])} test images: {report['figure']}")
    for i, (true, predicted) in enumerate(zip(report["classes"], report["predicted"])):
        print(f"  {i}: true {true}, model {predicted}")
    for method, checks in report["methods"].items():
        gap = checks.get("completeness_gap")
        complete = f"; completeness gap at most {100 * max(abs(g) for g in gap):.2f}%" if gap else ""
        print(
            f"{method}: sanity check (Adebayo et al. 2018, the weights randomised) rank correlation "
            f"{checks['sanity']['mean']:.2f} (near 1: the map ignores what the model learned){complete}"
        )
    if "export" in report:
        print(f"exported explain(images uint8, classes) -> maps: {report['export']}")


def explain_options(parser):
    """The arguments of ``vision explain``.

    Args:
        parser: the action's `argparse` parser.
    """
    parser.add_argument("--run", required=True, help=RUN_HELP)
    parser.add_argument(
        "--method", nargs="+", choices=EXPLAIN_METHODS, default=["saliency"], help="attribution methods (one or more)"
    )
    parser.add_argument("--images", type=int, default=8, help="test images explained (default 8)")
    parser.add_argument("--layer", help="Grad-CAM's layer (default: the last convolution)")
    parser.add_argument("--export", help="also export explain(images uint8, classes) -> maps to this folder")
    parser.add_argument("--out", help="folder of the figure and report (default: the run directory)")


def attack(args):
    """Accuracy of trained classifiers on adversarial test images at each epsilon, as a table.

    Args:
        args: the parsed command line.
    """
    from mit_dl.vision import inspect

    report = inspect.attack(args.run, args.method, args.epsilons, args.images, args.out, args.steps)
    print(f"{args.method.upper()} on {report['images']} test images; accuracy at each epsilon (pixel units of 0-255):")
    epsilons = next(iter(report["runs"].values()))["epsilon"]
    print("  " + " ".join(f"{e:>7g}" for e in epsilons) + "   run")
    for run, curve in report["runs"].items():
        print("  " + " ".join(f"{100 * a:6.1f}%" for a in curve["accuracy"]) + f"   {run}")
    print(f"figure: {report['figure']}")


def attack_options(parser):
    """The arguments of ``vision attack``.

    Args:
        parser: the action's `argparse` parser.
    """
    parser.add_argument("--run", required=True, nargs="+", help="images run directories, compared in one figure")
    parser.add_argument("--method", choices=("fgsm", "pgd"), default="fgsm", help="the attack")
    parser.add_argument(
        "--epsilons",
        type=float,
        nargs="+",
        default=list(ATTACK_EPSILONS),
        help="radii in pixel units of 0-255 (25.5 is 0.1 of the range)",
    )
    parser.add_argument("--images", type=int, default=1000, help="test images attacked (default 1000)")
    parser.add_argument("--steps", type=int, default=10, help="PGD's steps (default 10)")
    parser.add_argument("--out", help="folder of the figure and report (default: the first run directory)")


def features(args):
    """A trained CNN's first-layer filters and its activations for one image.

    Args:
        args: the parsed command line.
    """
    from mit_dl.vision import inspect

    for name, path in inspect.feature_figures(args.run, args.out, args.image).items():
        print(f"{name}: {path}")


def features_options(parser):
    """The arguments of ``vision features``.

    Args:
        parser: the action's `argparse` parser.
    """
    parser.add_argument("--run", required=True, help=RUN_HELP)
    parser.add_argument("--image", type=int, default=0, help="which test image (default 0)")
    parser.add_argument("--out", help="folder of the figures (default: the run directory)")
