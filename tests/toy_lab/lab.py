"""The toy lab's registry entry and its one command."""

import json
import pathlib

from mit_dl.registry import Command, DemoPart, Lab
from toy_lab import data, model
from toy_lab.config import ToyConfig


def train(args):
    """Count, and write the total to ``--out/metrics.json``."""
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "metrics.json").write_text(json.dumps({"total": model.total(data.numbers(args.config))}))
    print(f"toy total {model.total(data.numbers(args.config))}")


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
    graders=("lab1",),
    exports=("toy count",),
    benchmark="toy",
)
