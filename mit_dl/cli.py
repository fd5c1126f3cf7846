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
