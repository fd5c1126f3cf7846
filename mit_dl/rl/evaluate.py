"""Lecture 6 lab: play a policy greedily on gymnasium from fixed seeds, load an export, film an episode.

Policies are evaluated as the targets are stated: greedy actions, gymnasium's environment, fixed seeds.

`play_episodes` runs ``episodes`` episodes side by side (episode ``i``
reset with seed ``seed + i``, so every policy meets the same starts) and
calls the policy once per step on the whole batch of unfinished episodes.
The default seeds start at `EVALUATION_SEED`, far from any training seed.
CartPole-v1 counts as solved when the mean return of 100 such episodes is
at least `SOLVED_RETURN` (475 of the 500 possible).

Example (a notebook)::

    from mit_dl.rl import evaluate
    returns = evaluate.play("runs/reinforce/policy", episodes=5)
"""

import pathlib

import numpy as np
import tensorflow as tf

from mit_dl import plots
from mit_dl.errors import ConfigError, ExportError
from mit_dl.export import load_savedmodel
from mit_dl.rl import data

EVALUATION_SEED = 10_000
SOLVED_RETURN = 475.0
POLICY_KIND = "rl policy"  # the export's kind, spelt as the other labs' kinds are


def play_episodes(policy, make_env, episodes=100, seed=EVALUATION_SEED, max_steps=None, record=None):
    """Returns and lengths of ``episodes`` episodes of ``policy``, played in parallel.

    Args:
        policy: ``policy(observations float32 [K, ...]) -> actions [K]`` (NumPy or tensors).
        make_env: ``make_env(index) -> gymnasium.Env`` (``index`` 0 may render, see ``record``).
        episodes: how many episodes.
        seed: episode ``i`` starts from ``reset(seed=seed + i)``.
        max_steps: stop every episode after this many steps (default: the environment's own limit).
        record: a list to which episode 0's rendered frames are appended (its env
            must render ``rgb_array``), or None.

    Returns:
        ``{"returns": [float], "lengths": [int], "mean_return": float, "std_return": float}``.
    """
    envs = [make_env(i) for i in range(episodes)]
    observations = [np.asarray(env.reset(seed=seed + i)[0], np.float32) for i, env in enumerate(envs)]
    if record is not None:
        record.append(envs[0].render())
    returns = np.zeros(episodes)
    lengths = np.zeros(episodes, int)
    active = np.ones(episodes, bool)
    while active.any():
        index = np.flatnonzero(active)
        actions = np.asarray(policy(np.stack([observations[i] for i in index])))
        for i, action in zip(index, actions):
            obs, reward, terminated, truncated, _ = envs[i].step(int(action))
            observations[i] = np.asarray(obs, np.float32)
            returns[i] += reward
            lengths[i] += 1
            if i == 0 and record is not None:
                record.append(envs[0].render())
            if terminated or truncated or (max_steps is not None and lengths[i] >= max_steps):
                active[i] = False
    for env in envs:
        env.close()
    return {
        "returns": returns.tolist(),
        "lengths": lengths.tolist(),
        "mean_return": float(returns.mean()),
        "std_return": float(returns.std()),
    }


def _check_video(video):
    """Refuse a video path the GIF writer cannot honour, before any episode is played."""
    if video is not None and pathlib.Path(video).suffix.lower() != ".gif":
        raise ConfigError("video", f"must end in .gif (the episode is written as an animated GIF), received {video!r}")


def evaluate(act, env_name, episodes=100, seed=EVALUATION_SEED, video=None, fps=25):
    """Mean return of ``episodes`` episodes of the policy ``act`` in gymnasium, from fixed seeds.

    Args:
        act: ``act(observations [K, ...]) -> actions [K]``.
        env_name: the environment the policy was trained for (its gymnasium twin is played).
        episodes: how many.
        seed: the first episode's seed (episode ``i`` uses ``seed + i``).
        video: a ``.gif`` path to film the first episode to (every second frame, 300 pixels wide:
            CartPole's 50 steps per second play in real time at 25 frames per second), or None.
        fps: the GIF's frames per second.

    Returns:
        `play_episodes`'s dict (``video`` added when filmed).
    """
    _check_video(video)
    frames = [] if video else None

    def make(index):
        return data.gymnasium_env(env_name, "rgb_array" if video and index == 0 else None)

    result = play_episodes(act, make, episodes, seed=seed, record=frames)
    if video:
        result["video"] = str(plots.save_gif(frames[::2], video, fps=fps, width=300))
    return result


def load_policy(path):
    """Load a policy export.

    Args:
        path: the ``policy/`` folder `export_policy` wrote.

    Returns:
        ``(act, metadata)``: ``act(observations) -> actions`` on NumPy arrays, and ``metadata.json``.

    Raises:
        ExportError: the folder is not a policy export.
    """
    loaded, metadata = load_savedmodel(path)
    if metadata.get("kind") not in (POLICY_KIND, "rl-policy"):  # (earlier exports said "rl-policy")
        raise ExportError(f"{path} is not a policy export (mit-dl rl train writes one as <run>/policy).")

    def act(observations):
        return loaded.act(tf.constant(np.asarray(observations, np.float32)))["actions"].numpy()

    act.loaded = loaded  # kept alive with the function
    return act, metadata


def play(path, episodes=10, video=None, seed=EVALUATION_SEED):
    """Play ``episodes`` gymnasium episodes with an exported policy; optionally film the first as a GIF.

    Args:
        path: the ``policy/`` export.
        episodes: how many episodes (at least 1).
        video: a ``.gif`` path, or None.
        seed: the first episode's seed.

    Returns:
        `evaluate`'s dict.
    """
    if isinstance(episodes, bool) or not isinstance(episodes, int) or episodes < 1:
        raise ConfigError("episodes", f"must be a positive number, received {episodes!r}")
    _check_video(video)  # before the episodes are played
    act, metadata = load_policy(path)
    return evaluate(act, metadata["env"], episodes, seed=seed, video=video)
