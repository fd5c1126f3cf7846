"""`mit-dl faces train | evaluate | compare`: what each action runs and prints (`mit_dl.faces.lab` declares them)."""

from mit_dl.cli import out_dir


def evaluate(args):
    """Per-group accuracy of an exported face detector, as a table.

    Args:
        args: the parsed command line.
    """
    from mit_dl.faces import evaluate as faces_evaluate

    report = faces_evaluate.evaluate_export(args.model, test_faces=args.test_faces)
    low, high = report["accuracy_95ci"]
    print(
        f"{report['source']} ({report['examples']} images): accuracy {100 * report['accuracy']:.1f}% "
        f"(95% CI {100 * low:.1f}-{100 * high:.1f})"
    )
    print(f"{'group':30s} {'accuracy':>9s} {'95% CI':>13s} {'mean P(face)':>13s}")
    for name, group in report["groups"].items():
        low, high = group["accuracy_95ci"]
        print(
            f"{name:30s} {100 * group['accuracy']:8.1f}% {100 * low:5.1f}-{100 * high:5.1f}% "
            f"{group['mean_face_probability']:13.3f}"
        )
    print(
        f"worst face group: {report['worst_face_group']} {100 * report['worst_face_group_accuracy']:.1f}%; "
        f"best - worst group: {100 * report['best_minus_worst']:.1f} points"
    )


def evaluate_options(parser):
    """The arguments of ``faces evaluate``.

    Args:
        parser: the action's `argparse` parser.
    """
    parser.add_argument("--model", required=True, help="the exported detector (<run>/detector)")
    parser.add_argument(
        "--test-faces",
        help="a folder of test faces, one sub-folder per group (default: the "
        "held-out data the detector was trained against)",
    )


def compare(args):
    """Every compared model for each seed; one table with intervals over the seeds.

    Args:
        args: the parsed command line.
    """
    from mit_dl.faces import compare as faces_compare

    out = out_dir(args, "faces-compare")
    models = tuple(args.models) if args.models else tuple(faces_compare.COMPARED)
    faces_compare.compare(args.config, seeds=args.seeds, models=models, out_dir=out)
    print(f"run directory: {out.resolve()}")


def compare_options(parser):
    """The arguments of ``faces compare`` beside the config's.

    Args:
        parser: the action's `argparse` parser.
    """
    parser.add_argument(
        "--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4], help="seeds to train (default 0 1 2 3 4)"
    )
    parser.add_argument(
        "--models",
        nargs="+",
        default=None,
        help="some of cnn dbvae-max dbvae-product reweighted oracle (default: all)",
    )
    parser.add_argument("--out", help="run directory (default: runs/faces-compare-<time>)")
