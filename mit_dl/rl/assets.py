"""The reinforcement-learning lab's figures and film for the docs site (``python -m docs.build_assets --only rl``)."""

import numpy as np
from PIL import Image, ImageSequence

from mit_dl import plots
from mit_dl.rl import train
from mit_dl.rl.config import RLConfig

RUNS = {  # run folder -> the quick preset's changes
    "reinforce-cartpole": {"agent": "reinforce"},
    "dqn-cartpole": {"agent": "dqn"},
    "reinforce-pong": {"agent": "reinforce", "env": "pong"},
}


def build(work, site):
    """REINFORCE and DQN on gymnasium's CartPole and REINFORCE on Pong, quick presets, seed 0: curves and a film.

    Args:
        work: the scratch folder of the runs.
        site: the docs' asset writer (``docs/build_assets.py``'s `Site`).

    Returns:
        The manifest entry: the command, the files, each run's summary line.
    """
    files, measured = [], {}
    for name, changes in RUNS.items():
        run_dir = work / name
        metrics = train.train(RLConfig.from_preset("quick", **changes), run_dir)
        # A 64-colour palette keeps a line plot sharp at a third of the size.
        files.append(site.copy(run_dir / "returns.png", f"{name}-returns.png", colours=64))
        measured[name] = train.summary_line(metrics)
    # The DQN's filmed episode, every second frame of its GIF at 200 pixels (still real time at 12.5 fps).
    with Image.open(work / "dqn-cartpole" / "episode.gif") as film:
        frames = [np.asarray(frame.convert("RGB")) for frame in ImageSequence.Iterator(film)][::2]
    plots.save_gif(frames, site.folder / "dqn-cartpole-episode.gif", fps=12.5, width=200)
    files.append(site.file("dqn-cartpole-episode.gif"))
    return {
        "command": "mit-dl rl train --agent A [--env pong] --seed 0 (quick preset), for each run",
        "files": files,
        "summaries": measured,
    }
