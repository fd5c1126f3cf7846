"""Evaluating a policy as the targets are stated: greedy actions, gymnasium's environment, fixed seeds.

`play_episodes` runs ``episodes`` episodes side by side (episode ``i``
reset with seed ``seed + i``, so every policy meets the same starts) and
calls the policy once per step on the whole batch of unfinished episodes.
The default seeds start at `EVALUATION_SEED`, far from any training seed.
CartPole-v1 counts as solved when the mean return of 100 such episodes is
at least `SOLVED_RETURN` (475 of the 500 possible).
"""

import numpy as np

EVALUATION_SEED = 10_000
SOLVED_RETURN = 475.0


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
