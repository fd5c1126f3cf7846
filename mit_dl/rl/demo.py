"""The reinforcement-learning lab's part of ``mit-dl demo``: REINFORCE on the TensorFlow CartPole."""

from mit_dl.rl import train
from mit_dl.rl.config import RLConfig


def run(out_dir, steps, seed, log, earlier):
    """REINFORCE for ``40 * steps`` environment steps, its greedy policy evaluated on gymnasium, exported, filmed.

    Args:
        out_dir: the part's folder.
        steps: the demo's steps per model (the agent gets 40 environment steps for each).
        seed: the agent's seed.
        log: where progress lines go.
        earlier: the figures of the parts run before (unused).

    Returns:
        The environment steps, the greedy mean return over 20 episodes, whether it solved CartPole, the folder.
    """
    env_steps = 40 * steps
    log(f"reinforcement learning: REINFORCE on 8 TensorFlow CartPoles, {env_steps} environment steps")
    config = RLConfig.from_preset(
        "quick",
        agent="reinforce",
        env="cartpole-tf",
        env_steps=env_steps,
        evaluation_every=max(env_steps // 2, 1),
        evaluation_episodes=20,
        seed=seed,
    )
    trained = train.train(config, out_dir, log=log)
    log(
        "(a smoke run: `mit-dl rl train --agent reinforce` trains up to 150,000 steps and stops when CartPole is "
        "solved; the reinforcement-learning lab's docs page has the measured figures)"
    )
    return {
        "env_steps": trained["env_steps"],
        "greedy_mean_return": trained["final_evaluation"]["mean_return"],
        "solved": trained["solved"],
        "run_directory": str(out_dir),
    }
