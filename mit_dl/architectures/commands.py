"""`mit-dl architectures train | degradation | compare`: what each action runs and prints."""

from mit_dl.cli import out_dir
from mit_dl.config import distinct_seeds


def degradation(args):
    """Plain against residual networks of 8, 20 and 56 layers on each seed (`compare.degradation`).

    Args:
        args: the parsed command line.
    """
    from mit_dl.architectures import compare

    distinct_seeds(args.seeds)
    out = out_dir(args, "architectures-degradation")
    metrics = compare.degradation(args.config, tuple(args.seeds), out)
    for claim, seeds in metrics["verdict"].items():
        print(f"{claim.replace('_', ' ')}: {'yes' if all(seeds) else 'no'} on {sum(seeds)} of {len(seeds)} seeds")
    print(f"degradation.png, metrics.json and table.md in {out.resolve()}")


def side_by_side(args):
    """The networks side by side (`compare.side_by_side`).

    Args:
        args: the parsed command line.
    """
    from mit_dl.architectures import compare

    distinct_seeds(args.seeds)
    out = out_dir(args, "architectures-compare")
    compare.side_by_side(args.config, tuple(args.seeds), tuple(args.models), out)
    print(f"metrics.json and table.md in {out.resolve()}")


def seeds_option(parser):
    """The ``--seeds`` of the degradation experiment.

    Args:
        parser: the action's `argparse` parser.
    """
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="seeds to train (default: 0 1 2)")


def compare_options(parser):
    """The arguments of ``architectures compare``.

    Args:
        parser: the action's `argparse` parser.
    """
    from mit_dl.architectures.config import MODELS, SIDE_BY_SIDE

    parser.add_argument("--seeds", type=int, nargs="+", default=[0], help="seeds to train (default: 0)")
    parser.add_argument(
        "--models",
        nargs="+",
        choices=MODELS,
        default=list(SIDE_BY_SIDE),
        help=f"the networks (default: {' '.join(SIDE_BY_SIDE)})",
    )
