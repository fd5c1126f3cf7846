"""`mit-dl foundations train | optimizers | init | norm | regularise | gradients`: what each action runs."""

from mit_dl.cli import out_dir
from mit_dl.config import distinct_seeds


def experiment(name):
    """The action that runs the experiment ``name`` of `mit_dl.foundations.experiments` into its folder.

    Args:
        name: a key of ``EXPERIMENTS``.

    Returns:
        ``run(args)`` for a `mit_dl.registry.Command`.
    """

    def run(args):
        from mit_dl.foundations.experiments import EXPERIMENTS

        distinct_seeds(args.seeds)
        out = out_dir(args, f"foundations-{name}")
        out.mkdir(parents=True, exist_ok=True)
        EXPERIMENTS[name](args.config, tuple(args.seeds), out)
        print(f"figures, metrics.json and table.md in {out.resolve()}")

    return run


def experiment_options(parser):
    """The arguments of every experiment beside the config's.

    Args:
        parser: the action's `argparse` parser.
    """
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="seeds to train (default: 0 1 2)")
