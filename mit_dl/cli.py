"""The `mit-dl` command: `mit-dl --version`, `mit-dl info`, `mit-dl demo`."""

import argparse
import datetime
import os
import pathlib
import sys

import mit_dl


class UsageError(Exception):
    """An expected failure, reported to the user as one line."""


def _default_run_dir(name):
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    return pathlib.Path("runs") / f"{name}-{stamp}"


def _cmd_info(args):
    from mit_dl import environment

    print(environment.report())


def _cmd_demo(args):
    from mit_dl import demo

    if args.steps <= 0:
        raise UsageError(f"--steps must be a positive number, received {args.steps}.")
    out = pathlib.Path(args.out) if args.out else _default_run_dir("demo")
    print(f"mit_dl {mit_dl.__version__} demo: lecture layers on real Irish folk tunes")
    demo.run(out, steps=args.steps, seed=args.seed)
    print(f"run directory: {out.resolve()}")


def _cmd_images_train(args):
    from mit_dl.workflows import images

    if args.epochs <= 0:
        raise UsageError(f"--epochs must be a positive number, received {args.epochs}.")
    out = pathlib.Path(args.out) if args.out else _default_run_dir(f"images-{args.dataset}-{args.model}")
    images.train(args.dataset, args.model, epochs=args.epochs, batch_size=args.batch_size, data_dir=args.data,
                 out_dir=out, seed=args.seed, holdout_from_test=args.split_test)
    print(f"run directory: {out.resolve()}")


def _cmd_images_evaluate(args):
    from mit_dl.workflows import images

    report = images.evaluate_export(args.model, dataset=args.dataset, data_dir=args.data)
    low, high = report["accuracy_95ci"]
    print(f"{report['dataset']} test set ({report['examples']} images, {report['source']}): "
          f"accuracy {100 * report['accuracy']:.2f}% (95% CI {100 * low:.2f}-{100 * high:.2f})")
    for name, accuracy in report["per_class_accuracy"].items():
        print(f"  {name:12s} {100 * accuracy:6.2f}%")


def build_parser():
    parser = argparse.ArgumentParser(
        prog="mit-dl", description="MIT 6.S191 companion: lecture layers, labs, training, export."
    )
    parser.add_argument("--version", action="version", version=f"mit_dl {mit_dl.__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    info = commands.add_parser("info", help="versions, devices and where data is looked for")
    info.set_defaults(handler=_cmd_info)

    demo = commands.add_parser("demo", help="a short end-to-end run on data available offline")
    demo.add_argument("--out", help="run directory (default: runs/demo-<time>)")
    demo.add_argument("--steps", type=int, default=500, help="training steps per model (default 500)")
    demo.add_argument("--seed", type=int, default=0)
    demo.set_defaults(handler=_cmd_demo)

    images = commands.add_parser("images", help="lab 2 part 1: digit and clothing classifiers")
    image_actions = images.add_subparsers(dest="action", metavar="ACTION", required=True)
    train = image_actions.add_parser("train", help="train, evaluate, plot and export a classifier")
    train.add_argument("--dataset", choices=["mnist", "fashion_mnist"], default="fashion_mnist")
    train.add_argument("--model", choices=["dense", "cnn"], default="cnn")
    train.add_argument("--epochs", type=int, default=5, help="default 5, the course's recipe")
    train.add_argument("--batch-size", type=int, default=64)
    train.add_argument("--data", help="folder with the IDX files (default: $MIT_DL_DATA, caches, download)")
    train.add_argument("--split-test", type=int, metavar="K",
                       help="train on K images of the test split and test on the rest (real MNIST offline)")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--out", help="run directory (default: runs/images-<dataset>-<model>-<time>)")
    train.set_defaults(handler=_cmd_images_train)
    evaluate = image_actions.add_parser("evaluate", help="accuracy of an exported classifier on a test set")
    evaluate.add_argument("--model", required=True, help="the exported SavedModel folder")
    evaluate.add_argument("--dataset", choices=["mnist", "fashion_mnist"], help="default: from metadata.json")
    evaluate.add_argument("--data", help="folder with the IDX files")
    evaluate.set_defaults(handler=_cmd_images_evaluate)
    return parser


def main(argv=None):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    try:
        args.handler(args)
    except (UsageError, ValueError, FileNotFoundError) as error:
        print(f"mit-dl: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("mit-dl: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
