"""`mit-dl images train | evaluate`: what each action runs and prints (`mit_dl.images.lab` declares them)."""

from mit_dl.images.config import DATASETS


def evaluate(args):
    """Accuracy of an exported classifier on a test set, overall and per class.

    Args:
        args: the parsed command line.
    """
    from mit_dl.images import evaluate as images_evaluate

    report = images_evaluate.evaluate_export(args.model, dataset=args.dataset, data_dir=args.data)
    low, high = report["accuracy_95ci"]
    print(
        f"{report['dataset']} test set ({report['examples']} images, {report['source']}): "
        f"accuracy {100 * report['accuracy']:.2f}% (95% CI {100 * low:.2f}-{100 * high:.2f})"
    )
    for name, accuracy in report["per_class_accuracy"].items():
        print(f"  {name:12s} {100 * accuracy:6.2f}%")


def evaluate_options(parser):
    """The arguments of ``images evaluate``.

    Args:
        parser: the action's `argparse` parser.
    """
    parser.add_argument("--model", required=True, help="the exported SavedModel folder (<run>/saved_model)")
    parser.add_argument(
        "--dataset", choices=DATASETS, help="the test set (default: the one the export's metadata.json names)"
    )
    parser.add_argument("--data", help="folder with the IDX files (default: $MIT_DL_DATA, caches, download)")
