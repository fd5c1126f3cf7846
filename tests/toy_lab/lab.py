"""The toy lab's registry entry and its one command."""

from mit_dl.registry import Command, DemoPart, Lab
from toy_lab import model
from toy_lab import train as toy_train
from toy_lab.config import ToyConfig


def train(args):
    """Count, write the total to ``--out/metrics.json`` and print it."""
    print(f"toy total {toy_train.train(args.config, args.out)['total']}")


def train_options(parser):
    """``--out``."""
    parser.add_argument("--out", required=True, help="where the toy writes")


def demo(out_dir, steps, seed, log, earlier):
    """The toy's demo part."""
    log("toy demo")
    return {"total": model.total(range(3))}


def assets(work, site):
    """The toy's docs assets: none."""
    return {"command": "mit-dl toy train", "files": []}


LAB = Lab(
    name="toy",
    title="A toy",
    course="Lecture 99",
    summary="a lab that only counts",
    lectures=("none",),
    commands=(Command("train", "count the steps", train, ToyConfig, train_options),),
    configs=(ToyConfig,),
    demo=DemoPart(demo, seconds=5, describe="counts to three"),
    assets=assets,
    graders=("music",),
    exports=("toy count",),
    benchmark="toy",
)
