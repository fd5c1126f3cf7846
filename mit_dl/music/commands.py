"""`mit-dl music train | compare | generate`: what each action runs and prints (`mit_dl.music.lab` declares them)."""

import pathlib

from mit_dl.errors import ConfigError


def train(args):
    """Train, checkpoint and export the song generator the options ask for.

    Args:
        args: the parsed command line; ``args.config`` is the config its options ask for.
    """
    from mit_dl.music import train as music_train

    config = args.config
    name = f"music-{config.preset}" if config.model == "lstm" else f"music-{config.model}-{config.preset}"
    music_train.train(config, pathlib.Path(args.out) if args.out else pathlib.Path("runs") / name)


def compare(args):
    """Judge several exported generators with the same seeds; one table.

    Args:
        args: the parsed command line.
    """
    from mit_dl.music import compare as music_compare

    if len(args.songs) != len(args.seeds):
        raise ConfigError("songs", f"needs one count per seed ({len(args.seeds)} seeds), received {len(args.songs)}")
    music_compare.compare(args.models, args.seeds, args.songs, args.temperatures, args.out, length=args.length)


def compare_options(parser):
    """The arguments of ``music compare``.

    Args:
        parser: the action's `argparse` parser.
    """
    parser.add_argument("--models", nargs="+", required=True, help="the generator exports (<run>/generator)")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2], help="sampling seeds (default: 0 1 2)")
    parser.add_argument(
        "--songs", nargs="+", type=int, default=[50, 100, 100], help="samples per seed (default: 50 100 100)"
    )
    parser.add_argument(
        "--temperatures", nargs="+", type=float, default=[1.0], help="sampling temperatures (default: 1.0)"
    )
    parser.add_argument("--length", type=int, help="characters per sample (default: twice a long training tune)")
    parser.add_argument("--out", default="runs/music-compare", help="output folder (default: runs/music-compare)")
    parser.set_defaults(flags={"songs": "--songs"})


def generate(args):
    """Write songs from an exported generator as .abc, .mid and .wav, and judge them.

    Args:
        args: the parsed command line.
    """
    import dataclasses

    from mit_dl.music import generate as music_generate

    config = args.config
    if config.seed_text:  # "\\n" typed in a shell is a new line
        config = dataclasses.replace(config, seed_text=config.seed_text.replace("\\n", "\n"))
    music_generate.generate(args.model, config, out_dir=args.out)


def generate_options(parser):
    """``--model`` and ``--out`` of ``music generate``.

    Args:
        parser: the action's `argparse` parser.
    """
    parser.add_argument("--model", required=True, help="the exported generator (<run>/generator)")
    parser.add_argument("--out", help="output folder (default: <run>/songs-t<T>-s<S>)")
