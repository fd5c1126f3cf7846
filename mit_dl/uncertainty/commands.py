"""`mit-dl uncertainty train | evaluate | bias`: what each action runs and prints (`mit_dl.uncertainty.lab`)."""

from mit_dl.cli import out_dir


def evaluate(args):
    """Calibration and OOD detection of an exported classifier, as two tables.

    Args:
        args: the parsed command line.
    """
    from mit_dl.uncertainty import evaluate as uncertainty_evaluate
    from mit_dl.uncertainty.scores import SCORES

    report = uncertainty_evaluate.evaluate(args.model, ood=args.ood, out=args.out, data_dir=args.data)
    c, scaled = report["calibration"], report["temperature_scaled"]["calibration"]
    print(f"{report['method']} export on the Fashion-MNIST test set; out of distribution: {report['ood_set']} test")
    print(f"{'':22s} {'accuracy':>9s} {'NLL':>7s} {'Brier':>7s} {'ECE':>7s} {'ECE 95% CI':>14s}")
    for name, row in (("as trained", c), (f"temperature {report['temperature']:.2f}", scaled)):
        low, high = row["ece_95ci"]
        print(
            f"{name:22s} {100 * row['accuracy']:8.2f}% {row['nll']:7.3f} {row['brier']:7.4f} "
            f"{100 * row['ece']:6.2f}% {100 * low:6.2f}-{100 * high:5.2f}%"
        )
    print(f"{'OOD score':28s} {'AUROC':>7s} {'95% CI':>13s} {'AUPR':>7s}")
    for name, row in report["ood"].items():
        low, high = row["auroc_95ci"]
        print(f"{SCORES[name]:28s} {row['auroc']:7.3f} {low:.3f}-{high:.3f} {row['aupr']:7.3f}")
    print(f"metrics, reliability diagrams and score histograms in {report['folder']}")


def evaluate_options(parser):
    """The arguments of ``uncertainty evaluate``.

    Args:
        parser: the action's `argparse` parser.
    """
    parser.add_argument("--model", required=True, help="the exported classifier (<run>/saved_model)")
    parser.add_argument("--ood", choices=("mnist",), default="mnist", help="the out-of-distribution test set")
    parser.add_argument("--data", help="folder with the IDX files (default: $MIT_DL_DATA, caches, download)")
    parser.add_argument("--out", help="output folder (default: the run directory, <run>/evaluation.json)")


def bias(args):
    """Score the faces benchmark's training faces by a VAE and its latent histograms.

    Args:
        args: the parsed command line.
    """
    from mit_dl.uncertainty import bias as uncertainty_bias

    out = out_dir(args, "uncertainty-bias")
    uncertainty_bias.bias(args.config, out)
    print(f"run directory: {out.resolve()}")
