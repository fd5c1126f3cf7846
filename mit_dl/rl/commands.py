"""`mit-dl rl train | play`: what each action runs and prints (`mit_dl.rl.lab` declares them)."""


def play(args):
    """Play gymnasium episodes with an exported policy; print the returns.

    Args:
        args: the parsed command line.
    """
    from mit_dl.rl import evaluate

    result = evaluate.play(args.model, episodes=args.episodes, video=args.video, seed=args.seed)
    print("returns: " + " ".join(f"{r:g}" for r in result["returns"]))
    print(
        f"mean return {result['mean_return']:.1f} ± {result['std_return']:.1f} over {len(result['returns'])} episodes"
    )
    if result.get("video"):
        print(f"video of the first episode: {result['video']}")


def play_options(parser):
    """The arguments of ``rl play``.

    Args:
        parser: the action's `argparse` parser.
    """
    parser.add_argument("--model", required=True, help="the exported policy (<run>/policy)")
    parser.add_argument("--episodes", type=int, default=10, help="episodes to play (default 10)")
    parser.add_argument("--video", help="write the first episode as this animated GIF")
    parser.add_argument("--seed", type=int, default=10_000, help="the first episode's seed (default 10000)")
    parser.set_defaults(flags={"episodes": "--episodes", "video": "--video"})
