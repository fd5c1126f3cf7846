"""`mit-dl generative train | sample | evaluate`: what each action runs and prints (`mit_dl.generative.lab`)."""


def sample(args):
    """Draw images from an exported generator.

    Args:
        args: the parsed command line.
    """
    from mit_dl.generative import evaluate as generative_evaluate

    result = generative_evaluate.sample(
        args.model, count=args.count, label=args.label, seed=args.seed, out_dir=args.out
    )
    print(f"{len(result['images'])} images: {result['folder'] / 'samples.png'} and samples.npz")


def sample_options(parser):
    """The arguments of ``generative sample``.

    Args:
        parser: the action's `argparse` parser.
    """
    parser.add_argument("--model", required=True, help="the exported generator (<run>/generator)")
    parser.add_argument("--count", type=int, default=64, help="images to draw (default 64)")
    parser.add_argument("--label", type=int, help="draw this class (conditional models: cvae, cgan)")
    parser.add_argument("--seed", type=int, default=0, help="the draw's seed (default 0)")
    parser.add_argument("--out", help="output folder (default: <run>/samples-s<seed>)")


def evaluate(args):
    """Score an exported generator's samples against held-out images and the reference sets, as a table.

    Args:
        args: the parsed command line.
    """
    from mit_dl.generative import evaluate as generative_evaluate

    report = generative_evaluate.evaluate_export(args.model, count=args.count, data_dir=args.data, out=args.out)
    print(
        f"{report['model']} on {report['dataset']}: {report['quality']['count']} samples "
        "against as many held-out images"
    )
    print(f"feature classifier: {100 * report['classifier']['accuracy']:.1f}% on the held-out images")
    print(f"{'set':22s} {'FD':>9s} {'KID':>16s} {'1-NN acc':>9s} {'KL to uniform':>14s}")
    rows = {"samples": report["quality"], **{f"ref: {k}": v for k, v in report["references"].items()}}
    for name, row in rows.items():
        print(
            f"{name:22s} {row['fd']:9.3f} {kid_text(row):>16s} "
            f"{row['one_nn_accuracy']:9.3f} {row['coverage']['kl_to_uniform']:14.3f}"
        )
    if "class_accuracy" in report["quality"]:
        print(f"requested class found: {100 * report['quality']['class_accuracy']:.2f}%")
    if report.get("mode_collapse"):  # said once: the scoring itself does not log it
        print(f"warning: {report['mode_collapse']}")


def evaluate_options(parser):
    """The arguments of ``generative evaluate``.

    Args:
        parser: the action's `argparse` parser.
    """
    parser.add_argument("--model", required=True, help="the exported generator (<run>/generator)")
    parser.add_argument("--count", type=int, help="samples scored (default: the run's evaluation count)")
    parser.add_argument("--data", help="folder with the IDX files (default: $MIT_DL_DATA, caches, download)")
    parser.add_argument("--out", help="the JSON report (default: <run>/evaluation.json)")


def kid_text(row):
    """KID with its standard error, or saying it has none.

    With no more samples than a KID subset holds, every subset is all of them: the estimates agree and
    their spread (0) says nothing about the uncertainty, so it is not shown as "± 0.0000".

    Args:
        row: a quality report row (``kid``, ``kid_standard_error``).

    Returns:
        ``"0.0123 ± 0.0011"`` or ``"0.0123 (no spread)"``.
    """
    error = row.get("kid_standard_error")
    if not error or error != error:  # 0 or NaN
        return f"{row['kid']:.4f} (no spread)"
    return f"{row['kid']:.4f} ± {row['kid_standard_error']:.4f}"
